/*
 * heap.c - where malloc's memory comes from inside the zone: 33 size classes
 * (8 bytes, then 16-byte steps to 128, then four classes per doubling up to
 * 8 KiB), each a slab cache of its own on the zone, and blocks of 2^order
 * pages for larger sizes up to the largest order (4 MiB with 4 KiB pages);
 * beyond that, OS mappings (huge.c).
 *
 * The gfp policy of the slow paths (docs/MALLOC.md, "Which gfp"):
 *   - an ordinary call asks with NOWAIT (never sleeps, no reserve), then
 *     grows the zone itself (grow.c), then asks with KERNEL|RETRY_MAYFAIL
 *     (direct reclaim, waiting: a caller that may sleep);
 *   - a re-entrant call (a signal handler that interrupted this thread in the
 *     allocator, or the allocator's own allocations) asks with ATOMIC (no
 *     lock it could find held by itself is ever waited for; may use the
 *     reserve) and, failing that, takes an OS mapping: it never waits.
 *
 * Objects are never handed out from inside another object: an over-aligned
 * request gets a class whose objects are aligned enough, or a block, so that
 * free() can tell a pointer malloc returned from any other.
 *
 * The classes of the kmalloc sizes (8, 16, 32, 64, 96, 128, 192, 256, 512,
 * 1k, 2k, 4k, 8k) are the slab layer's kmalloc caches, made with the zone:
 * in this library nothing else allocates from them, so malloc takes them
 * rather than a second cache of each size (in secure mode every class is an
 * exclusive cache of ours).
 *
 * Exports the class tables, lab__malloc_small/pages/any, the free helpers,
 * lab__malloc_classify, lab__malloc_class_for, lab__malloc_is_class,
 * lab__malloc_heap_init (malloc.h).
 */
#include "base/fmt.h"
#include "malloc/malloc.h"
#include "page/zone.h"
#include "secure/hooks.h"

#include <errno.h>
#include <string.h>

const uint16_t lab__malloc_class_size[MALLOC_NR_CLASSES] = {
	8, 16, 32, 48, 64, 80, 96, 112, 128,
	160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
	1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
};
static_assert(MALLOC_SMALL_MAX == 8192, "the last class is the small maximum");

/* Sizes 0..1024 by (size + 7) / 8. */
const uint8_t lab__malloc_small_index[(1024 >> 3) + 1] = {
	0, 0, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8,
	9, 9, 9, 9, 10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12,
	13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14,
	15, 15, 15, 15, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16,
	17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17,
	18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18,
	19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19, 19,
	20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20,
};

/* The private word of a page block's head: "malloc handed this out". */
static const char pages_tag;

/* gfp for each kind of caller (see the top of this file). */
#define GFP_ORDINARY  (LAB_GFP_NOWAIT)
#define GFP_REENTRANT (LAB_GFP_ATOMIC | LAB_GFP_NOWARN)
#define GFP_SLEEPING  (LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL | LAB_GFP_NOWARN)

static struct lab_zone *heap_zone(void)
{
	return __atomic_load_n(&lab__malloc_heap.zone, __ATOMIC_ACQUIRE);
}

/* ---- the classes ------------------------------------------------------- */

/* Objects of a class are aligned to the largest power of two dividing its
 * size, at most a page (the slab layer aligns every slot so). */
size_t lab__malloc_class_align(unsigned int cls)
{
	size_t size = lab__malloc_class_size[cls];
	size_t align = size & -size;
	size_t ps = lab_page_size();
	return align > ps ? ps : align;
}

int lab__malloc_heap_init(struct lab_zone *zone)
{
	struct lab_kmem_cache *made[MALLOC_NR_CLASSES];
	bool secure = lab__malloc_heap.opt.secure;
	for (unsigned int i = 0; i < MALLOC_NR_CLASSES; i++) {
		unsigned int size = lab__malloc_class_size[i];
		made[i] = secure ? NULL : lab__slab_kmalloc_cache(size);
		if (made[i])
			continue;
		char name[32];
		if (size >= 1024 && size % 1024 == 0)
			lab__snprintf(name, sizeof(name), "malloc-%uk", size / 1024);
		else
			lab__snprintf(name, sizeof(name), "malloc-%u", size);
		made[i] = lab_kmem_cache_create(zone, name, size, lab__malloc_class_align(i),
						secure ? LAB_SLAB_EXCLUSIVE : 0, NULL);
		if (!made[i])
			return -errno;
	}
	/* Published together: the fast paths see every class or none. */
	for (unsigned int i = 0; i < MALLOC_NR_CLASSES; i++) {
		__atomic_store_n(&lab__malloc_heap.cls[i], made[i], __ATOMIC_RELEASE);
		if (made[i]->fast == SLAB_FAST_PLAIN)
			__atomic_store_n(&lab__malloc_heap.fast[i], made[i]->cpu, __ATOMIC_RELEASE);
	}
	return 0;
}

bool lab__malloc_is_class(const struct lab_kmem_cache *c)
{
	size_t size = c->object_size;
	return size && size <= MALLOC_SMALL_MAX &&
	       __atomic_load_n(&lab__malloc_heap.cls[lab__malloc_class_of(size)],
			       __ATOMIC_RELAXED) == c;
}

int lab__malloc_class_for(size_t size, size_t align)
{
	if (size > MALLOC_SMALL_MAX || align > lab_page_size())
		return -1;
	if (size < align)
		size = align;
	for (unsigned int cls = lab__malloc_class_of(size); cls < MALLOC_NR_CLASSES; cls++)
		if (lab__malloc_class_align(cls) >= align)
			return (int)cls;
	return -1;
}

/* ---- allocation -------------------------------------------------------- */

void *lab__malloc_small(unsigned int cls, bool reentrant, bool zero)
{
	struct lab_kmem_cache *c = lab__malloc_heap.cls[cls];
	void *p = lab_kmem_cache_alloc(c, reentrant ? GFP_REENTRANT : GFP_ORDINARY);
	if (lab_unlikely(!p) && !reentrant) {
		if (lab__malloc_grow(c->zone, c->order))
			p = lab_kmem_cache_alloc(c, GFP_ORDINARY);
		if (!p) {
			lab__malloc_event(EV_kernel);
			p = lab_kmem_cache_alloc(c, GFP_SLEEPING);
		}
	}
	if (p && zero && !c->exclusive)  /* exclusive objects come zeroed */
		memset(p, 0, c->object_size);
	return p;
}

static unsigned int order_of(size_t bytes)
{
	size_t pages = (bytes + lab_page_size() - 1) / lab_page_size();
	unsigned int order = 0;
	while (((size_t)1 << order) < pages)
		order++;
	return order;
}

void *lab__malloc_pages(size_t size, size_t align, bool reentrant, bool zero)
{
	struct lab_zone *z = heap_zone();
	unsigned int order = order_of(size > align ? size : align);
	if (order > LAB_MAX_ORDER)
		return NULL;
	lab_gfp_t extra = lab__malloc_heap.opt.secure ? LAB_GFP_ZERO : 0;
	struct lab_page *page = lab_alloc_pages(z, (reentrant ? GFP_REENTRANT : GFP_ORDINARY) |
					       extra, order);
	if (lab_unlikely(!page) && !reentrant) {
		if (lab__malloc_grow(z, order))
			page = lab_alloc_pages(z, GFP_ORDINARY | extra, order);
		if (!page) {
			lab__malloc_event(EV_kernel);
			page = lab_alloc_pages(z, GFP_SLEEPING | extra, order);
		}
	}
	if (!page)
		return NULL;
	page->private = (void *)(uintptr_t)&pages_tag;
	void *p = lab_page_address(page);
	if (zero && !extra)
		memset(p, 0, size);
	return p;
}

void *lab__malloc_any(size_t size, size_t align, bool zero)
{
	bool reentrant = lab__malloc_depth > 1;
	if (reentrant)
		lab__malloc_event(EV_reentrant);
	if (lab_unlikely(!lab__malloc_boot_up())) {
		/* Not up yet (being brought up, maybe by this very thread) or
		 * never: the bootstrap arena, then OS mappings. */
		bool fresh;
		void *p = lab__malloc_boot_alloc(size, align, &fresh);
		if (p) {
			if (zero && !fresh)
				memset(p, 0, size);
			return p;
		}
		lab__malloc_event(EV_emergency);
		return lab__malloc_map(size, align);
	}
	void *p = NULL;
	int cls = align ? lab__malloc_class_for(size, align) :
		  size <= MALLOC_SMALL_MAX ? (int)lab__malloc_class_of(size) : -1;
	if (cls >= 0)
		p = lab__malloc_small((unsigned int)cls, reentrant, zero);
	else if (order_of(size > align ? size : align) <= LAB_MAX_ORDER)
		p = lab__malloc_pages(size, align, reentrant, zero);
	else {
		lab__malloc_event(EV_huge);
		return lab__malloc_map(size, align);  /* fresh from the OS: zeroed */
	}
	if (lab_unlikely(!p) && reentrant) {
		/* The zone cannot serve a caller that must not wait: the OS can. */
		lab__malloc_event(EV_emergency);
		p = lab__malloc_map(size, align);
	}
	return p;
}

/* ---- free ---------------------------------------------------------------- */

void lab__malloc_free_slab(struct lab_kmem_cache *c, void *p)
{
	/* The slab layer reports a double free it sees (the object on top of
	 * this CPU's array, or debugging's state word) and frees nothing; for
	 * malloc a report is fatal, as glibc's are. */
	uint64_t errors = atomic_load_explicit(&c->stat.errors, memory_order_relaxed);
	lab_kmem_cache_free(c, p);
	if (atomic_load_explicit(&c->stat.errors, memory_order_relaxed) != errors)
		lab__malloc_bad_pointer("free", p, "the slab layer refused it (report above)");
}

void lab__malloc_free_pages(struct lab_page *page, void *p)
{
	unsigned int order = page_order(page);
	page->private = NULL;
	if (lab__malloc_heap.opt.secure)
		lab__zone_wipe(lab_page_zone(page), p, lab_page_size() << order);
	lab_free_pages(page, order);
}

/* ---- what a pointer is ----------------------------------------------------- */

static void foreign(struct ptr_info *info, const char *why)
{
	info->kind = PTR_FOREIGN;
	info->why = why;
}

static void classify_in_zone(struct lab_zone *z, struct lab_page *page, const void *p,
			     struct ptr_info *info)
{
	uint32_t f = page_flags(page);
	if (f & PG_slab) {
		/* A slab page names its cache's per-CPU arrays, the cache a fixed
		 * distance before them (slab.h); they name each other. */
		struct slab_cpu *cpu = page->private;
		struct lab_kmem_cache *c = cpu ? cache_of_cpu(cpu) : NULL;
		if (!c || c->cpu != cpu || !lab__slab_of(c, p)) {
			foreign(info, "in the heap, on pages of a kind malloc never hands out");
			return;
		}
		if (!lab__malloc_is_class(c)) {
			foreign(info, "an object of one of the allocator's own caches, not malloc's");
			return;
		}
		if (slab_index(c, p) < 0) {
			foreign(info, "inside an object malloc handed out, not at its start");
			return;
		}
		info->kind = PTR_SLAB;
		info->cache = c;
		info->size = c->object_size;
		return;
	}
	if ((f & PG_allocated) && page->private == (void *)(uintptr_t)&pages_tag) {
		if (p != lab_page_address(page)) {
			foreign(info, "inside a block of pages malloc handed out, not at its start");
			return;
		}
		info->kind = PTR_PAGES;
		info->page = page;
		info->size = lab_page_size() << page_order(page);
		return;
	}
	if (f & (PG_buddy | PG_pcp | PG_deferred)) {
		foreign(info, "in the heap, on a free page (freed twice, or a stale pointer)");
		return;
	}
	if (!(f & (PG_allocated | PG_bad | PG_guard))) {
		foreign(info, "inside a block of pages, not at its start");
		return;
	}
	(void)z;
	foreign(info, "in the heap, on pages malloc did not hand out (the allocator's own)");
}

void lab__malloc_classify(const void *p, struct ptr_info *info)
{
	memset(info, 0, sizeof(*info));
	struct lab_zone *z = heap_zone();
	if (z) {
		struct lab_page *page = lab__zone_addr_to_page(z, p);
		if (page) {
			classify_in_zone(z, page, p, info);
			return;
		}
	}
	if (lab__malloc_in_boot(p)) {
		info->kind = PTR_BOOT;
		info->size = lab__malloc_boot_size(p);
		if (!info->size)
			foreign(info, "inside the bootstrap arena, not at the start of an allocation");
		return;
	}
	size_t len = lab__malloc_mapping_size(p);
	if (len) {
		info->kind = PTR_MAPPING;
		info->size = len;
		return;
	}
	foreign(info, "not a pointer malloc handed out (not in its heap or its bootstrap arena, "
		"not the start of one of its mappings)");
}
