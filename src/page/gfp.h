/*
 * gfp.h - what a gfp mask lets an allocation do: the one place each GFP
 * decision is written.  Every layer asks here (the page allocator, mempools,
 * fault injection, and the slab layer above), never the bits themselves.
 * The names of the bits are gfp.c's (lab_gfp_name).
 */
#ifndef LAB_PAGE_GFP_H
#define LAB_PAGE_GFP_H

#include <labyrinth/gfp.h>

#include <stdbool.h>

/* alloc_flags, mirroring mm/internal.h ALLOC_*. */
enum {
	ALLOC_WMARK_MIN      = 0,
	ALLOC_WMARK_LOW      = 1,
	ALLOC_WMARK_HIGH     = 2,
	ALLOC_NO_WATERMARKS  = 4,
	ALLOC_WMARK_MASK     = 7,
	ALLOC_MIN_RESERVE    = 1u << 3, /* __GFP_HIGH */
	ALLOC_NON_BLOCK      = 1u << 4, /* cannot sleep */
	ALLOC_HIGHATOMIC     = 1u << 5, /* may use and create highatomic reserves */
	ALLOC_KSWAPD         = 1u << 6,
};
#define ALLOC_RESERVES (ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC)

/* May the caller sleep (run reclaim itself, wait for frees, take sleeping
 * locks)?  gfpflags_allow_blocking(). */
static inline bool lab__gfp_may_sleep(lab_gfp_t gfp)
{
	return gfp & LAB_GFP_DIRECT_RECLAIM;
}

/* May the caller dip into the min reserve (__GFP_HIGH)?  How far depends
 * on whether it may sleep as well (lab__gfp_to_alloc_flags). */
static inline bool lab__gfp_may_use_reserve(lab_gfp_t gfp)
{
	return gfp & LAB_GFP_HIGH;
}

/* May the caller ignore the watermarks altogether (__GFP_MEMALLOC)? */
static inline bool lab__gfp_ignores_watermarks(lab_gfp_t gfp)
{
	return gfp & LAB_GFP_MEMALLOC;
}

/* Bits no version of the API defines: the call is EINVAL. */
static inline bool lab__gfp_unknown_bits(lab_gfp_t gfp)
{
	return gfp & ~LAB_GFP_ALL_BITS;
}

/* NOFAIL needs to be able to wait: without DIRECT_RECLAIM it is EINVAL (the
 * kernel warns and fails too). */
static inline bool lab__gfp_nofail_invalid(lab_gfp_t gfp)
{
	return (gfp & LAB_GFP_NOFAIL) && !lab__gfp_may_sleep(gfp);
}

/* Modifiers the inline fast path (every order) honours as they are; ZERO and
 * EXCLUSIVE it handles as prep_new_page() does (alloc.c); any other bit (COMP,
 * NOFAIL, unknown bits) takes the general path. */
#define LAB_GFP_FAST_MASK (LAB_GFP_HIGH | LAB_GFP_NOWARN | LAB_GFP_NORETRY |            \
			   LAB_GFP_RETRY_MAYFAIL | LAB_GFP_MEMALLOC | LAB_GFP_DIRECT_RECLAIM | \
			   LAB_GFP_KSWAPD_RECLAIM)

/* gfp_to_alloc_flags() for the slow path: the MIN watermark, reduced by what
 * the caller may use; one that cannot sleep may also use (and for order > 0
 * create) the highatomic reserve. */
static inline unsigned int lab__gfp_to_alloc_flags(lab_gfp_t gfp, unsigned int order)
{
	unsigned int af = ALLOC_WMARK_MIN;
	if (lab__gfp_may_use_reserve(gfp))
		af |= ALLOC_MIN_RESERVE;
	if (gfp & LAB_GFP_KSWAPD_RECLAIM)
		af |= ALLOC_KSWAPD;
	if (!lab__gfp_may_sleep(gfp)) {
		af |= ALLOC_NON_BLOCK;
		if (order > 0)
			af |= ALLOC_HIGHATOMIC;
	}
	return af;
}

#endif /* LAB_PAGE_GFP_H */
