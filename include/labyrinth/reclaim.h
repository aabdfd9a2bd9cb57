/*
 * labyrinth/reclaim.h - reclaim: shrinkers, run by the background
 * reclaimer and by sleeping allocators, and the OOM handler.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_RECLAIM_H
#define LABYRINTH_RECLAIM_H

#include <labyrinth/gfp.h>
#include <labyrinth/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lab_shrink_control {
	lab_gfp_t gfp_mask;      /* of the allocation that triggered reclaim */
	unsigned long nr_to_scan;/* objects to scan in this call */
	unsigned long nr_scanned;/* set by scan_objects if it scanned a different number */
};
/* scan_objects returns this when it cannot make progress now. */
#define LAB_SHRINK_STOP  (~0UL)
/* count_objects returns this when it has nothing to reclaim. */
#define LAB_SHRINK_EMPTY (~0UL - 1)
#define LAB_DEFAULT_SEEKS 2

/*
 * A shrinker, like the kernel's: count_objects says how many objects could
 * be freed, scan_objects frees up to sc->nr_to_scan of them (typically by
 * calling lab_free_pages) and returns how many it freed.  Callbacks run in
 * the reclaimer thread or in a sleeping allocator, never with a zone lock,
 * and as the kernel's PF_MEMALLOC: what they allocate, in any zone, may take
 * every free page (no watermark) and never enters reclaim itself (no
 * recursion, no deadlock on the reclaim their thread runs); a sleeping
 * allocation that finds nothing fails at once, NOFAIL waits for other
 * threads' frees (with a warning once).  A callback must not create or
 * destroy a zone, (un)register a shrinker or fork(): the thread holds the
 * zone's reclaim mutex, which those take or wait for.
 */
struct lab_shrinker {
	unsigned long (*count_objects)(struct lab_shrinker *s, struct lab_shrink_control *sc);
	unsigned long (*scan_objects)(struct lab_shrinker *s, struct lab_shrink_control *sc);
	int seeks;             /* cost to recreate an object (LAB_DEFAULT_SEEKS);
				  0: trivially reclaimable, half is scanned per round */
	long batch;            /* objects per scan call; default 128 */
	void *private_data;
	/* private to the library */
	struct lab_shrinker *lab_next;
	long lab_nr_deferred;  /* scan work carried to the next round */
};
/* Returns 0, -EINVAL, or -EBUSY if s is registered already, in this zone or
 * another (a shrinker is one list entry).  May sleep; O(zones + shrinkers). */
LAB_API int lab_register_shrinker(struct lab_zone *zone, struct lab_shrinker *s);
/* Waits for running callbacks of s to finish.  May sleep. */
LAB_API void lab_unregister_shrinker(struct lab_zone *zone, struct lab_shrinker *s);

/*
 * Called by a sleeping allocation when reclaim has made no progress for
 * several rounds, before it fails.  Return nonzero if memory was released
 * (the allocation then retries), zero otherwise.  One handler runs at a time
 * per zone, under a lock taken with a trylock (the kernel's oom_lock): a
 * thread out of memory meanwhile counts the running handler as progress and
 * waits for what it frees; an allocation the handler makes itself that runs
 * out of memory fails instead of calling the handler again.
 */
typedef int (*lab_oom_handler_t)(struct lab_zone *zone, lab_gfp_t gfp,
				 unsigned int order, void *arg);
LAB_API void lab_set_oom_handler(struct lab_zone *zone, lab_oom_handler_t fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_RECLAIM_H */
