/*
 * watermark.h - the one watermark test (watermark.c): __zone_watermark_ok().
 * Its free-page part is inline so that the order-0 fast path asks it with
 * constants and pays nothing for the call.  It reads the zone's counts
 * without the zone lock: callers pass the free count they trust (the
 * locked nr_free, or the snapshot the last unlock published).
 */
#ifndef LAB_PAGE_WATERMARK_H
#define LAB_PAGE_WATERMARK_H

#include "page/gfp.h"
#include "page/zone.h"

#include <stdbool.h>
#include <stddef.h>

/* Would free_pages stay above mark after handing out 2^order pages, given
 * what this caller (alloc_flags) may dip into? */
static inline bool lab__watermark_free_ok(const struct lab_zone *z, unsigned int order,
					  size_t mark, unsigned int alloc_flags, size_t free_pages)
{
	long free_left = (long)free_pages - (((long)1 << order) - 1);
	long min = (long)mark;

	/* Callers without reserve rights may not count the highatomic pageblocks. */
	if (!(alloc_flags & ALLOC_RESERVES))
		free_left -= (long)__atomic_load_n(&z->nr_reserved_highatomic, __ATOMIC_RELAXED);
	if (alloc_flags & ALLOC_MIN_RESERVE) {
		min -= min / 2;                 /* __GFP_HIGH: half the reserve */
		if (alloc_flags & ALLOC_NON_BLOCK)
			min -= min / 4;         /* and cannot sleep: a further quarter */
	}
	return free_left > min;
}

/* __zone_watermark_ok(): the free pages, and for order > 0 a big enough
 * free block too. */
bool lab__zone_watermark_ok(const struct lab_zone *z, unsigned int order, size_t mark,
			    unsigned int alloc_flags, size_t free_pages);
/* The marks, derived from the zone's size unless the configuration fixed them. */
void lab__setup_watermarks(struct lab_zone *z);

#endif /* LAB_PAGE_WATERMARK_H */
