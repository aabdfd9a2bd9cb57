/*
 * labyrinth/gfp.h - GFP flags: how an allocation may behave.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_GFP_H
#define LABYRINTH_GFP_H

#include <labyrinth/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int lab_gfp_t;

/* High priority: may use half of the min reserve (more if it cannot sleep). */
#define LAB_GFP_HIGH            0x0001u
/* Zero the block before returning it. */
#define LAB_GFP_ZERO            0x0002u
/* Do not print the allocation-failure report. */
#define LAB_GFP_NOWARN          0x0004u
/* Never return NULL; retry forever.  Needs LAB_GFP_DIRECT_RECLAIM.  A block
 * the zone can never hand out (larger than its maximum size, or more than
 * its min watermark leaves of it at full size) is refused with EINVAL and a
 * warning once, as it would otherwise wait forever. */
#define LAB_GFP_NOFAIL          0x0008u
/* Try one round of reclaim, then fail. */
#define LAB_GFP_NORETRY         0x0010u
/* Retry a bounded number of rounds, then fail without calling the OOM handler. */
#define LAB_GFP_RETRY_MAYFAIL   0x0020u
/* Ignore watermarks entirely: for callers that free memory by allocating. */
#define LAB_GFP_MEMALLOC        0x0040u
/* Compound block: the last lab_put_page() frees the whole block. */
#define LAB_GFP_COMP            0x0080u
/* The caller may sleep: run shrinkers itself, wait for frees, retry. */
#define LAB_GFP_DIRECT_RECLAIM  0x0100u
/* Wake the background reclaimer when memory runs low (never blocks). */
#define LAB_GFP_KSWAPD_RECLAIM  0x0200u
/* The block is exclusive to its owner (see the exclusive-pages docs). */
#define LAB_GFP_EXCLUSIVE       0x0400u

#define LAB_GFP_RECLAIM   (LAB_GFP_DIRECT_RECLAIM | LAB_GFP_KSWAPD_RECLAIM)
/* Process context: may sleep. */
#define LAB_GFP_KERNEL    (LAB_GFP_DIRECT_RECLAIM | LAB_GFP_KSWAPD_RECLAIM)
/* Atomic context: never sleeps, may dip into the emergency reserve. */
#define LAB_GFP_ATOMIC    (LAB_GFP_HIGH | LAB_GFP_KSWAPD_RECLAIM)
/* Never sleeps, no reserve, no failure report: for opportunistic callers. */
#define LAB_GFP_NOWAIT    (LAB_GFP_KSWAPD_RECLAIM | LAB_GFP_NOWARN)

#define LAB_GFP_ALL_BITS  0x07ffu

/* Write a gfp mask as "HIGH|KSWAPD_RECLAIM" into buf; returns buf. */
LAB_API const char *lab_gfp_name(lab_gfp_t gfp, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_GFP_H */
