/*
 * alloc.c - the GFP contract: lab_alloc_pages() with the kernel's fast path
 * (LOW watermark), slow path (wake kswapd, MIN watermark reduced by what the
 * caller may use, reserves, direct reclaim, waiting, OOM, retry policy).
 * The free side is free.c.
 */
#include "base/assert.h"
#include "base/compiler.h"
#include "base/fmt.h"
#include "base/ratelimit.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/rseq_list.h"
#include "page/alloc.h"
#include "page/atomic.h"
#include "page/buddy.h"
#include "page/gfp.h"
#include "page/page.h"
#include "page/pcp.h"
#include "page/reclaim.h"
#include "page/watermark.h"
#include "page/zone.h"
#include "secure/hooks.h"
#include "debug/fault.h"
#include "debug/hooks.h"
#include "debug/trace.h"

#include <errno.h>
#include <string.h>

#define MAX_RECLAIM_RETRIES 16
/* How long a sleeping allocator waits for a free before it re-evaluates. */
#define STALL_WAIT_NS (10 * 1000 * 1000)

/*
 * get_page_from_freelist(): check the watermark and take a block, both under
 * the zone lock, so the boundary is exact.  Callers that cannot sleep never
 * wait for the lock behind their own thread (a signal handler) or for long.
 */
static struct lab_page *get_page_from_freelist(struct lab_zone *z, lab_gfp_t gfp,
					       unsigned int order, unsigned int af)
{
	/* Orders with per-CPU lists come from this CPU's list when the zone
	 * passes the mark, checked without the lock on the last published free
	 * count. */
	if (pcp_has_list(z, order)) {
		size_t free_now = atomic_load_explicit(&z->nr_free_snapshot, memory_order_relaxed);
		if (!(af & ALLOC_NO_WATERMARKS)) {
			size_t mark = atomic_load_explicit(&z->wmark[af & ALLOC_WMARK_MASK],
							   memory_order_relaxed);
			if (!lab__zone_watermark_ok(z, order, mark, af, free_now))
				return NULL;
		}
		struct lab_page *page = lab__pcp_alloc(z, gfp, order);
		if (page) {
			if (free_now <= atomic_load_explicit(&z->wmark[WMARK_MIN], memory_order_relaxed))
				zone_stat_inc(z, reserve_use);
			return page;
		}
		/* The list was unusable or the refill found nothing: try the buddy lists. */
	}

	if (lab__gfp_may_sleep(gfp))
		lab__zone_lock(z);
	else if (!lab__zone_lock_atomic_alloc(z))
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
		lab__hand_out(page, gfp);
		/* Under the lock: the counters' locked cells (counters.h). */
		zone_stat_inc_locked(z, alloc_success);
		zone_stat_inc_locked(z, alloc_order[order]);
	}
	lab__zone_unlock(z);
	if (page && free_before <= atomic_load_explicit(&z->wmark[WMARK_MIN], memory_order_relaxed))
		zone_stat_inc(z, reserve_use);
	return page;
}

/*
 * Pages that are free but on no buddy list, where the watermark test does
 * not count them: this CPU's lists, every CPU's (see lab__pcp_drain_all for
 * an atomic caller), and frees deferred while the zone lock was taken.  The
 * kernel's drain_all_pages() before it declares OOM; here before every
 * decision that memory is short, so that no sleeping caller waits while
 * pages sit free.
 */
static void drain_stranded(struct lab_zone *z, bool may_sleep)
{
	if (z->pcp) {
		lab__pcp_drain_local(z);
		lab__pcp_drain_all(z, may_sleep);
	}
	if (!atomic_load_explicit(&z->nr_deferred, memory_order_relaxed))
		return;
	if (may_sleep)
		lab__zone_lock(z);
	else if (!lab__zone_lock_atomic(z))
		return;
	lab__drain_deferred(z);
	lab__zone_unlock(z);
}

static struct lab_page *alloc_slowpath(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	unsigned int af = lab__gfp_to_alloc_flags(gfp, order);
	bool costly = order > LAB_COSTLY_ORDER;
	bool may_sleep = lab__gfp_may_sleep(gfp);
	/* PF_MEMALLOC: an allocation by reclaim itself (a shrinker's callback)
	 * may take every free page, and must not enter reclaim again. */
	bool in_reclaim = lab__in_reclaim();
	bool no_watermarks = lab__gfp_ignores_watermarks(gfp) || in_reclaim;
	int no_progress = 0;
	bool drained = false;
	struct lab_page *page = NULL;

	if (may_sleep)
		atomic_fetch_add(&z->nr_waiters, 1);  /* before any check: no lost wake-up */
	for (;;) {
		uint32_t seq = atomic_load(&z->free_seq);
		if (af & ALLOC_KSWAPD)
			lab__wakeup_kswapd(z);
		page = get_page_from_freelist(z, gfp, order, af);
		if (page)
			break;
		if (no_watermarks) {
			page = get_page_from_freelist(z, gfp, order, ALLOC_NO_WATERMARKS | af);
			if (page)
				break;
		}
		/* Before anything else, stranded pages go back (see drain_stranded).
		 * Once per round: every round after a wait drains again, since a page
		 * freed meanwhile onto another CPU's list, or deferred, would wait
		 * there for nobody. */
		if (!drained) {
			drained = true;
			drain_stranded(z, may_sleep);
			continue;
		}
		if (!may_sleep)
			break;
		if (in_reclaim) {
			/* "Avoid recursion of direct reclaim" (the kernel's slow path).
			 * NOFAIL can only wait for other threads' frees: said once. */
			if (gfp & LAB_GFP_NOFAIL) {
				static _Atomic int warned;
				if (!atomic_exchange(&warned, 1))
					lab__printk("labyrinth: zone %s: NOFAIL allocation inside reclaim "
						    "(a shrinker's callback) cannot reclaim: it waits for "
						    "other threads' frees\n", z->name);
			}
			goto nopage;
		}

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
		drained = false;
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
		if (!(gfp & LAB_GFP_RETRY_MAYFAIL)) {
			int oom = lab__out_of_memory(z, gfp, order);
			if (oom == OOM_BUSY) {
				/* Another thread's handler works for us too: wait for it,
				 * as the kernel's trylock loser does. */
				zone_stat_inc(z, alloc_stall);
				lab__wait_for_free(z, seq, STALL_WAIT_NS);
				drained = false;
			}
			if (oom == OOM_FREED || oom == OOM_BUSY) {
				no_progress = 0;
				continue;
			}
		}
nopage:
		if (gfp & LAB_GFP_NOFAIL) {
			/* NOFAIL never returns NULL.  As the kernel's nopage does, it
			 * may use half the min reserve; then it waits for a free like
			 * any round (never spinning: a costly order comes here without
			 * waiting above) and drains again before it looks. */
			page = get_page_from_freelist(z, gfp, order, af | ALLOC_MIN_RESERVE);
			if (page)
				break;
			zone_stat_inc(z, alloc_stall);
			lab__wait_for_free(z, seq, STALL_WAIT_NS);
			drained = false;
			no_progress = 0;
			continue;
		}
		break;
	}
	if (may_sleep)
		atomic_fetch_sub(&z->nr_waiters, 1);
	return page;
}

static void count_failure(struct lab_zone *z, lab_gfp_t gfp)
{
	zone_stat_inc(z, alloc_fail);
	if (lab__gfp_may_sleep(gfp))
		zone_stat_inc(z, fail_sleeping);
	else if (lab__gfp_may_use_reserve(gfp))
		zone_stat_inc(z, fail_atomic);
	else
		zone_stat_inc(z, fail_nowait);
}

/* prep_new_page(): make a block ready for its new owner, outside the lock. */
static void prep_new_page(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			  unsigned int order)
{
	lab__debug_alloc(z, page, gfp, order);  /* poison check, page_owner: before zeroing */
	/* secure/owner.c: zeroing goes through the zone's write window (protection
	 * keys); an exclusive block also gets its owner. */
	if (gfp & (LAB_GFP_ZERO | LAB_GFP_EXCLUSIVE))
		lab__exclusive_prep(z, page, gfp, order);
}

/* A block from a mempool's reserve (lab__free_to_reserve took it in), handed
 * out as a block from the free lists is: one reference, then prep_new_page
 * (zeroed and owned for EXCLUSIVE, zeroed for ZERO, the debugging hooks). */
void lab__hand_out_pooled(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			  unsigned int order)
{
	lab__hand_out(page, gfp);
	prep_new_page(z, page, gfp, order);
	lab_trace(mm_page_alloc, page, order, gfp, z->name);
}

/*
 * The fast path of orders with per-CPU lists (every order: a list of
 * capacity 0 is always empty): above the low watermark (for order > 0 with
 * a free block that large, as the general path's first attempt checks),
 * pop this CPU's list of the order in a restartable sequence (which counts
 * the hit in the same commit) and hand the block out.  No lock, no atomic
 * instruction, no system call.  NULL means "take the general path".
 */
static inline struct lab_page *alloc_fast(struct lab_zone *z, unsigned int order)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	struct lab__os_rseq *rs = pcp_fast_rseq(z);
	if (lab_unlikely(!rs))
		return NULL;
	size_t free_now = atomic_load_explicit(&z->nr_free_snapshot, memory_order_relaxed);
	size_t low = atomic_load_explicit(&z->wmark[WMARK_LOW], memory_order_relaxed);
	if (order == 0 ? !lab__watermark_free_ok(z, 0, low, ALLOC_WMARK_LOW, free_now)
		       : !lab__zone_watermark_ok(z, order, low, ALLOC_WMARK_LOW, free_now))
		return NULL;
	struct lab_page *page = rseq_pop_fast(rs, z->pcp, list_offset(order));
	if (lab_unlikely(!page))
		return NULL;
	LAB_ASSERT(page_flags(page) == PG_pcp && page_order(page) == order);
	/* The pop's commit counted the hit (pcp.h). */
	lab__hand_out(page, 0);  /* COMP is not in LAB_GFP_FAST_MASK */
	return page;
#else
	(void)z, (void)order;
	return NULL;
#endif
}

/*
 * NOFAIL for a block the zone can never hand out would wait forever: one
 * larger than the zone will ever be, or, in a zone at its full size, one
 * that even with every page free would take it below the part of the min
 * watermark NOFAIL may use.  The kernel warns (WARN_ON_ONCE); here the call
 * is refused, with a warning once per zone and order.
 */
static bool nofail_never_fits(struct lab_zone *z, unsigned int order)
{
	size_t managed = atomic_load_explicit(&z->managed, memory_order_relaxed);
	bool never = ((size_t)1 << order) > z->max_pages;
	if (!never && managed == z->max_pages) {
		size_t usable = managed - atomic_load(&z->nr_guard_pfns);
		size_t min = atomic_load_explicit(&z->wmark[WMARK_MIN], memory_order_relaxed);
		never = !lab__watermark_free_ok(z, order, min, ALLOC_MIN_RESERVE, usable);
	}
	if (never && !(atomic_fetch_or(&z->nofail_warned, 1u << order) & (1u << order)))
		lab__printk("labyrinth: zone %s: NOFAIL allocation of order %u can never be "
			    "satisfied (%zu pages at most, min watermark %zu): refused with EINVAL\n",
			    z->name, order, z->max_pages, atomic_load(&z->wmark[WMARK_MIN]));
	return never;
}

/* Everything but the inline fast path; kept out of line so the fast path
 * needs no stack frame. */
static __attribute__((noinline)) struct lab_page *alloc_pages_general(struct lab_zone *z,
								      lab_gfp_t gfp,
								      unsigned int order)
{
	if (lab_unlikely(!z)) {
		errno = EINVAL;
		return NULL;
	}
	if (lab_unlikely(order > LAB_MAX_ORDER || lab__gfp_unknown_bits(gfp))) {
		zone_stat_inc(z, alloc_einval);
		errno = EINVAL;
		return NULL;
	}
	if (lab_unlikely(lab__gfp_nofail_invalid(gfp))) {
		static _Atomic int warned;
		if (!atomic_exchange(&warned, 1))
			lab__printk("labyrinth: NOFAIL without DIRECT_RECLAIM is invalid\n");
		zone_stat_inc(z, alloc_einval);
		errno = EINVAL;
		return NULL;
	}
	if (lab_unlikely((gfp & LAB_GFP_NOFAIL) && nofail_never_fits(z, order))) {
		zone_stat_inc(z, alloc_einval);
		errno = EINVAL;
		return NULL;
	}
	/* fail_page_alloc: one predictable branch while nothing is armed. */
	if (lab_unlikely(fault_armed()) && lab__should_fail_alloc(z, gfp, order)) {
		errno = ENOMEM;
		return NULL;
	}

	/* Fast path: the LOW watermark, no reserves. */
	struct lab_page *page = get_page_from_freelist(z, gfp, order, ALLOC_WMARK_LOW);
	if (lab_unlikely(!page))
		page = alloc_slowpath(z, gfp, order);
	if (lab_unlikely(!page)) {
		count_failure(z, gfp);
		lab_trace(mm_page_alloc_fail, z->name, order, gfp, 0);
		if (!(gfp & LAB_GFP_NOWARN))
			lab__warn_alloc(z, gfp, order);
		errno = ENOMEM;
		return NULL;
	}
	prep_new_page(z, page, gfp, order);
	lab_trace(mm_page_alloc, page, order, gfp, z->name);
	return page;
}

/* What lab_alloc_pages leaves to a call of its own: the general path.  The
 * thread's rseq area is looked up here, once, for the fast path's next call. */
static __attribute__((noinline)) struct lab_page *alloc_pages_slow(struct lab_zone *z,
								   lab_gfp_t gfp,
								   unsigned int order)
{
	(void)rseq_self();
	return alloc_pages_general(z, gfp, order);
}

/* A fast-path hit: prep_new_page() without its debugging hooks (none
 * here): a ZERO or EXCLUSIVE block zeroed, and an EXCLUSIVE one owned. */
static inline struct lab_page *alloc_fast_prep(struct lab_zone *z, struct lab_page *page,
					       lab_gfp_t gfp, unsigned int order)
{
	if (gfp & (LAB_GFP_ZERO | LAB_GFP_EXCLUSIVE))
		lab__exclusive_prep(z, page, gfp, order);
	lab_trace(mm_page_alloc, page, order, gfp, z->name);
	return page;
}

/* The fast path of orders 1-3, ZERO and EXCLUSIVE: a call of its own, so
 * that order 0's stays a leaf. */
static __attribute__((noinline)) struct lab_page *alloc_fast_call(struct lab_zone *z,
								  lab_gfp_t gfp,
								  unsigned int order)
{
	struct lab_page *page = alloc_fast(z, order);
	if (lab_likely(page))
		return alloc_fast_prep(z, page, gfp, order);
	return alloc_pages_slow(z, gfp, order);
}

/* A caller that may sleep while the might_sleep check is on: the check,
 * then the general path. */
static __attribute__((noinline)) struct lab_page *alloc_pages_checked(struct lab_zone *z,
								      lab_gfp_t gfp,
								      unsigned int order)
{
	lab__might_sleep_report("lab_alloc_pages");
	return alloc_pages_slow(z, gfp, order);
}

/*
 * The fast path of a plain order-0 block is a leaf function (no stack
 * frame, no callee-saved register): whatever it does not do is a tail
 * call: the other orders, ZERO and EXCLUSIVE (alloc_fast_call), debugging,
 * fault injection and an empty list (alloc_pages_slow).  The might_sleep
 * check, when it is on, is a call and not a tail call, so that the report's
 * call trace shows the caller.  Inline in lab_alloc_pages and
 * lab_get_free_pages.
 */
static inline __attribute__((always_inline)) struct lab_page *alloc_pages_in(struct lab_zone *z,
									      lab_gfp_t gfp,
									      unsigned int order)
{
	if (lab_unlikely(lab__gfp_may_sleep(gfp) && lab__sleep_check)) {
		struct lab_page *page = alloc_pages_checked(z, gfp, order);
		lab_opaque(page);  /* no tail call: keeps this frame on the stack */
		return page;
	}
	if (lab_likely(z && order < LAB_PCP_ORDERS && !(gfp & ~(LAB_GFP_FAST_MASK | LAB_GFP_ZERO |
								 LAB_GFP_EXCLUSIVE)) &&
		       !z->debug && !fault_armed())) {
		if (order || (gfp & (LAB_GFP_ZERO | LAB_GFP_EXCLUSIVE)))
			return alloc_fast_call(z, gfp, order);
		struct lab_page *page = alloc_fast(z, 0);
		if (lab_likely(page))
			return alloc_fast_prep(z, page, gfp, 0);
	}
	return alloc_pages_slow(z, gfp, order);
}

struct lab_page *lab_alloc_pages(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	return alloc_pages_in(z, gfp, order);
}

/* __get_free_pages(): the block's address from the zone the caller named,
 * with no load through the descriptor. */
void *lab_get_free_pages(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	struct lab_page *page = alloc_pages_in(z, gfp, order);
	if (lab_unlikely(!page))
		return NULL;
	return zone_page_address(z, page);
}

/* ---- failure reports --------------------------------------------------- */

/* warn_alloc(): DEFAULT_RATELIMIT_INTERVAL 5 s, burst 10. */
static void print_warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order,
			     const char *who, unsigned long repeats)
{
	static struct lab__ratelimit limit =
		LAB_RATELIMIT_INIT("labyrinth: page allocation failure");
	if (!lab__ratelimit(&limit, 10, 5ull * 1000 * 1000 * 1000))
		return;
	char mode[160], again[48] = "";
	lab_gfp_name(gfp, mode, sizeof(mode));
	if (repeats > 1)
		lab__snprintf(again, sizeof(again), " (%lu such failures)", repeats);
	lab__printk("labyrinth: %s: page allocation failure: order:%u, mode:%#x(%s), zone:%s free:%zu "
		    "min:%zu low:%zu high:%zu%s\n",
		    who, order, gfp, mode, z->name,
		    atomic_load(&z->nr_free_snapshot), atomic_load(&z->wmark[WMARK_MIN]),
		    atomic_load(&z->wmark[WMARK_LOW]), atomic_load(&z->wmark[WMARK_HIGH]), again);
}

/*
 * A caller that cannot sleep must not write(2) either (a full pipe blocks):
 * it leaves the report for kswapd, with one futex wake, and kswapd prints it.
 * Zones without kswapd print at once.
 */
void lab__warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	if (!lab__gfp_may_sleep(gfp) && z->kswapd_started) {
		atomic_store(&z->pending_warn, (uint64_t)1 << 63 | (uint64_t)gfp << 8 | order);
		atomic_fetch_add(&z->pending_warn_count, 1);
		lab__wakeup_kswapd(z);
		return;
	}
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	print_warn_alloc(z, gfp, order, comm, 1);
}

/* Print what atomic callers left behind; kswapd calls it. */
void lab__flush_warnings(struct lab_zone *z)
{
	uint64_t w = atomic_exchange(&z->pending_warn, 0);
	if (!w)
		return;
	unsigned long n = atomic_exchange(&z->pending_warn_count, 0);
	print_warn_alloc(z, (lab_gfp_t)((w >> 8) & 0xffffff), (unsigned int)(w & 0xff),
			 "atomic context", n);
}
