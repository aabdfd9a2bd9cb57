/*
 * free.c - lab_free_pages(), a reference put as __free_pages() is: the inline
 * fast path onto this CPU's lists (every order: pcp.c), the general path with its misuse
 * checks, the claim that makes exactly one of two racing frees win, the
 * split of a shared plain block, and the leak of a misused block.
 *
 * Every way a reference or a block comes back goes through here, with the
 * same checks (may_put), the same claim and the same scrub of an exclusive
 * block: lab_free_pages, lab_put_page (lab__put_page), and a mempool's
 * reserve (lab__free_to_reserve, lab__free_from_reserve).
 */
#include "base/compiler.h"
#include "os/rseq_list.h"
#include "page/alloc.h"
#include "page/badpage.h"
#include "page/buddy.h"
#include "page/page.h"
#include "page/pcp.h"
#include "page/reclaim.h"
#include "page/refcount.h"
#include "page/zone.h"
#include "secure/hooks.h"
#include "debug/hooks.h"
#include "debug/trace.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Why a descriptor that heads no allocated block was freed. */
static const char *bad_free_reason(uint32_t flags)
{
	if (flags & (PG_buddy | PG_deferred | PG_pcp))
		return "double free: the block is already free";
	if (flags & PG_pooled)
		return "double free: the block is in a mempool's reserve";
	if (flags & PG_bad)
		return "free of a page already reported bad";
	if (flags & PG_guard)
		return "free of a guard page";
	return "not the first page of an allocated block (double free of a split block?)";
}

/*
 * Claim an allocated block: of two racing claimers exactly one sees
 * PG_allocated.  Its head flags become `mark`, or `mark_locked` if the page
 * lock is held; the page-lock bits stay, as a locker may be queued on them.
 * Returns the mark applied, 0 when the block was not allocated; *old gets
 * the flags seen.
 */
static uint32_t claim_block(struct lab_page *page, uint32_t mark, uint32_t mark_locked,
			    uint32_t *old)
{
	/* PG_splitting stays too: the free splitting the block still owns it. */
	uint32_t keep = PG_locked | PG_waiters | PG_splitting, f = page_flags(page), m;
	do {
		if (lab_unlikely(!(f & PG_allocated))) {
			*old = f;
			return 0;
		}
		m = (f & PG_locked) ? mark_locked : mark;
	} while (!atomic_compare_exchange_weak(&page->flags, &f, (f & keep) | m));
	*old = f;
	return m;
}

/* Report a misuse; if the block is still allocated, leak it: it stays
 * counted as allocated and is never reused.  The report shows the flags the
 * page had, plus "bad". */
void lab__leak_block(struct lab_zone *z, struct lab_page *page, const char *reason)
{
	uint32_t old;
	if (claim_block(page, PG_bad, PG_bad, &old)) {
		atomic_fetch_add(&z->nr_leaked, (size_t)1 << page_order(page));
		old |= PG_bad;
	}
	lab__bad_page_state(z, page, old, reason);
}

/*
 * The checks of every put, before the reference is dropped: the descriptor
 * heads an allocated block, not a slab's, and an exclusive block is the
 * caller's (what names the call in the owner report).  False after a report;
 * the block is left as it was.
 */
static bool may_put(struct lab_zone *z, struct lab_page *page, const char *what)
{
	uint32_t f = page_flags(page);
	if (lab_unlikely(!(f & PG_allocated))) {
		lab__bad_page_state(z, page, f, bad_free_reason(f));
		return false;
	}
	/* A slab's page goes back through its cache, never directly: report it
	 * and leave it to the cache (its objects stay valid). */
	if (lab_unlikely(f & PG_slab)) {
		lab__bad_page_state(z, page, f, "freeing a page that belongs to a slab cache");
		return false;
	}
	/* secure/owner.c: only the owner frees, or puts, an exclusive block. */
	if ((f & PG_exclusive) && !lab__exclusive_may_touch(z, page, what))
		return false;
	return true;
}

/*
 * free_pages_prepare(): the last reference is gone, or goes with the claim
 * (only_ref: the caller holds the only one and has not dropped it; the count
 * goes to 0 once the claim is won, free_the_page).  Claim the block and
 * check it may be freed.  `to` says where it goes: PG_deferred, "being
 * freed" until it reaches a free list, or PG_pooled into a mempool's
 * reserve.  Returns false when it may not: the misuse is reported and, if
 * the block was really allocated, it is leaked.
 */
static bool free_pages_prepare(struct lab_zone *z, struct lab_page *page, unsigned int order,
			       uint32_t to, bool only_ref)
{
	uint32_t old;
	uint32_t mark = claim_block(page, to, PG_bad, &old);
	if (lab_unlikely(!mark)) {
		lab__bad_page_state(z, page, old, bad_free_reason(old));
		return false;
	}
	if (only_ref)
		atomic_store_explicit(&page->refcount, 0, memory_order_relaxed);
	if (lab_unlikely(mark == PG_bad)) {
		atomic_fetch_add(&z->nr_leaked, (size_t)1 << order);
		lab__bad_page_state(z, page, old | PG_bad, "freed while the page lock is held");
		return false;
	}
	return true;
}

/*
 * On its way back, whoever dropped the last reference: an exclusive block is
 * scrubbed first (secure/owner.c), before poisoning, any list or another owner
 * can see it; then the probe, the debugging hooks (page-owner free stack,
 * poison) and the free lists.
 */
static void release_block(struct lab_zone *z, struct lab_page *page, unsigned int order,
			  bool exclusive)
{
	if (exclusive || z->zero_on_free)
		lab__free_scrub(z, page, order, exclusive);
	lab_trace(mm_page_free, page, order, z->name);
	lab__debug_free(z, page, order);
	lab__free_block(z, page, order);
}

/*
 * Free a block whose last reference is gone, or, only_ref, whose only
 * reference the caller holds (it read the count 1, with acquire: every put
 * that brought it there happened before).  Then nobody else may drop or
 * take a reference, so the claim, the one atomic instruction that makes
 * exactly one of two racing frees win, stands for the drop as well, as on
 * the fast path (free_fast), and the count goes to 0 with a plain store:
 * one locked instruction instead of two.  The checks and reports of a put
 * that finds itself last: a racing second free loses the claim and is
 * reported as a double free (and leaves the count to the winner); a block
 * whose page lock is held is leaked and reported.
 */
static void free_the_page(struct lab_zone *z, struct lab_page *page, unsigned int order,
			  bool only_ref)
{
	bool exclusive = page_flags(page) & PG_exclusive;  /* the claim clears it */
	if (free_pages_prepare(z, page, order, PG_deferred, only_ref))
		release_block(z, page, order, exclusive);
}

void lab__free_the_page(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	free_the_page(z, page, order, false);
}

/* lab_put_page(): a free of one reference, with a free's checks; the last
 * one frees the block at the order its head records. */
void lab__put_page(struct lab_zone *z, struct lab_page *page)
{
	/* A put after the last one: reported as an underflow, a put's misuse. */
	if (lab_unlikely(atomic_load_explicit(&page->refcount, memory_order_relaxed) <= 0)) {
		lab__put_testzero(z, page);
		return;
	}
	if (!may_put(z, page, "put"))
		return;
	if (lab__put_testzero(z, page))
		lab__free_the_page(z, page, page_order(page));
}

/*
 * mempool_free() into the reserve: the caller's reference goes as a free's
 * does (the same checks, the same claim, an exclusive block scrubbed and
 * disowned, the debugging hooks' free), but the block stays out of the free
 * lists, PG_pooled, until lab__hand_out_pooled() gives it out again or
 * lab__free_from_reserve() frees it.  False when the block did not come
 * back: a misuse (reported) or a reference someone else still holds (their
 * last put frees it to the zone).
 */
bool lab__free_to_reserve(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	if (!may_put(z, page, "mempool free"))
		return false;
	if (lab_unlikely(page_order(page) != order)) {
		lab__leak_block(z, page, "freed with a different order than allocated");
		return false;
	}
	bool exclusive = page_flags(page) & PG_exclusive;
	if (!lab__put_testzero(z, page) || !free_pages_prepare(z, page, order, PG_pooled, false))
		return false;
	if (exclusive || z->zero_on_free)
		lab__free_scrub(z, page, order, exclusive);
	lab__debug_free(z, page, order);
	return true;
}

/* A pooled block (lab__free_to_reserve) back to the zone: it was checked,
 * scrubbed and handed to the debugging hooks when it came in. */
void lab__free_from_reserve(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	set_page_flags(page, PG_deferred);
	lab_trace(mm_page_free, page, order, z->name);
	lab__free_block(z, page, order);
}

/* Give a claimed block back to this CPU's list or the buddy lists; never
 * sleeps, never waits for the lock behind its own thread (the free is then
 * deferred). */
void lab__free_block(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	if (pcp_has_list(z, order) && lab__pcp_free(z, page, order)) {
		lab__wake_waiters(z);  /* a sleeping allocator drains the lists */
		return;
	}
	size_t pfn = page_to_pfn(z, page);
	/* free_calls: the locked cell under the lock, the atomic one for a
	 * deferred free (counters.h). */
	if (!lab__zone_lock_atomic(z)) {
		zone_stat_inc(z, free_calls);
		lab__defer_free(z, pfn, order);
	} else {
		zone_stat_inc_locked(z, free_calls);
		lab__drain_deferred(z);
		lab__buddy_free(z, pfn, order);
		z->nr_allocated -= (size_t)1 << order;
		lab__zone_unlock(z);
	}
	lab__wake_waiters(z);
}

/*
 * The fast path's free of an exclusive block with one
 * reference, by its owner: claimed as the general path claims (PG_deferred,
 * "being freed", with the same one atomic instruction), scrubbed and
 * disowned, then given to this CPU's list as the general path's last step
 * does (lab__free_block).  Anyone else takes the general path, which
 * reports it.  Only when the zone has no debugging (free_fast's caller).
 */
static __attribute__((noinline)) bool free_fast_exclusive(struct lab_zone *z,
							   struct lab_page *page,
							   unsigned int order)
{
	if (__atomic_load_n(&page->owner, __ATOMIC_ACQUIRE) != lab_owner_self())
		return false;
	uint32_t expect = PG_allocated | PG_exclusive;
	if (!atomic_compare_exchange_strong_explicit(&page->flags, &expect, PG_deferred,
						     memory_order_acquire, memory_order_relaxed))
		return false;
	atomic_store_explicit(&page->refcount, 0, memory_order_relaxed);
	lab__exclusive_scrub(z, page, order);
	lab__free_block(z, page, order);
	return true;
}

/* What free_fast did (free_fast_finish does the rest). */
enum { FREE_DONE, FREE_GENERAL, FREE_UNCLAIMED, FREE_CLAIMED };

/*
 * The fast path of a free: the only reference of a plain
 * allocated block of that order (refcount 1, no lock, not compound) is
 * dropped by claiming the block with the free's one atomic instruction,
 * then the block is pushed on this CPU's list of its order in a restartable
 * sequence.  No call: whatever it does not do it leaves to
 * free_fast_finish, saying how far it got: FREE_GENERAL (the block is
 * untouched), FREE_UNCLAIMED (the claim saw *seen instead of a plain
 * allocated block: an exclusive block's fast free, or the general path),
 * FREE_CLAIMED (claimed, to be scrubbed or pushed when the list is full or
 * being drained).
 */
static inline int free_fast_from(struct lab_zone *z, struct lab_page *page, unsigned int order,
				 uint32_t *seen, uint32_t allocated)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	struct lab__os_rseq *rs = pcp_fast_rseq(z);
	if (lab_unlikely(!rs) || page_order(page) != order ||
	    atomic_load_explicit(&page->refcount, memory_order_relaxed) != 1)
		return FREE_GENERAL;
	uint32_t expect = allocated;
	if (lab_unlikely(!atomic_compare_exchange_strong_explicit(&page->flags, &expect, PG_pcp,
							      memory_order_relaxed,
							      memory_order_relaxed))) {
		*seen = expect;
		return FREE_UNCLAIMED;
	}
	atomic_store_explicit(&page->refcount, 0, memory_order_relaxed);
	if (lab_unlikely(z->zero_on_free))  /* a plain block of an exclusive zone */
		return FREE_CLAIMED;
	/* One sequence: a single push is a free (pcp.h counts them from the word). */
	if (lab_likely(rseq_push_fast(rs, z->pcp, list_offset(order), page)))
		return FREE_DONE;
	return FREE_CLAIMED;
#else
	(void)z, (void)page, (void)order, (void)seen, (void)allocated;
	return FREE_GENERAL;
#endif
}

/* The fast free of a plain allocated block: flags exactly PG_allocated. */
static inline int free_fast(struct lab_zone *z, struct lab_page *page, unsigned int order,
			    uint32_t *seen)
{
	return free_fast_from(z, page, order, seen, PG_allocated);
}

static void free_pages_general(struct lab_zone *z, struct lab_page *page, unsigned int order);

/* The rest of free_fast's work, as its result says.  lab__free_block wakes
 * sleeping allocators itself; a push of the fast path's does not. */
static __attribute__((noinline)) void free_fast_finish(struct lab_zone *z, struct lab_page *page,
						       unsigned int order, int done,
						       uint32_t seen)
{
	if (done == FREE_DONE) {
		lab__wake_waiters(z);  /* a sleeping allocator waits for a free: it drains the lists */
	} else if (done == FREE_CLAIMED) {
		if (z->zero_on_free)
			lab__free_scrub(z, page, order, false);
		/* Full or being drained: finish as a general free of a claimed
		 * block (lab__free_block pushes to this CPU's list if it can). */
		set_page_flags(page, PG_deferred);
		lab__free_block(z, page, order);
	} else if (!(done == FREE_UNCLAIMED && seen == (PG_allocated | PG_exclusive) &&
		     free_fast_exclusive(z, page, order))) {
		free_pages_general(z, page, order);
		return;
	}
	lab_trace(mm_page_free, page, order, z->name);
}

/*
 * Split a shared plain block of order > 0 into its head page and its tail
 * sub-blocks (pfn + 2^k, order k, for k < order), which the caller then
 * frees.  Lock-free, yet never inconsistent to lab_zone_check(), which walks
 * the zone while this runs (check.c check_tiling):
 *   1. PG_splitting on the head: of two racing frees one wins (the other is
 *      a misuse, reported by the caller);
 *   2. each tail becomes a block of its own, PG_split with its order, while
 *      the head still spans it (the checker accepts PG_split inside a head
 *      marked PG_splitting, and nothing else);
 *   3. the head shrinks to order 0 (release: the tails' marks come first);
 *   4. PG_splitting goes; only then may the tails move on (to a per-CPU
 *      list, the deferred stack or the buddy lists).
 * The checker reads the head's order again after its interior: any later
 * state of a tail implies step 3, which it then sees, and it walks the
 * block again.  False when the block cannot be split by this caller.
 */
static bool split_block(struct lab_page *page, unsigned int order)
{
	uint32_t f = page_flags(page);
	do {
		if (!(f & PG_allocated) || (f & PG_splitting))
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&page->flags, &f, f | PG_splitting,
							memory_order_acquire,
							memory_order_relaxed));
	if (page_order(page) != order) {  /* split already, by a free that won earlier */
		atomic_fetch_and_explicit(&page->flags, ~(uint32_t)PG_splitting,
					  memory_order_release);
		return false;
	}
	for (unsigned int k = 0; k < order; k++) {
		struct lab_page *tail = page + ((size_t)1 << k);
		__atomic_store_n(&tail->order, (uint8_t)k, __ATOMIC_RELAXED);
		atomic_store_explicit(&tail->flags, PG_split, memory_order_release);
	}
	__atomic_store_n(&page->order, 0, __ATOMIC_RELEASE);
	atomic_fetch_and_explicit(&page->flags, ~(uint32_t)PG_splitting, memory_order_acq_rel);
	/* The tails' next states are published after all of the above. */
	atomic_thread_fence(memory_order_release);
	return true;
}

/*
 * __free_pages(): a put.  The last reference frees the block.  Otherwise a
 * compound (LAB_GFP_COMP) block waits whole for the last lab_put_page(),
 * and a plain one gives its tail sub-blocks back now and leaves the head
 * page, an order-0 block from here on, to the last put.
 */
static __attribute__((noinline)) void free_pages_general(struct lab_zone *z,
							  struct lab_page *page,
							  unsigned int order)
{
	if (lab_unlikely(!z)) {
		lab__bad_pointer(page, "lab_free_pages: not a page descriptor of any zone");
		return;
	}
	if (!may_put(z, page, "free"))
		return;
	uint32_t f = page_flags(page);
	bool exclusive = f & PG_exclusive;
	if (lab_unlikely(order > LAB_MAX_ORDER || page_order(page) != order)) {
		lab__leak_block(z, page, order > LAB_MAX_ORDER
			? "freed with an order above LAB_MAX_ORDER"
			: "freed with a different order than allocated");
		return;
	}
	bool compound = f & PG_head;
	/* Split the head off (order 0) before our put can make another holder's
	 * put the last; of two racing frees of one block only one gets past.
	 * With a single reference there is no other holder to race with (a
	 * get needs a reference), and the block keeps its shape throughout, as
	 * a concurrent lab_zone_check() or a fork() child expects. */
	int32_t count = atomic_load_explicit(&page->refcount, memory_order_acquire);
	if (lab_unlikely(count <= 0)) {
		lab__put_testzero(z, page);  /* reports the put without a reference */
		return;
	}
	if (lab_likely(count == 1)) {
		free_the_page(z, page, order, true);
		return;
	}
	bool split = !compound && order;
	if (split && !split_block(page, order)) {
		/* Another free split it, or is splitting it now: leaking the head
		 * would pull it from under that free, so only report. */
		lab__bad_page_state(z, page, page_flags(page),
				    "freed with a different order than allocated");
		return;
	}
	if (lab_likely(!split)) {
		if (lab__put_testzero(z, page))
			lab__free_the_page(z, page, order);
		return;
	}
	if (lab__put_testzero(z, page))
		lab__free_the_page(z, page, 0);
	/* The tails are ours alone now, whoever drops the head's last reference
	 * (a put that found none left was a racing free, already reported). */
	size_t pfn = page_to_pfn(z, page);
	while (order-- > 0)
		release_block(z, pfn_to_page(z, pfn + ((size_t)1 << order)), order, exclusive);
}

/* What lab_free_pages leaves to a call of its own: a descriptor outside the
 * descriptor range (or NULL), looked up here. */
static __attribute__((noinline)) void free_pages_slow(struct lab_page *page, unsigned int order)
{
	if (lab_unlikely(!page))
		return;
	struct lab_zone *z = lab__zone_of_desc(page);
	uint32_t seen = 0;
	int done = FREE_GENERAL;
	if (lab_likely(z && order < LAB_PCP_ORDERS && !z->debug))
		done = free_fast(z, page, order, &seen);
	free_fast_finish(z, page, order, done, seen);
}

/*
 * lab_free_pages once the descriptor's zone is known (z, or NULL for a
 * descriptor outside the range).  The fast path stays a leaf function (no
 * stack frame, no callee-saved register): everything else is a tail call,
 * to free_fast_finish for what the fast path began, to the general path for
 * debugging and a wrong order, to free_pages_slow for a descriptor the
 * range does not hold.
 */
static inline __attribute__((always_inline)) void free_pages_in(struct lab_zone *z,
								 struct lab_page *page,
								 unsigned int order)
{
	if (lab_likely(z && order < LAB_PCP_ORDERS && !z->debug)) {
		uint32_t seen = 0;
		int done = free_fast(z, page, order, &seen);
		if (lab_likely(done == FREE_DONE) &&
		    lab_likely(!atomic_load_explicit(&z->nr_waiters, memory_order_relaxed))) {
			lab_trace(mm_page_free, page, order, z->name);
			return;
		}
		free_fast_finish(z, page, order, done, seen);
		return;
	}
	if (z)
		free_pages_general(z, page, order);
	else
		free_pages_slow(page, order);
}

void lab_free_pages(struct lab_page *page, unsigned int order)
{
	free_pages_in(lab__zone_of_desc_in_range(page), page, order);
}

/*
 * lab_free_pages of a block the slab layer held whole (kmalloc's blocks of
 * pages, PG_slab on the head): the fast path's claim takes PG_slab off with
 * the rest, one locked instruction where clearing the bit first took two.
 * Anything the claim does not take (a lock held, debugging, a thread without
 * rseq yet) clears the bit as before and frees as lab_free_pages does.
 */
void lab__free_pages_slab(struct lab_page *page, unsigned int order)
{
	struct lab_zone *z = lab__zone_of_desc_in_range(page);
	if (lab_likely(z && order < LAB_PCP_ORDERS && !z->debug)) {
		uint32_t seen = 0;
		int done = free_fast_from(z, page, order, &seen, PG_allocated | PG_slab);
		if (lab_likely(done == FREE_DONE || done == FREE_CLAIMED)) {
			free_fast_finish(z, page, order, done, seen);
			return;
		}
	}
	atomic_fetch_and_explicit(&page->flags, ~(uint32_t)PG_slab, memory_order_relaxed);
	free_pages_in(z, page, order);
}

/* free_pages(addr): the zone from the address (the registry's walk), the
 * descriptor from the zone, then lab_free_pages' own path, with no second
 * lookup and no load through the descriptor. */
void lab_free_pages_addr(void *addr, unsigned int order)
{
	if (!addr)
		return;
	struct lab_zone *z = lab__zone_of_addr(addr);
	if (lab_unlikely(!z)) {
		lab__bad_pointer(addr, "lab_free_pages_addr: address in no zone");
		return;
	}
	uintptr_t off = (uintptr_t)addr - (uintptr_t)z->base;
	struct lab_page *page = &z->pages[off >> z->page_shift];
	if (lab_unlikely(off & (z->page_size - 1))) {
		lab__bad_page(z, page, "lab_free_pages_addr: address not page aligned");
		return;
	}
	free_pages_in(z, page, order);
}
