/*
 * export.h - what the live export shows (export.c): the zones, which zone.c
 * adds and removes, and the caches of the layer above, which the slab layer
 * lends it a way to list.
 */
#ifndef LAB_DEBUG_EXPORT_H
#define LAB_DEBUG_EXPORT_H

#include "page/zone.h"

#include <labyrinth/slab.h>

void lab__stats_zone_add(struct lab_zone *z);
void lab__stats_zone_del(struct lab_zone *z);

/* An entry of the export's caches section, as this build writes it. */
struct lab__export_cache {
	char name[32];
	struct lab_kmem_cache_stats st;
};
/* The slab layer's lister: fill up to max entries, return how many.  Called
 * by the export (its thread, or a sync) with the export's lock held; it may
 * sleep and take the slab layer's locks. */
void lab__export_set_caches(unsigned int (*fill)(struct lab__export_cache *out,
						 unsigned int max));

#endif /* LAB_DEBUG_EXPORT_H */
