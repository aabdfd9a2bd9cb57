/*
 * kmalloc.c - the default zones and kmalloc: size classes as the kernel's
 * (8 .. 8k, objects of power-of-two classes aligned to their size), larger
 * sizes as whole blocks of pages, lab_kfree/lab_ksize for both, krealloc,
 * and the exclusive twins of it all for LAB_GFP_EXCLUSIVE.
 *
 * The default zone is made on first use: growable to the machine's memory,
 * sized and flagged by LABYRINTH_ZONE, parsed without allocating; the
 * default exclusive zone likewise from LABYRINTH_EXCLUSIVE_ZONE, with
 * memfd_secret (and the zone's reported fallback without it).  Making them
 * may sleep; once made, using them is async-signal-safe.
 *
 * Exports lab_kmalloc, lab_kzalloc, lab_krealloc, lab_kfree,
 * lab_kfree_sensitive, lab_ksize, lab_default_zone,
 * lab_default_exclusive_zone, and for the layers above lab__slab_meta_zone,
 * lab__slab_default_zone_setup and lab__slab_kmalloc_cache.
 */
#include "base/fmt.h"
#include "os/env.h"
#include "os/printk.h"
#include "page/alloc.h"
#include "secure/hooks.h"
#include "slab/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- doing something once, from any thread or signal handler ---------- */

bool lab__slab_run_once(struct lab__slab_once *o, bool (*fn)(void))
{
	int st = atomic_load_explicit(&o->state, memory_order_acquire);
	if (lab_likely(st == 2))
		return true;
	int idle = 0;
	if (atomic_compare_exchange_strong(&o->state, &idle, 1)) {
		atomic_store(&o->who, lab__self_token());
		bool ok = fn();
		int err = errno;
		atomic_store(&o->who, 0);
		atomic_store_explicit(&o->state, ok ? 2 : 0, memory_order_release);
		errno = err;
		return ok;
	}
	if (atomic_load(&o->who) == lab__self_token()) {
		errno = EAGAIN;
		return false;
	}
	while ((st = atomic_load_explicit(&o->state, memory_order_acquire)) == 1)
		lab__os_yield();
	if (st != 2)
		errno = ENOMEM;
	return st == 2;
}

/* ---- LABYRINTH_ZONE ---------------------------------------------------- */

struct zone_spec {
	size_t pages, max_pages;
	unsigned int flags;
};

static bool word_is(const char *w, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(w, name, len);
}

/* A size: digits with an optional K, M, G or T suffix (bytes), or with
 * in_pages a count of pages; at least one page.  No allocation, no locale. */
static bool parse_size(const char *v, size_t len, bool in_pages, size_t page_size, size_t *pages)
{
	size_t n = 0, i = 0;
	if (!len)
		return false;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (n > (SIZE_MAX - 9) / 10)
			return false;
		n = n * 10 + (size_t)(v[i] - '0');
	}
	if (!i)
		return false;
	unsigned int shift = 0;
	if (i < len) {
		if (in_pages || i + 1 != len)
			return false;
		switch (v[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return false;
		}
	}
	if (!in_pages) {
		if (n > (SIZE_MAX >> shift))
			return false;
		n = ((n << shift) + page_size - 1) / page_size;
	}
	if (!n || n >= UINT32_MAX)
		return false;
	*pages = n;
	return true;
}

static const struct {
	const char *name;
	unsigned int flag;
} zone_words[] = {
	{ "locked", LAB_ZONE_LOCKED }, { "nodump", LAB_ZONE_NODUMP },
	{ "wipeonfork", LAB_ZONE_WIPEONFORK }, { "dontfork", LAB_ZONE_DONTFORK },
	{ "secret", LAB_ZONE_SECRET }, { "guard", LAB_ZONE_GUARD }, { "pkey", LAB_ZONE_PKEY },
	{ "strict", LAB_ZONE_STRICT }, { "no_kswapd", LAB_ZONE_NO_KSWAPD },
	{ "no_pcp", LAB_ZONE_NO_PCP }, { "poison", LAB_ZONE_POISON },
	{ "page_owner", LAB_ZONE_PAGE_OWNER }, { "grow", LAB_ZONE_GROW }, { "lazy", LAB_ZONE_LAZY },
};

/*
 * "size=64M,max=8G,locked,nogrow": comma-separated; size= and max= in bytes
 * (K/M/G/T), pages= and max_pages= in pages; flags as words (nogrow takes
 * growth away, nolazy pre-faulting back: for a default zone its maker made
 * lazy).  Whole or nothing: on error *z is untouched and err says
 * what was wrong.
 */
static int parse_zone_spec(const char *spec, struct zone_spec *z, bool allow_pkey, char *err,
			   size_t errlen)
{
	struct zone_spec t = *z;
	size_t ps = lab_page_size();
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		if (!n) {
			lab__snprintf(err, errlen, "empty item");
			return -EINVAL;
		}
		if (eq) {
			size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
			size_t *dst = NULL;
			bool in_pages = false;
			if (word_is(p, klen, "size"))
				dst = &t.pages;
			else if (word_is(p, klen, "max"))
				dst = &t.max_pages;
			else if (word_is(p, klen, "pages"))
				dst = &t.pages, in_pages = true;
			else if (word_is(p, klen, "max_pages"))
				dst = &t.max_pages, in_pages = true;
			if (!dst) {
				lab__snprintf(err, errlen, "unknown key '%.*s' (known: size, max, pages, "
					 "max_pages)", (int)klen, p);
				return -EINVAL;
			}
			if (!parse_size(eq + 1, vlen, in_pages, ps, dst)) {
				lab__snprintf(err, errlen, "bad value '%.*s' for '%.*s': expected %s",
					 (int)vlen, eq + 1, (int)klen, p,
					 in_pages ? "a number of pages" : "a size such as 64M");
				return -EINVAL;
			}
		} else if (word_is(p, n, "nogrow")) {
			t.flags &= ~LAB_ZONE_GROW;
		} else if (word_is(p, n, "nolazy")) {
			t.flags &= ~LAB_ZONE_LAZY;
		} else {
			size_t i;
			for (i = 0; i < sizeof(zone_words) / sizeof(zone_words[0]); i++)
				if (word_is(p, n, zone_words[i].name))
					break;
			if (i == sizeof(zone_words) / sizeof(zone_words[0])) {
				lab__snprintf(err, errlen, "unknown word '%.*s' (flags: locked, nodump, "
					 "wipeonfork, dontfork, secret, guard,%s strict, no_kswapd, "
					 "no_pcp, poison, page_owner, grow, nogrow, lazy, nolazy)", (int)n, p,
					 allow_pkey ? " pkey," : "");
				return -EINVAL;
			}
			if (zone_words[i].flag == LAB_ZONE_PKEY && !allow_pkey) {
				lab__snprintf(err, errlen, "'pkey' is not for this zone: every thread reads "
					 "the slab metadata it holds");
				return -EINVAL;
			}
			t.flags |= zone_words[i].flag;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (t.max_pages < t.pages)
		t.max_pages = t.pages;
	*z = t;
	return 0;
}

/* A default zone: the spec over the defaults, a bad spec reported naming the
 * variable (then the defaults). */
static struct lab_zone *make_zone(const char *name, enum lab__option_id var, struct zone_spec d,
				  bool allow_pkey)
{
	const char *spec = lab__option_string(var);
	char err[192];
	if (spec && parse_zone_spec(spec, &d, allow_pkey, err, sizeof(err)))
		lab__option_report(var, err);
	struct lab_zone_config cfg = {
		.name = name, .pages = d.pages, .flags = d.flags,
		.max_pages = (d.flags & LAB_ZONE_GROW) ? d.max_pages : 0,
	};
	return lab__zone_create(&cfg);  /* started once published */
}

static size_t machine_pages(size_t at_least)
{
	size_t n = lab__os_phys_pages();
	if (n >= UINT32_MAX - 1)
		n = UINT32_MAX - 2;
	return n > at_least ? n : at_least;
}

static _Atomic(struct lab_zone *) default_zone, exclusive_zone;
/* The default zone from its creation on, before it is published: the zone
 * of every cache's metadata, the kmalloc classes' included. */
static _Atomic(struct lab_zone *) meta_zone;
/* The default zone's geometry, copied once it exists (lab_kfree's first look):
 * base 0 until then matches no object. */
static uintptr_t dz_base;
static struct lab_page *dz_pages;
static const _Atomic size_t *dz_managed;
static unsigned int dz_shift;
static struct lab__slab_once default_once, exclusive_once;

static bool make_classes(int excl, struct lab_zone *zone);

/*
 * A default zone's kmalloc classes are made before the zone is published, so
 * that whoever sees the zone finds them: a first lab_kmalloc(GFP_ATOMIC)
 * after lab_default_zone() creates no cache (and so never sleeps).  A class
 * that could not be made is made on first use, by a caller that may.
 *
 * Up to the publication nothing calls malloc; what may (kswapd's thread, the
 * unwinder's first load) starts after it, so that a malloc built on this
 * zone, called from there, finds the zone made rather than a creation in
 * progress (which would refuse it: EAGAIN).  Without kswapd (a thread that
 * could not be made) the zone still works, reclaimed by its callers only.
 */
static bool publish_zone(_Atomic(struct lab_zone *) *slot, struct lab_zone *z, int excl,
			 bool start)
{
	if (z)
		make_classes(excl, z);
	atomic_store_explicit(slot, z, memory_order_release);
	if (!z)
		return false;
	if (!start)
		return true;
	int err = lab__zone_start(z);
	if (err) {
		char why[64];
		lab__printk("labyrinth: zone %s: no kswapd thread (%s); sleeping callers "
			    "reclaim themselves\n", lab_zone_name(z),
			    lab__os_strerror(-err, why, sizeof(why)));
	}
	return true;
}

/* The default zone's variable and defaults when the layer above sets them
 * (lab__slab_default_zone_setup), and whether it starts the zone itself. */
static enum lab__option_id default_var = LAB_OPT_ZONE;
static struct zone_spec default_spec;
static bool default_spec_set, default_start_later;

void lab__slab_default_zone_setup(enum lab__option_id var, size_t pages, size_t max_pages,
				  unsigned int flags, bool start_later)
{
	default_var = var;
	default_spec = (struct zone_spec){ pages, max_pages ? max_pages : machine_pages(pages),
					   flags };
	default_spec_set = true;
	default_start_later = start_later;
}

static bool make_default_zone(void)
{
	/* 4 MiB to start, growing in steps of a max-order block as sleeping
	 * callers need it, up to the machine's memory. */
	size_t start = (4u << 20) / lab_page_size();
	struct zone_spec d = { start, machine_pages(start), LAB_ZONE_GROW };
	if (default_spec_set)
		d = default_spec;
	struct lab_zone *z = make_zone("default", default_var, d, false);
	if (z) {
		dz_pages = z->pages;
		dz_managed = &z->managed;
		dz_shift = z->page_shift;
		__atomic_store_n(&dz_base, (uintptr_t)z->base, __ATOMIC_RELEASE);
		atomic_store_explicit(&meta_zone, z, memory_order_release);
	}
	return publish_zone(&default_zone, z, 0, !default_start_later);
}

static bool make_exclusive_zone(void)
{
	/* 1 MiB of secret memory to start, up to 64 MiB (it is locked memory). */
	size_t ps = lab_page_size();
	struct zone_spec d = { (1u << 20) / ps, (64u << 20) / ps, LAB_ZONE_SECRET | LAB_ZONE_GROW };
	return publish_zone(&exclusive_zone,
			    make_zone("exclusive", LAB_OPT_EXCLUSIVE_ZONE, d, true), 1, true);
}

static struct lab_zone *zone_once(_Atomic(struct lab_zone *) *slot, struct lab__slab_once *o,
				  bool (*make)(void))
{
	struct lab_zone *z = atomic_load_explicit(slot, memory_order_acquire);
	if (lab_likely(z))
		return z;
	lab__slab_run_once(o, make);
	return atomic_load_explicit(slot, memory_order_acquire);
}

struct lab_zone *lab_default_zone(void)
{
	return zone_once(&default_zone, &default_once, make_default_zone);
}

struct lab_zone *lab_default_exclusive_zone(void)
{
	return zone_once(&exclusive_zone, &exclusive_once, make_exclusive_zone);
}

struct lab_zone *lab__slab_meta_zone(void)
{
	struct lab_zone *z = atomic_load_explicit(&meta_zone, memory_order_acquire);
	return z ? z : lab_default_zone();
}

/* ---- size classes ------------------------------------------------------ */

#define NR_CLASSES 13
static const unsigned int class_size[NR_CLASSES] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};
static const char *const class_name[2][NR_CLASSES] = {
	{ "kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-96", "kmalloc-128",
	  "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k", "kmalloc-2k", "kmalloc-4k",
	  "kmalloc-8k" },
	{ "kmalloc-excl-8", "kmalloc-excl-16", "kmalloc-excl-32", "kmalloc-excl-64",
	  "kmalloc-excl-96", "kmalloc-excl-128", "kmalloc-excl-192", "kmalloc-excl-256",
	  "kmalloc-excl-512", "kmalloc-excl-1k", "kmalloc-excl-2k", "kmalloc-excl-4k",
	  "kmalloc-excl-8k" },
};
/* Sizes 1..192 by (size - 1) / 8, as the kernel's size_index[]. */
static const uint8_t small_class[24] = {
	0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6,
};

static inline unsigned int size_class(size_t size)
{
	if (size <= 192)
		return small_class[(size - 1) >> 3];
	return (unsigned int)(63 - __builtin_clzll((unsigned long long)(size - 1)));
}

static _Atomic(struct lab_kmem_cache *) kmalloc_caches[2][NR_CLASSES];
/* Their per-CPU arrays (c->cpu), so that lab_kmalloc's pop does not wait for
 * the load of the cache's fields. */
static _Atomic(struct slab_cpu *) kmalloc_arrays[2][NR_CLASSES];
static struct lab__slab_once kmalloc_once[2];

static bool make_classes(int excl, struct lab_zone *zone)
{
	for (unsigned int i = 0; i < NR_CLASSES; i++) {
		if (atomic_load(&kmalloc_caches[excl][i]))
			continue;
		size_t size = class_size[i];
		size_t align = size & -size;  /* power-of-two classes: natural alignment */
		if (align > lab_page_size())
			align = lab_page_size();
		struct lab_kmem_cache *c = lab__slab_create(zone, class_name[excl][i], size, align,
							    excl ? LAB_SLAB_EXCLUSIVE : 0, NULL,
							    SLAB_INTERNAL_KMALLOC);
		if (!c)
			return false;
		atomic_store_explicit(&kmalloc_arrays[excl][i], c->cpu, memory_order_release);
		atomic_store_explicit(&kmalloc_caches[excl][i], c, memory_order_release);
	}
	return true;
}

static bool make_plain_classes(void)
{
	struct lab_zone *z = lab_default_zone();
	return z && make_classes(0, z);
}

static bool make_exclusive_classes(void)
{
	struct lab_zone *z = lab_default_exclusive_zone();
	return z && make_classes(1, z);
}

struct lab_kmem_cache *lab__slab_kmalloc_cache(size_t size)
{
	for (unsigned int i = 0; i < NR_CLASSES; i++)
		if (class_size[i] == size)
			return atomic_load_explicit(&kmalloc_caches[0][i], memory_order_acquire);
	return NULL;
}

static struct lab_kmem_cache *class_cache(unsigned int i, int excl)
{
	struct lab_kmem_cache *c = atomic_load_explicit(&kmalloc_caches[excl][i],
							memory_order_acquire);
	if (lab_likely(c))
		return c;
	lab__slab_run_once(&kmalloc_once[excl], excl ? make_exclusive_classes : make_plain_classes);
	return atomic_load_explicit(&kmalloc_caches[excl][i], memory_order_acquire);
}

/* ---- large allocations: whole blocks of pages -------------------------- */

/* The private word of a large block's head (with PG_slab): which kind. */
static char large_plain, large_exclusive;

static unsigned int order_for(size_t size)
{
	size_t pages = (size + lab_page_size() - 1) / lab_page_size();
	unsigned int order = 0;
	while (((size_t)1 << order) < pages)
		order++;
	return order;
}

static void *kmalloc_large(size_t size, lab_gfp_t gfp)
{
	bool excl = gfp & LAB_GFP_EXCLUSIVE;
	if (size > lab_page_size() << LAB_MAX_ORDER) {
		errno = EINVAL;
		return NULL;
	}
	struct lab_zone *z = excl ? lab_default_exclusive_zone() : lab_default_zone();
	if (!z)
		return NULL;
	/* Exclusive: zeroed here, scrubbed by lab_kfree; no page owner, so that
	 * any thread may free it as any kmalloc object. */
	lab_gfp_t pgfp = (gfp & ~(LAB_GFP_EXCLUSIVE | LAB_GFP_COMP)) | (excl ? LAB_GFP_ZERO : 0);
	struct lab_page *page = lab_alloc_pages(z, pgfp, order_for(size));
	if (!page)
		return NULL;
	page->private = excl ? &large_exclusive : &large_plain;
	/* No locked instruction: until its address is returned the block is
	 * known to no one else, so nothing else writes its flags. */
	atomic_store_explicit(&page->flags, page_flags(page) | PG_slab, memory_order_release);
	return zone_page_address(z, page);
}

static bool is_large(const void *private)
{
	return private == &large_plain || private == &large_exclusive;
}

static void kfree_large(struct lab_page *page, const void *obj)
{
	uint32_t f = page_flags(page);
	if (obj != lab_page_address(page) || !(f & PG_allocated)) {
		lab__slab_report_pointer("lab_kfree", obj,
					 "inside a kmalloc block of pages, not at its start");
		return;
	}
	bool excl = page->private == &large_exclusive;
	unsigned int order = page_order(page);
	page->private = NULL;
	if (excl)
		lab__zone_wipe(lab_page_zone(page), (void *)(uintptr_t)obj, lab_page_size() << order);
	lab__free_pages_slab(page, order);  /* takes PG_slab off with its claim */
}

/* ---- kmalloc ------------------------------------------------------------ */

static __attribute__((noinline)) void *kmalloc_general(size_t size, lab_gfp_t gfp)
{
	if (gfp & ~LAB_GFP_ALL_BITS) {
		errno = EINVAL;
		return NULL;
	}
	if (!size)
		return LAB_ZERO_SIZE_PTR;
	if (gfp & LAB_GFP_DIRECT_RECLAIM)
		lab__might_sleep("lab_kmalloc");
	if (size > LAB_KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_large(size, gfp);
	struct lab_kmem_cache *c = class_cache(size_class(size), !!(gfp & LAB_GFP_EXCLUSIVE));
	if (!c)
		return NULL;
	void *obj = slab_alloc_fast(c, gfp);
	return obj ? obj : lab__slab_alloc(c, gfp);
}

void *lab_kmalloc(size_t size, lab_gfp_t gfp)
{
	if (lab_likely(size - 1 < LAB_KMALLOC_MAX_CACHE_SIZE)) {
		int excl = !!(gfp & LAB_GFP_EXCLUSIVE);
		struct slab_cpu *cpu = atomic_load_explicit(&kmalloc_arrays[excl][size_class(size)],
							    memory_order_relaxed);
		if (lab_likely(cpu)) {
			struct lab_kmem_cache *c = cache_of_cpu(cpu);
			/* An exclusive class is what EXCLUSIVE asks for: not a
			 * bit for the fast path to refuse. */
			void *obj = slab_alloc_fast_on(c, cpu, gfp & ~LAB_GFP_EXCLUSIVE);
			if (lab_likely(obj))
				return obj;
			if (excl)
				return lab__slab_alloc(c, gfp);  /* its own fast path */
		}
	}
	return kmalloc_general(size, gfp);
}

void *lab_kzalloc(size_t size, lab_gfp_t gfp)
{
	return lab_kmalloc(size, gfp | LAB_GFP_ZERO);
}

/* The cache a slab page's private word names (its per-CPU arrays), checked
 * against the cache's own record of them; NULL for anything else. */
static struct lab_kmem_cache *cache_named(void *priv)
{
	if (!priv || is_large(priv))
		return NULL;
	struct lab_kmem_cache *c = cache_of_cpu(priv);
	return c->cpu == priv ? c : NULL;
}

struct lab_kmem_cache *lab__slab_cache_of(const void *obj)
{
	struct lab_page *pg = lab_virt_to_page(obj);
	if (!pg || !(page_flags(pg) & PG_slab))
		return NULL;
	return cache_named(pg->private);
}

/* What obj is: its cache (or NULL for a large block, then *page), or a
 * report and false for anything else. */
static bool classify(const char *who, const void *obj, struct lab_kmem_cache **cache,
		     struct lab_page **page)
{
	struct lab_page *pg = lab_virt_to_page(obj);
	*cache = NULL;
	*page = pg;
	if (!pg) {
		lab__slab_report_pointer(who, obj, "not in any zone: no cache handed it out");
		return false;
	}
	if (!(page_flags(pg) & PG_slab)) {
		lab__slab_report_pointer(who, obj, "in a zone, but on no slab and no kmalloc block "
					 "(a page, a freed object's slab, or garbage)");
		return false;
	}
	void *priv = pg->private;
	if (is_large(priv))
		return true;
	*cache = cache_named(priv);
	if (!*cache) {
		lab__slab_report_pointer(who, obj, "its page's slab record is damaged");
		return false;
	}
	return true;
}

static __attribute__((noinline)) void kfree_general(void *obj)
{
	struct lab_kmem_cache *c;
	struct lab_page *page;
	if (lab_unlikely(!classify("lab_kfree", obj, &c, &page)))
		return;
	if (lab_unlikely(!c)) {
		kfree_large(page, obj);
		return;
	}
	slab_free_fast(c, c->cpu, obj);
}

/* Most objects live in the default zones: look there first, without the walk
 * over every zone that lab_virt_to_page() makes; the page's descriptor names
 * the per-CPU arrays to push on, or a kmalloc block of pages, freed from the
 * page found here rather than looked up again. */
void lab_kfree(const void *cobj)
{
	void *obj = (void *)(uintptr_t)cobj;
	if (lab_unlikely(LAB_ZERO_OR_NULL_PTR(obj)))
		return;
	struct lab_page *page = NULL;
	uintptr_t base = __atomic_load_n(&dz_base, __ATOMIC_ACQUIRE);
	uintptr_t off = (uintptr_t)obj - base;
	if (lab_likely(base) && off < atomic_load_explicit(dz_managed, memory_order_relaxed) << dz_shift)
		page = dz_pages + (off >> dz_shift);
	if (lab_unlikely(!page)) {
		struct lab_zone *z = atomic_load_explicit(&exclusive_zone, memory_order_relaxed);
		page = z ? lab__zone_addr_to_page(z, obj) : NULL;
	}
	if (lab_likely(page) && lab_likely(page_flags(page) & PG_slab)) {
		struct slab_cpu *cpu = page->private;
		if (lab_likely(cpu && !is_large(cpu))) {
			slab_free_fast(cache_of_cpu(cpu), cpu, obj);
			return;
		}
		if (is_large(cpu)) {
			kfree_large(page, obj);
			return;
		}
	}
	kfree_general(obj);
}

size_t lab_ksize(const void *obj)
{
	if (LAB_ZERO_OR_NULL_PTR(obj))
		return 0;
	struct lab_kmem_cache *c;
	struct lab_page *page;
	if (!classify("lab_ksize", obj, &c, &page))
		return 0;
	if (!c) {
		if (obj != lab_page_address(page))
			return 0;
		return lab_page_size() << page_order(page);
	}
	if (slab_index(c, obj) < 0) {
		lab__slab_report(c, obj, lab__slab_of(c, obj),
				 "Invalid object pointer: not at the start of an object",
				 "lab_ksize says 0");
		return 0;
	}
	return c->object_size;
}

static bool is_exclusive(const void *obj)
{
	struct lab_page *page = lab_virt_to_page(obj);
	if (!page || !(page_flags(page) & PG_slab))
		return false;
	if (page->private == &large_exclusive)
		return true;
	struct lab_kmem_cache *c = cache_named(page->private);
	return c && c->exclusive;
}

void *lab_krealloc(const void *obj, size_t new_size, lab_gfp_t gfp)
{
	if (LAB_ZERO_OR_NULL_PTR(obj))
		return lab_kmalloc(new_size, gfp);
	if (!new_size) {
		lab_kfree(obj);
		return LAB_ZERO_SIZE_PTR;
	}
	size_t have = lab_ksize(obj);
	if (!have) {
		errno = EINVAL;  /* reported by lab_ksize */
		return NULL;
	}
	if (new_size <= have)
		return (void *)(uintptr_t)obj;
	/* A secret never moves to ordinary memory. */
	if (is_exclusive(obj))
		gfp |= LAB_GFP_EXCLUSIVE;
	void *p = lab_kmalloc(new_size, gfp);
	if (!p)
		return NULL;
	memcpy(p, obj, have);
	lab_kfree(obj);
	return p;
}

void lab_kfree_sensitive(const void *obj)
{
	size_t n = lab_ksize(obj);
	if (n) {
		struct lab_page *page = lab_virt_to_page(obj);
		lab__zone_wipe(lab_page_zone(page), (void *)(uintptr_t)obj, n);
	}
	lab_kfree(obj);
}
