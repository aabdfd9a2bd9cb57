/*
 * slabs.c - slabs: blocks of pages of a cache's zone cut into object slots,
 * their free lists and the cache's partial/full/empty lists under the cache
 * lock, and the two lock-free stacks that let a caller who cannot take the
 * lock (a signal handler that interrupted the holder, an atomic caller facing
 * a long-held lock) still allocate and free.
 *
 * A caller that cannot take the lock never fails for it: to free, it pushes
 * the objects on the deferred stack; to allocate, it makes a new slab with
 * its own gfp (the zone decides, as for any page), takes objects from it
 * without the lock and pushes the slab, "detached", on the slab stack before
 * any of them escape.  Every lock holder drains both stacks right after
 * taking the lock and before releasing it, the objects' stack first: an
 * object on it belongs to a slab that was pushed before it, so its slab is
 * on a list by the time it is freed into it.
 *
 * Exports lab__slab_lock/unlock/take/put/drain_deferred/release_empty/
 * release_all/of/leak (slab.h).
 */
#include "os/cpu.h"
#include "os/printk.h"
#include "debug/poison.h"
#include "secure/hooks.h"
#include "slab/slab.h"

#include <errno.h>
#include <string.h>

/* An atomic caller spins at most this often on a lock another thread holds. */
#define ATOMIC_SPIN_LIMIT (1u << 14)
/* Objects moved per batch at most (a refill's or drain's stack buffer). */
#define SLAB_MAX_BATCH 256

/* ---- the lock ---------------------------------------------------------- */

bool lab__slab_lock(struct lab_kmem_cache *c, bool may_sleep)
{
	uintptr_t me = lab__self_token();
	for (unsigned int spins = 0;; spins++) {
		uintptr_t seen = 0;
		if (atomic_compare_exchange_weak_explicit(&c->lock.owner, &seen, me,
							  memory_order_acquire,
							  memory_order_relaxed)) {
			lab__slab_drain_deferred(c);
			return true;
		}
		if (seen == me)  /* we interrupted ourselves: waiting would never end */
			return false;
		if (!may_sleep && spins >= ATOMIC_SPIN_LIMIT)
			return false;
		if (!may_sleep || spins < 64)
			lab__os_cpu_relax();
		else
			lab__os_yield();
	}
}

void lab__slab_unlock(struct lab_kmem_cache *c)
{
	/* What a signal handler deferred while we held the lock. */
	if (atomic_load_explicit(&c->deferred_objs, memory_order_relaxed) ||
	    atomic_load_explicit(&c->deferred_slabs, memory_order_relaxed))
		lab__slab_drain_deferred(c);
	atomic_store_explicit(&c->lock.owner, 0, memory_order_release);
}

/* ---- writing into the zone's memory ------------------------------------- */

/* Free objects' link words: through the zone's write window (protection
 * keys) and, for Valgrind, made addressable only while we touch them. */
static void *link_get(const struct lab_kmem_cache *c, void *obj)
{
	void *v;
	if (lab_unlikely(c->sanitize)) {
		lab__sanitizer_mark_allocated((char *)obj + c->fp_offset, sizeof(void *), true);
		v = slab_get_link(c, obj);
		lab__sanitizer_mark_free((char *)obj + c->fp_offset, sizeof(void *));
		return v;
	}
	return slab_get_link(c, obj);
}

static void link_set(const struct lab_kmem_cache *c, void *obj, void *next)
{
	if (lab_unlikely(c->sanitize)) {
		lab__sanitizer_mark_allocated((char *)obj + c->fp_offset, sizeof(void *), true);
		slab_set_link(c, obj, next);
		lab__sanitizer_mark_free((char *)obj + c->fp_offset, sizeof(void *));
		return;
	}
	slab_set_link(c, obj, next);
}

/* ---- lists ------------------------------------------------------------- */

static void list_add(struct lab_kmem_cache *c, struct slab *s, unsigned int list)
{
	s->list = (uint8_t)list;
	s->prev = NULL;
	s->next = c->lists[list];
	if (s->next)
		s->next->prev = s;
	c->lists[list] = s;
	c->nr_list[list]++;
}

static void list_del(struct lab_kmem_cache *c, struct slab *s)
{
	unsigned int list = s->list;
	if (s->prev)
		s->prev->next = s->next;
	else
		c->lists[list] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	c->nr_list[list]--;
}

static unsigned int list_for(const struct slab *s)
{
	if (s->inuse == 0)
		return SLAB_EMPTY;
	return s->inuse == s->nr_objects ? SLAB_FULL : SLAB_PARTIAL;
}

/* Move s to the list its use count says, if it is not there. */
static void relist(struct lab_kmem_cache *c, struct slab *s)
{
	unsigned int want = list_for(s);
	if (s->list != want) {
		list_del(c, s);
		list_add(c, s, want);
	}
}

/* ---- making and releasing slabs ---------------------------------------- */

/* gfp bits a slab's pages are allocated with; NOFAIL is the caller's loop
 * (it must also see objects freed meanwhile), ZERO and EXCLUSIVE are ours. */
#define PAGE_GFP (LAB_GFP_HIGH | LAB_GFP_NOWARN | LAB_GFP_NORETRY | LAB_GFP_RETRY_MAYFAIL | \
		  LAB_GFP_MEMALLOC | LAB_GFP_DIRECT_RECLAIM | LAB_GFP_KSWAPD_RECLAIM)

/* Every page names the cache's arrays; an off-slab header is found through
 * the first tail page (slab.h). */
static void set_pages_slab(struct lab_kmem_cache *c, struct lab_page *page, struct slab *s)
{
	if (c->off_slab)
		page[1].private2 = s;
	for (size_t i = 0; i < (size_t)1 << c->order; i++) {
		page[i].private = c->cpu;
		atomic_fetch_or_explicit(&page[i].flags, PG_slab, memory_order_release);
	}
}

static void clear_pages_slab(struct lab_kmem_cache *c, struct lab_page *page)
{
	for (size_t i = 0; i < (size_t)1 << c->order; i++) {
		atomic_fetch_and_explicit(&page[i].flags, ~(uint32_t)PG_slab, memory_order_relaxed);
		page[i].private = NULL;
	}
	if (c->off_slab)
		page[1].private2 = NULL;  /* the tail's order and owner bytes: zero again */
}

/*
 * A new slab, on no list, every slot free and fresh: pages from the zone
 * with the caller's gfp, the header on the block or from the header cache,
 * every object made ready (constructor, debugging patterns, sanitizer marks)
 * outside any lock.  NULL (errno ENOMEM) when the zone says no.
 */
static struct slab *new_slab(struct lab_kmem_cache *c, lab_gfp_t gfp)
{
	lab_gfp_t pgfp = (gfp & PAGE_GFP) | (c->exclusive ? LAB_GFP_ZERO : 0);
	struct lab_page *page = lab_alloc_pages(c->zone, pgfp, c->order);
	if (!page)
		return NULL;
	char *base = lab_page_address(page);
	struct slab *s;
	if (c->off_slab) {
		s = lab_kmem_cache_alloc(lab__slab_header_cache, gfp & PAGE_GFP);
		if (!s) {
			lab_free_pages(page, c->order);
			errno = ENOMEM;
			return NULL;
		}
	} else {
		s = (struct slab *)base;
	}
	uint32_t saved = lab__zone_write_begin(c->zone);
	memset(s, 0, sizeof(*s));
	s->cache = c;
	s->objects = base + (c->off_slab ? 0 : c->objects_offset);
	s->page = page;
	s->magic = SLAB_MAGIC;
	s->nr_objects = (uint16_t)c->nr_objects;
	s->order = (uint8_t)c->order;
	s->off_slab = c->off_slab;
	s->list = SLAB_DETACHED;
	if (c->debug || c->ctor || c->sanitize) {
		for (unsigned int i = 0; i < c->nr_objects; i++) {
			void *obj = slab_obj(c, s, i);
			if (c->ctor)
				c->ctor(obj);
			if (c->debug)
				lab__slab_debug_new_object(c, obj);
			if (c->sanitize)
				lab__slab_mark_free(c, obj);
		}
	}
	lab__zone_write_end(c->zone, saved);
	set_pages_slab(c, page, s);
	return s;
}

/* The pages of a slab that no longer is one back to the zone. */
static void give_back(struct lab_kmem_cache *c, struct slab *s)
{
	struct lab_page *page = s->page;
	char *base = lab_page_address(page);
	size_t bytes = c->slab_bytes;
	/* The page layer writes its poison over the block: the tools must let it. */
	if (c->sanitize)
		lab__sanitizer_mark_allocated(base, bytes, true);
	if (c->exclusive)
		lab__zone_wipe(c->zone, base, bytes);  /* free pointers and header too */
	if (c->off_slab) {
		s->magic = 0;
		lab_kmem_cache_free(lab__slab_header_cache, s);
	} else if (!c->exclusive) {
		uint32_t saved = lab__zone_write_begin(c->zone);
		s->magic = 0;
		lab__zone_write_end(c->zone, saved);
	}
	lab_free_pages(page, c->order);
}

/* A TYPESAFE_BY_RCU slab's grace period is over: no reader can still look. */
static void rcu_give_back(struct lab_rcu_head *head)
{
	struct slab *s = (struct slab *)(void *)((char *)head - offsetof(struct slab, rcu));
	struct lab_kmem_cache *c = s->cache;
	give_back(c, s);
	lab__slab_rcu_put(c);
}

/*
 * Give a slab on no list back to the zone (its objects all free).  Never
 * sleeps: lab_free_pages and the header cache's free are async-signal-safe.
 * It stops being a slab at once (its pages lose PG_slab: a free of one of its
 * objects is refused from now on); a TYPESAFE_BY_RCU slab's memory stays as
 * it is until the caller's grace period is over, its header with it.
 */
static void free_slab(struct lab_kmem_cache *c, struct slab *s)
{
	clear_pages_slab(c, s->page);
	if (!c->rcu) {
		give_back(c, s);
		return;
	}
	atomic_fetch_add_explicit(&c->rcu_refs, 1, memory_order_relaxed);
	uint32_t saved = lab__zone_write_begin(c->zone);
	s->magic = 0;  /* no lookup finds it */
	lab__zone_write_end(c->zone, saved);
	c->rcu_defer(&s->rcu, rcu_give_back);
}

/* Put a new slab on the cache's lists (under the lock). */
static void attach(struct lab_kmem_cache *c, struct slab *s)
{
	c->nr_slabs++;
	c->nr_pages += (size_t)1 << c->order;
	c->nr_free += s->nr_objects - s->inuse;
	list_add(c, s, list_for(s));
}

/* ---- objects in and out of slabs (under the lock) ----------------------- */

/* The start of the block an object of c lies in. */
static uintptr_t block_of(const struct lab_kmem_cache *c, const void *obj)
{
	return (uintptr_t)obj & ~(uintptr_t)c->slab_mask;
}

/* A free-list pointer must be an object of the same slab (F checks it). */
static bool link_ok(const struct lab_kmem_cache *c, const struct slab *s, const void *next)
{
	return !next || (block_of(c, next) == block_of(c, s->objects) && slab_index(c, next) >= 0);
}

/* Pop one object from s (its free list, then its fresh slots); NULL if none. */
static void *slab_pop(struct lab_kmem_cache *c, struct slab *s)
{
	void *obj = s->freelist;
	if (obj) {
		void *next = link_get(c, obj);
		if (lab_unlikely((c->debug & SLAB_DEBUG_CHECKS) && !link_ok(c, s, next))) {
			/* The chain is broken after obj: what it held is lost for good. */
			size_t lost = (size_t)s->fresh - s->inuse - 1;
			lab__slab_report(c, obj, s, "Freepointer corrupt",
					 "Isolated the rest of the slab's free list (never reused)");
			atomic_fetch_add(&c->stat.errors, 1);
			next = NULL;
			s->inuse = (uint16_t)(s->inuse + lost);
			c->nr_free -= lost;
			atomic_fetch_add(&c->nr_leaked, lost);
		}
		s->freelist = next;
	} else if (s->fresh < s->nr_objects) {
		obj = slab_obj(c, s, s->fresh++);
	} else {
		return NULL;
	}
	s->inuse++;
	c->nr_free--;
	return obj;
}

static unsigned int take_locked(struct lab_kmem_cache *c, void **buf, unsigned int want, int cpu)
{
	unsigned int n = 0;
	uint32_t saved = lab__zone_write_begin(c->zone);
	while (n < want) {
		struct slab *s = c->lists[SLAB_PARTIAL];
		if (!s)
			s = c->lists[SLAB_EMPTY];
		if (!s)
			break;
		if (cpu >= 0)
			__atomic_store_n(&s->cpu_index, (uint16_t)cpu, __ATOMIC_RELAXED);
		void *obj;
		while (n < want && (obj = slab_pop(c, s)))
			buf[n++] = obj;
		relist(c, s);
	}
	lab__zone_write_end(c->zone, saved);
	return n;
}

/* An object coming back from the array of set cpu (-1: unknown) to slab s:
 * remote when s last gave objects to another set.  s->cpu_index is written under
 * the lock and read here also without it (deferred frees). */
static void count_remote(struct lab_kmem_cache *c, const struct slab *s, int cpu)
{
	if (cpu >= 0 && s && __atomic_load_n(&s->cpu_index, __ATOMIC_RELAXED) != (uint16_t)cpu)
		atomic_fetch_add_explicit(&c->stat.remote_frees, 1, memory_order_relaxed);
}

/* Free obj into its slab.  False (nothing done) for an object of no slab of
 * this cache, which a checked caller never passes. */
static bool slab_push(struct lab_kmem_cache *c, void *obj, int cpu)
{
	struct slab *s = lab__slab_of(c, obj);
	if (lab_unlikely(!s || slab_index(c, obj) < 0 || !s->inuse)) {
		lab__slab_report(c, obj, s, "Invalid object on the way back to its slab",
				 "Object not freed (never reused)");
		atomic_fetch_add(&c->stat.errors, 1);
		return false;
	}
	if (lab_unlikely(s->list == SLAB_DETACHED)) {
		/* Cannot happen by the stacks' order; stay safe if it does. */
		lab__slab_drain_deferred(c);
		if (s->list == SLAB_DETACHED) {
			s->next = NULL;
			attach(c, s);
		}
	}
	count_remote(c, s, cpu);
	link_set(c, obj, s->freelist);
	s->freelist = obj;
	s->inuse--;
	c->nr_free++;
	relist(c, s);
	return true;
}

/* ---- the deferred stacks ------------------------------------------------ */

static void defer_objs(struct lab_kmem_cache *c, void *const *objs, unsigned int n)
{
	if (!n)
		return;
	/* Chain them first, then one compare-exchange publishes the chain. */
	uint32_t saved = lab__zone_write_begin(c->zone);
	for (unsigned int i = 0; i + 1 < n; i++)
		link_set(c, objs[i], objs[i + 1]);
	void *old = atomic_load_explicit(&c->deferred_objs, memory_order_relaxed);
	do
		link_set(c, objs[n - 1], old);
	while (!atomic_compare_exchange_weak_explicit(&c->deferred_objs, &old, objs[0],
						      memory_order_release, memory_order_relaxed));
	lab__zone_write_end(c->zone, saved);
	atomic_fetch_add_explicit(&c->nr_deferred, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->stat.deferred_frees, n, memory_order_relaxed);
}

static void defer_slab(struct lab_kmem_cache *c, struct slab *s)
{
	struct slab *old = atomic_load_explicit(&c->deferred_slabs, memory_order_relaxed);
	do
		s->next = old;
	while (!atomic_compare_exchange_weak_explicit(&c->deferred_slabs, &old, s,
						      memory_order_release, memory_order_relaxed));
	atomic_fetch_add_explicit(&c->stat.detached_slabs, 1, memory_order_relaxed);
}

void lab__slab_drain_deferred(struct lab_kmem_cache *c)
{
	/* Objects first, then slabs: see the top of this file. */
	void *obj = atomic_exchange_explicit(&c->deferred_objs, NULL, memory_order_acquire);
	struct slab *s = atomic_exchange_explicit(&c->deferred_slabs, NULL, memory_order_acquire);
	while (s) {
		struct slab *next = s->next;
		s->next = NULL;
		attach(c, s);
		s = next;
	}
	if (!obj)
		return;
	uint32_t saved = lab__zone_write_begin(c->zone);
	size_t n = 0;
	while (obj) {
		void *next = link_get(c, obj);
		slab_push(c, obj, -1);
		obj = next;
		n++;
	}
	lab__zone_write_end(c->zone, saved);
	atomic_fetch_sub_explicit(&c->nr_deferred, n, memory_order_relaxed);
}

/* ---- taking and putting ------------------------------------------------- */

unsigned int lab__slab_take(struct lab_kmem_cache *c, lab_gfp_t gfp, void **buf,
			    unsigned int want, int cpu)
{
	bool may_sleep = gfp & LAB_GFP_DIRECT_RECLAIM;
	unsigned int n = 0;
	struct slab *s;
	if (want > SLAB_MAX_BATCH)
		want = SLAB_MAX_BATCH;
	if (lab__slab_lock(c, may_sleep)) {
		n = take_locked(c, buf, want, cpu);
		lab__slab_unlock(c);
		if (n)
			return n;
		/* Never ask the zone with the lock held: reclaim may run our shrinker. */
		s = new_slab(c, gfp);
		if (!s)
			return 0;
		if (lab__slab_lock(c, may_sleep)) {
			attach(c, s);
			n = take_locked(c, buf, want, cpu);
			lab__slab_unlock(c);
			return n;
		}
	} else {
		s = new_slab(c, gfp);
		if (!s)
			return 0;
	}
	/* Detached: our objects come from the new slab alone; the slab goes on
	 * the stack before any of them escapes. */
	while (n < want && n < s->nr_objects) {
		buf[n] = slab_obj(c, s, n);
		n++;
	}
	s->fresh = s->inuse = (uint16_t)n;
	if (cpu >= 0)
		s->cpu_index = (uint16_t)cpu;
	defer_slab(c, s);
	return n;
}

/* Give empty slabs beyond keep back to the zone, at most max_pages pages. */
static void release_empty_unlocked(struct lab_kmem_cache *c, struct slab *list)
{
	while (list) {
		struct slab *next = list->next;
		free_slab(c, list);
		list = next;
	}
}

/* Under the lock: unlink empty slabs beyond keep (at most max_pages pages),
 * chained through next; the caller frees them after unlocking. */
static struct slab *unlink_empty(struct lab_kmem_cache *c, size_t keep, size_t max_pages,
				 size_t *pages)
{
	struct slab *out = NULL;
	size_t per = (size_t)1 << c->order;
	*pages = 0;
	while (c->nr_list[SLAB_EMPTY] > keep && *pages + per <= max_pages) {
		struct slab *s = c->lists[SLAB_EMPTY];
		list_del(c, s);
		c->nr_slabs--;
		c->nr_pages -= per;
		c->nr_free -= s->nr_objects;
		s->next = out;
		out = s;
		*pages += per;
	}
	return out;
}

void lab__slab_put(struct lab_kmem_cache *c, void *const *objs, unsigned int n, int cpu)
{
	if (!n)
		return;
	if (!lab__slab_lock(c, false)) {
		/* Remote frees are counted now: the stack does not keep cpu. */
		for (unsigned int i = 0; cpu >= 0 && i < n; i++)
			count_remote(c, lab__slab_of(c, objs[i]), cpu);
		defer_objs(c, objs, n);
		return;
	}
	uint32_t saved = lab__zone_write_begin(c->zone);
	for (unsigned int i = 0; i < n; i++)
		slab_push(c, objs[i], cpu);
	lab__zone_write_end(c->zone, saved);
	size_t pages;
	struct slab *empty = unlink_empty(c, c->min_empty, SIZE_MAX, &pages);
	lab__slab_unlock(c);
	release_empty_unlocked(c, empty);
}

size_t lab__slab_release_empty(struct lab_kmem_cache *c, size_t keep, size_t max_pages)
{
	size_t pages;
	struct slab *empty = unlink_empty(c, keep, max_pages, &pages);
	lab__slab_unlock(c);
	release_empty_unlocked(c, empty);
	return pages;
}

void lab__slab_release_all(struct lab_kmem_cache *c)
{
	for (unsigned int l = 0; l < SLAB_NR_LISTS - 1; l++) {
		while (c->lists[l]) {
			struct slab *s = c->lists[l];
			list_del(c, s);
			c->nr_slabs--;
			c->nr_pages -= (size_t)1 << c->order;
			free_slab(c, s);
		}
	}
	c->nr_free = 0;
}

/* ---- finding an object's slab ------------------------------------------ */

struct slab *lab__slab_of(const struct lab_kmem_cache *c, const void *obj)
{
	struct lab_page *page = lab__zone_addr_to_page(c->zone, obj);
	if (!page || !(page_flags(page) & PG_slab) || page->private != c->cpu)
		return NULL;
	uintptr_t start = block_of(c, obj);
	struct slab *s;
	if (c->off_slab)
		s = lab__zone_addr_to_page(c->zone, (void *)start)[1].private2;
	else
		s = (struct slab *)start;
	return s && s->magic == SLAB_MAGIC && s->cache == c ? s : NULL;
}

void lab__slab_leak(struct lab_kmem_cache *c, void *obj)
{
	(void)obj;
	atomic_fetch_add_explicit(&c->nr_leaked, 1, memory_order_relaxed);
}

/* ---- walking objects (destroy's report) --------------------------------- */

void lab__slab_for_each_allocated(struct lab_kmem_cache *c,
				  void (*fn)(void *arg, struct slab *s, void *obj), void *arg)
{
	uint64_t bits[(UINT16_MAX + 1) / 64];
	uint32_t saved = lab__zone_write_begin(c->zone);
	for (unsigned int l = 0; l < SLAB_NR_LISTS - 1; l++) {
		for (struct slab *s = c->lists[l]; s; s = s->next) {
			memset(bits, 0, ((size_t)s->nr_objects + 63) / 64 * sizeof(uint64_t));
			for (void *obj = s->freelist; obj; obj = link_get(c, obj)) {
				long i = link_ok(c, s, obj) ? slab_index(c, obj) : -1;
				if (i < 0 || (bits[i / 64] >> (i % 64) & 1))
					break;  /* a broken chain: stop rather than loop */
				bits[i / 64] |= 1ull << (i % 64);
			}
			for (unsigned int i = 0; i < s->fresh; i++)
				if (!(bits[i / 64] >> (i % 64) & 1))
					fn(arg, s, slab_obj(c, s, i));
		}
	}
	lab__zone_write_end(c->zone, saved);
}
