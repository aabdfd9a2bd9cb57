/* bench.h - `labyrinth bench` (bench/bench.c), called from the CLI. */
#ifndef LAB_BENCH_H
#define LAB_BENCH_H

#include <stdbool.h>

/* argv[0] is "bench" (or "bench-worker" in a child). */
int bench_main(int argc, char **argv);
/* Benchmarks of other subsystems that join `labyrinth bench`. */
void bench_extra(bool json);

#endif
