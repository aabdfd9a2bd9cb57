/*
 * labyrinth/mempool.h - mempools: reserves with a guarantee.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_MEMPOOL_H
#define LABYRINTH_MEMPOOL_H

#include <labyrinth/gfp.h>
#include <labyrinth/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lab_mempool;
/*
 * Set min_nr blocks of 2^order pages of zone aside.  NULL and errno (EINVAL,
 * ENOMEM) on failure.  May sleep.
 */
LAB_API struct lab_mempool *lab_mempool_create(struct lab_zone *zone, unsigned int min_nr,
					       unsigned int order);
/* Free the reserve.  Every element must have been returned.  May sleep. */
LAB_API void lab_mempool_destroy(struct lab_mempool *pool);
/*
 * A block: from the zone (without sleeping) while it has memory, else from
 * the reserve.  A caller with LAB_GFP_DIRECT_RECLAIM then tries reclaim and
 * finally sleeps until an element is returned: it never gets NULL.  An atomic
 * caller gets NULL (ENOMEM) only when the zone and the reserve are both empty;
 * it never sleeps and makes no system call.  ZERO is honoured; NOFAIL is
 * EINVAL (a sleeping mempool allocation never fails anyway).
 */
LAB_API struct lab_page *lab_mempool_alloc(struct lab_mempool *pool, lab_gfp_t gfp);
/*
 * Return a block: it refills the reserve first, else goes to the zone.
 * Either way it is a free, with a free's checks and reports: a block
 * returned twice ("double free: the block is in a mempool's reserve"), of
 * another zone or order, or an exclusive block returned by a non-owner is
 * reported and never pooled twice; an exclusive block is scrubbed and
 * disowned before the reserve keeps it.  Never sleeps; async-signal-safe.
 */
LAB_API void lab_mempool_free(struct lab_page *page, struct lab_mempool *pool);
/* Elements in the reserve now (0 for a NULL pool). */
LAB_API unsigned int lab_mempool_available(const struct lab_mempool *pool);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_MEMPOOL_H */
