/*
 * labyrinth.h - the public API of Labyrinth, a userspace page allocator with
 * the Linux kernel's semantics: zones of pages, a buddy system for blocks of
 * 2^order pages (order 0..LAB_MAX_ORDER), watermarks and emergency reserves,
 * background and direct reclaim through shrinkers, and the GFP contract.
 *
 * Every function is thread-safe unless it says otherwise.  "May sleep" means
 * the call can block the calling thread; a call that may not sleep is safe
 * inside a spinlock-style critical section.
 */
#ifndef LABYRINTH_H
#define LABYRINTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LABYRINTH_BUILD) && defined(__GNUC__)
#define LAB_API __attribute__((visibility("default")))
#else
#define LAB_API
#endif

#define LAB_VERSION_MAJOR 0
#define LAB_VERSION_MINOR 1
#define LAB_VERSION_PATCH 0

/* Largest order, inclusive, like the kernel's MAX_PAGE_ORDER: 1024 pages. */
#define LAB_MAX_ORDER 10
/* Orders above this are "costly": no OOM handler call, fewer retries. */
#define LAB_COSTLY_ORDER 3

/* ---------------------------------------------------------------------- */
/* GFP flags: how an allocation may behave.                                */
/* ---------------------------------------------------------------------- */
typedef unsigned int lab_gfp_t;

/* High priority: may use half of the min reserve (more if it cannot sleep). */
#define LAB_GFP_HIGH            0x0001u
/* Zero the block before returning it. */
#define LAB_GFP_ZERO            0x0002u
/* Do not print the allocation-failure report. */
#define LAB_GFP_NOWARN          0x0004u
/* Never return NULL; retry forever.  Needs LAB_GFP_DIRECT_RECLAIM. */
#define LAB_GFP_NOFAIL          0x0008u
/* Try one round of reclaim, then fail. */
#define LAB_GFP_NORETRY         0x0010u
/* Retry a bounded number of rounds, then fail without calling the OOM handler. */
#define LAB_GFP_RETRY_MAYFAIL   0x0020u
/* Ignore watermarks entirely: for callers that free memory by allocating. */
#define LAB_GFP_MEMALLOC        0x0040u
/* Compound block: the last lab_put_page() frees the whole block. */
#define LAB_GFP_COMP            0x0080u
/* The caller may sleep: run shrinkers itself, wait for frees, retry. */
#define LAB_GFP_DIRECT_RECLAIM  0x0100u
/* Wake the background reclaimer when memory runs low (never blocks). */
#define LAB_GFP_KSWAPD_RECLAIM  0x0200u
/* The block is exclusive to its owner (see the exclusive-pages docs). */
#define LAB_GFP_EXCLUSIVE       0x0400u

#define LAB_GFP_RECLAIM   (LAB_GFP_DIRECT_RECLAIM | LAB_GFP_KSWAPD_RECLAIM)
/* Process context: may sleep. */
#define LAB_GFP_KERNEL    (LAB_GFP_DIRECT_RECLAIM | LAB_GFP_KSWAPD_RECLAIM)
/* Atomic context: never sleeps, may dip into the emergency reserve. */
#define LAB_GFP_ATOMIC    (LAB_GFP_HIGH | LAB_GFP_KSWAPD_RECLAIM)
/* Never sleeps, no reserve, no failure report: for opportunistic callers. */
#define LAB_GFP_NOWAIT    (LAB_GFP_KSWAPD_RECLAIM | LAB_GFP_NOWARN)

#define LAB_GFP_ALL_BITS  0x07ffu

/* ---------------------------------------------------------------------- */
/* Zones.                                                                  */
/* ---------------------------------------------------------------------- */
/* Sleeping callers may add memory from the OS, up to max_pages. */
#define LAB_ZONE_GROW       0x0001u
/* Do not start the background reclaimer thread ("kswapd"). */
#define LAB_ZONE_NO_KSWAPD  0x0002u
/* Exclusive pages: protections set up once per section, at creation or growth. */
/* Locked in RAM (mlock): never swapped. */
#define LAB_ZONE_LOCKED     0x0004u
/* Left out of core dumps (MADV_DONTDUMP). */
#define LAB_ZONE_NODUMP     0x0008u
/* A forked child sees zeroes (MADV_WIPEONFORK); not with DONTFORK or SECRET. */
#define LAB_ZONE_WIPEONFORK 0x0010u
/* Absent in a forked child (MADV_DONTFORK): touching it there faults. */
#define LAB_ZONE_DONTFORK   0x0020u
/* memfd_secret: out of the kernel's direct map; implies LOCKED|NODUMP|DONTFORK. */
#define LAB_ZONE_SECRET     0x0040u
/* Inaccessible guard pages around each section of the zone. */
#define LAB_ZONE_GUARD      0x0080u
/* A protection key: only threads that called lab_zone_grant() may touch pages. */
#define LAB_ZONE_PKEY       0x0100u
/* Fail (creation, growth) rather than fall back when a protection is missing. */
#define LAB_ZONE_STRICT     0x0200u
#define LAB_ZONE_ALL_FLAGS  (0x0003u | 0x03fcu)

struct lab_zone_config {
	const char *name;      /* shown in reports and dumps; default "Normal" */
	size_t pages;          /* pages managed at creation (required, > 0) */
	unsigned int flags;    /* LAB_ZONE_* */
	size_t max_pages;      /* LAB_ZONE_GROW: limit; default 4 * pages */
	size_t wmark_min;      /* watermark overrides in pages; 0 = derive */
	size_t wmark_low;      /* as the kernel does from the zone's size */
	size_t wmark_high;
	unsigned int watermark_scale_factor; /* like vm.watermark_scale_factor; default 10 */
};

struct lab_zone;
struct lab_page;

/* Zone statistics: sizes in pages; counters since creation. */
struct lab_zone_stats {
	size_t managed;        /* pages the zone manages now */
	size_t free;           /* pages on the buddy free lists (NR_FREE_PAGES) */
	size_t wmark_min, wmark_low, wmark_high;
	size_t reserved_highatomic; /* pages held in highatomic pageblocks */
	size_t allocated;      /* pages handed out and not yet freed (leaked included) */
	size_t deferred;       /* freed pages waiting for the zone lock */
	size_t leaked;         /* pages leaked by Bad page reports, never reused */
	size_t nr_free[LAB_MAX_ORDER + 1]; /* free blocks per order (buddyinfo) */

	uint64_t alloc_success;
	uint64_t alloc_order[LAB_MAX_ORDER + 1]; /* successful allocations per order */
	uint64_t free_calls;   /* blocks returned */
	uint64_t alloc_fail;   /* NULL returned for lack of memory */
	uint64_t fail_atomic;  /* ... of which by callers with HIGH and no DIRECT_RECLAIM */
	uint64_t fail_nowait;  /* ... by other callers that cannot sleep */
	uint64_t fail_sleeping;/* ... by callers with DIRECT_RECLAIM */
	uint64_t alloc_einval; /* rejected with EINVAL */
	uint64_t reserve_use;  /* allocations that succeeded below the min watermark */
	uint64_t highatomic_use; /* allocations served from highatomic pageblocks */
	uint64_t alloc_stall;  /* times a sleeping caller had to wait */
	uint64_t direct_reclaim; /* direct reclaim rounds */
	uint64_t kswapd_wake;  /* wake-ups of the reclaimer */
	uint64_t kswapd_run;   /* reclaimer rounds */
	uint64_t shrinker_freed; /* objects shrinkers reported freed */
	uint64_t oom_calls;    /* OOM handler calls */
	uint64_t grow;         /* times the zone grew */
	uint64_t bad_page;     /* Bad page reports (pages leaked) */
	uint64_t lock_fail;    /* atomic callers that could not take the zone lock */

	/* Exclusive pages.  Masks of LAB_ZONE_* protection bits; lab_zone_describe()
	 * prints them.  A protection is in force only if it holds on every section. */
	unsigned int prot_wanted;   /* asked for, plus what SECRET implies */
	unsigned int prot_in_force; /* confirmed by the OS on every section */
	unsigned int prot_fallback; /* wanted but missing on some section */
	int prot_errno[16];         /* for bit b of prot_fallback: errno of the failing call */
	int pkey;                   /* the zone's protection key, -1 if none */
	size_t sections;            /* mappings the zone's memory came in (creation + growths) */
	size_t guard_pfns;          /* pfns kept inaccessible between sections (in allocated) */
	uint64_t exclusive_alloc;   /* LAB_GFP_EXCLUSIVE blocks handed out */
	uint64_t owner_refused;     /* frees, locks, gets or transfers refused to a non-owner */
};

/*
 * Create a zone of cfg->pages pages.  Memory and descriptors are mapped and
 * pre-faulted here so that later allocations never fault.  Returns NULL and
 * sets errno (EINVAL for a bad config, ENOMEM, ...) on failure.  May sleep.
 */
LAB_API struct lab_zone *lab_zone_create(const struct lab_zone_config *cfg);
/* Destroy a zone; reports blocks still allocated.  May sleep. */
LAB_API void lab_zone_destroy(struct lab_zone *zone);
LAB_API const char *lab_zone_name(const struct lab_zone *zone);

/*
 * Allocate a block of 2^order pages.  Returns NULL on failure with errno
 * ENOMEM, or EINVAL for a NULL zone, order > LAB_MAX_ORDER or unknown gfp
 * bits.  Sleeps only when gfp has LAB_GFP_DIRECT_RECLAIM.  O(LAB_MAX_ORDER)
 * list operations when it does not sleep.
 */
LAB_API struct lab_page *lab_alloc_pages(struct lab_zone *zone, lab_gfp_t gfp,
					 unsigned int order);
/*
 * Free a block allocated with the same order.  Misuse (wrong order, double
 * free, a descriptor that heads no block) gives a "BUG: Bad page state"
 * report and the page is leaked, never reused.  Never sleeps.
 */
LAB_API void lab_free_pages(struct lab_page *page, unsigned int order);

static inline struct lab_page *lab_alloc_page(struct lab_zone *zone, lab_gfp_t gfp)
{
	return lab_alloc_pages(zone, gfp, 0);
}
static inline void lab_free_page(struct lab_page *page)
{
	lab_free_pages(page, 0);
}

/* Address-based forms, like __get_free_pages() / free_pages(). */
LAB_API void *lab_get_free_pages(struct lab_zone *zone, lab_gfp_t gfp, unsigned int order);
LAB_API void lab_free_pages_addr(void *addr, unsigned int order);

/* The address of a page's memory; the page of an address (NULL if in no zone). */
LAB_API void *lab_page_address(const struct lab_page *page);
LAB_API struct lab_page *lab_virt_to_page(const void *addr);
/* Page frame number within its zone, and back. */
LAB_API size_t lab_page_to_pfn(const struct lab_page *page);
LAB_API struct lab_page *lab_pfn_to_page(const struct lab_zone *zone, size_t pfn);
LAB_API struct lab_zone *lab_page_zone(const struct lab_page *page);
/* Size of a page in bytes (the system page size). */
LAB_API size_t lab_page_size(void);

/* Snapshot of the zone's statistics. */
LAB_API void lab_zone_get_stats(const struct lab_zone *zone, struct lab_zone_stats *out);
/*
 * Walk the zone and verify every invariant: free + allocated == managed;
 * every free block aligned, on the list of its order and not overlapping.
 * Returns 0 when all hold, otherwise the number of broken invariants, each
 * reported on stderr by name.  Takes the zone lock; O(managed).
 */
LAB_API int lab_zone_check(const struct lab_zone *zone);
/* Print the zone in the format of one /proc/buddyinfo line. */
LAB_API void lab_zone_print_buddyinfo(const struct lab_zone *zone, FILE *out);

/* ---------------------------------------------------------------------- */
/* Reclaim.                                                                */
/* ---------------------------------------------------------------------- */
struct lab_shrink_control {
	lab_gfp_t gfp_mask;      /* of the allocation that triggered reclaim */
	unsigned long nr_to_scan;/* objects to scan in this call */
	unsigned long nr_scanned;/* set by scan_objects if it scanned a different number */
};
/* scan_objects returns this when it cannot make progress now. */
#define LAB_SHRINK_STOP  (~0UL)
/* count_objects returns this when it has nothing to reclaim. */
#define LAB_SHRINK_EMPTY (~0UL - 1)
#define LAB_DEFAULT_SEEKS 2

/*
 * A shrinker, like the kernel's: count_objects says how many objects could
 * be freed, scan_objects frees up to sc->nr_to_scan of them (typically by
 * calling lab_free_pages) and returns how many it freed.  Callbacks run in
 * the reclaimer thread or in a sleeping allocator, never with a zone lock.
 */
struct lab_shrinker {
	unsigned long (*count_objects)(struct lab_shrinker *s, struct lab_shrink_control *sc);
	unsigned long (*scan_objects)(struct lab_shrinker *s, struct lab_shrink_control *sc);
	int seeks;             /* cost to recreate an object (LAB_DEFAULT_SEEKS);
				  0: trivially reclaimable, half is scanned per round */
	long batch;            /* objects per scan call; default 128 */
	void *private_data;
	/* private to the library */
	struct lab_shrinker *lab_next;
	long lab_nr_deferred;  /* scan work carried to the next round */
};
/* Returns 0, or -EINVAL.  May sleep. */
LAB_API int lab_register_shrinker(struct lab_zone *zone, struct lab_shrinker *s);
/* Waits for running callbacks of s to finish.  May sleep. */
LAB_API void lab_unregister_shrinker(struct lab_zone *zone, struct lab_shrinker *s);

/*
 * Called by a sleeping allocation when reclaim has made no progress for
 * several rounds, before it fails.  Return nonzero if memory was released
 * (the allocation then retries), zero otherwise.
 */
typedef int (*lab_oom_handler_t)(struct lab_zone *zone, lab_gfp_t gfp,
				 unsigned int order, void *arg);
LAB_API void lab_set_oom_handler(struct lab_zone *zone, lab_oom_handler_t fn, void *arg);

/* Write a gfp mask as "HIGH|KSWAPD_RECLAIM" into buf; returns buf. */
LAB_API const char *lab_gfp_name(lab_gfp_t gfp, char *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* Exclusive pages.                                                        */
/* ---------------------------------------------------------------------- */
/*
 * A zone created with LAB_ZONE_SECRET, LOCKED, NODUMP, WIPEONFORK, DONTFORK,
 * GUARD or PKEY has its memory protected once per section; a protection the
 * OS refuses falls back, prints one line and shows in the statistics, or with
 * LAB_ZONE_STRICT makes creation (or growth) fail with the errno of the
 * failing call (ENOTSUP for a machine without protection keys).  WIPEONFORK
 * with DONTFORK or SECRET is EINVAL: a shared secret mapping cannot be wiped.
 *
 * A block allocated with LAB_GFP_EXCLUSIVE is zeroed before it is returned,
 * belongs to an owner (the allocating thread, or the thread's owner token),
 * may be freed only by that owner, and is scrubbed when freed, before any
 * other allocation can get it.  With LAB_GFP_ATOMIC it keeps every property
 * of the atomic path: no syscall, no page fault, safe in a signal handler.
 * See docs/THREAT_MODEL.md for what each protection does and does not cover.
 */

/* An owner: a thread's id, or a token; never 0. */
typedef uint32_t lab_owner_t;
#define LAB_OWNER_NONE 0u

/* A new owner token, distinct from every other token and thread id of the
 * process (until 2^32 have been handed out).  Never sleeps; O(1). */
LAB_API lab_owner_t lab_owner_new(void);
/*
 * Make the calling thread act as owner token (LAB_OWNER_NONE: as itself
 * again) for the exclusive blocks it allocates, frees and transfers; returns
 * the previous token.  Per thread; async-signal-safe; O(1).  Ownership is a
 * check against mistakes, not a barrier between threads (see the threat model).
 */
LAB_API lab_owner_t lab_set_owner_token(lab_owner_t token);
/* The calling thread's owner: its token if set, else its own id (assigned on
 * first use, without a syscall).  Async-signal-safe; O(1). */
LAB_API lab_owner_t lab_owner_self(void);
/* The owner of an allocated exclusive block's head page, LAB_OWNER_NONE for
 * any other page.  O(1). */
LAB_API lab_owner_t lab_page_owner(const struct lab_page *page);
/*
 * Hand an allocated exclusive block to new_owner.  Only the current owner may;
 * a call by anyone else gets a "BUG: Bad page state" report and -EPERM, and
 * the owner is unchanged.  -EINVAL for a page that heads no exclusive block
 * or new_owner == LAB_OWNER_NONE.  Never sleeps; O(number of zones).
 */
LAB_API int lab_page_transfer(struct lab_page *page, lab_owner_t new_owner);

/*
 * LAB_ZONE_PKEY: let the calling thread read and write the zone's pages
 * (grant) or stop it (revoke).  Writes the thread's PKRU register: no
 * syscall, async-signal-safe, O(1).  Per thread: a signal handler starts with
 * no grant, a thread created by pthread_create starts with its creator's.
 * A zone without a key in force (no LAB_ZONE_PKEY, or no keys on this
 * machine) needs no grant: both calls do nothing.  Returns 0, or -EINVAL for
 * a NULL zone.
 */
LAB_API int lab_zone_grant(struct lab_zone *zone);
LAB_API int lab_zone_revoke(struct lab_zone *zone);

/*
 * Print which protections the zone asked for, which are in force (as the OS
 * confirmed them), which fell back and why.  `labyrinth info` uses it.
 * Thread-safe; uses stdio; O(1).
 */
LAB_API void lab_zone_describe(const struct lab_zone *zone, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* LABYRINTH_H */
