/*
 * malloc.h - the malloc layer's internals, shared by the files of src/malloc/
 * (docs/MALLOC.md has the design):
 *
 *   entry.c    the exported functions (malloc, free, ... malloc_usable_size)
 *              and their inline fast paths
 *   heap.c     size classes (one slab cache each) and page blocks from the
 *              zone; the slow paths with the gfp policy; classifying a pointer
 *   grow.c     growing the zone: synchronously, and ahead of need through
 *              kswapd (a shrinker whose reclaim is growth)
 *   huge.c     OS mappings beyond the largest block (and the emergency path),
 *              tracked in a lock-free table
 *   boot.c     initialisation on first use, the bootstrap arena, the
 *              constructor and destructor
 *   fork.c     fork handlers
 *   report.c   misuse reports, notices, counters and the statistics line
 *   cxx.c      the C++ operators new and delete, defined in C
 *
 * The top layer: it includes base, os, page and slab through their headers
 * (tests/layers.sh), calls the OS only through src/os (tests/undefined.sh),
 * and reads its options from base/option.c's table (LABYRINTH_MALLOC_*).
 * Cross-file names carry the lab__malloc_ prefix.  Only entry.c and cxx.c
 * define exported symbols; the shared object exports nothing else
 * (malloc.map).
 *
 * Async-signal-safety rests on one per-thread counter, lab__malloc_depth: every
 * entry point raises it around everything but its inline fast path.  A call
 * that finds it already raised interrupted this thread inside the allocator
 * (a signal handler) or comes from the allocator itself (glibc allocating
 * while we create a thread): it is "re-entrant" and takes only paths that
 * never wait for a lock (GFP_ATOMIC, then an OS mapping).
 */
#ifndef LAB_MALLOC_MALLOC_H
#define LAB_MALLOC_MALLOC_H

#include "base/compiler.h"
#include "slab/slab.h"

#include <labyrinth.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The test library (tests/malloc) builds the same code with prefixed names,
 * so that ASan-built tests can call it beside ASan's own malloc. */
#ifdef LAB_MALLOC_TEST_NAMES
#define MALLOC_FN(name) lab__test_##name
#else
#define MALLOC_FN(name) name
#endif

#define MALLOC_ALIGN 16u                  /* what malloc guarantees (max_align_t) */
#define MALLOC_NR_CLASSES 33              /* 8 .. 8192 */
#define MALLOC_SMALL_MAX 8192u            /* largest size served by a slab cache */

/* ---- state ------------------------------------------------------------- */

enum { BOOT_NONE, BOOT_RUNNING, BOOT_READY, BOOT_FAILED };

struct lab_malloc_options {
	bool secure;       /* every allocation exclusive: zeroed, scrubbed, not dumped */
	bool stats;        /* one statistics line at exit */
};

/* Everything the fast paths read, written once by boot.c before boot is
 * BOOT_READY (release) and read after an acquire of it, or of zone. */
struct lab_malloc_heap {
	struct lab_zone *zone;                 /* NULL until ready */
	struct lab_kmem_cache *cls[MALLOC_NR_CLASSES];
	/* Each class's per-CPU arrays when its cache takes the inline fast
	 * path, else NULL: malloc's first look goes straight to them. */
	struct slab_cpu *fast[MALLOC_NR_CLASSES];
	/* The zone's geometry for free()'s first look, in this cache line:
	 * memory at base, its descriptors at pages, bytes of it in use so far
	 * (behind the zone's while another path grows it: the slow path, which
	 * asks the zone, catches up). */
	uintptr_t base;
	struct lab_page *pages;
	_Atomic uintptr_t bytes;
	unsigned int shift;
	struct lab_malloc_options opt;
};
extern struct lab_malloc_heap lab__malloc_heap;
extern _Atomic int lab__malloc_boot;

/* Nesting of allocator calls on this thread (see the top of this file). */
extern _Thread_local unsigned int lab__malloc_depth __attribute__((tls_model("initial-exec")));

static inline bool lab__malloc_enter(void)
{
	bool reentrant = lab__malloc_depth++ != 0;
	atomic_signal_fence(memory_order_seq_cst);
	return reentrant;
}

static inline void lab__malloc_exit(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	lab__malloc_depth--;
}

/* ---- size classes (heap.c) ---------------------------------------------- */

extern const uint16_t lab__malloc_class_size[MALLOC_NR_CLASSES];
extern const uint8_t lab__malloc_small_index[(1024 >> 3) + 1];

/* The class of a size of at most MALLOC_SMALL_MAX (0 counts as 1). */
static inline unsigned int lab__malloc_class_of(size_t n)
{
	if (n <= 1024)
		return lab__malloc_small_index[(n + 7) >> 3];
	/* Four classes per doubling above 1 KiB: 1280, 1536, 1792, 2048, ... */
	unsigned int lg = 63u - (unsigned int)__builtin_clzll((unsigned long long)(n - 1));
	return 21u + (lg - 10u) * 4u + (unsigned int)(((n - 1) >> (lg - 2)) & 3u);
}

/* What a pointer is, for free, realloc and malloc_usable_size. */
enum ptr_kind {
	PTR_FOREIGN,     /* none of ours: report and abort */
	PTR_SLAB,        /* an object of class cache `cache` */
	PTR_PAGES,       /* a block of pages from the zone, `size` bytes */
	PTR_MAPPING,     /* an OS mapping of ours, `size` usable bytes */
	PTR_BOOT,        /* from the bootstrap arena, `size` bytes */
};
struct ptr_info {
	enum ptr_kind kind;
	const char *why;                 /* PTR_FOREIGN: what is wrong */
	struct lab_kmem_cache *cache;    /* PTR_SLAB */
	struct lab_page *page;           /* PTR_PAGES */
	size_t size;                     /* usable bytes */
};
void lab__malloc_classify(const void *p, struct ptr_info *info);

/* heap.c: the slow paths, entered with lab__malloc_enter() done.  zero: the
 * caller wants zeroed memory.  NULL: out of memory (errno ENOMEM). */
void *lab__malloc_small(unsigned int cls, bool reentrant, bool zero);
void *lab__malloc_pages(size_t size, size_t align, bool reentrant, bool zero);
void lab__malloc_free_slab(struct lab_kmem_cache *c, void *p);
void lab__malloc_free_pages(struct lab_page *page, void *p);
/* Any size and alignment (a power of two; 0: malloc's own, 8 bytes for sizes
 * up to 8, else 16): the right path for it. */
void *lab__malloc_any(size_t size, size_t align, bool zero);
/* The class whose objects are aligned to align and hold size, or -1. */
int lab__malloc_class_for(size_t size, size_t align);
/* Are pointers of this cache handed out by malloc? */
bool lab__malloc_is_class(const struct lab_kmem_cache *c);
int lab__malloc_heap_init(struct lab_zone *zone);    /* the class caches */
size_t lab__malloc_class_align(unsigned int cls);

/* entry.c, for the C++ operators: new (align 0 or a power of two), delete. */
void *lab__malloc_new(size_t n, size_t align);
void lab__malloc_delete(void *p);

#ifdef LAB_MALLOC_TEST_NAMES
/* The test library's names for the exported functions (entry.c). */
void *lab__test_malloc(size_t n);
void *lab__test_calloc(size_t nmemb, size_t size);
void lab__test_free(void *p);
void *lab__test_realloc(void *p, size_t n);
void *lab__test_reallocarray(void *p, size_t nmemb, size_t size);
int lab__test_posix_memalign(void **memptr, size_t align, size_t n);
void *lab__test_aligned_alloc(size_t align, size_t n);
void *lab__test_memalign(size_t align, size_t n);
void *lab__test_valloc(size_t n);
void *lab__test_pvalloc(size_t n);
size_t lab__test_malloc_usable_size(void *p);
void lab__test_malloc_up(void);   /* boot.c: bring it up, start kswapd */
#endif

/* ---- growth (grow.c) ---------------------------------------------------- */

/* Bring lab__malloc_heap.bytes up to the zone's size now. */
void lab__malloc_heap_sync(void);

/* Grow the zone for a request of order that NOWAIT could not serve; true if
 * it grew (or another thread did meanwhile).  May sleep; not re-entrant. */
bool lab__malloc_grow(struct lab_zone *z, unsigned int order);
/* Let kswapd grow the zone ahead of need (a shrinker). */
int lab__malloc_grow_init(struct lab_zone *z);
/* fork.c: a fork child's zone, without the kswapd the parent had. */
void lab__malloc_zone_child(struct lab_zone *z);

/* ---- OS mappings (huge.c) ------------------------------------------------ */

int lab__malloc_huge_init(void);
/* size bytes (a whole number of pages is mapped), aligned to align (a power
 * of two); zeroed (fresh from the OS).  Async-signal-safe, never waits. */
void *lab__malloc_map(size_t size, size_t align);
/* The usable size of a mapping starting at p, 0 if p starts none of ours. */
size_t lab__malloc_mapping_size(const void *p);
/* p must start a mapping (lab__malloc_mapping_size(p) != 0). */
void lab__malloc_unmap(void *p);
/* Resize in place or move (mremap); NULL on failure (p untouched). */
void *lab__malloc_remap(void *p, size_t size);
void lab__malloc_huge_stats(uint64_t *mappings, uint64_t *bytes, uint64_t *total);

/* ---- the bootstrap arena (boot.c) ---------------------------------------- */

/* Bring the heap up if nobody has (false: not ready now, use the arena). */
bool lab__malloc_boot_up(void);
/* *fresh: the block was never handed out before (still zero). */
void *lab__malloc_boot_alloc(size_t size, size_t align, bool *fresh);
bool lab__malloc_in_boot(const void *p);
size_t lab__malloc_boot_size(const void *p);
void lab__malloc_boot_free(void *p);

/* ---- fork (fork.c) ----------------------------------------------------------- */

void lab__malloc_fork_init(void);

/* ---- reports and counters (report.c) ----------------------------------------- */

/* Calls served, one counter each, counted only with LABYRINTH_MALLOC_STATS. */
#define LAB_MALLOC_CALLS(X) X(malloc) X(free) X(calloc) X(realloc) X(reallocarray) \
	X(posix_memalign) X(aligned_alloc) X(memalign) X(valloc) X(pvalloc) \
	X(malloc_usable_size) X(new) X(delete)
enum {
#define X(n) CALL_##n,
	LAB_MALLOC_CALLS(X)
#undef X
	NR_CALLS
};
/* Events of the slow paths, always counted. */
#define LAB_MALLOC_EVENTS(X) X(reentrant) X(grow) X(kernel) X(emergency) X(huge) \
	X(boot) X(enomem)
enum {
#define X(n) EV_##n,
	LAB_MALLOC_EVENTS(X)
#undef X
	NR_EVENTS
};
extern bool lab__malloc_counting;
void lab__malloc_count_slow(unsigned int call);
static inline void lab__malloc_count(unsigned int call)
{
	if (lab_unlikely(lab__malloc_counting))
		lab__malloc_count_slow(call);
}
void lab__malloc_event(unsigned int ev);
int lab__malloc_counters_init(void);
void lab__malloc_print_stats(void);

/* "BUG labyrinth-malloc: fn(p): invalid pointer: what" with the stack, then
 * abort(): formatted on the stack, written with write(2). */
__attribute__((noreturn)) void lab__malloc_bad_pointer(const char *fn, const void *p,
						       const char *what);
/* A one-line notice on stderr, "labyrinth-malloc: " and fmt (base/fmt.h's
 * subset): no stdio, no allocation. */
void lab__malloc_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LAB_MALLOC_MALLOC_H */
