/*
 * hooks.h - what the page layer's paths call for debugging: one predictable
 * branch on z->debug when nothing is on.  The features are poison.c and
 * page_owner.c.
 */
#ifndef LAB_DEBUG_HOOKS_H
#define LAB_DEBUG_HOOKS_H

#include "base/compiler.h"
#include "os/stack.h"
#include "page/zone.h"
#include "debug/page_owner.h"
#include "debug/poison.h"

/* z->debug: what the alloc and free paths must do beyond the buddy work. */
enum {
	ZONE_DEBUG_POISON   = 1u << 0, /* fill freed pages with 0xaa, check on alloc */
	ZONE_DEBUG_OWNER    = 1u << 1, /* page owner records */
	ZONE_DEBUG_SANITIZE = 1u << 2, /* mark free pages for ASan / Valgrind */
};

static inline int lab__debug_zone_init(struct lab_zone *z, unsigned int zone_flags)
{
	lab__os_stack_warm();  /* reports capture stacks later, maybe in atomic context */
	z->debug = lab__poison_zone_debug(zone_flags) | lab__page_owner_zone_debug(zone_flags);
	return (z->debug & ZONE_DEBUG_OWNER) ? lab__page_owner_zone_init(z) : 0;
}
/* New memory [first, first+nr) about to be handed to the buddy lists. */
static inline int lab__debug_new_range(struct lab_zone *z, size_t first, size_t nr)
{
	if (lab_likely(!z->debug))
		return 0;
	lab__poison_new_range(z, first, nr);
	return (z->debug & ZONE_DEBUG_OWNER) ? lab__page_owner_new_range(z, first, nr) : 0;
}
static inline void lab__debug_zone_fini(struct lab_zone *z)
{
	if (z->debug & ZONE_DEBUG_OWNER)
		lab__page_owner_zone_fini(z);
	if (z->debug & (ZONE_DEBUG_POISON | ZONE_DEBUG_SANITIZE))
		lab__poison_zone_fini(z);
}
static inline void lab__debug_alloc(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
				    unsigned int order)
{
	if (lab_likely(!z->debug))
		return;
	lab__poison_alloc(z, page, order);
	if (z->debug & ZONE_DEBUG_OWNER)
		lab__page_owner_alloc(z, page, gfp, order);
}
static inline void lab__debug_free(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	if (lab_likely(!z->debug))
		return;
	if (z->debug & ZONE_DEBUG_OWNER)
		lab__page_owner_free(z, page, order);
	lab__poison_free(z, page, order);
}

#endif /* LAB_DEBUG_HOOKS_H */
