/*
 * labyrinth/slab.h - object caches and kmalloc on top of Labyrinth's zones,
 * under the same GFP contract as pages: the kernel's kmem_cache and kmalloc.
 *
 * A cache hands out objects of one size from slabs (blocks of pages of its
 * zone).  Each CPU keeps an array of free objects, refilled from and drained
 * to the slabs in batches (magazines over a depot, as Bonwick and Adams's,
 * or the kernel's sheaves); on x86-64 with rseq an allocation or free there is
 * a restartable sequence.  Slabs come from the zone with the caller's gfp, so
 * watermarks, reserves, kswapd, direct reclaim, NOFAIL and fault injection act
 * as for pages; empty slabs go back through a shrinker and lab_kmem_cache_shrink().
 *
 * Every function is thread-safe.  An allocation without LAB_GFP_DIRECT_RECLAIM
 * (LAB_GFP_ATOMIC, LAB_GFP_NOWAIT) and every free never sleep, never make a
 * system call but one futex wake of kswapd, never page-fault and are
 * async-signal-safe, from any thread, including a signal handler that
 * interrupted the same thread inside the library; they fail only when the
 * zone cannot give a page under the caller's watermark (see docs/SLAB.md).
 * The first use of the default zone (lab_default_zone(), the first
 * lab_kmalloc()) creates it and its kmalloc caches and may sleep: make it
 * early if a signal handler may be first.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_SLAB_H
#define LABYRINTH_SLAB_H

#include <labyrinth/types.h>
#include <labyrinth/gfp.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lab_kmem_cache;
struct lab_slab_sheaf;

/* ---------------------------------------------------------------------- */
/* Cache flags.                                                            */
/* ---------------------------------------------------------------------- */
/* Align objects to a cache line (halved while the object fits twice). */
#define LAB_SLAB_HWCACHE_ALIGN       0x0001u
/* Debugging "Z": red zones around each object, checked on alloc and free. */
#define LAB_SLAB_RED_ZONE            0x0002u
/* Debugging "P": free objects filled with 0x6b (last byte 0xa5), checked when
 * handed out again (not for caches with a constructor). */
#define LAB_SLAB_POISON              0x0004u
/* Debugging "U": remember who last allocated and freed each object (stacks). */
#define LAB_SLAB_STORE_USER          0x0008u
/* Objects on exclusive memory (the default exclusive zone when zone is NULL):
 * zeroed on hand-out, scrubbed on free; see "Exclusive objects" below. */
#define LAB_SLAB_EXCLUSIVE           0x0010u
/* A failed lab_kmem_cache_create() reports and aborts. */
#define LAB_SLAB_PANIC               0x0020u
/* Debugging "F": sanity checks of slabs, free lists and object states. */
#define LAB_SLAB_CONSISTENCY_CHECKS  0x0040u
/* Debugging "T": print every allocation and free of the cache, with a stack. */
#define LAB_SLAB_TRACE               0x0080u
/* Debugging "A": failslab may fail this cache when its cache_filter is on. */
#define LAB_SLAB_FAILSLAB            0x0100u
/*
 * The kernel's SLAB_TYPESAFE_BY_RCU: a freed object may be handed out again
 * at once, but only as an object of this cache, and the memory of a slab
 * goes back to the zone only after a grace period (lab_slab_set_grace_period
 * below): a reader that found an object under its own read-side protection
 * may still read it after a free, and must check that it is the object it
 * wanted.  The free pointer lives outside the object, which is never
 * poisoned (P is left out) nor marked unaddressable for ASan while its slab
 * lives.  Needs a grace period function registered before the cache is
 * made; not with LAB_SLAB_EXCLUSIVE (whose scrub on free would change what a
 * reader sees).
 */
#define LAB_SLAB_TYPESAFE_BY_RCU     0x0200u
#define LAB_SLAB_ALL_FLAGS           0x03ffu

/* ---------------------------------------------------------------------- */
/* Caches.                                                                 */
/* ---------------------------------------------------------------------- */
/*
 * A cache of objects of `size` bytes aligned to `align` (0: 8; a power of
 * two up to a page otherwise) on `zone` (NULL: the default zone, or the
 * default exclusive zone with LAB_SLAB_EXCLUSIVE).  `name` (copied, up to 31
 * bytes) shows in reports and lab_slabinfo().  `ctor`, if not NULL, runs once
 * on each object when its slab is made, outside any lock; objects must be
 * freed in their constructed state.  Debugging flags can also come from the
 * environment (LABYRINTH_SLAB_DEBUG, docs/SLAB.md).  The cache's metadata
 * (this structure, its per-CPU arrays, off-slab slab headers) lives in the
 * default zone.  Returns NULL with errno EINVAL (size 0 or too large, a bad
 * align, unknown flags, a NULL name, a constructor with LAB_SLAB_EXCLUSIVE,
 * whose zeroing would undo it, LAB_SLAB_TYPESAFE_BY_RCU with EXCLUSIVE or
 * without a grace period function) or ENOMEM.  May sleep.
 */
LAB_API struct lab_kmem_cache *lab_kmem_cache_create(struct lab_zone *zone, const char *name,
						     size_t size, size_t align, unsigned int flags,
						     void (*ctor)(void *obj));
/*
 * Destroy a cache: its per-CPU arrays and empty slabs go back to the zone.  If
 * objects are still allocated, each is named in a "BUG <cache>: Objects
 * remaining" report and the cache stays (leaked, as the kernel leaves it), so
 * that those objects stay valid and may still be freed.  NULL is a no-op.
 * May sleep.
 */
LAB_API void lab_kmem_cache_destroy(struct lab_kmem_cache *cache);
LAB_API const char *lab_kmem_cache_name(const struct lab_kmem_cache *cache);

/*
 * What LAB_SLAB_TYPESAFE_BY_RCU caches wait on before a slab's pages go back
 * to the zone: the caller's grace period.  defer(head, fn) must call
 * fn(head) once every reader that may have seen the slab's objects is done,
 * as the kernel's call_rcu(); fn frees the pages (it never sleeps and is
 * async-signal-safe, so defer may run it from any context).  The head is
 * kept per slab, in its header; it has the layout of the kernel's struct
 * rcu_head (callback_head: next, then func), so that a layer with its own
 * call_rcu() may take it as its own.  A cache takes the function registered
 * when it is made (NULL: no cache with the flag can be made); lab_kmem_cache_
 * destroy() of such a cache does not wait for its callbacks: the last of
 * them gives the cache's own memory back.  Thread-safe; O(1).
 */
struct lab_rcu_head {
	struct lab_rcu_head *next;
	void (*func)(struct lab_rcu_head *head);
};
LAB_API void lab_slab_set_grace_period(void (*defer)(struct lab_rcu_head *head,
						     void (*fn)(struct lab_rcu_head *head)));

/*
 * An object, or NULL with errno ENOMEM (the zone could not give a slab under
 * gfp's rules, or fault injection) or EINVAL (NULL cache, unknown gfp bits,
 * NOFAIL without DIRECT_RECLAIM, LAB_GFP_ZERO on a cache with a constructor,
 * LAB_GFP_EXCLUSIVE on a cache that is not exclusive).  LAB_GFP_ZERO zeroes
 * the object.  Sleeps only with LAB_GFP_DIRECT_RECLAIM; NOFAIL waits for a
 * free object or page and never returns NULL.  O(1) from the per-CPU array;
 * O(batch) when it refills.
 */
LAB_API void *lab_kmem_cache_alloc(struct lab_kmem_cache *cache, lab_gfp_t gfp);
/*
 * Free an object of this cache.  NULL is a no-op.  A pointer that no cache
 * handed out, an object of another cache or a pointer into the middle of an
 * object is caught always: "BUG <cache>: ..." and nothing is freed.  Double
 * frees, red-zone overwrites and writes after free are caught by the
 * debugging flags (docs/SLAB.md).  Never sleeps; async-signal-safe; O(1),
 * O(batch) when the array drains.
 */
LAB_API void lab_kmem_cache_free(struct lab_kmem_cache *cache, void *obj);
/* nr objects into objs, all or nothing: returns nr, or 0 with nothing taken
 * (errno as lab_kmem_cache_alloc).  O(nr). */
LAB_API size_t lab_kmem_cache_alloc_bulk(struct lab_kmem_cache *cache, lab_gfp_t gfp, size_t nr,
					 void **objs);
LAB_API void lab_kmem_cache_free_bulk(struct lab_kmem_cache *cache, size_t nr, void **objs);
/*
 * Give the cache's free objects back to its slabs (every CPU's array) and its
 * empty slabs back to the zone.  NULL: every kmalloc cache, then the
 * library's own cache of slab headers (slabs of large objects keep their
 * header there), so that nothing of the kmalloc caches stays.  Returns the
 * number of pages given back, or -EINVAL.  May sleep; O(CPUs x array + slabs).
 */
LAB_API int lab_kmem_cache_shrink(struct lab_kmem_cache *cache);

/* Sizes in bytes; counters since creation.  Objects in a sheaf, or leaked by
 * a misuse report, count as active. */
struct lab_kmem_cache_stats {
	size_t size;           /* bytes per object slot (object, alignment, debug data) */
	size_t object_size;    /* bytes asked for */
	size_t active_objs;    /* objects handed out and not yet freed */
	size_t total_objs;     /* object slots in the cache's slabs */
	size_t slabs;
	size_t pages;          /* pages the cache's slabs hold */
	uint64_t allocs;       /* objects handed out */
	uint64_t frees;        /* objects freed */
	uint64_t cpu_hits;     /* allocations served from a per-CPU array */
	uint64_t refills;      /* batches moved from slabs to a per-CPU array */
	uint64_t remote_frees; /* objects drained to a slab by another CPU than took them */
	uint64_t alloc_fail;   /* NULL returned for lack of memory (fault injection included) */
	/* beyond the list */
	size_t objs_per_slab;
	unsigned int order;    /* of each slab */
	size_t cpu_cached;     /* free objects on the per-CPU arrays now */
	uint64_t drains;       /* batches moved from a per-CPU array back to slabs */
	uint64_t fail_injected;/* ... of alloc_fail, by failslab */
	uint64_t errors;       /* misuse and corruption reports */
	size_t leaked;         /* objects never to be reused after a report */
	/* callers that could not take the cache lock (a signal handler that
	 * interrupted its holder, or a long-held lock) and went around it */
	uint64_t deferred_frees; /* objects freed onto the lock-free stack */
	uint64_t detached_slabs; /* slabs made and used without the lock */
	/* what /proc/slabinfo shows besides */
	uint32_t cpu_limit;    /* objects each CPU's array holds at most */
	uint32_t cpu_batch;    /* objects moved per refill or drain */
	size_t empty_slabs;    /* slabs with no object in use (kept for reuse) */
};
/* A snapshot; takes the cache lock briefly.  May sleep (spins). */
LAB_API void lab_kmem_cache_get_stats(const struct lab_kmem_cache *cache,
				      struct lab_kmem_cache_stats *out);
/* Every cache, in the format of /proc/slabinfo (version 2.1; "tunables"
 * shows the per-CPU array's capacity and batch).  Uses stdio; may sleep. */
LAB_API void lab_slabinfo(FILE *out);

/*
 * The caches of another process, from its live export (lab_stats_export_
 * enable() or LABYRINTH_EXPORT=1; `labyrinth stat` and `labyrinth top` show
 * them): the caches' section of /dev/shm/labyrinth.<pid>, refreshed with the
 * zones, newest cache first.  As lab_stats_read_export() (<labyrinth/
 * stats.h>): 0, -ENOENT (no export), -ESRCH (process gone), -EPROTO
 * (another format version of the section, or an export without it: a
 * Labyrinth before the slab layer), -EINVAL; stats_size is sizeof(struct
 * lab_kmem_cache_stats) as the caller was built (the macro passes it), so
 * that an exporter built with more or fewer (appended) fields reads all the
 * same, the missing ones zero.  Thread-safe; O(caches).
 */
#define LAB_EXPORT_MAX_CACHES 256
struct lab_slab_snapshot {
	int pid;
	uint64_t taken_ns;      /* CLOCK_MONOTONIC of the copy */
	unsigned int nr_caches;
	struct {
		char name[32];
		struct lab_kmem_cache_stats st;
	} caches[LAB_EXPORT_MAX_CACHES];
};
LAB_API int lab_slab_read_export2(int pid, struct lab_slab_snapshot *out, size_t stats_size);
#define lab_slab_read_export(pid, out) \
	lab_slab_read_export2((pid), (out), sizeof((out)->caches[0].st))
/* A snapshot's caches in the format of lab_slabinfo().  Uses stdio. */
LAB_API void lab_slabinfo_print(const struct lab_slab_snapshot *snap, FILE *out);

/* ---------------------------------------------------------------------- */
/* Sheaves: a reserve filled before a section that must not fail.          */
/* ---------------------------------------------------------------------- */
/*
 * Take `size` objects from the cache (all or nothing: NULL, errno as
 * lab_kmem_cache_alloc) into a sheaf, as the kernel's
 * kmem_cache_prefill_sheaf().  The sheaf itself comes from kmalloc with gfp.
 * Sleeps only with LAB_GFP_DIRECT_RECLAIM.  O(size).
 */
LAB_API struct lab_slab_sheaf *lab_kmem_cache_prefill_sheaf(struct lab_kmem_cache *cache,
							    lab_gfp_t gfp, unsigned int size);
/*
 * An object from the sheaf.  Never fails while the sheaf holds objects; NULL
 * (ENOMEM) once it is empty.  gfp may carry LAB_GFP_ZERO (not for caches with
 * a constructor: EINVAL); no other bit matters.  Never sleeps, no system call,
 * async-signal-safe (the sheaf is the caller's: one user at a time); O(1).
 */
LAB_API void *lab_kmem_cache_alloc_from_sheaf(struct lab_kmem_cache *cache, lab_gfp_t gfp,
					      struct lab_slab_sheaf *sheaf);
/* Objects left in the sheaf. */
LAB_API unsigned int lab_kmem_cache_sheaf_size(const struct lab_slab_sheaf *sheaf);
/* Give the sheaf's remaining objects back and free the sheaf.  Never sleeps. */
LAB_API void lab_kmem_cache_return_sheaf(struct lab_kmem_cache *cache, lab_gfp_t gfp,
					 struct lab_slab_sheaf *sheaf);

/* ---------------------------------------------------------------------- */
/* kmalloc.                                                                */
/* ---------------------------------------------------------------------- */
/* Largest size served by the size classes; beyond, whole pages. */
#define LAB_KMALLOC_MAX_CACHE_SIZE 8192u
/* What lab_kmalloc(0) returns: not NULL, not memory (touching it faults);
 * lab_kfree() ignores it and lab_ksize() says 0, as the kernel's ZERO_SIZE_PTR. */
#define LAB_ZERO_SIZE_PTR ((void *)16)
#define LAB_ZERO_OR_NULL_PTR(x) ((uintptr_t)(x) <= (uintptr_t)LAB_ZERO_SIZE_PTR)

/*
 * size bytes from the default zone: size classes 8, 16, 32, 64, 96, 128, 192,
 * 256, 512, 1k, 2k, 4k, 8k (objects of power-of-two classes aligned to their
 * size), larger sizes as whole blocks of pages (up to 2^LAB_MAX_ORDER pages;
 * more is EINVAL).  With LAB_GFP_EXCLUSIVE, from the default exclusive zone:
 * zeroed, scrubbed when freed, and out of reach as exclusive pages are.
 * Errors and sleeping as lab_kmem_cache_alloc.  O(1) from the array.
 */
LAB_API void *lab_kmalloc(size_t size, lab_gfp_t gfp);
LAB_API void *lab_kzalloc(size_t size, lab_gfp_t gfp);
/*
 * Resize: the same object while new_size fits in it, else a new one with the
 * contents copied and the old freed.  An exclusive object stays exclusive
 * whatever gfp says.  NULL obj: lab_kmalloc.  new_size 0: frees obj and returns
 * LAB_ZERO_SIZE_PTR.  On failure obj is untouched and NULL is returned.
 */
LAB_API void *lab_krealloc(const void *obj, size_t new_size, lab_gfp_t gfp);
/* Free any object of any cache or kmalloc, in any zone.  NULL and
 * LAB_ZERO_SIZE_PTR are no-ops; misuse as lab_kmem_cache_free.  Never sleeps;
 * async-signal-safe. */
LAB_API void lab_kfree(const void *obj);
/* Wipe the object's whole size (lab_ksize), then free it. */
LAB_API void lab_kfree_sensitive(const void *obj);
/* Bytes usable at obj (its slot's object size, or its block's size). */
LAB_API size_t lab_ksize(const void *obj);
/*
 * The zone lab_kmalloc() and caches created with a NULL zone use, made on
 * first use: growable, its size and flags from LABYRINTH_ZONE (for example
 * "size=64M,max=8G,locked"; docs/SLAB.md), a bad value reported naming the
 * variable (then the defaults).  NULL (errno) if it cannot be made.  It comes
 * with its kmalloc caches: once it returns the zone, lab_kmalloc() without
 * LAB_GFP_EXCLUSIVE never creates a cache, so a first lab_kmalloc(GFP_ATOMIC)
 * neither sleeps nor makes a system call.  The first call may sleep; later
 * ones are async-signal-safe, O(1).
 */
LAB_API struct lab_zone *lab_default_zone(void);
/* The zone of exclusive objects (LAB_GFP_EXCLUSIVE kmalloc, LAB_SLAB_EXCLUSIVE
 * caches with a NULL zone): memfd_secret where the kernel has it, with the
 * zone's reported fallback otherwise; LABYRINTH_EXCLUSIVE_ZONE sets it as
 * LABYRINTH_ZONE does.  As lab_default_zone(), with the exclusive kmalloc
 * caches. */
LAB_API struct lab_zone *lab_default_exclusive_zone(void);

#ifdef __cplusplus
}
#endif
#endif /* LABYRINTH_SLAB_H */
