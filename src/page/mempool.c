/*
 * mempool.c - reserves with a guarantee, like the kernel's mempool: min_nr
 * blocks set aside at creation so that an atomic caller still gets one when
 * the zone is exhausted, and a sleeping caller waits for a returned element
 * instead of failing.
 *
 * A block comes into the reserve as a free takes it back, and leaves it as
 * an allocation hands it out (free.c lab__free_to_reserve, alloc.c
 * lab__hand_out_pooled): the free's checks (a double free, a non-owner's
 * return of an exclusive block), the scrub and owner reset of an exclusive
 * block, then PG_pooled with no reference; on the way out one reference,
 * zeroing and an owner for EXCLUSIVE.  So the reserve never hands a block
 * out twice, never with another owner's bytes, and destroying the pool
 * frees what it holds whoever returned it.
 *
 * The reserve is a lock-free stack of pfns linked through the descriptors'
 * free-list link (pooled blocks are on no list, so the link is unused), with
 * a tag against ABA; push and pop are async-signal-safe and make no system
 * call.  Sleepers wait on a futex that frees wake.
 */
#include "os/os.h"
#include "page/alloc.h"
#include "page/badpage.h"
#include "page/gfp.h"
#include "page/page.h"
#include "page/zone.h"

#include <errno.h>
#include <string.h>

/* The kernel waits 5 s between retries (io_schedule_timeout(5 * HZ)); we
 * re-check sooner, since a free here is a futex wake away. */
#define POOL_WAIT_NS (100 * 1000 * 1000)

struct lab_mempool {
	struct lab_zone *zone;
	unsigned int order;
	unsigned int min_nr;
	_Atomic uint64_t top;       /* pfn + 1 (0: empty) | tag << 32 */
	_Atomic unsigned int curr_nr;
	_Atomic uint32_t seq;       /* bumped by frees, for sleepers */
	_Atomic int waiters;
};

static void pool_push(struct lab_mempool *pool, struct lab_page *page)
{
	struct lab_zone *z = pool->zone;
	uint32_t pfn = (uint32_t)page_to_pfn(z, page);
	uint64_t old = atomic_load_explicit(&pool->top, memory_order_relaxed), new;
	do {
		uint32_t top = (uint32_t)old;
		page->next = top ? top - 1 : LAB_NO_PFN;
		new = ((old >> 32) + 1) << 32 | (uint64_t)(pfn + 1);
	} while (!atomic_compare_exchange_weak_explicit(&pool->top, &old, new, memory_order_release,
							memory_order_relaxed));
}

static struct lab_page *pool_pop(struct lab_mempool *pool)
{
	struct lab_zone *z = pool->zone;
	uint64_t old = atomic_load_explicit(&pool->top, memory_order_acquire), new;
	struct lab_page *page;
	do {
		uint32_t top = (uint32_t)old;
		if (!top)
			return NULL;
		page = pfn_to_page(z, top - 1);
		/* Descriptors stay mapped, so reading a stale link is harmless: the
		 * tag makes the exchange fail if the top changed meanwhile. */
		uint32_t next = __atomic_load_n(&page->next, __ATOMIC_RELAXED);
		new = ((old >> 32) + 1) << 32 | (next == LAB_NO_PFN ? 0 : (uint64_t)next + 1);
	} while (!atomic_compare_exchange_weak_explicit(&pool->top, &old, new, memory_order_acquire,
							memory_order_acquire));
	atomic_fetch_sub(&pool->curr_nr, 1);
	return page;
}

struct lab_mempool *lab_mempool_create(struct lab_zone *zone, unsigned int min_nr, unsigned int order)
{
	if (!zone || !min_nr || order > LAB_MAX_ORDER) {
		errno = EINVAL;
		return NULL;
	}
	/* A page of its own from the OS: no malloc in the library. */
	int err = 0;
	struct lab_mempool *pool = lab__os_map_populated(sizeof(*pool), &err);
	if (!pool) {
		errno = -err;
		return NULL;
	}
	pool->zone = zone;
	pool->order = order;
	pool->min_nr = min_nr;
	for (unsigned int i = 0; i < min_nr; i++) {
		struct lab_page *page = lab_alloc_pages(zone, LAB_GFP_KERNEL | LAB_GFP_NOWARN, order);
		if (!page || !lab__free_to_reserve(zone, page, order)) {
			lab_mempool_destroy(pool);
			errno = ENOMEM;
			return NULL;
		}
		pool_push(pool, page);
		atomic_fetch_add(&pool->curr_nr, 1);
	}
	return pool;
}

void lab_mempool_destroy(struct lab_mempool *pool)
{
	if (!pool)
		return;
	struct lab_page *page;
	while ((page = pool_pop(pool)))
		lab__free_from_reserve(pool->zone, page, pool->order);
	lab__os_unmap(pool, sizeof(*pool));
}

unsigned int lab_mempool_available(const struct lab_mempool *pool)
{
	return pool ? atomic_load(&pool->curr_nr) : 0;
}

/*
 * mempool_alloc(): try the zone without sleeping, reserves or warnings; then
 * the pool; then, if the caller may sleep, the zone with its own gfp once,
 * and after that wait for an element to come back.  Never fails for a
 * sleeping caller; an atomic caller fails only when the pool is empty too.
 */
struct lab_page *lab_mempool_alloc(struct lab_mempool *pool, lab_gfp_t gfp)
{
	if (!pool || lab__gfp_unknown_bits(gfp) || (gfp & LAB_GFP_NOFAIL)) {
		errno = EINVAL;
		return NULL;
	}
	lab_gfp_t first = (gfp & ~(LAB_GFP_DIRECT_RECLAIM | LAB_GFP_MEMALLOC)) |
			  LAB_GFP_NORETRY | LAB_GFP_NOWARN;
	bool tried_full = false;
	for (;;) {
		uint32_t seq = atomic_load(&pool->seq);
		struct lab_page *page = lab_alloc_pages(pool->zone, first, pool->order);
		if (page)
			return page;
		page = pool_pop(pool);
		if (page) {
			lab__hand_out_pooled(pool->zone, page, gfp, pool->order);
			return page;
		}
		if (!lab__gfp_may_sleep(gfp)) {
			errno = ENOMEM;
			return NULL;
		}
		if (!tried_full) {
			/* Once with the caller's full gfp: reclaim may work. */
			tried_full = true;
			first = gfp | LAB_GFP_NOWARN | LAB_GFP_NORETRY;
			continue;
		}
		atomic_fetch_add(&pool->waiters, 1);
		if (!atomic_load(&pool->curr_nr))
			lab__os_futex_wait(&pool->seq, seq, POOL_WAIT_NS);
		atomic_fetch_sub(&pool->waiters, 1);
	}
}

/* mempool_free(): refill the pool up to min_nr first, then give to the zone.
 * Either way the block comes back as a free takes it (free.c). */
void lab_mempool_free(struct lab_page *page, struct lab_mempool *pool)
{
	if (!page || !pool)
		return;
	if (lab__zone_of_desc(page) != pool->zone) {
		lab__bad_pointer(page, "lab_mempool_free: not a page descriptor of the pool's zone");
		return;
	}
	if (atomic_fetch_add(&pool->curr_nr, 1) < pool->min_nr) {
		if (!lab__free_to_reserve(pool->zone, page, pool->order)) {
			atomic_fetch_sub(&pool->curr_nr, 1);  /* reported, or still referenced */
			return;
		}
		pool_push(pool, page);
		if (atomic_load(&pool->waiters)) {
			atomic_fetch_add(&pool->seq, 1);
			lab__os_futex_wake(&pool->seq, 1);
		}
		return;
	}
	atomic_fetch_sub(&pool->curr_nr, 1);
	lab_free_pages(page, pool->order);
}
