/*
 * poison.h - page poisoning and the ASan/Valgrind marks of free memory
 * (poison.c): the hooks the page layer calls through debug/hooks.h, and the
 * marking the slab layer uses for its objects.
 */
#ifndef LAB_DEBUG_POISON_H
#define LAB_DEBUG_POISON_H

#include "page/zone.h"

#include <stdbool.h>
#include <stddef.h>

/* Compiled in unless built with -DLAB_CONFIG_POISON=0. */
#ifndef LAB_CONFIG_POISON
#define LAB_CONFIG_POISON 1
#endif

/* The hooks' test: poisoning or sanitizer marks on in this zone. */
static inline bool lab__poison_on(const struct lab_zone *z)
{
	return LAB_CONFIG_POISON && (z->debug & (ZONE_DEBUG_POISON | ZONE_DEBUG_SANITIZE));
}

unsigned int lab__poison_zone_debug(unsigned int zone_flags);
void lab__poison_free(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__poison_alloc(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__poison_new_range(struct lab_zone *z, size_t first, size_t nr);
void lab__poison_zone_fini(struct lab_zone *z);
/* The tools' view of memory: free (unaddressable) or allocated (defined:
 * the allocator itself is about to read it). */
void lab__sanitizer_mark_free(void *mem, size_t len);
void lab__sanitizer_mark_allocated(void *mem, size_t len, bool defined);

#endif /* LAB_DEBUG_POISON_H */
