/*
 * labyrinth/debug.h - debugging: fault injection (fail_page_alloc,
 * failslab) and page owner dumps.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_DEBUG_H
#define LABYRINTH_DEBUG_H

#include <labyrinth/types.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Fault injection, the kernel's fail_page_alloc: make allocations fail on
 * purpose so that failure paths run in tests.  Global to the process.  The
 * checks run in the kernel's order: min_order, NOFAIL (never failed),
 * ignore_gfp_wait; then the thread's fail-nth, probability == 0, times == 0,
 * space, interval, random < probability.  An injected failure returns NULL
 * with errno ENOMEM, prints "FAULT_INJECTION: forcing a failure." (verbose,
 * not with LAB_GFP_NOWARN) and counts in fail_injected, not in alloc_fail.
 * Set at start-up with LABYRINTH_FAIL_PAGE_ALLOC="probability=10,times=-1,..."
 */
struct lab_fault_attr {
	unsigned int probability;  /* percent of eligible calls that fail, 0..100 */
	unsigned long interval;    /* only every interval-th eligible call may fail */
	long times;                /* failures left; -1 = no limit (default 1) */
	long space;                /* pages allowed through before failures start */
	unsigned int verbose;      /* 0 silent, 1 message, 2 message + stack (default) */
	bool ignore_gfp_wait;      /* never fail DIRECT_RECLAIM callers (default true) */
	unsigned int min_order;    /* only orders >= this fail (default 1) */
};
/* Replace the settings; 0 or -EINVAL.  Thread-safe; does not sleep; O(1). */
LAB_API int lab_fault_set(const struct lab_fault_attr *attr);
/* The settings now (times and space as they count down).  O(1). */
LAB_API void lab_fault_get(struct lab_fault_attr *out);
/* Parse "key=value,..." (the LABYRINTH_FAIL_PAGE_ALLOC syntax) over the
 * defaults and apply it whole; on error nothing changes, -EINVAL is
 * returned and err (if not NULL) names the key and the problem. */
LAB_API int lab_fault_configure(const char *spec, char *err, size_t errlen);
/* Per thread, like /proc/<tid>/fail-nth: the n-th eligible allocation from
 * now on fails (whatever the probability); 0 disarms.  Does not sleep. */
LAB_API void lab_fail_nth_set(unsigned int n);
/* Eligible allocations left before the armed one fails; 0 when disarmed. */
LAB_API unsigned int lab_fail_nth_get(void);

/*
 * failslab, the same for object allocations (lab_kmem_cache_alloc, lab_kmalloc;
 * <labyrinth/slab.h>), with its own settings of the same knobs (space counts
 * bytes of objects; min_order is not used) and the kernel's cache filter:
 * with cache_filter only caches with LAB_SLAB_FAILSLAB (or "A" in
 * LABYRINTH_SLAB_DEBUG) may fail.  NOFAIL never fails; with ignore_gfp_wait
 * (the default) neither does a caller that may sleep.  fail-nth counts object
 * and page allocations alike.  An injected failure returns NULL with ENOMEM,
 * prints "FAULT_INJECTION: forcing a failure." with "name failslab", and
 * counts in the cache's alloc_fail and fail_injected.  Set at start-up with
 * LABYRINTH_FAILSLAB="probability=100,times=-1,cache_filter=1".
 * Thread-safe; does not sleep; O(1).
 */
LAB_API int lab_failslab_set(const struct lab_fault_attr *attr, bool cache_filter);
LAB_API void lab_failslab_get(struct lab_fault_attr *out, bool *cache_filter);
/* As lab_fault_configure, with the extra key cache_filter=0|1. */
LAB_API int lab_failslab_configure(const char *spec, char *err, size_t errlen);

/*
 * Page owner (LAB_ZONE_PAGE_OWNER or LABYRINTH_PAGE_OWNER=1): print every
 * allocated block of the zone with its allocation stack, gfp, order, thread
 * and time, in the format of the kernel's page_owner file.  Returns the
 * number of blocks printed.  Reads without the zone lock (a block changing
 * meanwhile may print half-updated).  May sleep (stdio); O(managed).
 */
LAB_API size_t lab_dump_page_owner(const struct lab_zone *zone, FILE *out);
/* The same for blocks still allocated, as a leak report with a summary
 * line; what lab_zone_destroy() prints.  Returns the number of blocks. */
LAB_API size_t lab_page_owner_report_leaks(const struct lab_zone *zone, FILE *out);

/*
 * Who holds the locks of a zone now, and which threads wait for one: read
 * without taking any, for a watchdog that finds a thread stuck (`labyrinth
 * stress` names them in its STALL report).  Thread ids as gettid(2) gives
 * them; a holder is 0 when the lock is free and -1 when it is held by a
 * thread whose id the library has not learned (one that made only atomic
 * calls so far), or, for a per-CPU set, always (sets record no holder).
 * Waits are those of sleeping callers that could not take the lock at once
 * (atomic callers never wait long); a sleeping caller that waits
 * LAB_LOCK_REPORT_S seconds also reports it once on stderr ("BUG: ... has
 * waited"), naming the lock and its holder, and goes on waiting.  A
 * snapshot of moving parts: each field was true at some instant of the
 * call.  NULL zone: all zero; NULL out: nothing.
 * Thread-safe; does not sleep; async-signal-safe; O(CPUs).
 */
#define LAB_LOCK_WAITS 16
#define LAB_LOCK_REPORT_S 10
struct lab_lock_wait {
	int tid;                 /* the waiting thread */
	const char *lock;        /* "zone lock", "per-CPU set", "reclaim mutex", "growth mutex" */
	int cpu;                 /* the per-CPU set's index; -1 for the others */
	int holder_tid;          /* the lock's holder as above */
	uint64_t waited_ns;      /* so far */
};
struct lab_zone_locks {
	int zone_lock;                /* holder of the zone (buddy) lock */
	unsigned int pcp_sets_owned;  /* per-CPU sets owned now (a drain, the checker, lock mode) */
	int reclaim_mutex;            /* a shrink round's thread */
	int growth_mutex;             /* a growing thread (LAB_ZONE_GROW) */
	int oom_handler;              /* the thread running the OOM handler */
	unsigned int nr_waits;
	struct lab_lock_wait waits[LAB_LOCK_WAITS];
};
LAB_API void lab_zone_get_locks(const struct lab_zone *zone, struct lab_zone_locks *out);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_DEBUG_H */
