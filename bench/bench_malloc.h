/* bench_malloc.h - `labyrinth bench --malloc` (bench/malloc.c). */
#ifndef LAB_BENCH_MALLOC_H
#define LAB_BENCH_MALLOC_H

#include <stdbool.h>

#define BENCH_MALLOC_MAX_ROUNDS 9

/*
 * liblabyrinth-malloc.so against glibc, jemalloc, tcmalloc and mimalloc, all
 * preloaded, on programs and synthetic workloads, rounds times each
 * (1..BENCH_MALLOC_MAX_ROUNDS), interleaved; only: a comma-separated list of
 * workloads, or NULL for all.  A table (or JSON) on stdout; minutes.  Returns
 * the exit status (1 when the library is not found).
 */
int bench_malloc_run(bool json, int rounds, const char *only);
/* The synthetic workloads' children: "labyrinth bench-worker malloc NAME". */
int bench_malloc_worker(const char *name);

#endif
