/*
 * buddy.c - the buddy system: free lists per order and pageblock type,
 * splitting on allocation, merging on free (buddy pfn = pfn ^ (1 << order)),
 * the highatomic pageblock reserve and the stack of frees deferred while
 * the zone lock was taken.
 *
 * Everything here runs under the zone lock except lab__defer_free(), which
 * is lock-free so that a free never waits.
 */
#include "base/assert.h"
#include "page/buddy.h"
#include "page/gfp.h"
#include "page/page.h"
#include "page/zone.h"
#include "debug/trace.h"

static inline size_t pageblock_of(const struct lab_zone *z, size_t pfn)
{
	return pfn >> z->pageblock_order;
}

/*
 * The list primitives take the descriptor array (read once by the caller: a
 * store through a descriptor could otherwise make the compiler read z->pages
 * again) and the block's order and type as the caller knows them, and leave
 * z->nr_free to the caller, which adds the net change once: it is exact again
 * before the zone lock is released, and only holders of the lock read it.
 */
static inline void list_add(struct lab_zone *z, struct lab_page *pages, size_t pfn,
			    unsigned int order, unsigned int mt)
{
	struct free_area *area = &z->area[order];
	struct lab_page *p = &pages[pfn];
	uint32_t old = area->head[mt];

	p->prev = LAB_NO_PFN;
	p->next = old;
	if (old != LAB_NO_PFN)
		pages[old].prev = (uint32_t)pfn;
	area->head[mt] = (uint32_t)pfn;
	/* Read without the lock by the per-CPU fast path's watermark check. */
	__atomic_store_n(&area->nr_free[mt], area->nr_free[mt] + 1, __ATOMIC_RELAXED);
	p->order = (uint8_t)order;
	p->list_mt = (uint8_t)mt;
	set_page_flags(p, PG_buddy);
}

/* Unlink the free block at pfn, of that order on the list of type mt. */
static inline void list_del(struct lab_zone *z, struct lab_page *pages, size_t pfn,
			    unsigned int order, unsigned int mt)
{
	struct lab_page *p = &pages[pfn];
	struct free_area *area = &z->area[order];
	uint32_t next = p->next, prev = p->prev;

	if (prev != LAB_NO_PFN)
		pages[prev].next = next;
	else
		area->head[mt] = next;
	if (next != LAB_NO_PFN)
		pages[next].prev = prev;
	__atomic_store_n(&area->nr_free[mt], area->nr_free[mt] - 1, __ATOMIC_RELAXED);
	p->next = p->prev = LAB_NO_PFN;
	set_page_flags(p, 0);
}

/* A page of [pfn, pfn + 2^order) already on a free list (a block freed twice). */
static bool block_has_free_page(const struct lab_zone *z, size_t pfn, unsigned int order)
{
	for (size_t i = 0; i < (size_t)1 << order; i++)
		if (page_flags(pfn_to_page(z, pfn + i)) & PG_buddy)
			return true;
	return false;
}

/* __free_one_page(): merge with free buddies as far as they go. */
void lab__buddy_free(struct lab_zone *z, size_t pfn, unsigned int order)
{
	size_t managed = atomic_load_explicit(&z->managed, memory_order_relaxed);
	LAB_ASSERT(zone_lock_held_by_self(z));
	/* A block in its place: an order or pfn read from a damaged descriptor
	 * would link foreign memory into the free lists. */
	LAB_CHECK(order <= LAB_MAX_ORDER && !(pfn & (((size_t)1 << order) - 1)) &&
		  pfn + ((size_t)1 << order) <= managed);
	LAB_ASSERT_EXPENSIVE(!block_has_free_page(z, pfn, order));
	unsigned int mt = z->pageblock_mt[pageblock_of(z, pfn)];

	struct lab_page *pages = z->pages;
	size_t freed = (size_t)1 << order;

	set_page_flags(&pages[pfn], 0);  /* it may end up a tail */
	while (order < LAB_MAX_ORDER) {
		size_t buddy = pfn ^ ((size_t)1 << order);
		if (buddy >= managed)
			break;
		struct lab_page *bp = &pages[buddy];
		if (!(page_flags(bp) & PG_buddy) || bp->order != order)
			break;
		/* Pageblocks of different types do not merge (highatomic stays apart). */
		if (bp->list_mt != mt)
			break;
		list_del(z, pages, buddy, order, mt);
		pfn &= buddy;
		order++;
	}
	list_add(z, pages, pfn, order, mt);
	z->nr_free += freed;  /* the buddies merged in were free already */
}

/* Free an arbitrary range as the largest aligned blocks that fit. */
void lab__free_range(struct lab_zone *z, size_t start, size_t nr)
{
	LAB_ASSERT(zone_lock_held_by_self(z));
	size_t pfn = start, end = start + nr;
	while (pfn < end) {
		unsigned int order = LAB_MAX_ORDER;
		while (order && ((pfn & (((size_t)1 << order) - 1)) ||
				 pfn + ((size_t)1 << order) > end))
			order--;
		lab__buddy_free(z, pfn, order);
		pfn += (size_t)1 << order;
	}
}

/* __rmqueue_smallest(): the smallest free block of at least order, split down. */
static struct lab_page *rmqueue_smallest(struct lab_zone *z, unsigned int order, unsigned int mt)
{
	struct lab_page *pages = z->pages;
	for (unsigned int o = order; o <= LAB_MAX_ORDER; o++) {
		uint32_t pfn = z->area[o].head[mt];
		if (pfn == LAB_NO_PFN)
			continue;
		list_del(z, pages, pfn, o, mt);
		/* expand(): hand the upper halves back, largest first. */
		while (o > order) {
			o--;
			list_add(z, pages, pfn + ((size_t)1 << o), o, mt);
		}
		z->nr_free -= (size_t)1 << order;  /* the halves stay free */
		/* The head keeps its order from here on (lab__hand_out). */
		struct lab_page *page = &pages[pfn];
		page->order = (uint8_t)order;
		return page;
	}
	return NULL;
}

/* rmqueue_buddy(): highatomic first for those entitled, then normal, then
 * highatomic as a last resort for callers that cannot sleep. */
struct lab_page *lab__rmqueue(struct lab_zone *z, unsigned int order, unsigned int alloc_flags)
{
	struct lab_page *page = NULL;
	LAB_ASSERT(zone_lock_held_by_self(z));

	if (alloc_flags & ALLOC_HIGHATOMIC)
		page = rmqueue_smallest(z, order, MT_HIGHATOMIC);
	if (!page) {
		page = rmqueue_smallest(z, order, MT_NORMAL);
		if (!page && (alloc_flags & ALLOC_NON_BLOCK))
			page = rmqueue_smallest(z, order, MT_HIGHATOMIC);
		if (!page)
			return NULL;
		if (page->list_mt != MT_HIGHATOMIC)
			goto out;
	}
	zone_stat_inc_locked(z, highatomic_use);
out:
	lab_trace(mm_page_alloc_zone_locked, page, order, page->list_mt);
	return page;
}

/* Move the free blocks inside pageblock pb to the lists of type mt. */
static void move_freepages_block(struct lab_zone *z, size_t pb, unsigned int mt)
{
	size_t start = pb << z->pageblock_order;
	size_t end = start + ((size_t)1 << z->pageblock_order);
	size_t managed = atomic_load_explicit(&z->managed, memory_order_relaxed);

	if (end > managed)
		end = managed;
	struct lab_page *pages = z->pages;
	for (size_t pfn = start; pfn < end;) {
		struct lab_page *p = &pages[pfn];
		if (page_flags(p) & PG_buddy) {
			unsigned int order = p->order;
			list_del(z, pages, pfn, order, p->list_mt);
			list_add(z, pages, pfn, order, mt);  /* nr_free stays */
			pfn += (size_t)1 << order;
		} else {
			pfn++;
		}
	}
	z->pageblock_mt[pb] = (uint8_t)mt;
}

/*
 * reserve_highatomic_pageblock(): after a successful high-order allocation by
 * a caller that cannot sleep, set its pageblock aside for such callers, up to
 * about 1% of the zone (at least one pageblock).
 */
void lab__reserve_highatomic(struct lab_zone *z, size_t pfn)
{
	LAB_ASSERT(zone_lock_held_by_self(z));
	size_t pb_pages = (size_t)1 << z->pageblock_order;
	size_t managed = atomic_load_explicit(&z->managed, memory_order_relaxed);
	size_t max_reserved = (managed / 100 + pb_pages - 1) & ~(pb_pages - 1);

	if (max_reserved < pb_pages)
		max_reserved = pb_pages;
	if (z->nr_reserved_highatomic + pb_pages > max_reserved)
		return;
	size_t pb = pageblock_of(z, pfn);
	if (z->pageblock_mt[pb] == MT_HIGHATOMIC)
		return;
	move_freepages_block(z, pb, MT_HIGHATOMIC);
	__atomic_store_n(&z->nr_reserved_highatomic, z->nr_reserved_highatomic + pb_pages,
			 __ATOMIC_RELAXED);
}

/*
 * unreserve_highatomic_pageblock(): give one highatomic pageblock that has
 * free pages back to normal use.  Unless forced, the last one is kept.
 */
bool lab__unreserve_highatomic(struct lab_zone *z, bool force)
{
	LAB_ASSERT(zone_lock_held_by_self(z));
	size_t pb_pages = (size_t)1 << z->pageblock_order;

	if (!z->nr_reserved_highatomic)
		return false;
	if (!force && z->nr_reserved_highatomic <= pb_pages)
		return false;
	for (unsigned int o = 0; o <= LAB_MAX_ORDER; o++) {
		uint32_t pfn = z->area[o].head[MT_HIGHATOMIC];
		if (pfn == LAB_NO_PFN)
			continue;
		/* A block of at least a pageblock spans whole pageblocks: free them all. */
		size_t first = pageblock_of(z, pfn);
		size_t count = o > z->pageblock_order ? (size_t)1 << (o - z->pageblock_order) : 1;
		for (size_t pb = first; pb < first + count; pb++) {
			if (z->pageblock_mt[pb] != MT_HIGHATOMIC)
				continue;
			move_freepages_block(z, pb, MT_NORMAL);
			size_t left = z->nr_reserved_highatomic < pb_pages ? 0
				      : z->nr_reserved_highatomic - pb_pages;
			__atomic_store_n(&z->nr_reserved_highatomic, left, __ATOMIC_RELAXED);
		}
		return true;
	}
	return false;
}

/*
 * Frees that could not take the zone lock (a signal handler interrupted the
 * holder, or the holder is descheduled) are pushed on a lock-free stack of
 * pfns linked through lab_page.next.  The high half of the head is a push
 * counter, so a racing drain and push cannot confuse each other (no ABA).
 */
void lab__defer_free(struct lab_zone *z, size_t pfn, unsigned int order)
{
	struct lab_page *p = pfn_to_page(z, pfn);
	uint64_t old = atomic_load_explicit(&z->deferred_head, memory_order_relaxed);
	uint64_t new;

	/* The freed head already holds its order (free_pages_prepare() checked
	 * it); storing it again outside the lock would race with
	 * lab_zone_check() reading it under the lock. */
	if (p->order != order)
		p->order = (uint8_t)order;
	set_page_flags(p, PG_deferred);
	atomic_fetch_add_explicit(&z->nr_deferred, (size_t)1 << order, memory_order_relaxed);
	do {
		uint32_t top = (uint32_t)old;
		p->next = top ? top - 1 : LAB_NO_PFN;
		new = ((old >> 32) + 1) << 32 | (uint64_t)(pfn + 1);
	} while (!atomic_compare_exchange_weak_explicit(&z->deferred_head, &old, new,
							memory_order_release,
							memory_order_relaxed));
}

void lab__drain_deferred_list(struct lab_zone *z)
{
	LAB_ASSERT(zone_lock_held_by_self(z));
	uint64_t head = atomic_load_explicit(&z->deferred_head, memory_order_relaxed);
	if ((uint32_t)head == 0)
		return;
	/* Keep the counter, take the list. */
	while (!atomic_compare_exchange_weak_explicit(&z->deferred_head, &head,
						      head & ~(uint64_t)UINT32_MAX,
						      memory_order_acquire,
						      memory_order_relaxed))
		;
	uint32_t pfn = (uint32_t)head ? (uint32_t)head - 1 : LAB_NO_PFN;
	while (pfn != LAB_NO_PFN) {
		struct lab_page *p = pfn_to_page(z, pfn);
		uint32_t next = p->next;
		unsigned int order = p->order;
		set_page_flags(p, 0);
		p->next = LAB_NO_PFN;
		lab__buddy_free(z, pfn, order);
		z->nr_allocated -= (size_t)1 << order;
		atomic_fetch_sub_explicit(&z->nr_deferred, (size_t)1 << order, memory_order_relaxed);
		pfn = next;
	}
}
