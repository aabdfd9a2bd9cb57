/*
 * pcp.c - per-CPU page lists for orders 0..3, and one-block caches for
 * the orders above: the atomic fast path.
 *
 * Each CPU has one set of lists (one per order), each a LIFO array of
 * descriptors, refilled from and drained to the buddy lists in batches under
 * the zone lock, as the kernel's per_cpu_pages are (batch/high scheme).
 *
 * Two ways to own a CPU's set, chosen once per process (docs/PCP.md):
 *
 *  - rseq (x86-64, glibc registered rseq): a push or pop is a restartable
 *    sequence that reads the CPU number, checks the set is not being drained,
 *    and ends in a single commit store of the list's word: its count and,
 *    above it, its hits (a counted list; frees and hits are derived from
 *    the words, see set_counters).  Preemption, migration
 *    or a signal before the commit restarts it, so a signal handler may use
 *    the same list it interrupted; no atomic instruction, no lock, no system
 *    call.  Draining another CPU's set takes the set's lock word (which the
 *    sequences check) and then membarrier(PRIVATE_EXPEDITED_RSEQ) on that CPU
 *    to abort a sequence that checked before the lock was visible: a system
 *    call, so only callers that may sleep (and kswapd) drain other CPUs.
 *
 *  - lock (every other case): the same lists behind a per-set lock word taken
 *    with a try-lock; a caller that finds it taken (another thread on that
 *    CPU, or the code its signal handler interrupted) goes to the buddy lists
 *    instead, as the kernel's pcp_spin_trylock() callers do.
 *
 * The capacity ("high") of each list adapts to the live set, as the kernel's
 * has since 6.7 (mm/page_alloc.c, nr_pcp_alloc/nr_pcp_high/decay_pcp_high):
 * between high_min (the low watermark spread over the CPUs) and high_max (an
 * eighth of the zone spread over the CPUs), raised by a batch on each refill
 * and on a full list when frees outnumber allocations, lowered under memory
 * pressure and by kswapd an eighth a second while the CPU's lists sit idle.
 * Only the slow paths (refill, drain, kswapd) read or write it: the
 * sequences see nothing but the list's high word.  docs/PCP.md.
 *
 * Invariant: a descriptor on a list has PG_pcp and the list's order; every
 * page outside the buddy lists is on a list, handed out, or deferred; a
 * list's count never exceeds its slots (high_max; its high may be below the
 * count for a moment after a decrease).
 */
#include "base/compiler.h"
#include "os/env.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/rseq_list.h"
#include "page/alloc.h"
#include "page/buddy.h"
#include "page/check.h"
#include "page/gfp.h"
#include "page/page.h"
#include "page/pcp.h"
#include "page/reclaim.h"
#include "page/zone.h"

#include <errno.h>
#include <string.h>

/* ---- mode ------------------------------------------------------------- */

static _Atomic int pcp_mode = -1;
static int choose_mode(void)
{
	/* LABYRINTH_PCP forces a mode. */
	int forced = lab__option_get(LAB_OPT_PCP);
	if (forced >= 0)
		return forced == 0 ? LAB_PCP_LOCK : LAB_PCP_OFF;
	int mode = LAB_PCP_LOCK;
#if defined(LAB_HAVE_RSEQ_LIST)
	if (lab__os_rseq_registered() && lab__os_membarrier_rseq_register() == 0)
		mode = LAB_PCP_RSEQ;
#endif
	return mode;
}

int lab__pcp_mode(void)
{
	int mode = atomic_load_explicit(&pcp_mode, memory_order_acquire);
	if (lab_unlikely(mode < 0)) {
		int expect = -1;
		mode = choose_mode();
		if (!atomic_compare_exchange_strong(&pcp_mode, &expect, mode))
			mode = expect;
	}
	return mode;
}

const char *lab_pcp_mode_name(void)
{
	static const char *const names[] = { "off", "rseq", "lock" };
	return names[lab__pcp_mode()];
}

/* ---- what the lists served ------------------------------------------- */

/* Lock mode and drainers owning a set use os/rseq_list.h's rseq_clist_*_owned
 * operations, which commit the word as the sequences do.
 *
 * Blocks a slow path moved onto (refills) or off (drains) a set's lists,
 * counted after the word's commit.  An atomic add: two threads that ran on
 * one CPU may move blocks of its set at once.  Release: a reader that sees
 * a drain's count (set_counters reads moved_out first, acquire) sees
 * its pop too. */
static void count_moved(uint64_t *moved, uint32_t n)
{
	__atomic_fetch_add(moved, (uint64_t)n, __ATOMIC_RELEASE);
}

/*
 * What a set's lists served, derived from their words and the slow paths'
 * moves (docs/PCP.md): hits are the single pops each word counts; frees are
 * the single pushes, what is on the lists and was popped less what the
 * refills pushed and plus what the drains popped.  Exact whenever no move is
 * half done; lab_zone_get_stats reads under the zone lock, under which
 * every refill and (unless the lock was out of reach and its blocks
 * deferred) every drain moves and counts.  A drain seen half done makes the
 * frees lag, never run ahead: moved_out is read first.
 */
static void set_counters(const struct pcp_set *set, struct pcp_counters *c)
{
	uint64_t out = __atomic_load_n(&set->moved_out, __ATOMIC_ACQUIRE), sum = 0;
	for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
		uint64_t w = pcp_word(&set->list[o]);
		c->hit[o] = PCP_HITS_OF(w);
		sum += PCP_COUNT_OF(w) + PCP_HITS_OF(w);
	}
	c->free = sum + out - __atomic_load_n(&set->moved_in, __ATOMIC_RELAXED);
}

/* The set a lock-mode caller uses: its CPU when rseq tells it, else a slot
 * given to the thread round-robin (no system call either way). */
static struct pcp_set *lock_mode_set(const struct lab_zone *z)
{
	return set_at(z, rseq_list_lock_index((unsigned int)z->nr_pcp));
}

static bool set_trylock(struct pcp_set *set)
{
	return rseq_set_trylock(&set->lock);
}

static void set_unlock(struct pcp_set *set)
{
	rseq_set_unlock(&set->lock);
}

/* The orders above the costly one have one-block caches (lab__pcp_init):
 * capacity one or none, never adapted, emptied under pressure. */
static bool block_cache(unsigned int order)
{
	return order > LAB_COSTLY_ORDER;
}

/* ---- the adaptive high ------------------------------------------------- */

/* How far a run of frees may raise high (the kernel's
 * CONFIG_PCP_BATCH_SCALE_MAX: 2^5 batches). */
#define PCP_BATCH_SCALE_MAX 5

static bool adaptive(const struct lab_zone *z, unsigned int order)
{
	return z->pcp_high_max[order] > z->pcp_high[order];
}

/* high is written by whichever slow path runs for the CPU, without owning
 * the set: a lost update only costs a batch, and any value between high_min
 * and high_max is safe, since the slots are sized for high_max. */
static uint32_t high_get(const struct rseq_clist *l)
{
	return __atomic_load_n(&l->high, __ATOMIC_RELAXED);
}

static void high_set(struct rseq_clist *l, uint32_t high)
{
	__atomic_store_n(&l->high, high, __ATOMIC_RELAXED);
}

static uint32_t high_clamped(const struct lab_zone *z, const struct rseq_clist *l,
			     unsigned int order)
{
	uint32_t high = high_get(l);
	if (high < z->pcp_high[order])
		return z->pcp_high[order];
	return high > z->pcp_high_max[order] ? z->pcp_high_max[order] : high;
}

/* ZONE_BELOW_HIGH: the buddy lists hold less than the high watermark, so
 * pages parked on the lists would soon be missed: stop growing, shrink. */
static bool below_high(const struct lab_zone *z)
{
	return atomic_load_explicit(&z->nr_free_snapshot, memory_order_relaxed) <
	       atomic_load_explicit(&z->wmark[WMARK_HIGH], memory_order_relaxed);
}

/* The set a slow path adapts: the lock-mode caller's, or in rseq mode the
 * CPU the thread was on a moment ago (it may have moved since: harmless). */
static struct pcp_set *slow_set(const struct lab_zone *z, struct lab__os_rseq *rs,
				struct pcp_set *set)
{
	if (set || !rs)
		return set;
	uint32_t cpu = __atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
	return cpu < (uint32_t)z->nr_pcp ? set_at(z, cpu) : NULL;
}

static inline uint64_t relaxed64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* A set's frees and hits (every order), as set_counters derives them. */
static uint64_t set_work(const struct pcp_set *set, uint64_t *hits)
{
	struct pcp_counters c;
	set_counters(set, &c);
	*hits = 0;
	for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
		*hits += c.hit[o];
	return c.free;
}

/*
 * The kernel's pcp->free_count without touching the fast paths: the set's
 * frees less its list hits since the last slow-path visit, added to what
 * was left of the run then; allocations wear it down, and it is capped at
 * 2^5 batches.  Read from the commit words the sequences already write.
 */
static uint32_t update_free_run(const struct lab_zone *z, struct pcp_set *set)
{
	uint64_t hits, frees = set_work(set, &hits);
	uint64_t df = frees - relaxed64(&set->seen_free), dh = hits - relaxed64(&set->seen_hit);
	__atomic_store_n(&set->seen_free, frees, __ATOMIC_RELAXED);
	__atomic_store_n(&set->seen_hit, hits, __ATOMIC_RELAXED);
	uint64_t run = __atomic_load_n(&set->free_run, __ATOMIC_RELAXED);
	if (df >= dh)
		run += df - dh;
	else
		run = dh - df >= run ? 0 : run - (dh - df);
	uint64_t cap = (uint64_t)z->pcp_batch[0] << PCP_BATCH_SCALE_MAX;
	if (run > cap)
		run = cap;
	__atomic_store_n(&set->free_run, (uint32_t)run, __ATOMIC_RELAXED);
	return (uint32_t)run;
}

/* Under pressure: lower high by the run of frees (a batch at least). */
static void high_shrink(const struct lab_zone *z, struct rseq_clist *l, unsigned int order,
			uint32_t run)
{
	uint32_t high = high_clamped(z, l, order), min = z->pcp_high[order];
	uint32_t step = run > z->pcp_batch[order] ? run : z->pcp_batch[order];
	high_set(l, high - min > step ? high - step : min);
}

/* nr_pcp_alloc(): the list ran empty; a larger high would have kept the
 * blocks this CPU freed before, so raise it a batch (not under pressure). */
static void high_on_refill(struct lab_zone *z, struct pcp_set *set, unsigned int order)
{
	if (!set || !adaptive(z, order))
		return;
	struct rseq_clist *l = &set->list[order];
	uint32_t run = update_free_run(z, set) >> order;
	if (below_high(z)) {
		high_shrink(z, l, order, run);
		return;
	}
	uint32_t high = high_clamped(z, l, order), was = high;
	high += z->pcp_batch[order];
	high_set(l, high < z->pcp_high_max[order] ? high : z->pcp_high_max[order]);
	if (was == z->pcp_high[order])  /* after the store: kswapd must see it */
		lab__kswapd_arm_decay(z);
}

/* nr_pcp_high(): the list is full.  If frees have outnumbered allocations
 * by more than it holds, raise high to hold that run and a batch more.
 * True when there is room now (no drain needed). */
static bool high_on_full(struct lab_zone *z, struct pcp_set *set, unsigned int order)
{
	if (!set || !adaptive(z, order))
		return false;
	struct rseq_clist *l = &set->list[order];
	uint32_t run = update_free_run(z, set) >> order;
	if (below_high(z)) {
		high_shrink(z, l, order, run);
		return false;
	}
	uint32_t high = high_clamped(z, l, order), need = run + z->pcp_batch[order];
	if (need > z->pcp_high_max[order])
		need = z->pcp_high_max[order];
	if (high >= need) {
		high_set(l, high);
		return false;
	}
	high_set(l, need);
	if (high == z->pcp_high[order])
		lab__kswapd_arm_decay(z);
	return pcp_count(l) < need;
}

uint32_t lab__pcp_high_now(const struct lab_zone *z, unsigned int cpu, unsigned int order)
{
	if (!z->pcp || cpu >= (unsigned int)z->nr_pcp)
		return 0;
	return high_get(&set_at(z, cpu)->list[order]);
}

/* Whether some list's high is above its floor (kswapd then wakes to decay it). */
bool lab__pcp_high_raised(const struct lab_zone *z)
{
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++)
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
			if (high_get(&set_at(z, i)->list[o]) > z->pcp_high[o])
				return true;
	return false;
}

/* ---- moving blocks between the lists and the buddy allocator ----------- */

/* Give blocks back to the buddy lists under the zone lock the caller
 * holds (locked), else on the deferred stack. */
static void return_to_buddy(struct lab_zone *z, struct lab_page *const *buf, uint32_t n,
			    unsigned int order, bool locked)
{
	if (!locked) {
		for (uint32_t i = 0; i < n; i++)
			lab__defer_free(z, page_to_pfn(z, buf[i]), order);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		lab__buddy_free(z, page_to_pfn(z, buf[i]), order);
		z->nr_allocated -= (size_t)1 << order;
	}
}

/* Descriptors are 32 bytes; Intel's L2 fetches cache lines in aligned pairs
 * (adjacent-line prefetch), so 128 bytes of descriptors, 4 pages, are the
 * unit two CPUs must not share when both write them on every pair. */
#define PCP_GROUP_ORDER 2

/*
 * Take up to n blocks of order from the buddy lists, as PG_pcp pages.
 * Orders below PCP_GROUP_ORDER are cut from a whole group where one is
 * free (an order-2 block; what the batch does not need goes back to the
 * buddy lists), so that the blocks two CPUs cycle never share 128 bytes of
 * descriptors: a CPU whose hot page's descriptor sat beside another CPU's
 * wrote those lines on every pair of both (two threads cycling one page
 * each ran up to 5x slower per thread).  When no group is left, single blocks.
 */
static uint32_t take_from_buddy(struct lab_zone *z, struct lab_page **buf, uint32_t n,
				unsigned int order)
{
	uint32_t k = 0, per = order < PCP_GROUP_ORDER ? 1u << (PCP_GROUP_ORDER - order) : 1;
	while (per > 1 && k < n) {
		struct lab_page *p = lab__rmqueue(z, PCP_GROUP_ORDER, 0);
		if (!p)
			break;
		uint32_t use = n - k < per ? n - k : per;
		for (uint32_t i = 0; i < use; i++) {
			struct lab_page *q = p + ((size_t)i << order);
			q->order = (uint8_t)order;
			set_page_flags(q, PG_pcp);
			buf[k++] = q;
		}
		if (use < per)
			lab__free_range(z, page_to_pfn(z, p) + ((size_t)use << order),
					(size_t)(per - use) << order);
	}
	while (k < n) {
		struct lab_page *p = lab__rmqueue(z, order, 0);
		if (!p)
			break;
		set_page_flags(p, PG_pcp);
		buf[k++] = p;
	}
	z->nr_allocated += (size_t)k << order;
	return k;
}

/* Move blocks between buf and this CPU's list of order: through rseq
 * (restarted after aborts, RSEQ_MAX_RETRIES times at most) when rs, else on
 * the set the caller owns (lock mode).  How many moved, counted in the
 * moves of the set they moved on (the one the sequence committed on). */
static uint32_t push_many(struct lab_zone *z, struct lab__os_rseq *rs, struct pcp_set *set,
			  unsigned int order, struct lab_page *const *buf, uint32_t n)
{
	uint32_t k = 0;
#if defined(LAB_HAVE_RSEQ_LIST)
	if (rs) {
		uint32_t cpu = 0;
		for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++)
			if (rseq_push_many(rs, z->pcp, list_offset(order), buf, n, &k, &cpu) !=
			    PCP_ABORTED)
				break;
		if (k)
			count_moved(&set_at(z, cpu)->moved_in, k);
		return k;
	}
#endif
	(void)z, (void)rs;
	if (set && (k = rseq_clist_push_many_owned(&set->list[order], (void *const *)buf, n)))
		count_moved(&set->moved_in, k);
	return k;
}

static uint32_t pop_many(struct lab_zone *z, struct lab__os_rseq *rs, struct pcp_set *set,
			 unsigned int order, struct lab_page **buf, uint32_t max)
{
	uint32_t k = 0;
#if defined(LAB_HAVE_RSEQ_LIST)
	if (rs) {
		uint32_t cpu = 0;
		for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++)
			if (rseq_pop_many(rs, z->pcp, list_offset(order), buf, max, &k, &cpu) !=
			    PCP_ABORTED)
				break;
		if (k)
			count_moved(&set_at(z, cpu)->moved_out, k);
		return k;
	}
#endif
	(void)z, (void)rs;
	if (set && (k = rseq_clist_pop_many_owned(&set->list[order], (void **)buf, max)))
		count_moved(&set->moved_out, k);
	return k;
}

/*
 * The list was empty: take a batch from the buddy lists under the zone lock,
 * keep one for the caller and push the rest (the whole batch counts as one
 * refill).  Whatever does not fit goes back.
 */
static struct lab_page *refill(struct lab_zone *z, struct lab__os_rseq *rs, struct pcp_set *set,
			       unsigned int order, lab_gfp_t gfp)
{
	struct lab_page *buf[LAB_PCP_MAX_BATCH];
	uint32_t batch = z->pcp_batch[order];

	if (lab__gfp_may_sleep(gfp))
		lab__zone_lock(z);
	else if (!lab__zone_lock_atomic_alloc(z))
		return NULL;
	lab__drain_deferred(z);
	uint32_t n = take_from_buddy(z, buf, batch, order);
	if (!n) {
		lab__zone_unlock(z);
		return NULL;
	}
	zone_stat_inc(z, pcp_refill);
	zone_stat_inc(z, alloc_success);
	zone_stat_inc(z, alloc_order[order]);
	high_on_refill(z, slow_set(z, rs, set), order);
	uint32_t pushed = push_many(z, rs, set, order, buf + 1, n - 1);
	return_to_buddy(z, buf + 1 + pushed, n - 1 - pushed, order, true);
	lab__zone_unlock(z);
	if (pushed < n - 1)
		lab__wake_waiters(z);
	return buf[0];
}

/*
 * Move up to max blocks of order, newest first, from this CPU's list (rs) or
 * the set the caller owns to the buddy lists.  The pop and its count happen
 * under the zone lock, where lab_zone_get_stats sees both or neither; when
 * the lock is out of reach at once the blocks are deferred.  How many moved.
 */
static uint32_t drain_list(struct lab_zone *z, struct lab__os_rseq *rs, struct pcp_set *set,
			   unsigned int order, uint32_t max)
{
	struct lab_page *buf[LAB_PCP_MAX_BATCH];
	bool locked = lab__zone_lock_atomic(z);
	uint32_t n = pop_many(z, rs, set, order, buf, max < LAB_PCP_MAX_BATCH ?
			      max : LAB_PCP_MAX_BATCH);
	if (n)
		zone_stat_inc(z, pcp_drain);
	return_to_buddy(z, buf, n, order, locked);
	if (locked) {
		lab__zone_unlock(z);
		if (n)
			lab__wake_waiters(z);
	}
	return n;
}

/* The list was full: move a batch of its newest blocks out. */
static void drain_batch(struct lab_zone *z, struct lab__os_rseq *rs, struct pcp_set *set,
			unsigned int order)
{
	drain_list(z, rs, set, order, z->pcp_batch[order]);
}

/*
 * Allocate a block from this CPU's list of its order, refilling it when
 * empty.  NULL when the list cannot be used now (the caller then tries the
 * buddy lists directly) or the zone has nothing to refill with.
 */
struct lab_page *lab__pcp_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	struct lab_page *page = NULL;
	struct pcp_set *set = NULL;

#if defined(LAB_HAVE_RSEQ_LIST)
	if (z->pcp_mode == LAB_PCP_RSEQ) {
		struct lab__os_rseq *rs = rseq_self();
		if (!rs)
			return NULL;
		int st = PCP_ABORTED;
		for (int tries = 0; tries < RSEQ_MAX_RETRIES && st == PCP_ABORTED; tries++)
			st = rseq_pop(rs, z->pcp, list_offset(order), &page);  /* counts the hit */
		if (st == PCP_OK) {
			lab__hand_out(page, gfp);
			return page;
		}
		if (st != PCP_EMPTY)
			return NULL;
		page = refill(z, rs, NULL, order, gfp);
		if (page)
			lab__hand_out(page, gfp);
		return page;
	}
#endif
	set = lock_mode_set(z);
	if (!set_trylock(set))
		return NULL;
	void *item;
	if (rseq_clist_pop_owned(&set->list[order], &item))  /* counts the hit */
		page = item;
	else
		page = refill(z, NULL, set, order, gfp);
	if (page)
		lab__hand_out(page, gfp);
	set_unlock(set);
	return page;
}

/* Put a claimed block on this CPU's list of its order, draining a batch
 * first when it is full.  False when the list cannot be used now. */
bool lab__pcp_free(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	/* A tail sub-block (a plain block freed while its head is still held)
	 * carries no order of its own yet. */
	__atomic_store_n(&page->order, (uint8_t)order, __ATOMIC_RELAXED);
#if defined(LAB_HAVE_RSEQ_LIST)
	if (z->pcp_mode == LAB_PCP_RSEQ) {
		struct lab__os_rseq *rs = rseq_self();
		if (!rs)
			goto no;
		/* Marked before the push: once pushed it may be popped at once. */
		set_page_flags(page, PG_pcp);
		for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++) {
			int st = rseq_push(rs, z->pcp, list_offset(order), page);
			if (st == PCP_OK)  /* counted: a single push is a free */
				return true;
			if (st == PCP_LOCKED)
				break;
			if (st == PCP_EMPTY && !high_on_full(z, slow_set(z, rs, NULL), order))
				drain_batch(z, rs, NULL, order);  /* no room, and high stays */
		}
		goto no;
	}
#endif
	struct pcp_set *set = lock_mode_set(z);
	if (!set_trylock(set))
		goto no;
	/* Marked only with the set held: lab_zone_check(), owning every set,
	 * never sees a PG_pcp page that is on no list. */
	set_page_flags(page, PG_pcp);
	struct rseq_clist *l = &set->list[order];
	if (pcp_count(l) >= high_get(l) && !high_on_full(z, set, order))
		while (pcp_count(l) && pcp_count(l) >= high_get(l))  /* high may just have fallen */
			drain_batch(z, NULL, set, order);
	rseq_clist_push_owned(l, page);  /* counted: a single push is a free */
	set_unlock(set);
	return true;
no:
	set_page_flags(page, PG_deferred);
	return false;
}

/* ---- draining whole sets ---------------------------------------------- */

/* Empty every list of a set the caller owns. */
static void drain_set_owned(struct lab_zone *z, struct pcp_set *set)
{
	for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
		while (drain_list(z, NULL, set, o, LAB_PCP_MAX_BATCH))
			;
}

/* Take a set away from its CPU: its lock, then (rseq) abort any sequence
 * that started before the lock was visible.  Only for callers that may sleep. */
static void own_set(struct lab_zone *z, unsigned int cpu)
{
	struct pcp_set *set = set_at(z, cpu);
	if (!set_trylock(set)) {
		struct lab__lock_wait w;
		lab__lock_wait_begin(z, &w, ZL_PCP_SET, (int)cpu);
		for (unsigned int n = 1; !set_trylock(set); n++) {
			if (!(n & 255))
				lab__lock_wait_poll(z, &w, -1);
			lab__os_yield();
		}
		lab__lock_wait_end(z, &w);
	}
	if (z->pcp_mode == LAB_PCP_RSEQ)
		lab__os_membarrier_rseq_cpu((int)cpu);
}

/* drain_local_pages(): empty this CPU's lists; fine in atomic context. */
bool lab__pcp_drain_local(struct lab_zone *z)
{
	bool drained = false;
	if (!z->pcp)
		return false;
#if defined(LAB_HAVE_RSEQ_LIST)
	if (z->pcp_mode == LAB_PCP_RSEQ) {
		struct lab__os_rseq *rs = rseq_self();
		if (!rs)
			return false;
		/* A batch at a time, RSEQ_MAX_RETRIES batches of each order at
		 * most (the thread may move to another CPU meanwhile). */
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
			for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++) {
				if (!drain_list(z, rs, NULL, o, LAB_PCP_MAX_BATCH))
					break;
				drained = true;
			}
		return drained;
	}
#endif
	struct pcp_set *set = lock_mode_set(z);
	if (!set_trylock(set))
		return false;
	for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
		drained |= pcp_count(&set->list[o]) != 0;
	drain_set_owned(z, set);
	set_unlock(set);
	return drained;
}

/*
 * drain_all_pages(): empty every CPU's lists.  A caller that may sleep owns
 * each set in turn; an atomic caller can only try-lock sets in lock mode, and
 * in rseq mode asks kswapd (a futex wake) to do it.
 */
void lab__pcp_drain_all(struct lab_zone *z, bool may_sleep)
{
	if (!z->pcp)
		return;
	if (!may_sleep && z->pcp_mode == LAB_PCP_RSEQ) {
		atomic_store(&z->pcp_drain_request, 1);
		lab__wakeup_kswapd(z);
		return;
	}
	for (unsigned int i = 0; i < (unsigned int)z->nr_pcp; i++) {
		struct pcp_set *set = set_at(z, i);
		if (may_sleep)
			own_set(z, i);
		else if (!set_trylock(set))
			continue;
		drain_set_owned(z, set);
		set_unlock(set);
	}
}

/*
 * decay_pcp_high(): lower each list's high toward high_min, to high_min
 * under pressure (below the high watermark, or when asked), else, for a CPU
 * idle since the last call, by an eighth and by no more than 2^5 batches
 * below its count; then drain each set's lists down to their high, owning
 * the set, and under pressure the one-block caches above the costly order
 * to nothing.  kswapd calls it once a second while some high is raised (a CPU
 * whose lists sit idle gives its pages back within seconds) and on every
 * round (pressure).  May sleep.
 */
void lab__pcp_decay(struct lab_zone *z, bool pressure)
{
	if (!z->pcp)
		return;
	pressure = pressure || below_high(z);
	for (unsigned int i = 0; i < (unsigned int)z->nr_pcp; i++) {
		struct pcp_set *set = set_at(z, i);
		bool over = false;
		/* Idle: the set's counters did not move since the last tick.  A CPU
		 * at work keeps its high (the kernel decays it all the same and lets
		 * the next refills raise it again: here that cost a batch-1024 loop
		 * a tenth of its speed). */
		uint64_t hits, work = set_work(set, &hits) + hits;
		uint32_t seen = __atomic_load_n(&set->idle_seen, __ATOMIC_RELAXED);
		__atomic_store_n(&set->idle_seen, (uint32_t)work, __ATOMIC_RELAXED);
		if (!pressure && seen != (uint32_t)work)
			continue;
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
			struct rseq_clist *l = &set->list[o];
			if (!adaptive(z, o)) {
				over |= pressure && block_cache(o) && pcp_count(l);
				continue;
			}
			uint32_t high = high_clamped(z, l, o), min = z->pcp_high[o];
			uint32_t count = pcp_count(l);
			uint32_t keep = count > z->pcp_batch[o] << PCP_BATCH_SCALE_MAX ?
					count - (z->pcp_batch[o] << PCP_BATCH_SCALE_MAX) : 0;
			uint32_t to = pressure ? min : high - high / 8;
			if (!pressure && keep > to)
				to = keep;
			if (to < min)
				to = min;
			if (to < high)
				high_set(l, to);
			over |= count > to;
		}
		if (!over)
			continue;
		own_set(z, i);
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
			struct rseq_clist *l = &set->list[o];
			/* Under pressure the one-block caches empty too: a large
			 * block parked on one CPU is one another CPU would miss. */
			uint32_t high = pressure && block_cache(o) ? 0 : high_get(l);
			while (pcp_count(l) > high)
				drain_list(z, NULL, set, o, pcp_count(l) - high);
		}
		set_unlock(set);
	}
}

/* Memory is short: every list's high back to its floor.  Only stores, fine
 * in any context; the lists drain to it on their next full push or when
 * kswapd decays them, and a caller about to fail drains them all. */
void lab__pcp_high_reset(struct lab_zone *z)
{
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++)
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
			if (adaptive(z, o))
				high_set(&set_at(z, i)->list[o], z->pcp_high[o]);
}

void lab_drain_all_pages(struct lab_zone *z)
{
	if (z)
		lab__pcp_drain_all(z, true);
}

/*
 * Own every set (for the checker and fork); release with pcp_release_all.
 * All of them or none: a set found busy makes it let the others go and wait
 * until that one is free, then try them all again.  Waiting for one set
 * while holding the rest kept every other CPU off its lists for the whole
 * wait, so that their allocations crowded the zone lock; in lock mode, with
 * a signal storm whose handlers then outran their timer, the holder of the
 * busy set (interrupted inside a list operation) never got back to release
 * it: a stall of 16 threads under TSan (issue 16, item 11).
 */
void lab__pcp_own_all(struct lab_zone *z)
{
	unsigned int n = z->pcp ? (unsigned int)z->nr_pcp : 0;
	struct lab__lock_wait w;
	bool waiting = false;
	for (unsigned int round = 1;; round++) {
		unsigned int i = 0;
		while (i < n && set_trylock(set_at(z, i)))
			i++;
		if (i == n)
			break;
		struct pcp_set *busy = set_at(z, i);
		int cpu = (int)i;
		while (i)
			set_unlock(set_at(z, --i));
		if (!waiting) {
			lab__lock_wait_begin(z, &w, ZL_PCP_SET, cpu);
			waiting = true;
		}
		while (atomic_load_explicit(&busy->lock, memory_order_relaxed)) {
			if (!(round++ & 255))
				lab__lock_wait_poll(z, &w, -1);
			lab__os_yield();
		}
	}
	if (waiting)
		lab__lock_wait_end(z, &w);
	if (z->pcp_mode == LAB_PCP_RSEQ)
		for (unsigned int i = 0; i < n; i++)
			lab__os_membarrier_rseq_cpu((int)i);
}

void lab__pcp_release_all(struct lab_zone *z)
{
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++)
		set_unlock(set_at(z, i));
}

/* How many sets are owned now (lab_zone_get_locks); racy by nature. */
unsigned int lab__pcp_sets_owned(const struct lab_zone *z)
{
	unsigned int n = 0;
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++)
		n += atomic_load_explicit(&set_at(z, i)->lock, memory_order_relaxed) != 0;
	return n;
}

/* Check the lists of owned sets: each slot a PG_pcp block of the list's order.
 * Returns the number of problems, each a line of log (check.h); *pages gets
 * the pages listed. */
int lab__pcp_check(const struct lab_zone *z, size_t *pages, struct lab__check_log *log)
{
	int errors = 0;
	*pages = 0;
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++) {
		const struct pcp_set *set = set_at(z, i);
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
			const struct rseq_clist *l = &set->list[o];
			uint32_t count = pcp_count(l);
			if (count > z->pcp_high_max[o] || high_get(l) > z->pcp_high_max[o]) {
				lab__check_broken(log, "labyrinth: zone %s: invariant broken: "
						  "pcp_count cpu %u order %u: %u, high %u, slots %u\n",
						  z->name, i, o, count, high_get(l),
						  z->pcp_high_max[o]);
				errors++;
				continue;
			}
			for (uint32_t k = 0; k < count; k++) {
				const struct lab_page *p = l->slots[k];
				size_t pfn = (size_t)(p - z->pages);
				if (pfn >= atomic_load(&z->managed) || !(page_flags(p) & PG_pcp) ||
				    p->order != o || (pfn & ((1u << o) - 1))) {
					lab__check_broken(log, "labyrinth: zone %s: invariant broken: "
							  "pcp_membership cpu %u order %u slot %u: "
							  "pfn %zu flags %#x order %u\n", z->name,
							  i, o, k, pfn, page_flags(p), p->order);
					errors++;
				}
				*pages += (size_t)1 << o;
			}
		}
	}
	return errors;
}

/* Pages on all lists, read without owning them (a snapshot). */
size_t lab__pcp_pages(const struct lab_zone *z)
{
	size_t pages = 0;
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++)
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
			pages += (size_t)pcp_count(&set_at(z, i)->list[o]) << o;
	return pages;
}

/* Every set's counters, added up (exact under the zone lock, see
 * set_counters). */
void lab__pcp_sum_counters(const struct lab_zone *z, struct pcp_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++) {
		struct pcp_counters c;
		set_counters(set_at(z, i), &c);
		sum->free += c.free;
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++)
			sum->hit[o] += c.hit[o];
	}
}

uint64_t lab__pcp_exclusive_allocs(const struct lab_zone *z)
{
	uint64_t n = 0;
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++)
		n += __atomic_load_n(&set_at(z, i)->exclusive_allocs, __ATOMIC_RELAXED);
	return n;
}

/* ---- set-up ----------------------------------------------------------- */

static uint32_t rounddown_pow2(uint32_t x)
{
	uint32_t r = 1;
	while (r * 2 <= x)
		r *= 2;
	return r;
}

/* zone_batchsize(): about a quarter of a MiB per 1 GiB of zone, at most
 * 1 MiB / 4, rounded to 2^n - 1 to avoid cache-colour aliasing; 63 for a
 * zone of 1 GiB or more with 4 KiB pages. */
static uint32_t zone_batchsize(size_t managed, size_t page_size)
{
	size_t batch = managed >> 10;
	size_t cap = (1024 * 1024) / page_size;
	if (batch > cap)
		batch = cap;
	batch /= 4;
	if (batch < 1)
		batch = 1;
	batch = rounddown_pow2((uint32_t)(batch + batch / 2)) - 1;
	return batch < 1 ? 1 : (uint32_t)batch;
}

int lab__pcp_init(struct lab_zone *z, const struct lab_zone_config *cfg)
{
	z->pcp_mode = (z->flags & LAB_ZONE_NO_PCP) ? LAB_PCP_OFF : lab__pcp_mode();
	if (z->pcp_mode == LAB_PCP_OFF)
		return 0;
	size_t managed = atomic_load(&z->managed);
	int ncpu = lab__os_nr_cpus();
	uint32_t batch = cfg->pcp_batch ? (uint32_t)cfg->pcp_batch
					: zone_batchsize(managed, z->page_size);
	if (batch > LAB_PCP_MAX_BATCH)
		batch = LAB_PCP_MAX_BATCH;
	/* zone_highsize(): the low watermark split among CPUs, at least 4 batches,
	 * and no more than 1/8 of the zone per CPU. */
	size_t high = cfg->pcp_high;
	if (!high) {
		size_t cap = managed / 8 / (size_t)ncpu;
		high = atomic_load(&z->wmark[WMARK_LOW]) / (size_t)ncpu;
		if (high > cap)
			high = cap;
		if (high < 4 * (size_t)batch)
			high = 4 * (size_t)batch;
	}
	/* A list's count is the low 16 bits of its commit word (rseq_list.h):
	 * 65 535 blocks per CPU and order at most, 256 MiB of 4 KiB pages. */
	if (high > RSEQ_CLIST_MAX)
		high = RSEQ_CLIST_MAX;
	/* The adaptive high's bound, as the kernel's high_max: an eighth of the
	 * zone spread over the CPUs (MIN_PERCPU_PAGELIST_HIGH_FRACTION), and never
	 * what the high watermark needs.  A configured high is fixed, as the
	 * kernel's is when vm.percpu_pagelist_high_fraction is set. */
	size_t high_max = high;
	if (!cfg->pcp_high) {
		size_t wmark = atomic_load(&z->wmark[WMARK_HIGH]);
		high_max = managed / 8;
		if (high_max > managed - (wmark < managed ? wmark : managed))
			high_max = managed - (wmark < managed ? wmark : managed);
		high_max /= (size_t)ncpu;
		if (high_max > RSEQ_CLIST_MAX)
			high_max = RSEQ_CLIST_MAX;
		if (high_max < high)
			high_max = high;
	}

	size_t slots_per_set = 0;
	for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
		uint32_t b = o ? (batch >> o > 2 ? batch >> o : 2) : batch;
		uint32_t h = (uint32_t)(high >> o), hmax = (uint32_t)(high_max >> o);
		if (h < 2 * b)
			h = 2 * b;
		if (hmax < h)
			hmax = h;
		/* Above the costly order a CPU keeps one block, the last it freed,
		 * and only where its share of the zone (high_max) holds two: the
		 * pair of a block that size then takes no zone lock and no split
		 * or merge, and a small zone keeps its large blocks in the buddy
		 * lists, where every CPU finds them. */
		if (block_cache(o)) {
			b = 1;
			h = hmax = (high_max >> o) >= 2 ? 1 : 0;
		}
		z->pcp_batch[o] = b;
		z->pcp_high[o] = h;
		z->pcp_high_max[o] = hmax;
		slots_per_set += hmax;
	}
	z->nr_pcp = ncpu;
	z->pcp_stride = PCP_SET_STRIDE;
	z->pcp_bytes = (size_t)ncpu * (z->pcp_stride + slots_per_set * sizeof(struct lab_page *));
	z->pcp_bytes = (z->pcp_bytes + z->page_size - 1) & ~(z->page_size - 1);
	int err = 0;
	z->pcp = lab__os_map_populated(z->pcp_bytes, &err);
	if (!z->pcp)
		return err;
	void **slots = (void **)((char *)z->pcp + (size_t)ncpu * z->pcp_stride);
	for (int i = 0; i < ncpu; i++) {
		struct pcp_set *set = set_at(z, (unsigned int)i);
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
			set->list[o].high = z->pcp_high[o];
			set->list[o].batch = z->pcp_batch[o];
			set->list[o].slots = slots;
			slots += z->pcp_high_max[o];
		}
	}
	return 0;
}

void lab__pcp_destroy(struct lab_zone *z)
{
	if (z->pcp)
		lab__os_unmap(z->pcp, z->pcp_bytes);
	z->pcp = NULL;
}
