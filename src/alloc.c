/*
 * alloc.c - the GFP contract: lab_alloc_pages() with the kernel's fast path
 * (LOW watermark), slow path (wake kswapd, MIN watermark reduced by what the
 * caller may use, reserves, direct reclaim, waiting, OOM, retry policy), and
 * lab_free_pages() with its misuse checks.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define MAX_RECLAIM_RETRIES 16
/* How long a sleeping allocator waits for a free before it re-evaluates. */
#define STALL_WAIT_NS (10 * 1000 * 1000)

static inline bool can_sleep(lab_gfp_t gfp)
{
	return gfp & LAB_GFP_DIRECT_RECLAIM;
}

/* gfp_to_alloc_flags() for the slow path. */
static unsigned int gfp_to_alloc_flags(lab_gfp_t gfp, unsigned int order)
{
	unsigned int af = ALLOC_WMARK_MIN;
	if (gfp & LAB_GFP_HIGH)
		af |= ALLOC_MIN_RESERVE;
	if (gfp & LAB_GFP_KSWAPD_RECLAIM)
		af |= ALLOC_KSWAPD;
	if (!can_sleep(gfp)) {
		af |= ALLOC_NON_BLOCK;
		if (order > 0)
			af |= ALLOC_HIGHATOMIC;
	}
	return af;
}

/*
 * get_page_from_freelist(): check the watermark and take a block, both under
 * the zone lock, so the boundary is exact.  Callers that cannot sleep never
 * wait for the lock behind their own thread (a signal handler) or for long.
 */
static struct lab_page *get_page_from_freelist(struct lab_zone *z, lab_gfp_t gfp,
					       unsigned int order, unsigned int af)
{
	if (can_sleep(gfp))
		lab__zone_lock(z);
	else if (!lab__zone_lock_atomic(z))
		return NULL;
	lab__drain_deferred(z);

	size_t free_before = z->nr_free;
	if (!(af & ALLOC_NO_WATERMARKS)) {
		size_t mark = atomic_load_explicit(&z->wmark[af & ALLOC_WMARK_MASK],
						   memory_order_relaxed);
		if (!lab__zone_watermark_ok(z, order, mark, af, free_before)) {
			lab__zone_unlock(z);
			return NULL;
		}
	}
	struct lab_page *page = lab__rmqueue(z, order, af);
	if (page) {
		size_t pfn = page_to_pfn(z, page);
		if ((af & ALLOC_HIGHATOMIC) && order < z->pageblock_order)
			lab__reserve_highatomic(z, pfn);
		z->nr_allocated += (size_t)1 << order;
		page->order = (uint8_t)order;
		atomic_store_explicit(&page->refcount, 1, memory_order_relaxed);
		set_page_flags(page, PG_allocated | ((gfp & LAB_GFP_COMP) ? PG_head : 0));
	}
	lab__zone_unlock(z);
	if (page && free_before <= atomic_load_explicit(&z->wmark[WMARK_MIN], memory_order_relaxed))
		zone_stat_inc(z, reserve_use);
	return page;
}

static struct lab_page *alloc_slowpath(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	unsigned int af = gfp_to_alloc_flags(gfp, order);
	bool costly = order > LAB_COSTLY_ORDER;
	int no_progress = 0;
	struct lab_page *page = NULL;

	if (can_sleep(gfp))
		atomic_fetch_add(&z->nr_waiters, 1);  /* before any check: no lost wake-up */
	for (;;) {
		uint32_t seq = atomic_load(&z->free_seq);
		if (af & ALLOC_KSWAPD)
			lab__wakeup_kswapd(z);
		page = get_page_from_freelist(z, gfp, order, af);
		if (page)
			break;
		if (gfp & LAB_GFP_MEMALLOC) {
			page = get_page_from_freelist(z, gfp, order, ALLOC_NO_WATERMARKS | af);
			if (page)
				break;
		}
		if (!can_sleep(gfp))
			break;

		/* Direct reclaim: run the shrinkers ourselves, then look again. */
		unsigned long reclaimed = lab__direct_reclaim(z, gfp, order);
		page = get_page_from_freelist(z, gfp, order, af);
		if (page)
			break;
		if ((z->flags & LAB_ZONE_GROW) && lab__zone_grow(z, order)) {
			no_progress = 0;
			continue;
		}
		if (gfp & LAB_GFP_NORETRY)
			goto nopage;
		if (costly && !(gfp & LAB_GFP_RETRY_MAYFAIL))
			goto nopage;

		/* Nothing came back: sleep until a free, then retry.  A wake-up only
		 * says "look again": frees elsewhere that never satisfy this request
		 * must not keep it looping.  Like should_reclaim_retry(), only our own
		 * reclaim's progress restarts the count, and never for costly orders. */
		zone_stat_inc(z, alloc_stall);
		lab__wait_for_free(z, seq, STALL_WAIT_NS);
		if (reclaimed && !costly) {
			no_progress = 0;
			continue;
		}
		if (++no_progress <= MAX_RECLAIM_RETRIES)
			continue;

		/* Out of rounds: the highatomic reserve goes first, then OOM. */
		lab__zone_lock(z);
		bool released = lab__unreserve_highatomic(z, true);
		lab__zone_unlock(z);
		if (released) {
			no_progress = 0;
			continue;
		}
		if (!(gfp & LAB_GFP_RETRY_MAYFAIL) && z->oom_handler) {
			zone_stat_inc(z, oom_calls);
			if (z->oom_handler(z, gfp, order, z->oom_arg)) {
				no_progress = 0;
				continue;
			}
		}
nopage:
		if (gfp & LAB_GFP_NOFAIL) {
			/* NOFAIL: keep waiting for memory; never return NULL. */
			no_progress = 0;
			continue;
		}
		break;
	}
	if (can_sleep(gfp))
		atomic_fetch_sub(&z->nr_waiters, 1);
	return page;
}

static void count_failure(struct lab_zone *z, lab_gfp_t gfp)
{
	zone_stat_inc(z, alloc_fail);
	if (can_sleep(gfp))
		zone_stat_inc(z, fail_sleeping);
	else if (gfp & LAB_GFP_HIGH)
		zone_stat_inc(z, fail_atomic);
	else
		zone_stat_inc(z, fail_nowait);
}

/* prep_new_page(): make a block ready for its new owner, outside the lock. */
static void prep_new_page(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			  unsigned int order)
{
	if (gfp & (LAB_GFP_ZERO | LAB_GFP_EXCLUSIVE))
		memset(lab_page_address(page), 0, z->page_size << order);
}

struct lab_page *lab_alloc_pages(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	if (unlikely(!z)) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(order > LAB_MAX_ORDER || (gfp & ~LAB_GFP_ALL_BITS))) {
		zone_stat_inc(z, alloc_einval);
		errno = EINVAL;
		return NULL;
	}
	if (unlikely((gfp & LAB_GFP_NOFAIL) && !can_sleep(gfp))) {
		/* NOFAIL needs to be able to wait; the kernel warns and fails too. */
		static _Atomic int warned;
		if (!atomic_exchange(&warned, 1))
			lab__printk("labyrinth: NOFAIL without DIRECT_RECLAIM is invalid\n");
		zone_stat_inc(z, alloc_einval);
		errno = EINVAL;
		return NULL;
	}

	/* Fast path: the LOW watermark, no reserves. */
	struct lab_page *page = get_page_from_freelist(z, gfp, order, ALLOC_WMARK_LOW);
	if (unlikely(!page))
		page = alloc_slowpath(z, gfp, order);
	if (unlikely(!page)) {
		count_failure(z, gfp);
		if (!(gfp & LAB_GFP_NOWARN))
			lab__warn_alloc(z, gfp, order, "page allocation failure");
		errno = ENOMEM;
		return NULL;
	}
	prep_new_page(z, page, gfp, order);
	zone_stat_inc(z, alloc_success);
	zone_stat_inc(z, alloc_order[order]);
	return page;
}

void *lab_get_free_pages(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	struct lab_page *page = lab_alloc_pages(z, gfp, order);
	return page ? lab_page_address(page) : NULL;
}

/* Why a descriptor that heads no allocated block was freed. */
static const char *bad_free_reason(uint32_t flags)
{
	if (flags & (PG_buddy | PG_deferred))
		return "double free: the block is already free";
	if (flags & PG_bad)
		return "free of a page already reported bad";
	return "not the first page of an allocated block (double free of a split block?)";
}

/* Leak a block whose free was misused: it stays counted as allocated. */
static void leak_block(struct lab_zone *z, struct lab_page *page)
{
	set_page_flags(page, PG_bad);
	atomic_fetch_add(&z->nr_leaked, (size_t)1 << page->order);
}

/*
 * free_pages_prepare(): claim the block and check the free is legitimate.
 * Returns false when it is not: the misuse is reported and, if the block was
 * really allocated, it is leaked rather than reused.
 */
static bool free_pages_prepare(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	/* Claim the block: of two racing frees, exactly one sees PG_allocated.
	 * PG_deferred marks it "being freed" until it reaches a free list. */
	uint32_t old = page_flags(page), claimed;
	do {
		if (unlikely(!(old & PG_allocated))) {
			lab__bad_page(z, page, bad_free_reason(old));
			return false;
		}
		claimed = (old & ~(uint32_t)(PG_allocated | PG_head | PG_exclusive)) | PG_deferred;
	} while (!atomic_compare_exchange_weak(&page->flags, &old, claimed));

	const char *bad = NULL;
	int32_t one = 1;
	if (unlikely(order != page->order))
		bad = order > LAB_MAX_ORDER ? "freed with an order above LAB_MAX_ORDER"
					    : "freed with a different order than allocated";
	else if (unlikely(!atomic_compare_exchange_strong(&page->refcount, &one, 0)))
		bad = "freed while its reference count is not 1";
	else if (unlikely(old & PG_locked))
		bad = "freed while the page lock is held";
	if (unlikely(bad)) {
		leak_block(z, page);
		lab__bad_page(z, page, bad);
		return false;
	}
	return true;
}

/* Give a claimed block back to the buddy lists; never sleeps, never waits
 * for the lock behind its own thread (the free is deferred instead). */
void lab__free_block(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	size_t pfn = page_to_pfn(z, page);
	zone_stat_inc(z, free_calls);
	if (!lab__zone_lock_atomic(z)) {
		lab__defer_free(z, pfn, order);
	} else {
		lab__drain_deferred(z);
		lab__buddy_free(z, pfn, order);
		z->nr_allocated -= (size_t)1 << order;
		lab__zone_unlock(z);
	}
	lab__wake_waiters(z);
}

void lab_free_pages(struct lab_page *page, unsigned int order)
{
	if (unlikely(!page))
		return;
	struct lab_zone *z = lab__zone_of_desc(page);
	if (unlikely(!z)) {
		lab__bad_pointer(page, "lab_free_pages: not a page descriptor of any zone");
		return;
	}
	if (free_pages_prepare(z, page, order))
		lab__free_block(z, page, order);
}

void lab_free_pages_addr(void *addr, unsigned int order)
{
	if (!addr)
		return;
	struct lab_page *page = lab_virt_to_page(addr);
	if (!page) {
		lab__bad_pointer(addr, "lab_free_pages_addr: address in no zone");
		return;
	}
	if ((uintptr_t)addr & (page->zone->page_size - 1)) {
		lab__bad_page(page->zone, page, "lab_free_pages_addr: address not page aligned");
		return;
	}
	lab_free_pages(page, order);
}
