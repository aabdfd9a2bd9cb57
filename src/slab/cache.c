/*
 * cache.c - caches: creation (slab geometry, metadata from the default zone,
 * the per-CPU arrays' sizes, the shrinker), destruction, the list of every
 * cache, statistics and shrinking.
 *
 * A cache's metadata is one block of pages of the default zone (never of a
 * zone with a protection key, so every thread may read it): the structure,
 * then one cache line per CPU, then the CPUs' object arrays.  The header
 * cache, whose objects are the headers of slabs of large objects, keeps its
 * own headers on its slabs.
 *
 * Exports lab_kmem_cache_create/destroy/name/shrink/get_stats, and
 * lab__slab_create, lab__slab_header_cache and lab__slab_for_each_cache to
 * the other files; lists the caches for the live export (debug/export.h).
 */
#include "base/fmt.h"
#include "os/cpu.h"
#include "os/printk.h"
#include "os/thread.h"
#include "page/pcp.h"
#include "debug/export.h"
#include "secure/hooks.h"
#include "slab/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lab_kmem_cache *lab__slab_header_cache;

/* lab_slab_set_grace_period(): what TYPESAFE_BY_RCU caches made from now on
 * wait on. */
static _Atomic(void (*)(struct lab_rcu_head *, void (*)(struct lab_rcu_head *))) grace_period;

/* Every cache, for slabinfo and shrinking; creation and destruction may sleep. */
static lab__os_mutex_t caches_mutex = LAB_OS_MUTEX_INIT;
static struct lab_kmem_cache *caches;

/* Objects a slab should hold at least, where an order up to 3 allows it. */
#define MIN_OBJECTS 8
/* The waste a slab may have, as a fraction of it (1/128). */
#define WASTE_SHIFT 7
/* Orders tried first: the per-CPU page lists serve 0..3. */
#define PREFERRED_MAX_ORDER LAB_COSTLY_ORDER

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

static bool is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

/* ---- geometry ----------------------------------------------------------- */

/*
 * The slot layout: [red_left][object][right red zone][fp][state][tracks],
 * each part only when needed.  The free pointer overlays the object unless
 * the object's contents must survive (constructor, TYPESAFE_BY_RCU: readers
 * may still look) or be checked (any debugging): then it has a word of its
 * own after the object.
 */
static void slot_layout(struct lab_kmem_cache *c)
{
	size_t end = round_up(c->object_size, sizeof(void *));
	c->red_left = (c->debug & SLAB_DEBUG_REDZONE) ? round_up(sizeof(void *), c->align) : 0;
	if (c->debug & SLAB_DEBUG_REDZONE)
		end += sizeof(void *);
	c->inuse_end = end;
	if (c->ctor || c->debug || c->rcu) {
		c->fp_offset = end;
		end += sizeof(void *);
	} else {
		c->fp_offset = 0;
	}
	if (c->debug) {
		c->state_offset = end;
		end += sizeof(uint64_t);
	}
	if (c->debug & SLAB_DEBUG_USER) {
		c->track_offset = end;
		end += 2 * lab__slab_track_size();
	}
	c->size = round_up(c->red_left + end, c->align);
}

struct fit {
	unsigned int order, n;
	bool off;
	size_t waste;      /* bytes per slab not in slots, header included */
};

static struct fit fit_of(const struct lab_kmem_cache *c, unsigned int order, bool off,
			 size_t page_size)
{
	size_t bytes = page_size << order;
	size_t head = off ? 0 : round_up(SLAB_HEADER_SIZE, c->align);
	struct fit f = { order, 0, off, bytes };
	if (head >= bytes)
		return f;
	size_t n = (bytes - head) / c->size;
	if (n > UINT16_MAX)
		n = UINT16_MAX;
	f.n = (unsigned int)n;
	f.waste = bytes - n * c->size + (off ? SLAB_HEADER_SIZE : 0);
	return f;
}

/* Lower waste per object slot; ties: more objects. */
static bool better(const struct fit *a, const struct fit *b)
{
	if (!b->n)
		return a->n != 0;
	if (!a->n)
		return false;
	/* a->waste / a->n < b->waste / b->n, compared as fractions of the slab */
	size_t wa = a->waste << (b->order), wb = b->waste << (a->order);
	return wa < wb || (wa == wb && a->n > b->n);
}

/*
 * calculate_order(): the first order (0..3) and header placement that gives
 * at least MIN_OBJECTS slots (or as many as order 3 gives) with at most
 * 1/128 waste; otherwise the least waste found up to order 3; objects too big
 * for that use the smallest order that holds one.
 */
static int choose_geometry(struct lab_kmem_cache *c, bool force_on, bool force_off,
			   size_t page_size)
{
	unsigned int want_n = MIN_OBJECTS;
	struct fit max3 = fit_of(c, PREFERRED_MAX_ORDER, true, page_size);
	struct fit max3off = fit_of(c, PREFERRED_MAX_ORDER, false, page_size);
	unsigned int most = max3.n > max3off.n ? max3.n : max3off.n;
	if (most < want_n)
		want_n = most ? most : 1;
	struct fit best = { 0, 0, false, 0 };
	for (unsigned int order = 0; order <= LAB_MAX_ORDER; order++) {
		for (int off = 0; off <= 1; off++) {
			/* An off-slab header is found through the first tail page. */
			if ((off && (force_on || order == 0)) || (!off && force_off))
				continue;
			struct fit f = fit_of(c, order, off, page_size);
			if (!f.n)
				continue;
			if (f.n >= want_n && (f.waste << WASTE_SHIFT) <= (page_size << order)) {
				best = f;
				goto done;
			}
			if (order <= PREFERRED_MAX_ORDER && better(&f, &best))
				best = f;
		}
		if (best.n && order >= PREFERRED_MAX_ORDER)
			break;
	}
	if (!best.n)
		return -EINVAL;  /* not even one object in the largest block */
done:
	c->order = best.order;
	c->nr_objects = best.n;
	c->off_slab = best.off;
	c->slab_bytes = page_size << best.order;
	c->objects_offset = best.off ? 0 : round_up(SLAB_HEADER_SIZE, c->align);
	c->recip = (uint32_t)(((1ull << 32) + c->size - 1) / c->size);
	c->slab_mask = (uint32_t)(c->slab_bytes - 1);
	c->first_offset = (uint32_t)(c->objects_offset + c->red_left);
	c->span = (uint32_t)(c->nr_objects * c->size);
	return 0;
}

/* Per-CPU array capacity: about 128 KiB of objects, 4..2048 of them (so that
 * a thousand objects can come and go without touching the slabs); an eighth
 * of it, at most 256, moves per refill or drain. */
static void size_arrays(struct lab_kmem_cache *c)
{
	size_t high = (128 * 1024) / c->size;
	if (high < 4)
		high = 4;
	if (high > 2048)
		high = 2048;  /* and RSEQ_CLIST_MAX */
	c->high = (uint32_t)high;
	c->batch = c->high / 8 ? c->high / 8 : 1;
	if (c->batch > 256)
		c->batch = 256;
}

/* ---- creation ----------------------------------------------------------- */

static void shrinker_init(struct lab_kmem_cache *c);

static size_t meta_bytes(const struct lab_kmem_cache *c)
{
	return SLAB_META_HEAD + (size_t)c->nr_cpu * SLAB_CPU_STRIDE +
	       (size_t)c->nr_cpu * c->high * sizeof(void *);
}

static unsigned int order_of(size_t bytes, size_t page_size)
{
	unsigned int order = 0;
	while ((page_size << order) < bytes)
		order++;
	return order;
}

static void cache_list_add(struct lab_kmem_cache *c)
{
	lab__os_mutex_lock(&caches_mutex);
	c->next_cache = caches;
	caches = c;
	lab__os_mutex_unlock(&caches_mutex);
}

static void cache_list_del(struct lab_kmem_cache *c)
{
	lab__os_mutex_lock(&caches_mutex);
	for (struct lab_kmem_cache **it = &caches; *it; it = &(*it)->next_cache) {
		if (*it == c) {
			*it = c->next_cache;
			break;
		}
	}
	lab__os_mutex_unlock(&caches_mutex);
}

struct lab_kmem_cache *lab__slab_create(struct lab_zone *zone, const char *name, size_t size,
					size_t align, unsigned int flags, void (*ctor)(void *),
					unsigned int internal)
{
	size_t page_size = lab_page_size();
	/* An exclusive cache zeroes objects on hand-out: that would undo a
	 * constructor, so the two do not go together. */
	/* A TYPESAFE_BY_RCU cache takes the grace period registered now. */
	void (*rcu_defer)(struct lab_rcu_head *, void (*)(struct lab_rcu_head *)) =
		atomic_load_explicit(&grace_period, memory_order_acquire);
	bool rcu = flags & LAB_SLAB_TYPESAFE_BY_RCU;
	if (!name || !size || (flags & ~LAB_SLAB_ALL_FLAGS) ||
	    (align && (!is_pow2(align) || align > page_size)) ||
	    size > (page_size << LAB_MAX_ORDER) || ((flags & LAB_SLAB_EXCLUSIVE) && ctor) ||
	    (rcu && ((flags & LAB_SLAB_EXCLUSIVE) || !rcu_defer))) {
		errno = EINVAL;
		return NULL;
	}
	if (!zone)
		zone = (flags & LAB_SLAB_EXCLUSIVE) ? lab_default_exclusive_zone() : lab_default_zone();
	struct lab_zone *meta = lab__slab_meta_zone();
	if (!zone || !meta)
		return NULL;  /* errno from the zone's creation */
	lab__might_sleep("lab_kmem_cache_create");

	/* Everything but the memory, in a scratch copy first. */
	struct lab_kmem_cache tmp;
	memset(&tmp, 0, sizeof(tmp));
	struct lab_kmem_cache *c = &tmp;
	lab__snprintf(c->name, sizeof(c->name), "%s", name);
	c->zone = zone;
	c->zone_base = (uintptr_t)zone->base;
	c->zone_pages = zone->pages;
	c->zone_managed = &zone->managed;
	c->page_shift = (uint8_t)zone->page_shift;
	c->flags = flags | lab__slab_debug_flags(c->name, flags);
	c->ctor = ctor;
	c->object_size = size;
	c->exclusive = c->flags & LAB_SLAB_EXCLUSIVE;
	c->failslab = c->flags & LAB_SLAB_FAILSLAB;
	c->kmalloc = internal & SLAB_INTERNAL_KMALLOC;
	c->rcu = rcu;
	c->rcu_defer = rcu_defer;
	c->rcu_refs = 1;
	/* Readers may still read a TYPESAFE_BY_RCU cache's free objects: not
	 * for ASan to call that a use after free (the page layer marks the
	 * slab's pages once they are back). */
	c->sanitize = (zone->debug & ZONE_DEBUG_SANITIZE) && !rcu;
	if (c->flags & LAB_SLAB_CONSISTENCY_CHECKS)
		c->debug |= SLAB_DEBUG_CHECKS;
	if (c->flags & LAB_SLAB_RED_ZONE)
		c->debug |= SLAB_DEBUG_REDZONE;
	if ((c->flags & LAB_SLAB_POISON) && !ctor && !rcu)  /* what readers see stays */
		c->debug |= SLAB_DEBUG_POISON;
	if (c->flags & LAB_SLAB_STORE_USER)
		c->debug |= SLAB_DEBUG_USER;
	if (c->flags & LAB_SLAB_TRACE)
		c->debug |= SLAB_DEBUG_TRACE;
	if (c->debug)
		c->debug |= SLAB_DEBUG_STATE;
	c->align = align ? align : sizeof(void *);
	if (c->flags & LAB_SLAB_HWCACHE_ALIGN) {
		size_t ralign = 64;
		while (size <= ralign / 2)
			ralign /= 2;
		if (ralign > c->align)
			c->align = ralign;
	}
	if (c->align < sizeof(void *))
		c->align = sizeof(void *);
	slot_layout(c);
	/* Headers of slabs in a zone with a protection key live off-slab, in the
	 * default zone: the free path reads them without the zone's key. */
	bool force_off = zone->pkey >= 0;
	if (choose_geometry(c, internal & SLAB_INTERNAL_ON_SLAB, force_off, page_size)) {
		errno = EINVAL;
		return NULL;
	}
	if (c->off_slab && !lab__slab_header_init())
		return NULL;
	c->cpu_mode = lab__pcp_mode();
	c->nr_cpu = (unsigned int)lab__os_nr_cpus();
	size_arrays(c);
	while (order_of(meta_bytes(c), page_size) > LAB_MAX_ORDER && c->high > 4)
		c->high /= 2;
	if (c->cpu_mode == LAB_PCP_RSEQ && !c->debug && !c->sanitize)
		c->fast = !c->exclusive ? SLAB_FAST_PLAIN
					: zone->pkey < 0 ? SLAB_FAST_EXCLUSIVE : 0;
	c->zero_bytes = (uint32_t)round_up(c->object_size, sizeof(uint64_t));  /* within the slot */
	c->min_empty = 2;

	/* The memory: metadata from the default zone, pre-faulted like all zone memory. */
	unsigned int morder = order_of(meta_bytes(c), page_size);
	struct lab_page *mp = lab_alloc_pages(meta, LAB_GFP_KERNEL | LAB_GFP_ZERO, morder);
	if (!mp)
		return NULL;
	c = lab_page_address(mp);
	memcpy(c, &tmp, sizeof(*c));
	c->meta_page = mp;
	c->meta_order = morder;
	lab__slab_cpu_setup(c, (char *)c + SLAB_META_HEAD);  /* cache_of_cpu() undoes it */
	shrinker_init(c);
	if (lab_register_shrinker(zone, &c->shrinker) == 0)
		c->shrinker_registered = true;
	cache_list_add(c);
	return c;
}

struct lab_kmem_cache *lab_kmem_cache_create(struct lab_zone *zone, const char *name, size_t size,
					     size_t align, unsigned int flags,
					     void (*ctor)(void *obj))
{
	struct lab_kmem_cache *c = lab__slab_create(zone, name, size, align, flags, ctor, 0);
	if (!c && (flags & LAB_SLAB_PANIC)) {
		lab__printk("BUG: lab_kmem_cache_create(%s, %zu): failed with errno %d (LAB_SLAB_PANIC)\n",
			    name ? name : "(null)", size, errno);
		abort();
	}
	return c;
}

const char *lab_kmem_cache_name(const struct lab_kmem_cache *c)
{
	return c ? c->name : NULL;
}

/* ---- the header cache -------------------------------------------------- */

static struct lab__slab_once header_once;

/* On the metadata zone, named explicitly: the header cache may be made
 * while the default zone is (its kmalloc classes of large objects). */
static bool make_header_cache(void)
{
	struct lab_zone *meta = lab__slab_meta_zone();
	if (meta)
		lab__slab_header_cache = lab__slab_create(meta, "slab_header", SLAB_HEADER_SIZE,
							  SLAB_CPU_STRIDE, 0, NULL,
							  SLAB_INTERNAL_ON_SLAB);
	return lab__slab_header_cache != NULL;
}

bool lab__slab_header_init(void)
{
	return lab__slab_run_once(&header_once, make_header_cache);
}

/* ---- destruction ------------------------------------------------------- */

void lab_kmem_cache_destroy(struct lab_kmem_cache *c)
{
	if (!c)
		return;
	lab__might_sleep("lab_kmem_cache_destroy");
	if (c->kmalloc || c == lab__slab_header_cache) {
		lab__printk("BUG: lab_kmem_cache_destroy(%s): the library's own cache; not destroyed\n",
			    c->name);
		return;
	}
	if (atomic_load(&c->dead))
		return;
	if (c->shrinker_registered)
		lab_unregister_shrinker(c->zone, &c->shrinker);
	c->shrinker_registered = false;
	lab__slab_flush_all(c);
	lab__slab_lock(c, true);
	size_t total = c->nr_slabs * c->nr_objects;
	size_t pending = atomic_load(&c->nr_deferred);
	if (total - c->nr_free - pending) {
		/* Objects still allocated: name them and keep the cache, so that
		 * they stay valid (the kernel leaks the cache too). */
		lab__slab_report_leaks(c);
		atomic_store(&c->dead, true);
		c->fast = 0;
		lab__slab_release_empty(c, 0, SIZE_MAX);  /* unlocks */
		return;
	}
	lab__slab_release_all(c);
	lab__slab_unlock(c);
	cache_list_del(c);
	if (c->rcu) {
		lab__slab_rcu_put(c);  /* the slabs waiting hold the rest */
		return;
	}
	lab_free_pages(c->meta_page, c->meta_order);
}

void lab__slab_rcu_put(struct lab_kmem_cache *c)
{
	if (atomic_fetch_sub_explicit(&c->rcu_refs, 1, memory_order_acq_rel) == 1)
		lab_free_pages(c->meta_page, c->meta_order);
}

void lab_slab_set_grace_period(void (*defer)(struct lab_rcu_head *head,
					     void (*fn)(struct lab_rcu_head *head)))
{
	atomic_store_explicit(&grace_period, defer, memory_order_release);
}

/* ---- statistics ------------------------------------------------------- */

static struct lab_kmem_cache *cache_mut(const struct lab_kmem_cache *c)
{
	return (struct lab_kmem_cache *)(uintptr_t)c;
}

#define LOAD(f) atomic_load_explicit(&c->stat.f, memory_order_relaxed)

void lab_kmem_cache_get_stats(const struct lab_kmem_cache *cc, struct lab_kmem_cache_stats *out)
{
	struct lab_kmem_cache *c = cache_mut(cc);
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	size_t slabs, pages, nr_free, empty;
	if (lab__slab_lock(c, true)) {
		slabs = c->nr_slabs;
		pages = c->nr_pages;
		nr_free = c->nr_free;
		empty = c->nr_list[SLAB_EMPTY];
		lab__slab_unlock(c);
	} else {  /* from a signal handler inside the lock: a racy look */
		slabs = __atomic_load_n(&c->nr_slabs, __ATOMIC_RELAXED);
		pages = __atomic_load_n(&c->nr_pages, __ATOMIC_RELAXED);
		nr_free = __atomic_load_n(&c->nr_free, __ATOMIC_RELAXED);
		empty = __atomic_load_n(&c->nr_list[SLAB_EMPTY], __ATOMIC_RELAXED);
		empty = empty < slabs ? empty : slabs;
	}
	size_t cached = lab__slab_cpu_cached(c);
	size_t deferred = atomic_load(&c->nr_deferred);
	uint64_t hits;
	lab__slab_cpu_counts(c, &hits);
	out->size = c->size;
	out->object_size = c->object_size;
	out->slabs = slabs;
	out->pages = pages;
	out->total_objs = slabs * c->nr_objects;
	size_t idle = nr_free + cached + deferred;
	out->active_objs = out->total_objs > idle ? out->total_objs - idle : 0;
	out->objs_per_slab = c->nr_objects;
	out->order = c->order;
	out->cpu_cached = cached;
	/* count = refill_objs + pushes - pops - drain_objs (percpu.c) */
	uint64_t pushes = (uint64_t)cached + hits + LOAD(drain_objs) - LOAD(refill_objs);
	out->cpu_hits = hits;
	out->allocs = out->cpu_hits + LOAD(slow_allocs);
	out->frees = pushes + LOAD(slow_frees);
	out->refills = LOAD(refills);
	out->drains = LOAD(drains);
	out->remote_frees = LOAD(remote_frees);
	out->alloc_fail = LOAD(alloc_fail);
	out->fail_injected = LOAD(fail_injected);
	out->errors = LOAD(errors);
	out->leaked = atomic_load(&c->nr_leaked);
	out->deferred_frees = LOAD(deferred_frees);
	out->detached_slabs = LOAD(detached_slabs);
	out->cpu_limit = c->high;
	out->cpu_batch = c->batch;
	out->empty_slabs = empty;
}

/* ---- the live export ----------------------------------------------------- */

struct export_fill {
	struct lab__export_cache *out;
	unsigned int max, n;
};

static void export_one(struct lab_kmem_cache *c, void *arg)
{
	struct export_fill *f = arg;
	if (f->n == f->max)
		return;
	lab__snprintf(f->out[f->n].name, sizeof(f->out[f->n].name), "%s", c->name);
	lab_kmem_cache_get_stats(c, &f->out[f->n].st);
	f->n++;
}

/* debug/export.c's lister: every cache, newest first. */
static unsigned int export_caches(struct lab__export_cache *out, unsigned int max)
{
	struct export_fill f = { out, max, 0 };
	lab__slab_for_each_cache(export_one, &f);
	return f.n;
}

__attribute__((constructor)) static void export_init(void)
{
	lab__export_set_caches(export_caches);
}

/* fn for every cache, newest first, under the list's mutex (a cache is not
 * destroyed meanwhile).  May sleep. */
void lab__slab_for_each_cache(void (*fn)(struct lab_kmem_cache *c, void *arg), void *arg)
{
	lab__os_mutex_lock(&caches_mutex);
	for (struct lab_kmem_cache *c = caches; c; c = c->next_cache)
		fn(c, arg);
	lab__os_mutex_unlock(&caches_mutex);
}

/* ---- shrinking ---------------------------------------------------------- */

/* Pages given back, counted from the cache's own total: the flush gives
 * back slabs it empties beyond the few kept, the release the rest. */
static size_t shrink_one(struct lab_kmem_cache *c)
{
	size_t before = __atomic_load_n(&c->nr_pages, __ATOMIC_RELAXED);
	lab__slab_flush_all(c);
	lab__slab_lock(c, true);
	lab__slab_release_empty(c, 0, SIZE_MAX);
	size_t after = __atomic_load_n(&c->nr_pages, __ATOMIC_RELAXED);
	return before > after ? before - after : 0;
}

/* NULL: every kmalloc class, then the header cache, into which the classes'
 * empty off-slab slabs have just given their headers back. */
int lab_kmem_cache_shrink(struct lab_kmem_cache *c)
{
	lab__might_sleep("lab_kmem_cache_shrink");
	if (c)
		return (int)shrink_one(c);
	size_t pages = 0;
	lab__os_mutex_lock(&caches_mutex);
	for (struct lab_kmem_cache *it = caches; it; it = it->next_cache)
		if (it->kmalloc)
			pages += shrink_one(it);
	lab__os_mutex_unlock(&caches_mutex);
	if (lab__slab_header_cache)
		pages += shrink_one(lab__slab_header_cache);
	return pages > INT32_MAX ? INT32_MAX : (int)pages;
}

/* The zone's shrinker: empty slabs first; then the per-CPU arrays, whose
 * objects may be all that keeps slabs in use.  Units are pages. */
static unsigned long cache_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct lab_kmem_cache *c = s->private_data;
	size_t per = (size_t)1 << c->order;
	size_t empty = __atomic_load_n(&c->nr_list[SLAB_EMPTY], __ATOMIC_RELAXED) * per;
	size_t cached = lab__slab_cpu_cached(c) * c->size / lab_page_size();
	size_t n = empty + cached;
	return n ? n : LAB_SHRINK_EMPTY;
}

static unsigned long cache_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct lab_kmem_cache *c = s->private_data;
	lab__slab_lock(c, true);
	size_t freed = lab__slab_release_empty(c, 0, sc->nr_to_scan);
	if (freed < sc->nr_to_scan && lab__slab_cpu_cached(c)) {
		lab__slab_flush_all(c);
		lab__slab_lock(c, true);
		freed += lab__slab_release_empty(c, 0, sc->nr_to_scan - freed);
	}
	return freed;
}

static void shrinker_init(struct lab_kmem_cache *c)
{
	c->shrinker = (struct lab_shrinker){
		.count_objects = cache_count,
		.scan_objects = cache_scan,
		.seeks = LAB_DEFAULT_SEEKS,
		.private_data = c,
	};
}
