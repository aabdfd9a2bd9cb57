/*
 * alloc.h - the allocator's cross-file functions: the free side (free.c),
 * for the files that drop references and give blocks back (refcount.c,
 * pcp.c, the tests), and the allocation-failure report (alloc.c).
 */
#ifndef LAB_PAGE_ALLOC_H
#define LAB_PAGE_ALLOC_H

#include "page/page.h"
#include "page/zone.h"

#include <stdatomic.h>

/* Give a claimed block back to this CPU's list or the buddy lists; never
 * sleeps, never waits for the lock behind its own thread (the free is then
 * deferred). */
void lab__free_block(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__free_pages_slab(struct lab_page *page, unsigned int order);
/* free_the_page: the last reference is gone, check and free the block;
 * leak_block: report a misuse and, if the block is still allocated, leak it
 * (never reused, counted as allocated). */
void lab__free_the_page(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__leak_block(struct lab_zone *z, struct lab_page *page, const char *reason);
/* lab_put_page() with a free's checks (free.c). */
void lab__put_page(struct lab_zone *z, struct lab_page *page);
/* A mempool's reserve (mempool.c): a block taken back as a free takes it
 * (checks, claim, scrub, debugging hooks) but kept, PG_pooled; handed out
 * again as an allocation hands it out (alloc.c); or freed to the zone. */
bool lab__free_to_reserve(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__free_from_reserve(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__hand_out_pooled(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			  unsigned int order);

/*
 * Hand a block out: one reference, PG_allocated, and PG_head for a compound
 * (LAB_GFP_COMP) block; the one place that makes a block allocated.  Its
 * head already holds its order: the buddy lists (lab__rmqueue) and the
 * per-CPU lists (each page on a list has the list's order) keep it there.
 */
static inline void lab__hand_out(struct lab_page *page, lab_gfp_t gfp)
{
	atomic_store_explicit(&page->refcount, 1, memory_order_relaxed);
	set_page_flags(page, PG_allocated | ((gfp & LAB_GFP_COMP) ? PG_head : 0));
}

/* warn_alloc(): report a failed allocation (rate limited); a caller that
 * cannot sleep leaves it to kswapd, which prints it with flush_warnings. */
void lab__warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
void lab__flush_warnings(struct lab_zone *z);

#endif /* LAB_PAGE_ALLOC_H */
