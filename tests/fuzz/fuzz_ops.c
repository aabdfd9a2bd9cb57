/*
 * fuzz_ops.c - fuzz target: bytes become a sequence of API calls on up to
 * FUZZ_ZONES zones (format in fuzz.h), checked against a reference model
 * after every step.
 *
 * The model knows every block the program holds - live, in a shrinker's
 * cache, or leaked by a deliberate misuse - and which pages they cover.  For
 * each call it predicts the outcome class: EINVAL for bad arguments; for a
 * valid allocation "must succeed", "must fail" or "either", from the zone's
 * statistics and the README's watermark rules; for a misused free, whether
 * the block is freed, leaked or left alone with a Bad page report.  After
 * every step it compares its own counts with lab_zone_get_stats() and runs
 * lab_zone_check().  A mismatch aborts with a message (a crash for the
 * fuzzer, with the input saved).
 *
 * Sleeping allocations that might not succeed at once get NORETRY (and lose
 * NOFAIL), so that no input waits or loops forever: the fuzzer stays fast
 * and deterministic.  Reports of misuse go to stderr; run libFuzzer with
 * -close_fd_mask=2 to keep them out of its output (the target's own
 * messages go to a copy of stderr taken at start-up).
 */
#include "fuzz.h"
#define FUZZ_TARGET "fuzz_ops"
#include "reader.h"

#include <errno.h>
#include <labyrinth.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the model ------------------------------------------------------------ */

enum kind { K_FREE, K_LIVE, K_CACHE, K_LEAKED };

/* What a block carries at its start while the program holds it. */
struct tag {
	uint64_t magic;
	uint64_t seq;
	uint32_t pfn;
	uint32_t order;
};
#define TAG_MAGIC 0x4655a2a2c0ffee11ull

struct mzone {
	struct lab_zone *z;
	struct lab_zone_config cfg;
	bool kswapd, grow;
	size_t max_pages;        /* address space reserved: pages, or max_pages with GROW */
	uint32_t *head_of;       /* pfn -> head pfn + 1 of the held block covering it */
	uint8_t *order_at;       /* head pfn -> order */
	uint8_t *kind_at;        /* head pfn -> enum kind */
	uint32_t *ref_at;        /* head pfn -> references of a live block */
	uint8_t *flag_at;        /* head pfn -> MF_* */
	uint32_t *live;          /* head pfns of K_LIVE blocks */
	uint32_t *live_slot;     /* head pfn -> index in live[] */
	size_t nr_live;
	uint32_t *cache;         /* head pfns of K_CACHE blocks, a stack */
	size_t nr_cache;
	size_t live_pages, cache_pages, leaked_pages;
	/* What the library's counters must say. */
	uint64_t success, fails[3], einval, frees, bad_page, injected;
	uint32_t recent[8];      /* recently freed blocks, for double frees */
	uint8_t recent_order[8];
	unsigned nr_recent;
	struct lab_shrinker shrinker;
	bool registered;
	uint64_t tag_seq;
};

#define MF_COMP   0x1u  /* LAB_GFP_COMP: stays whole until the last reference */
#define MF_LOCKED 0x2u  /* page lock held */
#define MAX_REFS  64

static struct mzone zones[FUZZ_ZONES];
static unsigned creates;
/* The model, also changed by shrinker callbacks (kswapd runs them). */
static pthread_mutex_t model_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t page_size;

static void *block_addr(const struct mzone *m, uint32_t pfn)
{
	return lab_page_address(lab_pfn_to_page(m->z, pfn));
}

static void tag_write(struct mzone *m, uint32_t pfn, unsigned order)
{
	struct tag *t = block_addr(m, pfn);
	*t = (struct tag){ TAG_MAGIC, ++m->tag_seq, pfn, order };
}

static void tag_check(const struct mzone *m, uint32_t pfn, unsigned order)
{
	const struct tag *t = block_addr(m, pfn);
	expect(t->magic == TAG_MAGIC && t->pfn == pfn && t->order == order,
	       "block pfn %u order %u lost its tag (magic %#llx pfn %u order %u): "
	       "someone else wrote into it", pfn, order, (unsigned long long)t->magic,
	       t->pfn, t->order);
}

/* Record a block the library handed out: it must not overlap any held one. */
static void model_add(struct mzone *m, uint32_t pfn, unsigned order, enum kind kind)
{
	size_t n = (size_t)1 << order;
	expect(pfn % n == 0, "block pfn %u is not aligned to its order %u", pfn, order);
	expect(pfn + n <= m->max_pages, "block pfn %u order %u past the zone", pfn, order);
	for (size_t i = pfn; i < pfn + n; i++)
		expect(!m->head_of[i], "handed out twice: pfn %zu of new block %u order %u is held "
		       "in block %u", i, pfn, order, m->head_of[i] - 1);
	for (size_t i = pfn; i < pfn + n; i++)
		m->head_of[i] = pfn + 1;
	m->order_at[pfn] = (uint8_t)order;
	m->kind_at[pfn] = (uint8_t)kind;
	m->ref_at[pfn] = 1;
	m->flag_at[pfn] = 0;
	if (kind == K_LIVE) {
		m->live_slot[pfn] = (uint32_t)m->nr_live;
		m->live[m->nr_live++] = pfn;
		m->live_pages += n;
	} else {
		m->cache[m->nr_cache++] = pfn;
		m->cache_pages += n;
	}
	tag_write(m, pfn, order);
}

static void live_unlink(struct mzone *m, uint32_t pfn)
{
	uint32_t slot = m->live_slot[pfn], last = m->live[--m->nr_live];
	m->live[slot] = last;
	m->live_slot[last] = slot;
	m->live_pages -= (size_t)1 << m->order_at[pfn];
}

/* The block left the program: freed (back to the library) or leaked. */
static void model_release(struct mzone *m, uint32_t pfn, bool leaked)
{
	unsigned order = m->order_at[pfn];
	size_t n = (size_t)1 << order;
	if (m->kind_at[pfn] == K_LIVE)
		live_unlink(m, pfn);
	if (leaked) {
		m->kind_at[pfn] = K_LEAKED;
		m->leaked_pages += n;
		return;
	}
	for (size_t i = pfn; i < pfn + n; i++)
		m->head_of[i] = 0;
	m->kind_at[pfn] = K_FREE;
	m->frees++;
	m->recent[m->nr_recent % 8] = pfn;
	m->recent_order[m->nr_recent % 8] = (uint8_t)order;
	m->nr_recent++;
}

static void expect_count(struct mzone *m, uint32_t pfn)
{
	int count = lab_page_count(lab_pfn_to_page(m->z, pfn));
	expect(count == (int)m->ref_at[pfn], "block pfn %u: %d references, model %u", pfn, count,
	       m->ref_at[pfn]);
}

/* The last reference went: the block is freed, or leaked with a Bad page
 * report if its page lock is still held. */
static void last_reference_gone(struct mzone *m, uint32_t pfn)
{
	if (m->flag_at[pfn] & MF_LOCKED) {
		m->bad_page++;
		model_release(m, pfn, true);
	} else {
		model_release(m, pfn, false);
	}
}

/*
 * lab_free_pages() is a put (the kernel's __free_pages).  Not the last
 * reference: a compound block stays whole; a plain one gives its tails back
 * now (one free for each order below its own) and its head lives on as an
 * order-0 block.
 */
static void free_held(struct mzone *m, uint32_t pfn, bool by_address)
{
	unsigned order = m->order_at[pfn];
	tag_check(m, pfn, order);
	if (by_address)
		lab_free_pages_addr(block_addr(m, pfn), order);
	else
		lab_free_pages(lab_pfn_to_page(m->z, pfn), order);
	if (m->ref_at[pfn] == 1) {
		last_reference_gone(m, pfn);
		return;
	}
	m->ref_at[pfn]--;
	if (!(m->flag_at[pfn] & MF_COMP) && order) {
		size_t n = (size_t)1 << order;
		for (size_t i = pfn + 1; i < pfn + n; i++)
			m->head_of[i] = 0;
		m->frees += order;
		m->live_pages -= n - 1;
		m->order_at[pfn] = 0;
		tag_write(m, pfn, 0);
	}
	expect_count(m, pfn);
}

/* Before the program lets go of a live block for good: its lock and the
 * references taken with gets. */
static void drop_extras(struct mzone *m, uint32_t pfn)
{
	struct lab_page *page = lab_pfn_to_page(m->z, pfn);
	if (m->flag_at[pfn] & MF_LOCKED)
		lab_unlock_page(page);
	m->flag_at[pfn] &= (uint8_t)~MF_LOCKED;
	for (; m->ref_at[pfn] > 1; m->ref_at[pfn]--)
		lab_put_page(page);
}

/* ---- fault injection: the model of fault.c ------------------------------ */

static struct {
	unsigned probability;     /* 0 or 100 here: the outcome is then certain */
	unsigned long interval, count;
	long times, space;
	bool ignore_gfp_wait;
	unsigned min_order, nth;
} fm;

static const struct lab_fault_attr fault_off = {
	.probability = 0, .interval = 1, .times = 1, .space = 0, .verbose = 0,
	.ignore_gfp_wait = true, .min_order = 1,
};

static void fault_model_set(const struct lab_fault_attr *a)
{
	fm.probability = a->probability;
	fm.interval = a->interval;
	fm.count = 0;
	fm.times = a->times;
	fm.space = a->space;
	fm.ignore_gfp_wait = a->ignore_gfp_wait;
	fm.min_order = a->min_order;
}

/* The README's order of checks: min_order, NOFAIL, ignore_gfp_wait, then
 * fail-nth, probability, times, space, interval, the random draw. */
static bool fault_model_fails(lab_gfp_t gfp, unsigned order)
{
	long size = 1L << order;
	if (order < fm.min_order || (gfp & LAB_GFP_NOFAIL) ||
	    (fm.ignore_gfp_wait && (gfp & LAB_GFP_DIRECT_RECLAIM)))
		return false;
	if (fm.nth) {
		if (--fm.nth)
			return false;
	} else {
		if (!fm.probability || !fm.times)
			return false;
		if (fm.space > size) {
			fm.space -= size;
			return false;
		}
		if (fm.interval > 1 && ++fm.count % fm.interval)
			return false;
	}
	if (fm.times > 0)
		fm.times--;
	return true;
}

/* ---- checks after every step -------------------------------------------- */

static bool any_block(const struct lab_zone_stats *st, unsigned order)
{
	for (unsigned o = order; o <= LAB_MAX_ORDER; o++)
		if (st->nr_free[o])
			return true;
	return false;
}

static void check_zone(struct mzone *m, unsigned slot)
{
	expect(lab_zone_check(m->z) == 0, "zone %u: lab_zone_check found broken invariants", slot);
	struct lab_zone_stats st;
	lab_zone_get_stats(m->z, &st);
	size_t listed = 0;
	for (unsigned o = 0; o <= LAB_MAX_ORDER; o++)
		listed += st.nr_free[o] << o;
	expect(st.free + st.allocated == st.managed, "zone %u: free %zu + allocated %zu != managed %zu",
	       slot, st.free, st.allocated, st.managed);
	expect(listed == st.free, "zone %u: buddyinfo adds up to %zu, free is %zu", slot, listed, st.free);
	expect(st.allocated == m->live_pages + m->cache_pages + m->leaked_pages,
	       "zone %u: library says %zu pages allocated, the model holds %zu live + %zu cached "
	       "+ %zu leaked", slot, st.allocated, m->live_pages, m->cache_pages, m->leaked_pages);
	expect(st.leaked == m->leaked_pages, "zone %u: leaked %zu, model %zu", slot, st.leaked,
	       m->leaked_pages);
	expect(st.deferred == 0, "zone %u: %zu pages still deferred after lab_zone_check", slot,
	       st.deferred);
	expect(st.alloc_success == m->success, "zone %u: %llu successful allocations, model %llu",
	       slot, (unsigned long long)st.alloc_success, (unsigned long long)m->success);
	expect(st.fail_atomic == m->fails[0] && st.fail_nowait == m->fails[1] &&
	       st.fail_sleeping == m->fails[2] &&
	       st.alloc_fail == m->fails[0] + m->fails[1] + m->fails[2],
	       "zone %u: failures atomic/nowait/sleeping %llu/%llu/%llu, model %llu/%llu/%llu", slot,
	       (unsigned long long)st.fail_atomic, (unsigned long long)st.fail_nowait,
	       (unsigned long long)st.fail_sleeping, (unsigned long long)m->fails[0],
	       (unsigned long long)m->fails[1], (unsigned long long)m->fails[2]);
	expect(st.alloc_einval == m->einval, "zone %u: %llu EINVALs, model %llu", slot,
	       (unsigned long long)st.alloc_einval, (unsigned long long)m->einval);
	expect(st.free_calls == m->frees, "zone %u: %llu frees, model %llu", slot,
	       (unsigned long long)st.free_calls, (unsigned long long)m->frees);
	expect(st.bad_page == m->bad_page, "zone %u: %llu Bad page reports, model %llu", slot,
	       (unsigned long long)st.bad_page, (unsigned long long)m->bad_page);
	expect(st.fail_injected == m->injected, "zone %u: %llu injected failures, model %llu", slot,
	       (unsigned long long)st.fail_injected, (unsigned long long)m->injected);
	if (m->grow)
		expect(st.managed >= m->cfg.pages && st.managed <= m->max_pages,
		       "zone %u: managed %zu outside [%zu, %zu]", slot, st.managed, m->cfg.pages,
		       m->max_pages);
	else
		expect(st.managed == m->cfg.pages, "zone %u: managed %zu, created with %zu", slot,
		       st.managed, m->cfg.pages);
	expect(st.wmark_min <= st.wmark_low && st.wmark_low <= st.wmark_high,
	       "zone %u: marks out of order %zu/%zu/%zu", slot, st.wmark_min, st.wmark_low,
	       st.wmark_high);
	if (m->cfg.wmark_high)
		expect(st.wmark_min == m->cfg.wmark_min && st.wmark_low == m->cfg.wmark_low &&
		       st.wmark_high == m->cfg.wmark_high, "zone %u: configured marks not kept", slot);
}

/* ---- shrinker: a cache of blocks kswapd and direct reclaim take back ----- */

static unsigned long cache_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct mzone *m = s->private_data;
	pthread_mutex_lock(&model_lock);
	size_t n = m->nr_cache;
	pthread_mutex_unlock(&model_lock);
	return n ? n : LAB_SHRINK_EMPTY;
}

static unsigned long cache_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct mzone *m = s->private_data;
	unsigned long freed = 0;
	pthread_mutex_lock(&model_lock);
	while (m->nr_cache && freed < sc->nr_to_scan) {
		uint32_t pfn = m->cache[--m->nr_cache];
		m->cache_pages -= (size_t)1 << m->order_at[pfn];
		free_held(m, pfn, false);
		freed++;
	}
	pthread_mutex_unlock(&model_lock);
	return freed;
}

/* ---- operations ------------------------------------------------------------ */

struct fuzz_op_entry {
	const char *name;
	void (*run)(struct reader *r);
};

static struct mzone *zone_of(struct reader *r, unsigned *slot)
{
	unsigned s = u8(r) % FUZZ_ZONES;
	if (slot)
		*slot = s;
	return &zones[s];
}

/* The zone configuration check, restated from the README and the header. */
static bool config_valid(const struct lab_zone_config *c)
{
	bool grow = c->flags & LAB_ZONE_GROW;
	if (!c->pages || c->pages >= UINT32_MAX || (c->flags & ~LAB_ZONE_ALL_FLAGS))
		return false;
	if (grow && c->max_pages && (c->max_pages < c->pages || c->max_pages >= UINT32_MAX))
		return false;
	if (!grow && c->max_pages && c->max_pages != c->pages)
		return false;
	if ((c->wmark_min || c->wmark_low || c->wmark_high) &&
	    (c->wmark_min > c->wmark_low || c->wmark_low > c->wmark_high ||
	     c->wmark_high >= c->pages))
		return false;
	return c->watermark_scale_factor <= 3000;
}

static void zone_free_all(struct mzone *m);
static void zone_destroy(struct mzone *m);

static void op_zone_create(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	struct lab_zone_config c = { 0 };
	uint16_t pages = u16(r);
	/* Mostly small zones: creation maps and pre-faults every page. */
	c.pages = (pages & 0x7fff) % (pages & 0x8000 ? FUZZ_MAX_PAGES + 1 : FUZZ_SMALL_PAGES + 1);
	uint8_t flags = u8(r);
	c.flags = flags & 0x80 ? 1u << (flags & 31) : flags & 0x3;
	/* The model is the buddy core and the GFP contract: zones without
	 * per-CPU lists (their own tests and the stress tool cover them), and of
	 * the valid flags only GROW and NO_KSWAPD; unknown bits stay, for EINVAL. */
	if (c.flags & LAB_ZONE_ALL_FLAGS & ~(LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD))
		c.flags = 0;
	c.flags |= LAB_ZONE_NO_PCP;
	uint8_t max_mode = u8(r);
	uint16_t max = u16(r);
	c.max_pages = max_mode % 4 == 0 ? 0 : max_mode % 4 == 1 ? c.pages * (1 + max_mode / 4 % 4)
		    : max_mode % 4 == 2 ? c.pages : max % (4 * FUZZ_MAX_PAGES + 1);
	uint8_t wm_mode = u8(r);
	uint16_t a = u16(r), b = u16(r), d = u16(r);
	if (wm_mode % 3 == 1 && c.pages > 3) {  /* ordered, below pages */
		c.wmark_high = 1 + d % (c.pages - 1);
		c.wmark_low = b % (c.wmark_high + 1);
		c.wmark_min = a % (c.wmark_low + 1);
	} else if (wm_mode % 3 == 2) {          /* anything */
		c.wmark_min = a;
		c.wmark_low = b;
		c.wmark_high = d;
	}
	c.watermark_scale_factor = u16(r) % 4000;
	c.name = u8(r) % 2 ? "fz" : NULL;

	bool valid = config_valid(&c);
	/* Creation maps and pre-faults: a few per input keep the fuzzer fast. */
	if (valid && ++creates > FUZZ_MAX_CREATES)
		return;
	if (m->z)
		zone_destroy(m);
	errno = 0;
	struct lab_zone *z = lab_zone_create(&c);
	if (!valid) {
		expect(!z && errno == EINVAL, "invalid config (pages %zu flags %#x max %zu marks "
		       "%zu/%zu/%zu scale %u) gave %p errno %d", c.pages, c.flags, c.max_pages,
		       c.wmark_min, c.wmark_low, c.wmark_high, c.watermark_scale_factor, (void *)z, errno);
		return;
	}
	expect(z, "valid config (pages %zu flags %#x max %zu marks %zu/%zu/%zu scale %u) failed: "
	       "errno %d", c.pages, c.flags, c.max_pages, c.wmark_min, c.wmark_low, c.wmark_high,
	       c.watermark_scale_factor, errno);
	expect(!strcmp(lab_zone_name(z), c.name ? c.name : "Normal"), "zone name %s",
	       lab_zone_name(z));
	*m = (struct mzone){ .z = z, .cfg = c };
	m->grow = c.flags & LAB_ZONE_GROW;
	m->kswapd = !(c.flags & LAB_ZONE_NO_KSWAPD);
	m->max_pages = m->grow ? (c.max_pages ? c.max_pages : 4 * c.pages) : c.pages;
	m->head_of = calloc(m->max_pages, sizeof(*m->head_of));
	m->order_at = calloc(m->max_pages, 1);
	m->kind_at = calloc(m->max_pages, 1);
	m->ref_at = calloc(m->max_pages, sizeof(*m->ref_at));
	m->flag_at = calloc(m->max_pages, 1);
	m->live = calloc(m->max_pages, sizeof(*m->live));
	m->live_slot = calloc(m->max_pages, sizeof(*m->live_slot));
	m->cache = calloc(m->max_pages, sizeof(*m->cache));
	if (!m->head_of || !m->order_at || !m->kind_at || !m->live || !m->live_slot || !m->cache ||
	    !m->ref_at || !m->flag_at)
		abort();
	m->shrinker = (struct lab_shrinker){ .count_objects = cache_count,
					     .scan_objects = cache_scan, .private_data = m };
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	expect(st.managed == c.pages && st.free == c.pages && st.allocated == 0,
	       "new zone of %zu pages: managed %zu free %zu allocated %zu", c.pages, st.managed,
	       st.free, st.allocated);
}

static void zone_free_all(struct mzone *m)
{
	while (m->nr_live) {
		uint32_t pfn = m->live[m->nr_live - 1];
		drop_extras(m, pfn);
		free_held(m, pfn, false);
	}
	while (m->nr_cache) {
		uint32_t pfn = m->cache[--m->nr_cache];
		m->cache_pages -= (size_t)1 << m->order_at[pfn];
		free_held(m, pfn, false);
	}
}

static void zone_destroy(struct mzone *m)
{
	/* Unregistering waits for a running callback, which takes the model lock. */
	pthread_mutex_unlock(&model_lock);
	if (m->registered)
		lab_unregister_shrinker(m->z, &m->shrinker);
	lab_zone_destroy(m->z);
	pthread_mutex_lock(&model_lock);
	free(m->head_of);
	free(m->order_at);
	free(m->kind_at);
	free(m->ref_at);
	free(m->flag_at);
	free(m->live);
	free(m->live_slot);
	free(m->cache);
	memset(m, 0, sizeof(*m));
}

static void op_zone_destroy(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	bool tidy = u8(r) & 1;
	if (!m->z)
		return;
	if (tidy)
		zone_free_all(m);
	zone_destroy(m);
}

static unsigned lib_class(lab_gfp_t gfp)
{
	if (gfp & LAB_GFP_DIRECT_RECLAIM)
		return 2;
	return gfp & LAB_GFP_HIGH ? 0 : 1;
}

/* The watermark a caller that cannot sleep must stay above (README table). */
static long nonblocking_mark(size_t min, lab_gfp_t gfp)
{
	long mark = (long)min;
	if (gfp & LAB_GFP_HIGH) {
		mark -= mark / 2;
		mark -= mark / 4;
	}
	return mark;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Allocate as the input says; predict, call, compare, record. */
static void do_alloc(struct mzone *m, lab_gfp_t gfp, unsigned order, bool by_address,
		     enum kind kind)
{
	if (!m->z) {
		errno = 0;
		void *p = by_address ? lab_get_free_pages(NULL, gfp, order)
				     : (void *)lab_alloc_pages(NULL, gfp, order);
		expect(!p && errno == EINVAL, "NULL zone: %p errno %d", p, errno);
		return;
	}
	bool invalid = order > LAB_MAX_ORDER || (gfp & ~LAB_GFP_ALL_BITS) ||
		       ((gfp & LAB_GFP_NOFAIL) && !(gfp & LAB_GFP_DIRECT_RECLAIM));
	bool sleeping = gfp & LAB_GFP_DIRECT_RECLAIM;
	struct lab_zone_stats st;
	lab_zone_get_stats(m->z, &st);
	bool must_ok = false, must_fail = false;
	if (!invalid) {
		long free_left = (long)st.free - (((long)1 << order) - 1);
		bool lock_sure = sleeping || !m->kswapd;  /* kswapd may hold the lock a while */
		bool fast = !st.reserved_highatomic && free_left > (long)st.wmark_low &&
			    any_block(&st, order);
		/* Sleeping MEMALLOC callers do not take highatomic blocks. */
		bool memalloc = (gfp & LAB_GFP_MEMALLOC) && any_block(&st, order) &&
				(!sleeping || !st.reserved_highatomic);
		must_ok = lock_sure && (fast || memalloc);
		if (sleeping && !fast) {
			/* Never wait or loop: one round of reclaim, then give up. */
			gfp |= LAB_GFP_NORETRY;
			gfp &= ~LAB_GFP_NOFAIL;
		}
		bool nobody_frees = !m->registered || !m->nr_cache;
		if (!sleeping && !(gfp & LAB_GFP_MEMALLOC) && (nobody_frees || !m->kswapd))
			must_fail = !any_block(&st, order) ||
				    free_left <= nonblocking_mark(st.wmark_min, gfp);
		if (sleeping && nobody_frees && (!m->grow || st.managed == m->max_pages))
			must_fail = !any_block(&st, order);
	}

	/* Checked first, before any watermark: an injected failure. */
	bool injected = !invalid && fault_model_fails(gfp, order);

	pthread_mutex_unlock(&model_lock);  /* direct reclaim calls the shrinker */
	errno = 0;
	struct lab_page *page;
	if (by_address) {
		void *a = lab_get_free_pages(m->z, gfp, order);
		page = a ? lab_virt_to_page(a) : NULL;
		expect(!a || (page && lab_page_address(page) == a), "address %p maps back to %p", a,
		       page ? lab_page_address(page) : NULL);
	} else {
		page = lab_alloc_pages(m->z, gfp, order);
	}
	int err = errno;
	pthread_mutex_lock(&model_lock);

	char name[128];
	lab_gfp_name(gfp, name, sizeof(name));
	if (invalid) {
		expect(!page && err == EINVAL, "gfp %#x (%s) order %u must give EINVAL: %p errno %d",
		       gfp, name, order, (void *)page, err);
		m->einval++;
		return;
	}
	if (injected) {
		expect(!page && err == ENOMEM, "gfp %#x (%s) order %u: the injected failure did not "
		       "happen (%p errno %d)", gfp, name, order, (void *)page, err);
		m->injected++;
		return;
	}
	if (!page) {
		expect(err == ENOMEM, "gfp %#x order %u failed with errno %d, not ENOMEM", gfp, order, err);
		expect(!must_ok, "gfp %#x (%s) order %u must succeed: free %zu, marks %zu/%zu/%zu, "
		       "highatomic %zu", gfp, name, order, st.free, st.wmark_min, st.wmark_low,
		       st.wmark_high, st.reserved_highatomic);
		m->fails[lib_class(gfp)]++;
		return;
	}
	expect(!must_fail, "gfp %#x (%s) order %u must fail: free %zu, marks %zu/%zu/%zu", gfp, name,
	       order, st.free, st.wmark_min, st.wmark_low, st.wmark_high);
	expect(lab_page_zone(page) == m->z, "block of another zone");
	uint32_t pfn = (uint32_t)lab_page_to_pfn(page);
	expect(lab_pfn_to_page(m->z, pfn) == page, "pfn %u does not map back", pfn);
	unsigned char *addr = lab_page_address(page);
	expect((uintptr_t)addr % (page_size << order) == 0, "block %p not aligned to order %u",
	       (void *)addr, order);
	/* Issue 4: exclusive pages are zeroed on hand-out (DESIGN.md). */
	if (gfp & (LAB_GFP_ZERO | LAB_GFP_EXCLUSIVE)) {
		size_t len = page_size << order;
		expect(all_zero(addr, len < 65536 ? len : 65536) && all_zero(addr + len - 64, 64),
		       "ZERO block pfn %u order %u is not zeroed", pfn, order);
	}
	m->success++;
	model_add(m, pfn, order, kind);
	if (gfp & LAB_GFP_COMP)
		m->flag_at[pfn] |= MF_COMP;
	expect_count(m, pfn);
}

static void op_alloc(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	lab_gfp_t gfp = u16(r);
	uint8_t o = u8(r);
	unsigned order = o >= 0xf0 ? o : o % 12;   /* now and then far too big */
	bool by_address = u8(r) & 1;
	do_alloc(m, gfp, order, by_address, K_LIVE);
}

static void op_free(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	uint8_t which = u8(r);
	bool by_address = u8(r) & 1;
	if (!m->z || !m->nr_live)
		return;
	free_held(m, m->live[which % m->nr_live], by_address);
}

/*
 * Free the descriptor of pfn with this order and predict what happens: a
 * held head freed with its order goes back; with another order it is
 * reported and leaked; anything else (tail, free page, leaked block) is
 * reported and nothing changes.
 */
static void free_descriptor(struct mzone *m, uint32_t pfn, unsigned order)
{
	uint32_t head = m->head_of[pfn];
	bool is_head = head == pfn + 1;
	if (is_head && m->kind_at[pfn] == K_CACHE)
		return;  /* the shrinker's: leave it alone */
	if (is_head && m->kind_at[pfn] == K_LIVE && m->order_at[pfn] == order) {
		free_held(m, pfn, false);
		return;
	}
	lab_free_pages(lab_pfn_to_page(m->z, pfn), order);
	m->bad_page++;
	if (is_head && m->kind_at[pfn] == K_LIVE)
		model_release(m, pfn, true);
}

static void op_misuse(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	unsigned kind = u8(r) % MIS_NR;
	uint8_t which = u8(r);
	if (!m->z)
		return;
	struct lab_zone_stats st;
	lab_zone_get_stats(m->z, &st);
	uint32_t pick = m->nr_live ? m->live[which % m->nr_live] : UINT32_MAX;
	int local = 0;

	switch (kind) {
	case MIS_DOUBLE_FREE:
		if (m->nr_recent) {
			unsigned kept = m->nr_recent < 8 ? m->nr_recent : 8;
			unsigned i = (m->nr_recent - 1 - which % kept) % 8;
			free_descriptor(m, m->recent[i], m->recent_order[i]);
		}
		break;
	case MIS_WRONG_ORDER:
		if (pick != UINT32_MAX)
			free_descriptor(m, pick, (m->order_at[pick] + 1 + which % LAB_MAX_ORDER) %
					(LAB_MAX_ORDER + 1));
		break;
	case MIS_TAIL:
		if (pick != UINT32_MAX && m->order_at[pick])
			free_descriptor(m, pick + 1 + which % ((1u << m->order_at[pick]) - 1), 0);
		break;
	case MIS_FREE_MEMORY:
		for (uint32_t i = 0; i < st.managed; i++) {
			uint32_t pfn = (i + which * 131u) % (uint32_t)st.managed;
			if (!m->head_of[pfn]) {
				free_descriptor(m, pfn, which % 3);
				break;
			}
		}
		break;
	case MIS_ORDER_TOO_BIG:
		if (pick != UINT32_MAX)
			free_descriptor(m, pick, LAB_MAX_ORDER + 1 + which);
		break;
	case MIS_BOGUS_DESC: {
		/* None of these is a descriptor: reported, no zone counts them. */
		struct lab_page *first = lab_pfn_to_page(m->z, 0);
		lab_free_pages(NULL, 0);
		lab_free_pages((struct lab_page *)(void *)&local, 0);
		lab_free_pages((struct lab_page *)(void *)((char *)first + 1 + which % 31), 0);
		/* Past the last descriptor, inside the zone's reservation (elsewhere
		 * it could be another zone's). */
		if (st.managed < m->max_pages && st.managed > 1) {
			size_t desc = (size_t)((char *)lab_pfn_to_page(m->z, 1) - (char *)first);
			lab_free_pages((struct lab_page *)(void *)((char *)first + st.managed * desc), 0);
		}
		break;
	}
	case MIS_BOGUS_ADDR: {
		char *base = lab_page_address(lab_pfn_to_page(m->z, 0));
		lab_free_pages_addr(NULL, 0);
		lab_free_pages_addr(&local, 0);
		if (st.managed < m->max_pages)  /* past the zone, inside its reservation */
			lab_free_pages_addr(base + st.managed * page_size, 0);
		if (pick != UINT32_MAX) {  /* inside a held block, not page aligned */
			lab_free_pages_addr((char *)block_addr(m, pick) + 1 + which, m->order_at[pick]);
			m->bad_page++;
		}
		break;
	}
	}
}

static void op_shrinker(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	uint8_t seeks = u8(r), batch = u8(r);
	if (!m->z)
		return;
	bool was = m->registered;
	if (!was) {
		m->shrinker.seeks = seeks % 3;
		m->shrinker.batch = batch % 65;
	}
	pthread_mutex_unlock(&model_lock);  /* both wait for running callbacks */
	int rc = 0;
	if (was)
		lab_unregister_shrinker(m->z, &m->shrinker);
	else
		rc = lab_register_shrinker(m->z, &m->shrinker);
	pthread_mutex_lock(&model_lock);
	expect(rc == 0, "lab_register_shrinker: %d", rc);
	m->registered = !was;
}

static void op_cache_fill(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	unsigned count = u8(r) % 33;
	bool sleeping = u8(r) & 1;
	if (!m->z)
		return;
	for (unsigned i = 0; i < count; i++)
		do_alloc(m, (sleeping ? LAB_GFP_KERNEL : LAB_GFP_NOWAIT) | LAB_GFP_NOWARN, i % 2,
			 false, K_CACHE);
}

static void op_translate(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	uint8_t which = u8(r);
	uint16_t off = u16(r);
	if (!m->z)
		return;
	struct lab_zone_stats st;
	lab_zone_get_stats(m->z, &st);
	int local;
	expect(!lab_virt_to_page(&local), "a stack address maps to a page");
	expect(!lab_pfn_to_page(m->z, st.managed), "pfn %zu past the zone maps to a page", st.managed);
	if (!m->nr_live)
		return;
	uint32_t pfn = m->live[which % m->nr_live];
	size_t bytes = page_size << m->order_at[pfn];
	size_t o = (size_t)off * 61 % bytes;
	struct lab_page *head = lab_pfn_to_page(m->z, pfn);
	char *a = lab_page_address(head);
	struct lab_page *p = lab_virt_to_page(a + o);
	expect(p == lab_pfn_to_page(m->z, pfn + o / page_size), "address %p + %zu maps to pfn %zu",
	       (void *)a, o, p ? lab_page_to_pfn(p) : (size_t)-1);
	expect(lab_page_zone(p) == m->z && lab_page_to_pfn(p) == pfn + o / page_size,
	       "page of pfn %zu says pfn %zu", pfn + o / page_size, lab_page_to_pfn(p));
}

static void op_buddyinfo(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	if (!m->z)
		return;
	char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	if (!f)
		return;
	lab_zone_print_buddyinfo(m->z, f);
	fclose(f);
	struct lab_zone_stats st;
	lab_zone_get_stats(m->z, &st);
	char name[40];
	int at = 0;
	expect(sscanf(buf, "Node 0, zone %39s%n", name, &at) == 1, "buddyinfo line: %s", buf);
	expect(!strcmp(name, lab_zone_name(m->z)), "buddyinfo names zone %s", name);
	for (unsigned o = 0; o <= LAB_MAX_ORDER; o++) {
		int used = 0;
		size_t n;
		expect(sscanf(buf + at, "%zu%n", &n, &used) == 1 && n == st.nr_free[o],
		       "buddyinfo order %u: %s", o, buf);
		at += used;
	}
}

/*
 * Free everything held.  With nothing leaked and no highatomic pageblock,
 * the buddy system must have merged the zone back into the blocks it
 * started with: pfn 0..managed in the largest aligned blocks.
 */
static void op_free_all(struct reader *r)
{
	struct mzone *m = zone_of(r, NULL);
	if (!m->z)
		return;
	zone_free_all(m);
	struct lab_zone_stats st;
	lab_zone_check(m->z);  /* drains deferred frees */
	lab_zone_get_stats(m->z, &st);
	expect(st.free + m->leaked_pages == st.managed, "everything freed: free %zu + leaked %zu "
	       "!= managed %zu", st.free, m->leaked_pages, st.managed);
	if (m->leaked_pages || st.reserved_highatomic)
		return;
	for (unsigned o = 0; o <= LAB_MAX_ORDER; o++) {
		size_t want = o == LAB_MAX_ORDER ? st.managed >> LAB_MAX_ORDER
						 : (st.managed >> o) & 1;
		expect(st.nr_free[o] == want, "not merged back: %zu free blocks of order %u, "
		       "a fresh zone of %zu pages has %zu", st.nr_free[o], o, st.managed, want);
	}
}

/* ---- references and page locks ------------------------------------------ */

static uint32_t pick_live(struct reader *r, struct mzone **mp)
{
	struct mzone *m = zone_of(r, NULL);
	uint8_t which = u8(r);
	*mp = m;
	return m->z && m->nr_live ? m->live[which % m->nr_live] : UINT32_MAX;
}

static void op_get_page(struct reader *r)
{
	struct mzone *m;
	uint32_t pfn = pick_live(r, &m);
	if (pfn == UINT32_MAX || m->ref_at[pfn] >= MAX_REFS)
		return;
	lab_get_page(lab_pfn_to_page(m->z, pfn));
	m->ref_at[pfn]++;
	expect_count(m, pfn);
}

static void op_put_page(struct reader *r)
{
	struct mzone *m;
	uint32_t pfn = pick_live(r, &m);
	if (pfn == UINT32_MAX)
		return;
	tag_check(m, pfn, m->order_at[pfn]);
	lab_put_page(lab_pfn_to_page(m->z, pfn));
	if (--m->ref_at[pfn]) {
		expect_count(m, pfn);
		return;
	}
	m->ref_at[pfn] = 1;  /* as the block had it when it went */
	last_reference_gone(m, pfn);
}

static void op_trylock_page(struct reader *r)
{
	struct mzone *m;
	uint32_t pfn = pick_live(r, &m);
	if (pfn == UINT32_MAX)
		return;
	bool held = m->flag_at[pfn] & MF_LOCKED;
	bool taken = lab_trylock_page(lab_pfn_to_page(m->z, pfn));
	expect(taken == !held, "trylock of block pfn %u (%s): %s", pfn, held ? "locked" : "unlocked",
	       taken ? "taken" : "refused");
	m->flag_at[pfn] |= MF_LOCKED;
}

static void op_unlock_page(struct reader *r)
{
	struct mzone *m;
	uint32_t pfn = pick_live(r, &m);
	if (pfn == UINT32_MAX)
		return;
	if (!(m->flag_at[pfn] & MF_LOCKED))
		m->bad_page++;  /* not locked: reported, nothing else happens */
	lab_unlock_page(lab_pfn_to_page(m->z, pfn));
	m->flag_at[pfn] &= (uint8_t)~MF_LOCKED;
}

/* ---- fault injection -------------------------------------------------------- */

static void op_fault_attr(struct reader *r)
{
	uint8_t p = u8(r), interval = u8(r), times = u8(r);
	uint16_t space = u16(r);
	uint8_t min_order = u8(r), nth = u8(r);
	struct lab_fault_attr a = {
		.probability = p % 3 == 0 ? 0 : p % 3 == 1 ? 100 : 101 + p / 3,
		.interval = interval % 5,
		.times = times % 4 == 0 ? -1 : (long)(times / 4 % 8) - (times & 0x80 ? 9 : 0),
		.space = space % 64,
		.verbose = 0,
		.ignore_gfp_wait = !(min_order & 0x80),
		.min_order = (min_order & 0x7f) % (LAB_MAX_ORDER + 3),
	};
	bool valid = a.probability <= 100 && a.times >= -1 && a.min_order <= LAB_MAX_ORDER + 1;
	int rc = lab_fault_set(&a);
	expect(rc == (valid ? 0 : -EINVAL), "lab_fault_set(probability %u times %ld min_order %u): %d",
	       a.probability, a.times, a.min_order, rc);
	if (valid)
		fault_model_set(&a);
	if (nth & 0x80) {
		lab_fail_nth_set(nth & 15u);
		fm.nth = nth & 15u;
	}
	expect(lab_fail_nth_get() == fm.nth, "fail-nth %u, model %u", lab_fail_nth_get(), fm.nth);
}

/* One entry per enum fuzz_op, in its order. */
static const struct fuzz_op_entry fuzz_ops[FOP_NR] = {
	[FOP_ZONE_CREATE]  = { "zone_create", op_zone_create },
	[FOP_ZONE_DESTROY] = { "zone_destroy", op_zone_destroy },
	[FOP_ALLOC]        = { "alloc", op_alloc },
	[FOP_FREE]         = { "free", op_free },
	[FOP_MISUSE]       = { "misuse", op_misuse },
	[FOP_SHRINKER]     = { "shrinker", op_shrinker },
	[FOP_CACHE_FILL]   = { "cache_fill", op_cache_fill },
	[FOP_TRANSLATE]    = { "translate", op_translate },
	[FOP_BUDDYINFO]    = { "buddyinfo", op_buddyinfo },
	[FOP_FREE_ALL]     = { "free_all", op_free_all },
	[FOP_GET_PAGE]     = { "get_page", op_get_page },
	[FOP_PUT_PAGE]     = { "put_page", op_put_page },
	[FOP_TRYLOCK_PAGE] = { "trylock_page", op_trylock_page },
	[FOP_UNLOCK_PAGE]  = { "unlock_page", op_unlock_page },
	[FOP_FAULT_ATTR]   = { "fault_attr", op_fault_attr },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* libFuzzer's -close_fd_mask=2 silences the library's reports, not ours. */
	int fd = dup(STDERR_FILENO);
	if (fd >= 0)
		report_fd = fd;
	page_size = lab_page_size();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = { data, size };
	if (!page_size)
		LLVMFuzzerInitialize(NULL, NULL);
	step_no = 0;
	creates = 0;
	/* Fault injection is global: each input starts with it off. */
	lab_fault_set(&fault_off);
	lab_fail_nth_set(0);
	memset(&fm, 0, sizeof(fm));
	fault_model_set(&fault_off);
	pthread_mutex_lock(&model_lock);
	while (r.n) {
		const struct fuzz_op_entry *op = &fuzz_ops[u8(&r) % FOP_NR];
		step_no++;
		op_name = op->name;
		op->run(&r);
		for (unsigned i = 0; i < FUZZ_ZONES; i++)
			if (zones[i].z)
				check_zone(&zones[i], i);
	}
	op_name = "end";
	lab_fault_set(&fault_off);
	lab_fail_nth_set(0);
	fault_model_set(&fault_off);
	fm.nth = 0;
	for (unsigned i = 0; i < FUZZ_ZONES; i++) {
		if (zones[i].z) {
			zone_free_all(&zones[i]);
			zone_destroy(&zones[i]);
		}
	}
	pthread_mutex_unlock(&model_lock);
	return 0;
}
