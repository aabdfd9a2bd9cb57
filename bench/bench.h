/* bench.h - `labyrinth bench` (bench/bench.c), called from the CLI. */
#ifndef LAB_BENCH_H
#define LAB_BENCH_H

/* argv[0] is "bench" (or "bench-worker" in a child). */
int bench_main(int argc, char **argv);

#endif
