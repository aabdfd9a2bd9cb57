/*
 * gfp.h - what a gfp mask lets an allocation do, as alloc_flags mirroring
 * mm/internal.h's ALLOC_*.
 */
#ifndef LAB_PAGE_GFP_H
#define LAB_PAGE_GFP_H

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

#endif /* LAB_PAGE_GFP_H */
