/*
 * entry.c - the functions a program calls: malloc, free, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc and
 * malloc_usable_size, as glibc declares them (and so replaces them: glibc's
 * own calls to malloc come here too).
 *
 * The fast paths are inline here: a size class's per-CPU array popped or
 * pushed in a restartable sequence (the slab layer's), no lock, no atomic
 * instruction, no system call; a signal handler may use the very array it
 * interrupted.  Everything else goes out of line, inside
 * lab__malloc_enter()/exit() (malloc.h says why), to heap.c, huge.c and
 * boot.c.  free() checks every pointer: one that malloc did not hand out,
 * or that points inside what it handed out, is reported and the process
 * aborts, as glibc's "free(): invalid pointer" does.
 *
 * Exports the functions above (the test library: as lab__test_*).
 */
#include "malloc/malloc.h"
#include "os/rseq_list.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#ifdef LAB_MALLOC_TEST_NAMES
#define EXPORT
#else
#define EXPORT __attribute__((visibility("default")))
#endif

/* ---- allocation ----------------------------------------------------------- */

/* align 0: malloc's own alignment (8 bytes for sizes up to 8, else 16). */
static __attribute__((noinline)) void *alloc_slow(size_t size, size_t align, bool zero)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	(void)rseq_self();  /* looked up once per thread, for the fast paths */
#endif
	lab__malloc_enter();
	void *p = lab__malloc_any(size, align, zero);
	lab__malloc_exit();
	if (lab_unlikely(!p)) {
		lab__malloc_event(EV_enomem);
		errno = ENOMEM;
	}
	return p;
}

/*
 * Pop an object of class cls from this CPU's array (NULL: take the slow
 * path): the slab layer's counted list, popped in a restartable sequence,
 * straight from the class's arrays in our own table (no load of the cache).
 */
static inline void *pop_fast(unsigned int cls)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	void *sets = __atomic_load_n(&lab__malloc_heap.fast[cls], __ATOMIC_ACQUIRE);
	/* This thread's rseq area; NULL until a slow path looked it up (or for
	 * good, without rseq: then the slow paths serve it all). */
	struct lab__os_rseq *rs = rseq_known();
	if (lab_likely(sets) && lab_likely(rs) && lab_likely(!failslab_armed()))
		return rseq_clist_pop_fast(rs, sets, SLAB_LIST_OFF);
#endif
	(void)cls;
	return NULL;
}

static inline void *alloc(size_t n)
{
	if (lab_likely(n <= MALLOC_SMALL_MAX)) {
		void *p = pop_fast(lab__malloc_class_of(n));
		if (lab_likely(p))
			return p;
	}
	return alloc_slow(n, 0, false);
}

/* Counting is out of line so that the uncounted fast paths need no frame. */
static __attribute__((noinline)) void *malloc_counted(size_t n)
{
	lab__malloc_count_slow(CALL_malloc);
	return alloc(n);
}

EXPORT void *MALLOC_FN(malloc)(size_t n)
{
	if (lab_unlikely(lab__malloc_counting))
		return malloc_counted(n);
	return alloc(n);
}

EXPORT void *MALLOC_FN(calloc)(size_t nmemb, size_t size)
{
	lab__malloc_count(CALL_calloc);
	size_t n;
	if (lab_unlikely(__builtin_mul_overflow(nmemb, size, &n))) {
		errno = ENOMEM;
		return NULL;
	}
	if (lab_likely(n <= MALLOC_SMALL_MAX)) {
		void *p = pop_fast(lab__malloc_class_of(n));
		if (lab_likely(p))
			return memset(p, 0, n);
	}
	return alloc_slow(n, 0, true);
}

/* ---- free ----------------------------------------------------------------- */

/* Free what classify found p to be. */
static void free_known(void *p, const struct ptr_info *pi, const char *fn)
{
	switch (pi->kind) {
	case PTR_SLAB:
		lab__malloc_free_slab(pi->cache, p);
		break;
	case PTR_PAGES:
		lab__malloc_free_pages(pi->page, p);
		break;
	case PTR_MAPPING:
		lab__malloc_unmap(p);
		break;
	case PTR_BOOT:
		lab__malloc_boot_free(p);
		break;
	case PTR_FOREIGN:
		lab__malloc_bad_pointer(fn, p, pi->why);
	}
}

static __attribute__((noinline)) void free_slow(void *p, const char *fn)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	(void)rseq_self();
#endif
	lab__malloc_heap_sync();  /* the zone may have grown behind our copy */
	lab__malloc_enter();
	struct ptr_info pi;
	lab__malloc_classify(p, &pi);
	free_known(p, &pi, fn);
	lab__malloc_exit();
}

/* The per-CPU arrays of p's class when p is an object of a plain fast
 * class cache, at an object's start; else NULL (the slow paths classify it
 * fully).  Read only: no lock, no system call.  The arrays come from p's
 * page descriptor, the cache is a fixed distance from them (slab.h): the
 * push's address does not wait for loads that depend on the object. */
static inline struct slab_cpu *fast_object(const void *p, struct lab_kmem_cache **cp)
{
	uintptr_t off = (uintptr_t)p - lab__malloc_heap.base;
	if (lab_likely(off < atomic_load_explicit(&lab__malloc_heap.bytes, memory_order_acquire))) {
		struct lab_page *page = lab__malloc_heap.pages + (off >> lab__malloc_heap.shift);
		if (lab_likely(page_flags(page) & PG_slab)) {
			struct slab_cpu *cpu = page->private;
			struct lab_kmem_cache *c = cache_of_cpu(cpu);
			/* The cache's own word for its arrays (a page block of the
			 * slab layer's kmalloc is PG_slab too, with a tag), plain,
			 * and malloc's class of its slot size (not one of the slab
			 * layer's own caches, whose objects malloc never hands out:
			 * classify() tells them apart), all from the cache's first
			 * line; p at an object's start. */
			if (lab_likely(c->cpu == cpu) && lab_likely(c->fast == SLAB_FAST_PLAIN) &&
			    lab_likely(c->size <= MALLOC_SMALL_MAX) &&
			    lab_likely(__atomic_load_n(&lab__malloc_heap.cls[lab__malloc_class_of(c->size)],
						   __ATOMIC_RELAXED) == c) &&
			    lab_likely(slab_index(c, p) >= 0)) {
				*cp = c;
				return cpu;
			}
		}
	}
	return NULL;
}

static inline void release(void *p, const char *fn)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	struct lab_kmem_cache *c;
	struct slab_cpu *cpu = fast_object(p, &c);
	struct lab__os_rseq *rs = rseq_known();
	if (lab_likely(cpu) && lab_likely(rs)) {
		/* The push refuses the object freed last on this CPU: freed twice. */
		int st = rseq_clist_push_unique(rs, cpu, SLAB_LIST_OFF, p);
		if (lab_likely(st == RSEQ_LIST_OK))
			return;
		if (st == RSEQ_LIST_DUP)
			lab__malloc_bad_pointer(fn, p, "the object is already free (double free)");
	}
#endif
	if (lab_likely(p))
		free_slow(p, fn);  /* a tail call: the fast path needs no frame */
}

static __attribute__((noinline)) void free_counted(void *p)
{
	lab__malloc_count_slow(CALL_free);
	release(p, "free");
}

EXPORT void MALLOC_FN(free)(void *p)
{
	if (lab_unlikely(lab__malloc_counting)) {
		free_counted(p);
		return;
	}
	release(p, "free");
}

/* ---- realloc ------------------------------------------------------------------ */

/* The largest size a block of the zone holds: beyond it, mappings. */
static size_t largest_block(void)
{
	return lab_page_size() << LAB_MAX_ORDER;
}

static __attribute__((noinline)) void *realloc_slow(void *p, size_t n)
{
	lab__malloc_enter();
	struct ptr_info pi;
	lab__malloc_classify(p, &pi);
	void *q = NULL;
	switch (pi.kind) {
	case PTR_FOREIGN:
		lab__malloc_bad_pointer("realloc", p, pi.why);
	case PTR_SLAB:
	case PTR_PAGES:
		/* In place while it fits and is not more than twice too big. */
		if (n <= pi.size && n > pi.size / 2)
			q = p;
		break;
	case PTR_MAPPING:
		if (n > largest_block())
			q = lab__malloc_remap(p, n);
		break;
	case PTR_BOOT:
		break;  /* out of the arena at the first chance */
	}
	if (!q) {
		q = lab__malloc_any(n, 0, false);
		if (q) {
			memcpy(q, p, n < pi.size ? n : pi.size);
			free_known(p, &pi, "realloc");
		}
	}
	lab__malloc_exit();
	if (lab_unlikely(!q)) {
		lab__malloc_event(EV_enomem);
		errno = ENOMEM;
	}
	return q;
}

EXPORT void *MALLOC_FN(realloc)(void *p, size_t n)
{
	lab__malloc_count(CALL_realloc);
	if (!p)
		return alloc(n);
	if (!n) {
		/* glibc's choice (C leaves it to the implementation): free, NULL. */
		release(p, "realloc");
		return NULL;
	}
	struct lab_kmem_cache *c;
	if (lab_likely(fast_object(p, &c)) && n <= c->object_size && n > c->object_size / 2)
		return p;  /* it still fits, and not twice over */
	return realloc_slow(p, n);
}

EXPORT void *MALLOC_FN(reallocarray)(void *p, size_t nmemb, size_t size)
{
	lab__malloc_count(CALL_reallocarray);
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!p)
		return alloc(n);
	if (!n) {
		release(p, "reallocarray");
		return NULL;
	}
	return realloc_slow(p, n);
}

/* ---- aligned ------------------------------------------------------------------- */

static void *aligned(size_t align, size_t n)
{
	if (align <= MALLOC_ALIGN)  /* malloc's alignment, but never 8 for 16 */
		return alloc(n < align ? align : n);
	return alloc_slow(n, align, false);
}

/* glibc's memalign rounds an alignment that is not a power of two up. */
static size_t round_align(size_t align)
{
	if (align && !(align & (align - 1)))
		return align;
	if (align > SIZE_MAX / 2 + 1)
		return 0;
	size_t a = 1;
	while (a < align)
		a <<= 1;
	return a;
}

EXPORT int MALLOC_FN(posix_memalign)(void **memptr, size_t align, size_t n)
{
	lab__malloc_count(CALL_posix_memalign);
	if (!align || (align & (align - 1)) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = aligned(align, n);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*memptr = p;
	return 0;
}

EXPORT void *MALLOC_FN(aligned_alloc)(size_t align, size_t n)
{
	lab__malloc_count(CALL_aligned_alloc);
	size_t a = round_align(align);
	if (!a) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(a, n);
}

EXPORT void *MALLOC_FN(memalign)(size_t align, size_t n)
{
	lab__malloc_count(CALL_memalign);
	size_t a = round_align(align);
	if (!a) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(a, n);
}

EXPORT void *MALLOC_FN(valloc)(size_t n)
{
	lab__malloc_count(CALL_valloc);
	return aligned(lab_page_size(), n);
}

EXPORT void *MALLOC_FN(pvalloc)(size_t n)
{
	lab__malloc_count(CALL_pvalloc);
	size_t ps = lab_page_size();
	if (n > SIZE_MAX - ps) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned(ps, n ? (n + ps - 1) & ~(ps - 1) : ps);
}

/* ---- sizes ---------------------------------------------------------------------- */

EXPORT size_t MALLOC_FN(malloc_usable_size)(void *p)
{
	lab__malloc_count(CALL_malloc_usable_size);
	if (!p)
		return 0;
	struct lab_kmem_cache *c;
	if (lab_likely(fast_object(p, &c)))
		return c->object_size;
	lab__malloc_enter();
	struct ptr_info pi;
	lab__malloc_classify(p, &pi);
	if (pi.kind == PTR_FOREIGN)
		lab__malloc_bad_pointer("malloc_usable_size", p, pi.why);
	lab__malloc_exit();
	return pi.size;
}

/* ---- for the C++ operators (cxx.c) -------------------------------------------------- */

void *lab__malloc_new(size_t n, size_t align)
{
	lab__malloc_count(CALL_new);
	return align <= MALLOC_ALIGN ? alloc(n) : alloc_slow(n, align, false);
}

void lab__malloc_delete(void *p)
{
	lab__malloc_count(CALL_delete);
	release(p, "operator delete");
}
