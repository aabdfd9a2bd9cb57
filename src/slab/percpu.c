/*
 * percpu.c - the per-CPU object arrays and the paths through them:
 * lab_kmem_cache_alloc/free and their bulk forms.
 *
 * Each CPU has one LIFO array of free objects per cache, refilled from and
 * drained to the slabs a batch at a time (slabs.c), like the kernel's
 * sheaves or Bonwick's magazines.  The arrays are owned as the page layer's
 * per-CPU lists are, with the same sequences (rseq_list.h, docs/PCP.md):
 * in rseq mode a pop or push is a restartable sequence on the array of the
 * CPU the thread runs on, so a signal handler may use the array it
 * interrupted; in lock mode (no rseq, LABYRINTH_PCP=lock, ThreadSanitizer)
 * the array sits behind a try-lock and a caller that finds it taken goes to
 * the slabs directly; LABYRINTH_PCP=off means no arrays.
 *
 * Counting: each array counts its pops in the word it commits (a counted
 * list, rseq_list.h), so allocations from the arrays are exact without a
 * second sequence; pushes are not counted, they follow from the contents:
 *     count = refill_objs + pushes - pops - drain_objs
 * so allocs - frees is always exactly the objects out of the cache.
 *
 * Exports lab_kmem_cache_alloc/free/alloc_bulk/free_bulk and, to the other
 * files, lab__slab_alloc/free/cpu_setup/flush_all/cpu_cached/cpu_counts.
 */
#include "base/fmt.h"
#include "os/printk.h"
#include "page/pcp.h"
#include "secure/hooks.h"
#include "slab/slab.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define SLAB_MAX_BATCH 256

static inline struct slab_cpu *cpu_set(const struct lab_kmem_cache *c, unsigned int i)
{
	return (struct slab_cpu *)((char *)c->cpu + (size_t)i * SLAB_CPU_STRIDE);
}

static inline void stat_add(_Atomic uint64_t *ctr, uint64_t n)
{
	atomic_fetch_add_explicit(ctr, n, memory_order_relaxed);
}

/* Lock mode: this thread's set of c, locked (rseq_set_unlock when done), its
 * index in *i; NULL when c is not in lock mode (*i untouched) or the set is
 * taken. */
static struct slab_cpu *lock_set(struct lab_kmem_cache *c, unsigned int *i)
{
	if (c->cpu_mode != LAB_PCP_LOCK)
		return NULL;
	*i = rseq_list_lock_index(c->nr_cpu);
	struct slab_cpu *set = cpu_set(c, *i);
	return rseq_set_trylock(&set->lock) ? set : NULL;
}

/* ---- one array ---------------------------------------------------------- */

/* Pop one object from this CPU's array (counted as a pop).  NULL when it is
 * empty or cannot be used now; *cpu gets the set's index (-1: none). */
static void *array_pop(struct lab_kmem_cache *c, int *cpu)
{
	*cpu = -1;
#if defined(LAB_HAVE_RSEQ_LIST)
	if (c->cpu_mode == LAB_PCP_RSEQ) {
		struct lab__os_rseq *rs = rseq_self();
		if (!rs)
			return NULL;
		for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++) {
			void *obj;
			int st = rseq_clist_pop(rs, c->cpu, SLAB_LIST_OFF, &obj);
			if (st == RSEQ_LIST_OK)
				return obj;
			if (st != RSEQ_LIST_ABORTED)
				break;
		}
		*cpu = (int)rs->cpu_id_start;
		return NULL;
	}
#endif
	unsigned int i = UINT_MAX;
	struct slab_cpu *set = lock_set(c, &i);
	if (i != UINT_MAX)
		*cpu = (int)i;
	if (!set)
		return NULL;
	void *obj = NULL;
	rseq_clist_pop_owned(&set->list, &obj);
	rseq_set_unlock(&set->lock);
	return obj;
}

/* Pop up to max objects (counted: a bulk allocation; else a drain); *cpu
 * gets the set's index. */
static unsigned int array_pop_many(struct lab_kmem_cache *c, void **buf, unsigned int max,
				   bool counted, int *cpu)
{
	uint32_t n = 0;
	*cpu = -1;
#if defined(LAB_HAVE_RSEQ_LIST)
	if (c->cpu_mode == LAB_PCP_RSEQ) {
		struct lab__os_rseq *rs = rseq_self();
		if (!rs)
			return 0;
		for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++)
			if (rseq_clist_pop_many(rs, c->cpu, SLAB_LIST_OFF, buf, max,
						counted, &n) != RSEQ_LIST_ABORTED)
				break;
		*cpu = (int)rs->cpu_id_start;
		return n;
	}
#endif
	unsigned int i;
	struct slab_cpu *set = lock_set(c, &i);
	if (!set)
		return 0;
	n = rseq_clist_pop_many_owned(&set->list, buf, max);
	if (counted)  /* as pops: count the same again, into the pops bits */
		rseq_clist_set(&set->list, set->list.word + ((uint64_t)n << 16));
	rseq_set_unlock(&set->lock);
	*cpu = (int)i;
	return n;
}

/* Push up to n objects (a refill's rest); returns how many. */
static unsigned int array_push_many(struct lab_kmem_cache *c, void *const *buf, unsigned int n)
{
	uint32_t k = 0;
#if defined(LAB_HAVE_RSEQ_LIST)
	if (c->cpu_mode == LAB_PCP_RSEQ) {
		struct lab__os_rseq *rs = rseq_self();
		if (!rs)
			return 0;
		for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++)
			if (rseq_clist_push_many(rs, c->cpu, SLAB_LIST_OFF, buf, n,
						 &k) != RSEQ_LIST_ABORTED)
				break;
		return k;
	}
#endif
	unsigned int i;
	struct slab_cpu *set = lock_set(c, &i);
	if (!set)
		return 0;
	k = rseq_clist_push_many_owned(&set->list, buf, n);
	rseq_set_unlock(&set->lock);
	return k;
}

#if defined(LAB_HAVE_RSEQ_LIST)
/* Move a batch from this CPU's array back to the slabs (rseq mode: lock
 * mode drains under the set's lock, in array_push). */
static void drain_batch(struct lab_kmem_cache *c)
{
	void *buf[SLAB_MAX_BATCH];
	int cpu;
	unsigned int n = array_pop_many(c, buf, c->batch, false, &cpu);
	if (!n)
		return;
	stat_add(&c->stat.drains, 1);
	stat_add(&c->stat.drain_objs, n);
	lab__slab_put(c, buf, n, cpu);
}
#endif

/* Push one object on this CPU's array, draining a batch when it is full;
 * refused if it is the object freed last (a double free). */
enum { PUSHED, UNUSABLE, DUPLICATE };
static int array_push(struct lab_kmem_cache *c, void *obj)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	if (c->cpu_mode == LAB_PCP_RSEQ) {
		struct lab__os_rseq *rs = rseq_self();
		if (!rs)
			return false;
		for (int tries = 0; tries < RSEQ_MAX_RETRIES; tries++) {
			int st = rseq_clist_push_unique(rs, c->cpu, SLAB_LIST_OFF, obj);
			if (st == RSEQ_LIST_OK || st == RSEQ_LIST_DUP)
				return st == RSEQ_LIST_OK ? PUSHED : DUPLICATE;
			if (st == RSEQ_LIST_LOCKED)
				return UNUSABLE;
			if (st == RSEQ_LIST_EMPTY)  /* no room */
				drain_batch(c);
		}
		return UNUSABLE;
	}
#endif
	unsigned int i;
	struct slab_cpu *set = lock_set(c, &i);
	if (!set)
		return UNUSABLE;
	uint32_t count = RSEQ_CLIST_COUNT(set->list.word);
	if (count && set->list.slots[count - 1] == obj) {
		rseq_set_unlock(&set->lock);
		return DUPLICATE;
	}
	void *buf[SLAB_MAX_BATCH];
	unsigned int n = 0;
	if (count >= set->list.high)
		n = rseq_clist_pop_many_owned(&set->list, buf, c->batch);
	rseq_clist_push_many_owned(&set->list, &obj, 1);
	rseq_set_unlock(&set->lock);
	if (n) {
		stat_add(&c->stat.drains, 1);
		stat_add(&c->stat.drain_objs, n);
		lab__slab_put(c, buf, n, (int)i);
	}
	return PUSHED;
}

/* ---- allocation --------------------------------------------------------- */

/* The array was empty: a batch from the slabs (or a new slab), one for the
 * caller and the rest on the array. */
static void *refill(struct lab_kmem_cache *c, lab_gfp_t gfp, int cpu)
{
	void *buf[SLAB_MAX_BATCH];
	unsigned int want = c->cpu_mode == LAB_PCP_OFF ? 1 : c->batch;
	unsigned int n = lab__slab_take(c, gfp, buf, want, cpu);
	if (!n)
		return NULL;
	stat_add(&c->stat.slow_allocs, 1);
	if (n > 1) {
		unsigned int pushed = array_push_many(c, buf + 1, n - 1);
		if (pushed) {
			stat_add(&c->stat.refills, 1);
			stat_add(&c->stat.refill_objs, pushed);
		}
		lab__slab_put(c, buf + 1 + pushed, n - 1 - pushed, -1);
	}
	return buf[0];
}

/* A short sleep for the NOFAIL loop (a futex wait on a word nobody wakes). */
static void nap(void)
{
	static _Atomic uint32_t never;
	lab__os_futex_wait(&never, 0, 2 * 1000 * 1000);
}

/*
 * NOFAIL: the zone said no; objects freed meanwhile may sit on other CPUs'
 * arrays, where the zone's own NOFAIL wait would never see them.  So: bring
 * them back, try the slabs and the zone again, and wait a little, forever.
 */
static void *alloc_nofail(struct lab_kmem_cache *c, lab_gfp_t gfp)
{
	lab_gfp_t once = (gfp & ~LAB_GFP_NOFAIL) | LAB_GFP_NOWARN;
	for (;;) {
		lab__slab_flush_all(c);
		void *obj = refill(c, once, -1);
		if (obj)
			return obj;
		nap();
	}
}

static int check_gfp(const struct lab_kmem_cache *c, lab_gfp_t gfp)
{
	if (lab_unlikely(!c || (gfp & ~LAB_GFP_ALL_BITS)))
		return -EINVAL;
	if ((gfp & LAB_GFP_NOFAIL) && !(gfp & LAB_GFP_DIRECT_RECLAIM))
		return -EINVAL;  /* NOFAIL needs to wait: the kernel refuses it too */
	if ((gfp & LAB_GFP_ZERO) && c->ctor)
		return -EINVAL;  /* zeroing would undo the constructor */
	if ((gfp & LAB_GFP_EXCLUSIVE) && !c->exclusive)
		return -EINVAL;  /* the caller wants exclusive memory and this is not */
	if (atomic_load_explicit(&c->dead, memory_order_relaxed))
		return -EINVAL;
	return 0;
}

/* Hand obj out: the tools' marks, then zeroing. */
static void *prep_object(struct lab_kmem_cache *c, void *obj, lab_gfp_t gfp)
{
	if (c->sanitize)
		lab__slab_mark_used(c, obj);
	if (c->exclusive || (gfp & LAB_GFP_ZERO)) {
		uint32_t saved = lab__zone_write_begin(c->zone);
		memset(obj, 0, c->object_size);
		lab__zone_write_end(c->zone, saved);
	}
	return obj;
}

void *lab__slab_alloc(struct lab_kmem_cache *c, lab_gfp_t gfp)
{
	if (gfp & LAB_GFP_DIRECT_RECLAIM)
		lab__might_sleep("lab_kmem_cache_alloc");
#if defined(LAB_HAVE_RSEQ_LIST)
	/* The fast path of an exclusive cache, out of line: pop, then zero. */
	if (c && c->fast == SLAB_FAST_EXCLUSIVE && !((gfp & ~LAB_GFP_EXCLUSIVE) & ~SLAB_FAST_GFP) &&
	    !failslab_armed()) {
		struct lab__os_rseq *rs = rseq_known();
		void *obj;
		if (rs && rseq_clist_pop(rs, c->cpu, SLAB_LIST_OFF, &obj) == RSEQ_LIST_OK)
			return zero_object(obj, c->zero_bytes);
	}
#endif
	int rc = check_gfp(c, gfp);
	if (lab_unlikely(rc)) {
		errno = -rc;
		return NULL;
	}
	if (lab_unlikely(failslab_armed()) && lab__slab_fail(c, gfp)) {
		stat_add(&c->stat.alloc_fail, 1);
		stat_add(&c->stat.fail_injected, 1);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		int cpu;
		void *obj = array_pop(c, &cpu);
		if (!obj)
			obj = refill(c, gfp, cpu);
		if (lab_unlikely(!obj)) {
			if (!(gfp & LAB_GFP_NOFAIL)) {
				stat_add(&c->stat.alloc_fail, 1);
				errno = ENOMEM;
				return NULL;
			}
			obj = alloc_nofail(c, gfp);
		}
		/* Debugging checks the object; a damaged one is kept out for good. */
		if (lab_unlikely(c->debug) && !lab__slab_debug_alloc(c, obj))
			continue;
		return prep_object(c, obj, gfp);
	}
}

void *lab_kmem_cache_alloc(struct lab_kmem_cache *c, lab_gfp_t gfp)
{
	if (lab_likely(c)) {
		void *obj = slab_alloc_fast(c, gfp);
		if (lab_likely(obj))
			return obj;
	}
	return lab__slab_alloc(c, gfp);
}

size_t lab_kmem_cache_alloc_bulk(struct lab_kmem_cache *c, lab_gfp_t gfp, size_t nr, void **objs)
{
	int rc = check_gfp(c, gfp);
	if (lab_unlikely(rc || !objs)) {
		errno = rc ? -rc : EINVAL;
		return 0;
	}
	if (gfp & LAB_GFP_DIRECT_RECLAIM)
		lab__might_sleep("lab_kmem_cache_alloc_bulk");
	size_t i = 0;
	/* Straight from this CPU's array while it has objects (counted as pops). */
	if (c->fast == SLAB_FAST_PLAIN && !(gfp & ~SLAB_FAST_GFP) && !failslab_armed()) {
		while (i < nr) {
			int cpu;
			uint32_t max = nr - i > SLAB_MAX_BATCH ? SLAB_MAX_BATCH : (uint32_t)(nr - i);
			unsigned int k = array_pop_many(c, objs + i, max, true, &cpu);
			if (!k)
				break;
			i += k;
		}
	}
	for (; i < nr; i++) {
		objs[i] = lab__slab_alloc(c, gfp);
		if (!objs[i]) {
			int err = errno;
			lab_kmem_cache_free_bulk(c, i, objs);  /* all or nothing */
			errno = err;
			return 0;
		}
	}
	return nr;
}

/* ---- free --------------------------------------------------------------- */

/* Why obj cannot be freed to c, as a report; nothing is freed. */
static void bad_free(struct lab_kmem_cache *c, void *obj, struct slab *s)
{
	atomic_fetch_add_explicit(&c->stat.errors, 1, memory_order_relaxed);
	if (s) {
		lab__slab_report(c, obj, s, "Invalid object pointer: not at the start of an object",
				 "Nothing freed");
		return;
	}
	/* Another cache's object, or no object at all? */
	struct lab_kmem_cache *other = lab__slab_cache_of(obj);
	if (other && other != c) {
		char what[96];
		lab__snprintf(what, sizeof(what), "Wrong slab cache: object is from %s", other->name);
		lab__slab_report(c, obj, NULL, what, "Object not freed (never reused)");
		return;
	}
	lab__slab_report(c, obj, NULL, other ? "Invalid object pointer: not at the start of an object"
					     : "Invalid object pointer: not an object of any slab cache",
			 "Nothing freed");
}

void lab__slab_free_exclusive(struct lab_kmem_cache *c, struct slab_cpu *cpu, void *obj)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	struct lab__os_rseq *rs = rseq_known();
	if (rs && cpu == c->cpu && slab_index(c, obj) >= 0) {
		zero_object(obj, c->zero_bytes);
		lab_barrier_data(obj);  /* the zeroing is not elided */
		int st = rseq_clist_push_unique(rs, cpu, SLAB_LIST_OFF, obj);
		if (st == RSEQ_LIST_OK)
			return;
		if (st == RSEQ_LIST_DUP) {
			lab__slab_double_free(c, obj);
			return;
		}
	}
#endif
	(void)cpu;
	lab__slab_free(c, obj);  /* scrubs again: harmless */
}

void lab__slab_free(struct lab_kmem_cache *c, void *obj)
{
	struct slab *s = lab__slab_of(c, obj);
	if (lab_unlikely(!s || slab_index(c, obj) < 0)) {
		bad_free(c, obj, s);
		return;
	}
	/* Debugging checks the object and scrubs an exclusive one before it
	 * poisons it; without it, scrub here. */
	if (c->debug) {
		if (!lab__slab_debug_free(c, s, obj))
			return;
	} else if (c->exclusive) {
		lab__zone_wipe(c->zone, obj, c->object_size);
	}
	if (c->sanitize)
		lab__slab_mark_free(c, obj);
	int st = array_push(c, obj);
	if (st == PUSHED)
		return;
	if (st == DUPLICATE) {  /* freed last on this CPU, and again now */
		lab__slab_double_free(c, obj);
		return;
	}
	stat_add(&c->stat.slow_frees, 1);
	lab__slab_put(c, &obj, 1, -1);
}

void lab__slab_double_free(struct lab_kmem_cache *c, void *obj)
{
	atomic_fetch_add_explicit(&c->stat.errors, 1, memory_order_relaxed);
	lab__slab_report(c, obj, lab__slab_of(c, obj), "Object already free (double free)",
			 "Object not freed again");
}

void lab_kmem_cache_free(struct lab_kmem_cache *c, void *obj)
{
	if (lab_unlikely(!obj))
		return;
	if (lab_unlikely(!c)) {
		lab__slab_report_pointer("lab_kmem_cache_free", obj, "NULL cache");
		return;
	}
	struct slab_cpu *mine = c->cpu;
	if (lab_likely(slab_lookup(c, obj) == mine)) {
		/* Push on c's arrays, known before the lookup: equal, but the
		 * compiler must not take the looked-up copy, whose load the
		 * push would then wait for. */
		lab_opaque(mine);
		slab_free_fast(c, mine, obj);
		return;
	}
	lab__slab_free(c, obj);
}

void lab_kmem_cache_free_bulk(struct lab_kmem_cache *c, size_t nr, void **objs)
{
	for (size_t i = 0; objs && i < nr; i++)
		lab_kmem_cache_free(c, objs[i]);
}

/* ---- all CPUs ------------------------------------------------------------ */

int lab__slab_cpu_setup(struct lab_kmem_cache *c, void *mem)
{
	c->cpu = mem;
	void **slots = (void **)((char *)mem + (size_t)c->nr_cpu * SLAB_CPU_STRIDE);
	for (unsigned int i = 0; i < c->nr_cpu; i++) {
		struct slab_cpu *set = cpu_set(c, i);
		set->list.high = c->high;
		set->list.batch = c->batch;
		set->list.slots = slots;
		slots += c->high;
	}
	return 0;
}

/* Own every CPU's array in turn (its lock word, then in rseq mode a
 * membarrier on that CPU to abort a sequence that checked the lock before
 * it was visible) and give its objects back to the slabs.  May sleep. */
void lab__slab_flush_all(struct lab_kmem_cache *c)
{
	void *buf[SLAB_MAX_BATCH];
	if (c->cpu_mode == LAB_PCP_OFF)
		return;
	for (unsigned int i = 0; i < c->nr_cpu; i++) {
		struct slab_cpu *set = cpu_set(c, i);
		while (!rseq_set_trylock(&set->lock))
			lab__os_yield();
		if (c->cpu_mode == LAB_PCP_RSEQ)
			lab__os_membarrier_rseq_cpu((int)i);
		unsigned int n;
		while ((n = rseq_clist_pop_many_owned(&set->list, buf, SLAB_MAX_BATCH))) {
			stat_add(&c->stat.drains, 1);
			stat_add(&c->stat.drain_objs, n);
			lab__slab_put(c, buf, n, (int)i);
		}
		rseq_set_unlock(&set->lock);
	}
}

size_t lab__slab_cpu_cached(const struct lab_kmem_cache *c)
{
	size_t n = 0;
	for (unsigned int i = 0; c->cpu && i < c->nr_cpu; i++)
		n += RSEQ_CLIST_COUNT(__atomic_load_n(&cpu_set(c, i)->list.word, __ATOMIC_RELAXED));
	return n;
}

void lab__slab_cpu_counts(const struct lab_kmem_cache *c, uint64_t *pops)
{
	*pops = 0;
	for (unsigned int i = 0; c->cpu && i < c->nr_cpu; i++)
		*pops += RSEQ_CLIST_POPS(__atomic_load_n(&cpu_set(c, i)->list.word, __ATOMIC_RELAXED));
}
