/*
 * bench_int.h - what the two halves of `labyrinth bench` share: the parent
 * (bench.c: rounds, statistics, report, chart) and the worker that measures
 * one subject (work.c), started as `labyrinth bench-worker SUBJECT` and
 * driven over a pipe.
 *
 * The protocol, one line each way per request:
 *     hello              -> "ok NOTE" | "no REASON"  (after setting up)
 *     run FIG A B        -> "ok V1 V2 ..." | "no REASON"
 *     count FIG A B N    -> "ok V1 ..."  (exactly N operations: callgrind)
 *     clock              -> "ok TICKS_PER_NS STEP_NS OVERHEAD_NS"
 *     failures           -> "ok N"       (allocations that failed and were retried)
 * A "run" measures for about the worker's run time, after calibrating the
 * count once per (FIG, A, B); the parent interleaves the subjects.
 */
#ifndef LAB_BENCH_INT_H
#define LAB_BENCH_INT_H

#include <stdbool.h>
#include <stddef.h>

/* Groups of figures, and the subjects that take part in each. */
enum {
	G_PAGES = 1u << 0,     /* 4 KiB pairs, producer/consumer, latency */
	G_ORDERS = 1u << 1,    /* pairs of orders 0..10 */
	G_SCALING = 1u << 2,   /* pairs in 1..N threads */
	G_EXCL = 1u << 3,      /* exclusive pages and the secure heaps */
};

/* What a request measures. */
enum {
	FIG_PAIRS,     /* A = order, B = batch: ns per allocate+touch+free pair (CPU time) */
	FIG_THREADS,   /* A = threads: batch-1 pairs in each, wall ns / all pairs */
	FIG_PRODCONS,  /* blocks allocated by one thread and freed by another: wall ns per block */
	FIG_LATENCY,   /* A = 1 with a thread churning memory beside: 5 values, ns per
			* allocation: p50 (timed in batches), p99, p99.9, p99.99, max
			* (timed one by one, the timer's own cost subtracted) */
	NR_FIGS
};
#define LATENCY_VALUES 5

struct bench_subject {
	const char *name;      /* an identifier: the JSON key too */
	const char *label;     /* for the table */
	const char *preload;   /* LD_PRELOAD for the worker, or NULL */
	unsigned int groups;
	bool reference;        /* Labyrinth's row of its groups: ratios are to it */
	bool peer;             /* what users pick instead (not a limit, not the harness) */
};

/* work.c */
const struct bench_subject *bench_subjects(size_t *n);
int bench_worker_main(int argc, char **argv);

/* Can the dynamic loader find lib (LD_LIBRARY_PATH, its cache, the default
 * directories)?  Asked in a child process, which dlopen()s it. */
bool bench_library_loadable(const char *lib);

#endif
