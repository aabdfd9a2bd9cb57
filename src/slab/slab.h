/*
 * slab.h - the slab layer's internals: caches, slabs, per-CPU object arrays,
 * shared by the files of src/slab/ (see docs/SLAB.md for the design):
 *
 *   cache.c    creation, destruction, the cache list, statistics,
 *              shrinking and the shrinker
 *   slabs.c    slab pages, their free lists and lists, the cache lock and
 *              the lock-free deferred stacks
 *   percpu.c   per-CPU object arrays, the allocation and free paths, bulk
 *   kmalloc.c  size classes, the default zones, kmalloc/kfree/krealloc/ksize
 *   debug.c    red zones, poisoning, user tracking, tracing, failslab hook,
 *              the "BUG <cache>:" reports, LABYRINTH_SLAB_DEBUG
 *   sheaf.c    sheaves
 *   slabinfo.c lab_slabinfo(), the layer's one FILE* function
 *
 * Cross-file functions carry the lab__slab_ prefix.  Below it the slab layer
 * uses base (compiler.h, fmt.h), os (os.h, rseq_list.h: the per-CPU
 * sequences, printk.h, stack.h, thread.h, env.h, cpu.h) and page (the public
 * API, plus the descriptor's private words and PG_slab in page/page.h,
 * lab__zone_addr_to_page() in page/zone.h, gfp.h, atomic.h, pcp.h's modes),
 * and the hook headers of debug (poison.h: the sanitizer marks; fault.h:
 * failslab) and secure (hooks.h: the zone's write window and wipe).
 */
#ifndef LAB_SLAB_INTERNAL_H
#define LAB_SLAB_INTERNAL_H

#include "base/compiler.h"
#include "base/option.h"
#include "os/os.h"
#include "os/rseq_list.h"
#include "page/atomic.h"
#include "page/gfp.h"
#include "page/page.h"
#include "page/zone.h"
#include "debug/fault.h"

#include <labyrinth/slab.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- a slab ------------------------------------------------------------ */

#define SLAB_MAGIC 0x51ab0b1eu

enum { SLAB_PARTIAL, SLAB_FULL, SLAB_EMPTY, SLAB_DETACHED, SLAB_NR_LISTS };

/*
 * A slab: a block of 2^order pages of the cache's zone, aligned to its size,
 * cut into nr_objects slots.  Every page's descriptor has PG_slab and, as its
 * private word, the cache's per-CPU arrays (c->cpu, from which c is a fixed
 * distance away): a free goes from the object's descriptor straight to the
 * array it pushes on.  The header is at the start of the block (on-slab), or
 * for large objects an object of the header cache (off-slab) whose address
 * is the first tail page's private2 (such slabs have order >= 1).
 * Under the cache lock:
 *     inuse + (free objects on freelist) + (nr_objects - fresh) == nr_objects
 * where inuse counts objects handed out, on per-CPU arrays, in sheaves,
 * deferred or leaked.  A DETACHED slab was made by a caller that could not
 * take the lock; it is on the deferred stack until the next lock holder
 * puts it on a list.
 */
struct slab {
	struct lab_kmem_cache *cache;
	char *objects;              /* slot 0 */
	void *freelist;             /* free slots' objects, linked at the cache's fp_offset */
	union {
		/* The cache's list (next: the deferred stack when detached). */
		struct {
			struct slab *next, *prev;
		};
		/* TYPESAFE_BY_RCU: on its way back to the zone, after a grace
		 * period (on no list then). */
		struct lab_rcu_head rcu;
	};
	struct lab_page *page;      /* head descriptor */
	uint32_t magic;
	uint16_t nr_objects;
	uint16_t inuse;
	uint16_t fresh;             /* slots from here on were never handed out */
	uint16_t cpu_index;         /* the set whose refill last took objects (remote frees) */
	uint8_t list;               /* SLAB_PARTIAL ... */
	uint8_t order;
	uint8_t off_slab;           /* the header is an object of the header cache */
	uint8_t spare;
};
#define SLAB_HEADER_SIZE 64
static_assert(sizeof(struct slab) <= SLAB_HEADER_SIZE, "a slab header fits a cache line");

/* ---- per-CPU object arrays -------------------------------------------- */

/* One per CPU: the rseq_list.h layout (lock word first), a cache line.  The
 * list counts its pops: allocations served from this array. */
struct slab_cpu {
	_Atomic uint32_t lock;      /* a drainer (rseq) or any user (lock mode) */
	uint32_t spare;
	struct rseq_clist list;     /* free objects of the cache */
} __attribute__((aligned(64)));
#define SLAB_CPU_STRIDE RSEQ_CLIST_STRIDE
static_assert(sizeof(struct slab_cpu) == SLAB_CPU_STRIDE, "one cache line per CPU");
#define SLAB_LIST_OFF offsetof(struct slab_cpu, list)

/* ---- a cache ------------------------------------------------------------ */

/* The cache lock: the owner's thread token, so that a signal handler that
 * interrupted the holder sees it and takes another path. */
struct slab_lock {
	_Atomic uintptr_t owner;
};

/* c->debug: what the general paths do beyond moving pointers. */
enum {
	SLAB_DEBUG_CHECKS  = 1u << 0,  /* F */
	SLAB_DEBUG_REDZONE = 1u << 1,  /* Z */
	SLAB_DEBUG_POISON  = 1u << 2,  /* P (not with a ctor) */
	SLAB_DEBUG_USER    = 1u << 3,  /* U */
	SLAB_DEBUG_TRACE   = 1u << 4,  /* T */
	SLAB_DEBUG_STATE   = 1u << 5,  /* any of the above: a state word per object */
};

/* Counters of the slow paths (the fast path's are per CPU). */
struct slab_counters {
	_Atomic uint64_t slow_allocs;  /* objects handed out without a per-CPU array pop */
	_Atomic uint64_t slow_frees;   /* objects freed without a per-CPU array push */
	_Atomic uint64_t refills, refill_objs;
	_Atomic uint64_t drains, drain_objs;
	_Atomic uint64_t remote_frees, alloc_fail, fail_injected, errors;
	_Atomic uint64_t deferred_frees, detached_slabs;
};

struct lab_kmem_cache {
	/* What the inline fast paths read, first: one cache line. */
	struct slab_cpu *cpu;       /* nr_cpu sets of SLAB_CPU_STRIDE bytes, right after this */
	uint8_t fast;               /* the inline fast path serves this cache: SLAB_FAST_* */
	uint8_t page_shift;
	uint16_t spare_hot;
	uint32_t zero_bytes;        /* SLAB_FAST_EXCLUSIVE: bytes zeroed on alloc and free */
	uintptr_t zone_base;        /* the zone's memory and descriptors, fixed */
	struct lab_page *zone_pages;
	const _Atomic size_t *zone_managed;  /* grows with the zone */
	size_t size;                /* bytes per slot */
	uint32_t recip;             /* 2^32 / size rounded up: the slot of an offset */
	uint32_t slab_mask;         /* bytes of a slab - 1: slabs are aligned to their size */
	uint32_t first_offset;      /* slot 0's object from the start of its block */
	uint32_t span;              /* nr_objects * size */

	char name[32];
	struct lab_zone *zone;
	unsigned int flags;         /* LAB_SLAB_* asked for, plus LABYRINTH_SLAB_DEBUG's */
	unsigned int debug;         /* SLAB_DEBUG_* */
	bool exclusive;             /* zero on hand-out, scrub on free */
	bool sanitize;              /* mark free objects for ASan / Valgrind */
	bool failslab;              /* LAB_SLAB_FAILSLAB */
	_Atomic bool dead;          /* destroyed with objects left */
	bool kmalloc;               /* a kmalloc size class */
	bool rcu;                   /* TYPESAFE_BY_RCU: slabs go back after a grace period */
	void (*ctor)(void *obj);
	/* TYPESAFE_BY_RCU: the grace period, and 1 (the cache) + the slabs
	 * waiting for it; whoever drops the last gives the metadata back. */
	void (*rcu_defer)(struct lab_rcu_head *head, void (*fn)(struct lab_rcu_head *head));
	_Atomic uint32_t rcu_refs;

	/* Geometry.  A slot is [red_left][object][right red zone][fp][state][tracks]. */
	size_t object_size;         /* bytes asked for */
	size_t red_left;            /* bytes before the object in its slot */
	size_t align;
	size_t fp_offset;           /* the free pointer's offset from the object */
	size_t state_offset;        /* debug: the state word's offset from the object */
	size_t track_offset;        /* U: the two tracks' offset from the object */
	size_t inuse_end;           /* end of object + right red zone, from the object */
	unsigned int order;         /* of every slab */
	unsigned int nr_objects;    /* slots per slab */
	size_t slab_bytes;
	size_t objects_offset;      /* slot 0's offset in an on-slab block */
	bool off_slab;              /* headers in the header cache */

	/* Per-CPU arrays. */
	int cpu_mode;               /* LAB_PCP_RSEQ, _LOCK or _OFF */
	unsigned int nr_cpu;
	uint32_t batch, high;

	/* Slabs, under the lock. */
	struct slab_lock lock;
	struct slab *lists[SLAB_NR_LISTS - 1];  /* partial, full, empty (heads) */
	size_t nr_list[SLAB_NR_LISTS - 1];
	size_t nr_slabs, nr_pages;
	size_t nr_free;             /* free objects in slabs (freelists and fresh slots) */
	size_t min_empty;           /* empty slabs kept before giving them back */
	_Atomic size_t nr_leaked;   /* objects never to be reused after a report */

	/* Lock-free stacks for callers that cannot take the lock (a signal
	 * handler that interrupted the holder, or a long-held lock). */
	_Atomic(void *) deferred_objs;      /* objects to free, linked at fp_offset */
	_Atomic(struct slab *) deferred_slabs; /* detached slabs, linked by next */
	_Atomic size_t nr_deferred;         /* objects on deferred_objs */

	struct slab_counters stat;
	struct lab_shrinker shrinker;
	bool shrinker_registered;

	/* The cache list (cache.c) and where this structure lives. */
	struct lab_kmem_cache *next_cache;
	struct lab_page *meta_page;
	unsigned int meta_order;
};

/* ---- cross-file internals ----------------------------------------------- */

/* slabs.c: the lock.  may_sleep: spin then yield until taken; otherwise a
 * bounded spin.  False when this thread holds it (a signal handler that
 * interrupted the holder) or, for a caller that may not sleep, after the
 * spin. */
bool lab__slab_lock(struct lab_kmem_cache *c, bool may_sleep);
void lab__slab_unlock(struct lab_kmem_cache *c);

/* slabs.c: objects out of slabs and back.  take: up to want objects into
 * buf, from the slabs or a new slab made with gfp; returns how many (0: none
 * to be had, errno set).  put: objects back to their slabs (or deferred).
 * cpu: the set they were on (remote frees), -1 when unknown. */
unsigned int lab__slab_take(struct lab_kmem_cache *c, lab_gfp_t gfp, void **buf,
			    unsigned int want, int cpu);
void lab__slab_put(struct lab_kmem_cache *c, void *const *objs, unsigned int n, int cpu);
/* Under the lock: drain the deferred stacks; give back empty slabs beyond
 * keep, at most max_pages (returns pages; called with the lock, returns
 * without it); release every slab (destroy, lock held). */
void lab__slab_drain_deferred(struct lab_kmem_cache *c);
size_t lab__slab_release_empty(struct lab_kmem_cache *c, size_t keep, size_t max_pages);
void lab__slab_release_all(struct lab_kmem_cache *c);
/* Drop a reference to a TYPESAFE_BY_RCU cache's metadata (cache.c): the last
 * one (destroyed, no slab waiting) gives it back.  Never sleeps. */
void lab__slab_rcu_put(struct lab_kmem_cache *c);
/* The slab of c that obj's address lies in, NULL if none. */
struct slab *lab__slab_of(const struct lab_kmem_cache *c, const void *obj);
/* Under the lock: fn for every object of every slab that is not free in it. */
void lab__slab_for_each_allocated(struct lab_kmem_cache *c,
				  void (*fn)(void *arg, struct slab *s, void *obj), void *arg);
/* Mark an object given up for good after a report (never reused). */
void lab__slab_leak(struct lab_kmem_cache *c, void *obj);
/* The header cache (off-slab headers); made with the default zone. */
extern struct lab_kmem_cache *lab__slab_header_cache;

/* percpu.c */
void *lab__slab_alloc(struct lab_kmem_cache *c, lab_gfp_t gfp);  /* the general path */
void lab__slab_free(struct lab_kmem_cache *c, void *obj);        /* checks everything */
void lab__slab_double_free(struct lab_kmem_cache *c, void *obj);
/* The fast free of an exclusive cache (SLAB_FAST_EXCLUSIVE), out of line:
 * scrub, then push on cpu, the arrays obj's descriptor named. */
void lab__slab_free_exclusive(struct lab_kmem_cache *c, struct slab_cpu *cpu, void *obj);
int lab__slab_cpu_setup(struct lab_kmem_cache *c, void *mem);    /* arrays at mem */
void lab__slab_flush_all(struct lab_kmem_cache *c);              /* every CPU's array; may sleep */
size_t lab__slab_cpu_cached(const struct lab_kmem_cache *c);
void lab__slab_cpu_counts(const struct lab_kmem_cache *c, uint64_t *hits);

/* cache.c.  internal: SLAB_INTERNAL_* */
enum { SLAB_INTERNAL_KMALLOC = 1u << 0, SLAB_INTERNAL_ON_SLAB = 1u << 1 };
struct lab_kmem_cache *lab__slab_create(struct lab_zone *zone, const char *name, size_t size,
					size_t align, unsigned int flags, void (*ctor)(void *),
					unsigned int internal);
/* Make the header cache if it is not made yet; false (errno) if it cannot be. */
bool lab__slab_header_init(void);
/* fn for every cache, under the cache list's mutex.  May sleep. */
void lab__slab_for_each_cache(void (*fn)(struct lab_kmem_cache *c, void *arg), void *arg);

/* kmalloc.c: run fn once per process, from any thread or signal handler.
 * state: 0 idle, 1 running, 2 done.  A caller that finds its own thread
 * running it (a signal handler that interrupted it) gets false (EAGAIN)
 * instead of waiting for itself; others wait; a failure leaves it idle for
 * a retry.  True once fn has succeeded. */
struct lab__slab_once {
	_Atomic int state;
	_Atomic uintptr_t who;
};
bool lab__slab_run_once(struct lab__slab_once *o, bool (*fn)(void));
/* kmalloc.c: the zone cache metadata lives in (made on first use); the
 * cache whose slab obj's address lies in, in any zone (NULL: none). */
struct lab_zone *lab__slab_meta_zone(void);
struct lab_kmem_cache *lab__slab_cache_of(const void *obj);
/* kmalloc.c, for the malloc layer: before the default zone is first used,
 * make it from option var (instead of LABYRINTH_ZONE) over these defaults
 * (pages; max_pages, 0: the machine's memory; LAB_ZONE_* flags); with
 * start_later the maker calls lab__zone_start() on it itself (kswapd's
 * thread and the unwinder's load wait until it can afford them).  Not
 * thread-safe: once, before anything uses the default zone. */
void lab__slab_default_zone_setup(enum lab__option_id var, size_t pages, size_t max_pages,
				  unsigned int flags, bool start_later);
/* kmalloc.c: the plain kmalloc cache of objects of exactly size bytes (made
 * with the default zone), NULL for any other size or before it is made. */
struct lab_kmem_cache *lab__slab_kmalloc_cache(size_t size);

/* debug.c */
size_t lab__slab_track_size(void);                                       /* U: per track */
unsigned int lab__slab_debug_flags(const char *name, unsigned int flags); /* LABYRINTH_SLAB_DEBUG */
void lab__slab_debug_new_object(struct lab_kmem_cache *c, void *obj);   /* slab made */
bool lab__slab_debug_alloc(struct lab_kmem_cache *c, void *obj);        /* false: leaked */
bool lab__slab_debug_free(struct lab_kmem_cache *c, struct slab *s, void *obj); /* false: refused */
void lab__slab_report(const struct lab_kmem_cache *c, const void *obj, const struct slab *s,
		      const char *what, const char *fix);
void lab__slab_report_pointer(const char *who, const void *ptr, const char *what);
void lab__slab_mark_free(const struct lab_kmem_cache *c, void *obj);
void lab__slab_mark_used(const struct lab_kmem_cache *c, void *obj);
bool lab__slab_fail(struct lab_kmem_cache *c, lab_gfp_t gfp);          /* failslab */
void lab__slab_report_leaks(struct lab_kmem_cache *c);                   /* destroy */

/* ---- object helpers ----------------------------------------------------- */

/* The per-CPU sets are right after the cache structure, in the same block
 * of metadata (cache.c): each leads to the other without a load. */
#define SLAB_META_HEAD ((sizeof(struct lab_kmem_cache) + SLAB_CPU_STRIDE - 1) & \
			~(size_t)(SLAB_CPU_STRIDE - 1))

static inline struct lab_kmem_cache *cache_of_cpu(const void *cpu)
{
	return (struct lab_kmem_cache *)((char *)(uintptr_t)cpu - SLAB_META_HEAD);
}

static inline void *slab_obj(const struct lab_kmem_cache *c, const struct slab *s,
			     unsigned int i)
{
	return s->objects + c->red_left + (size_t)i * c->size;
}

/* The index of obj in its slab (a block of c's), or -1 if obj is not the
 * start of an object.  From the cache's first line alone: slabs are aligned
 * to their size.  recip makes it a multiply, exact for multiples of size
 * (docs/SLAB.md). */
static inline long slab_index(const struct lab_kmem_cache *c, const void *obj)
{
	uintptr_t start = (uintptr_t)obj & ~(uintptr_t)c->slab_mask;
	uintptr_t off = (uintptr_t)obj - start - c->first_offset;
	if (off >= c->span)
		return -1;
	uint64_t idx = ((uint64_t)off * c->recip) >> 32;
	return idx * c->size == off ? (long)idx : -1;
}

/* Raw access to a free object's link word: free objects are poisoned for
 * ASan (and Valgrind: the caller unmarks around it, see slabs.c). */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_NO_ASAN __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef SLAB_NO_ASAN
#define SLAB_NO_ASAN
#endif

SLAB_NO_ASAN static inline void *slab_get_link(const struct lab_kmem_cache *c, const void *obj)
{
	return *(void *const *)((const char *)obj + c->fp_offset);
}

SLAB_NO_ASAN static inline void slab_set_link(const struct lab_kmem_cache *c, void *obj,
					      void *next)
{
	*(void **)((char *)obj + c->fp_offset) = next;
}

/* ---- the inline fast paths -------------------------------------------- */

/* c->fast: no (0), plain, or exclusive on a zone without a protection key
 * (zeroing and scrubbing inline, no write window needed). */
enum { SLAB_FAST_PLAIN = 1, SLAB_FAST_EXCLUSIVE = 2 };

/* gfp bits the fast path honours as they are (the page fast path's, from
 * page/gfp.h); any other takes the general path. */
#define SLAB_FAST_GFP LAB_GFP_FAST_MASK

static inline bool failslab_armed(void)
{
	return atomic_load_explicit(&lab__failslab_armed, memory_order_relaxed) != 0;
}

/* Zero an exclusive object: small ones with word stores (objects are
 * word-aligned, zero_bytes a multiple of a word), others with memset. */
static inline void *zero_object(void *obj, uint32_t bytes)
{
	if (bytes > 256)
		return memset(obj, 0, bytes);
	uint64_t *w = obj;
	for (uint32_t i = 0; i < bytes / 8; i++)
		w[i] = 0;
	return obj;
}

/* Pop this CPU's array (cpu: c's arrays) in a restartable sequence.  NULL:
 * take the general path.  A caller that knows the arrays before the cache
 * saves the load of c->cpu from the pop's address. */
static inline void *slab_alloc_fast_on(struct lab_kmem_cache *c, struct slab_cpu *cpu,
					lab_gfp_t gfp)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	/* With the might_sleep check on, a caller that may sleep goes the
	 * general way, which makes it: no call here, so no stack frame. */
	if (lab_likely(c->fast == SLAB_FAST_PLAIN && !(gfp & ~SLAB_FAST_GFP) && !failslab_armed() &&
		   !(lab__gfp_may_sleep(gfp) && lab__sleep_check))) {
		struct lab__os_rseq *rs = rseq_known();
		if (lab_likely(rs))
			return rseq_clist_pop_fast(rs, cpu, SLAB_LIST_OFF);
	}
#endif
	(void)c;
	(void)cpu;
	(void)gfp;
	return NULL;
}

/* The same with c's arrays, where the caller has c. */
static inline void *slab_alloc_fast(struct lab_kmem_cache *c, lab_gfp_t gfp)
{
	return slab_alloc_fast_on(c, c->cpu, gfp);
}

/* The per-CPU arrays that the descriptor of obj's page names if obj lies in
 * a slab page of c's zone (not yet checked to be c's), else NULL. */
static inline struct slab_cpu *slab_lookup(const struct lab_kmem_cache *c, const void *obj)
{
	uintptr_t off = (uintptr_t)obj - c->zone_base;
	if (lab_unlikely(off >= atomic_load_explicit(c->zone_managed, memory_order_relaxed)
				<< c->page_shift))
		return NULL;
	struct lab_page *page = c->zone_pages + (off >> c->page_shift);
	if (lab_unlikely(!(page_flags(page) & PG_slab)))
		return NULL;
	return page->private;
}

/*
 * Free obj, whose page's descriptor named cpu, the arrays of c: the always-on
 * checks (an object of this cache, at an object's start), then the push,
 * which also refuses the object freed last on this CPU (a double free).  The
 * push's address comes from the descriptor, not from loads that depend on
 * it.  Anything unusual takes the general path, which checks again and
 * reports.
 */
static inline void slab_free_fast(struct lab_kmem_cache *c, struct slab_cpu *cpu, void *obj)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	/* Every other case is a call in tail position: no stack frame here. */
	if (c->fast == SLAB_FAST_EXCLUSIVE)
		return lab__slab_free_exclusive(c, cpu, obj);
	if (lab_likely(c->fast == SLAB_FAST_PLAIN && slab_index(c, obj) >= 0)) {
		struct lab__os_rseq *rs = rseq_known();
		if (lab_likely(rs)) {
			int st = rseq_clist_push_unique(rs, cpu, SLAB_LIST_OFF, obj);
			if (lab_likely(st == RSEQ_LIST_OK))
				return;
			if (st == RSEQ_LIST_DUP)
				return lab__slab_double_free(c, obj);
		}
	}
#endif
	(void)cpu;
	return lab__slab_free(c, obj);
}

#endif /* LAB_SLAB_INTERNAL_H */
