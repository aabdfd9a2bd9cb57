/*
 * hooks.h - what the page layer's paths call for debugging: one predictable
 * branch on z->debug when nothing is on.  The features are poison.c and
 * page_owner.c, each with its own hook header (poison.h, page_owner.h) whose
 * test is its compiled-in tier (LAB_CONFIG_*) times its runtime bit, so a
 * feature configured out compiles to nothing here.
 */
#ifndef LAB_DEBUG_HOOKS_H
#define LAB_DEBUG_HOOKS_H

#include "base/compiler.h"
#include "page/zone.h"
#include "debug/page_owner.h"
#include "debug/poison.h"

static inline int lab__debug_zone_init(struct lab_zone *z, unsigned int zone_flags)
{
	z->debug = (LAB_CONFIG_POISON ? lab__poison_zone_debug(zone_flags) : 0) |
		   (LAB_CONFIG_PAGE_OWNER ? lab__page_owner_zone_debug(zone_flags) : 0);
	return lab__page_owner_on(z) ? lab__page_owner_zone_init(z) : 0;
}
/* New memory [first, first+nr) about to be handed to the buddy lists. */
static inline int lab__debug_new_range(struct lab_zone *z, size_t first, size_t nr)
{
	if (lab_likely(!z->debug))
		return 0;
	if (lab__poison_on(z))
		lab__poison_new_range(z, first, nr);
	return lab__page_owner_on(z) ? lab__page_owner_new_range(z, first, nr) : 0;
}
/* Memory the features keep per page of [first, first+nr): page_owner's
 * records (zone.c counts them before it commits a range). */
static inline size_t lab__debug_bytes(const struct lab_zone *z, size_t nr)
{
	return lab__page_owner_on(z) ? nr * sizeof(struct page_owner) : 0;
}
static inline void lab__debug_zone_fini(struct lab_zone *z)
{
	if (lab__page_owner_on(z))
		lab__page_owner_zone_fini(z);
	if (lab__poison_on(z))
		lab__poison_zone_fini(z);
}
static inline void lab__debug_alloc(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
				    unsigned int order)
{
	if (lab_likely(!z->debug))
		return;
	if (lab__poison_on(z))
		lab__poison_alloc(z, page, order);
	if (lab__page_owner_on(z))
		lab__page_owner_alloc(z, page, gfp, order);
}
static inline void lab__debug_free(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	if (lab_likely(!z->debug))
		return;
	if (lab__page_owner_on(z))
		lab__page_owner_free(z, page, order);
	if (lab__poison_on(z))
		lab__poison_free(z, page, order);
}

#endif /* LAB_DEBUG_HOOKS_H */
