/* bench_slab.h - the slab section of `labyrinth bench` (bench/slab.c). */
#ifndef LAB_BENCH_SLAB_H
#define LAB_BENCH_SLAB_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Objects against malloc, libsodium and OpenSSL's secure heap: a table (or
 * one JSON object) with ratios and the targets, to out.  quick: fewer
 * rounds.  Takes some tens of seconds; never fails on a time.
 */
void bench_slab_run(FILE *out, bool json, bool quick);
/* The children it runs: "labyrinth bench-worker slab time|rss SUBJECT". */
int bench_slab_worker(int argc, char **argv);

#endif
