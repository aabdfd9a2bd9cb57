/*
 * reclaim.h - getting memory back (reclaim.c): kswapd, shrinkers, direct
 * reclaim, waiting for frees, the OOM handler and zone growth.
 */
#ifndef LAB_PAGE_RECLAIM_H
#define LAB_PAGE_RECLAIM_H

#include "page/zone.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

void lab__wakeup_kswapd(struct lab_zone *z);
void lab__kswapd_arm_decay(struct lab_zone *z);
int lab__kswapd_start(struct lab_zone *z);
void lab__kswapd_stop(struct lab_zone *z);
unsigned long lab__shrink_slab(struct lab_zone *z, lab_gfp_t gfp, int priority);
unsigned long lab__direct_reclaim(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
bool lab__wait_for_free(struct lab_zone *z, uint32_t seq, int64_t timeout_ns);
void lab__wake_waiters_now(struct lab_zone *z);
/* After a free: wake the sleeping allocators, if any (a futex wake).  Inline:
 * nearly always nobody waits, and then it is one load and no locked
 * instruction. */
static inline void lab__wake_waiters(struct lab_zone *z)
{
	if (atomic_load(&z->nr_waiters) != 0)
		lab__wake_waiters_now(z);
}
/* Add memory to a LAB_ZONE_GROW zone for a block of order (reclaim.c's
 * grow_step says how much), under its grow mutex: may sleep.  True when the
 * zone grew, by this call or by another while this one waited. */
bool lab__zone_grow(struct lab_zone *z, unsigned int order);
/* The OOM handler's outcome: it released memory, it did not (or there is
 * none), another thread runs it now, this thread does (an allocation made
 * by the handler itself). */
enum { OOM_NONE, OOM_FREED, OOM_BUSY, OOM_SELF };
int lab__out_of_memory(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
/* The calling thread runs shrinkers now (the kernel's PF_MEMALLOC): its
 * allocations ignore the watermarks and never enter reclaim. */
bool lab__in_reclaim(void);

#endif /* LAB_PAGE_RECLAIM_H */
