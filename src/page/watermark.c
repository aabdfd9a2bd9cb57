/*
 * watermark.c - a zone's watermarks: derived from its size as the kernel
 * derives them for a machine (__setup_per_zone_wmarks), and the test of one
 * (__zone_watermark_ok) that every allocation path asks.
 */
#include "page/gfp.h"
#include "page/watermark.h"
#include "page/zone.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

static size_t int_sqrt(size_t x)
{
	size_t r = 0;
	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/*
 * __setup_per_zone_wmarks() for a zone that is the whole machine:
 * min_free_kbytes = sqrt(16 * zone kB) clamped to 128..262144 kB, capped at
 * 1/16 of the zone so small zones stay usable; then
 * tmp = max(min / 4, managed * scale / 10000), low = min + tmp, high = low + tmp.
 */
void lab__setup_watermarks(struct lab_zone *z)
{
	if (z->wmark_fixed)
		return;
	size_t managed = atomic_load(&z->managed);
	size_t kb = managed * (z->page_size / 1024);
	size_t min_kb = int_sqrt(kb * 16);
	if (min_kb < 128)
		min_kb = 128;
	if (min_kb > 262144)
		min_kb = 262144;
	size_t min = min_kb / (z->page_size / 1024);
	if (min > managed / 16)
		min = managed / 16;
	size_t tmp = min / 4;
	size_t scaled = managed * z->watermark_scale_factor / 10000;
	if (scaled > tmp)
		tmp = scaled;
	atomic_store(&z->wmark[WMARK_MIN], min);
	atomic_store(&z->wmark[WMARK_LOW], min + tmp);
	atomic_store(&z->wmark[WMARK_HIGH], min + 2 * tmp);
}

/* __zone_watermark_ok(): enough free pages (watermark.h), and for order > 0
 * a free block of at least that order the caller may take. */
bool lab__zone_watermark_ok(const struct lab_zone *z, unsigned int order, size_t mark,
			    unsigned int alloc_flags, size_t free_pages)
{
	if (!lab__watermark_free_ok(z, order, mark, alloc_flags, free_pages))
		return false;
	if (!order)
		return true;
	/* Enough pages is not enough for order > 0: a big enough block must exist. */
	for (unsigned int o = order; o <= LAB_MAX_ORDER; o++) {
		const struct free_area *area = &z->area[o];
		if (__atomic_load_n(&area->nr_free[MT_NORMAL], __ATOMIC_RELAXED))
			return true;
		if ((alloc_flags & ALLOC_HIGHATOMIC) &&
		    __atomic_load_n(&area->nr_free[MT_HIGHATOMIC], __ATOMIC_RELAXED))
			return true;
	}
	return false;
}
