/* bench_exclusive.h - the exclusive-pages benchmark, callable from
 * `labyrinth bench` and from the bench_exclusive executable. */
#ifndef LAB_BENCH_EXCLUSIVE_H
#define LAB_BENCH_EXCLUSIVE_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Exclusive 4 KiB page pairs (allocate, touch, free) from a SECRET zone
 * against libsodium's sodium_malloc/sodium_free and OpenSSL's secure heap
 * (CRYPTO_secure_zalloc/CRYPTO_secure_clear_free), loaded at run time and
 * skipped with a note when missing, and against the limit: the plain ATOMIC
 * pair plus two 4 KiB memsets.  Batch 1, batch 1024 and two threads, in one
 * run; prints a table (or one JSON object) with ratios and the issue's
 * targets to out.  Returns 0, or -1 if Labyrinth itself could not run.
 * Takes some seconds; never fails on a time.
 */
int bench_exclusive_run(FILE *out, bool json);

#endif
