/*
 * buddy.h - the buddy system (buddy.c): free lists, split and merge, the
 * highatomic pageblocks, and the stack of deferred frees.  Everything runs
 * under the zone lock but lab__defer_free(), which is lock-free.
 */
#ifndef LAB_PAGE_BUDDY_H
#define LAB_PAGE_BUDDY_H

#include "page/zone.h"

#include <stdbool.h>
#include <stddef.h>

void lab__buddy_free(struct lab_zone *z, size_t pfn, unsigned int order);
struct lab_page *lab__rmqueue(struct lab_zone *z, unsigned int order, unsigned int alloc_flags);
void lab__reserve_highatomic(struct lab_zone *z, size_t pfn);
bool lab__unreserve_highatomic(struct lab_zone *z, bool force);
void lab__free_range(struct lab_zone *z, size_t start, size_t nr);
void lab__drain_deferred(struct lab_zone *z);
void lab__defer_free(struct lab_zone *z, size_t pfn, unsigned int order);

#endif /* LAB_PAGE_BUDDY_H */
