/*
 * buddy.h - the buddy system (buddy.c): free lists, split and merge, the
 * highatomic pageblocks, and the stack of deferred frees.  Everything runs
 * under the zone lock but lab__defer_free(), which is lock-free.
 */
#ifndef LAB_PAGE_BUDDY_H
#define LAB_PAGE_BUDDY_H

#include "base/compiler.h"
#include "page/zone.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void lab__buddy_free(struct lab_zone *z, size_t pfn, unsigned int order);
struct lab_page *lab__rmqueue(struct lab_zone *z, unsigned int order, unsigned int alloc_flags);
void lab__reserve_highatomic(struct lab_zone *z, size_t pfn);
bool lab__unreserve_highatomic(struct lab_zone *z, bool force);
void lab__free_range(struct lab_zone *z, size_t start, size_t nr);
void lab__drain_deferred_list(struct lab_zone *z);
/* Under the zone lock: free what lab__defer_free() pushed.  Inline, as
 * every locked section starts with it and the stack is nearly always
 * empty: one relaxed load then. */
static inline void lab__drain_deferred(struct lab_zone *z)
{
	if (lab_unlikely((uint32_t)atomic_load_explicit(&z->deferred_head, memory_order_relaxed)))
		lab__drain_deferred_list(z);
}
void lab__defer_free(struct lab_zone *z, size_t pfn, unsigned int order);

#endif /* LAB_PAGE_BUDDY_H */
