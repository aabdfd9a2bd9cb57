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
/* No per-CPU lists: every allocation and free goes to the buddy lists. */
#define LAB_ZONE_NO_PCP     0x0400u
/* Debugging (see "Debugging and observability" below): fill freed pages with
 * 0xaa and verify the fill when they are allocated again. */
#define LAB_ZONE_POISON     0x1000u
/* Debugging: record who allocated and freed each block (page owner). */
#define LAB_ZONE_PAGE_OWNER 0x2000u
#define LAB_ZONE_ALL_FLAGS  (0x0003u | 0x03fcu | LAB_ZONE_NO_PCP | LAB_ZONE_POISON | \
			     LAB_ZONE_PAGE_OWNER)

struct lab_zone_config {
	const char *name;      /* shown in reports and dumps; default "Normal" */
	size_t pages;          /* pages managed at creation (required, > 0) */
	unsigned int flags;    /* LAB_ZONE_* */
	size_t max_pages;      /* LAB_ZONE_GROW: limit; default 4 * pages */
	size_t wmark_min;      /* watermark overrides in pages; 0 = derive */
	size_t wmark_low;      /* as the kernel does from the zone's size */
	size_t wmark_high;
	unsigned int watermark_scale_factor; /* like vm.watermark_scale_factor; default 10 */
	size_t pcp_batch;      /* per-CPU list refill/drain batch (order 0); 0 = derive */
	size_t pcp_high;       /* per-CPU list capacity in pages (order 0); 0 = derive */
};

struct lab_zone;
struct lab_page;

/* Zone statistics: sizes in pages; counters since creation. */
/*
 * Statistics of a zone.  The struct grows at its end, never in its middle,
 * within soname 0 (see "ABI" in the README): a program passes the size of the
 * struct it was built with (lab_zone_get_stats does so) and gets exactly
 * that many bytes, so a binary built against an older header is never
 * overrun and one built against a newer header finds the fields this
 * library does not know zeroed.
 */
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

	size_t pcp;            /* pages on per-CPU lists (not in free) */
	uint64_t pcp_hit;      /* allocations served from a per-CPU list */
	uint64_t pcp_refill;   /* batches moved from the buddy lists to a per-CPU list */
	uint64_t pcp_drain;    /* batches moved back */
	size_t pcp_batch, pcp_high; /* order-0 batch and capacity */
	/* debugging and observability */
	uint64_t fail_injected;  /* NULL returned by fault injection (not in alloc_fail) */
	uint64_t poison_corrupt; /* blocks whose poison was overwritten while free */
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
 * report and the page is leaked, never reused.  Never sleeps.  It drops a
 * reference: see lab_get_page() for blocks that have more than one.
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

/*
 * Snapshot of the zone's statistics into the first size bytes of *out: the
 * fields it covers, then zeros for fields this library does not have.
 * Returns the bytes filled with statistics, min(size, the library's size).
 * Thread-safe; takes the zone lock (may spin; do not call with it held);
 * O(orders + CPUs).
 */
LAB_API size_t lab_zone_get_stats2(const struct lab_zone *zone, struct lab_zone_stats *out,
				   size_t size);
/* sizeof(struct lab_zone_stats) in soname 0's first release (0.1.0): what
 * the lab_zone_get_stats symbol fills, for binaries built then. */
#define LAB_ZONE_STATS_SIZE_0 568
LAB_API void (lab_zone_get_stats)(const struct lab_zone *zone, struct lab_zone_stats *out);
/* The call to use: source built against any header gets its own size. */
#define lab_zone_get_stats(zone, out) \
	((void)lab_zone_get_stats2((zone), (out), sizeof(*(out))))
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

/* ---------------------------------------------------------------------- */
/* Mempools: reserves with a guarantee.                                    */
/* ---------------------------------------------------------------------- */
struct lab_mempool;
/*
 * Set min_nr blocks of 2^order pages of zone aside.  NULL and errno (EINVAL,
 * ENOMEM) on failure.  May sleep.
 */
LAB_API struct lab_mempool *lab_mempool_create(struct lab_zone *zone, unsigned int min_nr,
					       unsigned int order);
/* Free the reserve.  Every element must have been returned.  May sleep. */
LAB_API void lab_mempool_destroy(struct lab_mempool *pool);
/*
 * A block: from the zone (without sleeping) while it has memory, else from
 * the reserve.  A caller with LAB_GFP_DIRECT_RECLAIM then tries reclaim and
 * finally sleeps until an element is returned: it never gets NULL.  An atomic
 * caller gets NULL (ENOMEM) only when the zone and the reserve are both empty;
 * it never sleeps and makes no system call.  ZERO is honoured; NOFAIL is
 * EINVAL (a sleeping mempool allocation never fails anyway).
 */
LAB_API struct lab_page *lab_mempool_alloc(struct lab_mempool *pool, lab_gfp_t gfp);
/* Return a block: it refills the reserve first, else goes to the zone.
 * Never sleeps; async-signal-safe. */
LAB_API void lab_mempool_free(struct lab_page *page, struct lab_mempool *pool);
/* Elements in the reserve now. */
LAB_API unsigned int lab_mempool_available(const struct lab_mempool *pool);

/* drain_all_pages(): give every CPU's cached pages back to the buddy lists
 * (for a clean picture of the zone, or before a large allocation).  May
 * sleep; O(CPUs x list capacity). */
LAB_API void lab_drain_all_pages(struct lab_zone *zone);

/* How per-CPU lists are owned in this process: "rseq", "lock" or "off"
 * (LABYRINTH_PCP=lock or =off forces the latter two). */
LAB_API const char *lab_pcp_mode_name(void);

/* Write a gfp mask as "HIGH|KSWAPD_RECLAIM" into buf; returns buf. */
LAB_API const char *lab_gfp_name(lab_gfp_t gfp, char *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* Debugging and observability.                                            */
/* ---------------------------------------------------------------------- */

/*
 * Fault injection, the kernel's fail_page_alloc: make allocations fail on
 * purpose so that failure paths run in tests.  Global to the process.  The
 * checks run in the kernel's order: min_order, NOFAIL (never failed),
 * ignore_gfp_wait; then the thread's fail-nth, probability == 0, times == 0,
 * space, interval, random < probability.  An injected failure returns NULL
 * with errno ENOMEM, prints "FAULT_INJECTION: forcing a failure." (verbose,
 * not with LAB_GFP_NOWARN) and counts in fail_injected, not in alloc_fail.
 * Set at start-up with LABYRINTH_FAIL_PAGE_ALLOC="probability=10,times=-1,..."
 */
struct lab_fault_attr {
	unsigned int probability;  /* percent of eligible calls that fail, 0..100 */
	unsigned long interval;    /* only every interval-th eligible call may fail */
	long times;                /* failures left; -1 = no limit (default 1) */
	long space;                /* pages allowed through before failures start */
	unsigned int verbose;      /* 0 silent, 1 message, 2 message + stack (default) */
	bool ignore_gfp_wait;      /* never fail DIRECT_RECLAIM callers (default true) */
	unsigned int min_order;    /* only orders >= this fail (default 1) */
};
/* Replace the settings; 0 or -EINVAL.  Thread-safe; does not sleep; O(1). */
LAB_API int lab_fault_set(const struct lab_fault_attr *attr);
/* The settings now (times and space as they count down).  O(1). */
LAB_API void lab_fault_get(struct lab_fault_attr *out);
/* Parse "key=value,..." (the LABYRINTH_FAIL_PAGE_ALLOC syntax) over the
 * defaults and apply it whole; on error nothing changes, -EINVAL is
 * returned and err (if not NULL) names the key and the problem. */
LAB_API int lab_fault_configure(const char *spec, char *err, size_t errlen);
/* Per thread, like /proc/<tid>/fail-nth: the n-th eligible allocation from
 * now on fails (whatever the probability); 0 disarms.  Does not sleep. */
LAB_API void lab_fail_nth_set(unsigned int n);
/* Eligible allocations left before the armed one fails; 0 when disarmed. */
LAB_API unsigned int lab_fail_nth_get(void);

/*
 * failslab, the same for object allocations (lab_kmem_cache_alloc, lab_kmalloc;
 * <labyrinth/slab.h>), with its own settings of the same knobs (space counts
 * bytes of objects; min_order is not used) and the kernel's cache filter:
 * with cache_filter only caches with LAB_SLAB_FAILSLAB (or "A" in
 * LABYRINTH_SLAB_DEBUG) may fail.  NOFAIL never fails; with ignore_gfp_wait
 * (the default) neither does a caller that may sleep.  fail-nth counts object
 * and page allocations alike.  An injected failure returns NULL with ENOMEM,
 * prints "FAULT_INJECTION: forcing a failure." with "name failslab", and
 * counts in the cache's alloc_fail and fail_injected.  Set at start-up with
 * LABYRINTH_FAILSLAB="probability=100,times=-1,cache_filter=1".
 * Thread-safe; does not sleep; O(1).
 */
LAB_API int lab_failslab_set(const struct lab_fault_attr *attr, bool cache_filter);
LAB_API void lab_failslab_get(struct lab_fault_attr *out, bool *cache_filter);
/* As lab_fault_configure, with the extra key cache_filter=0|1. */
LAB_API int lab_failslab_configure(const char *spec, char *err, size_t errlen);

/*
 * Page owner (LAB_ZONE_PAGE_OWNER or LABYRINTH_PAGE_OWNER=1): print every
 * allocated block of the zone with its allocation stack, gfp, order, thread
 * and time, in the format of the kernel's page_owner file.  Returns the
 * number of blocks printed.  Reads without the zone lock (a block changing
 * meanwhile may print half-updated).  May sleep (stdio); O(managed).
 */
LAB_API size_t lab_dump_page_owner(const struct lab_zone *zone, FILE *out);
/* The same for blocks still allocated, as a leak report with a summary
 * line; what lab_zone_destroy() prints.  Returns the number of blocks. */
LAB_API size_t lab_page_owner_report_leaks(const struct lab_zone *zone, FILE *out);

/* Text dumps in the formats of /proc/zoneinfo and /proc/vmstat (one zone).
 * May sleep (stdio); take the zone lock briefly. */
LAB_API void lab_zone_print_zoneinfo(const struct lab_zone *zone, FILE *out);
LAB_API void lab_zone_print_vmstat(const struct lab_zone *zone, FILE *out);

enum lab_stats_format {
	LAB_STATS_BUDDYINFO,  /* one /proc/buddyinfo line */
	LAB_STATS_ZONEINFO,   /* a /proc/zoneinfo zone block */
	LAB_STATS_VMSTAT,     /* "name value" lines as /proc/vmstat */
};
/* Print a statistics snapshot (from lab_zone_get_stats() or an export). */
LAB_API void lab_stats_print(const char *zone_name, const struct lab_zone_stats *st,
			     enum lab_stats_format format, FILE *out);

/*
 * Live export: a read-only view of this process's zones for other processes
 * (`labyrinth stat PID`, `labyrinth top PID`).  A background thread copies
 * every zone's statistics into /dev/shm/labyrinth.<pid> (mode 0600) every
 * interval_ms (0: 250 ms); the allocation paths pay nothing.  Also enabled
 * by LABYRINTH_EXPORT=1 at start-up.  The file is removed at exit or by
 * lab_stats_export_disable().  Returns 0 or a negative errno.  May sleep.
 */
LAB_API int lab_stats_export_enable(unsigned int interval_ms);
LAB_API void lab_stats_export_disable(void);
/* Publish now rather than at the next tick.  May sleep. */
LAB_API void lab_stats_export_sync(void);

#define LAB_EXPORT_MAX_ZONES 64
struct lab_stats_snapshot {
	int pid;
	uint64_t taken_ns;      /* CLOCK_MONOTONIC of the copy */
	unsigned int interval_ms;
	unsigned int nr_zones;
	struct {
		char name[32];
		struct lab_zone_stats st;
	} zones[LAB_EXPORT_MAX_ZONES];
};
/*
 * Read process pid's export: 0, -ENOENT (no export), -ESRCH (process gone,
 * the file is stale), -EPROTO (another version of the format), -EINVAL.
 * The snapshot embeds struct lab_zone_stats, so its layout follows the
 * caller's stats size: stats_size is sizeof(struct lab_zone_stats) as the
 * caller was built (lab_stats_read_export passes it), each zone gets that
 * many bytes (zeros past what the exporting process knows), and the file of
 * a process built with a smaller or larger struct of the same format version
 * reads all the same.  The lab_stats_read_export symbol is the 0.1.0 layout
 * (LAB_ZONE_STATS_SIZE_0), for binaries built then.  Thread-safe; O(zones).
 */
LAB_API int lab_stats_read_export2(int pid, struct lab_stats_snapshot *out, size_t stats_size);
LAB_API int (lab_stats_read_export)(int pid, struct lab_stats_snapshot *out);
#define lab_stats_read_export(pid, out) \
	lab_stats_read_export2((pid), (out), sizeof((out)->zones[0].st))
/* Remove the export files of processes that are gone (killed before they
 * could remove their own): pid's file, or with pid 0 every stale one in
 * /dev/shm.  lab_stats_export_enable() does the sweep itself.  Returns the
 * number removed (for one pid: 1, or 0 while the process lives), or a
 * negative errno (-ENOENT: pid has no file; -EINVAL: pid < 0).  Thread-safe;
 * may sleep; O(files in /dev/shm). */
LAB_API int lab_stats_remove_stale(int pid);

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
/* Page locks, references and atomic context.                              */
/* ---------------------------------------------------------------------- */
/*
 * The page lock: one bit in the block's head descriptor.  `page` must be a
 * head returned by lab_alloc_pages() and not yet freed; it is not checked
 * (these are the fast primitives).  A lock is not owned by a thread: any
 * thread, or a signal handler, may unlock it.  Waiters sleep on a hashed
 * table of 256 futex-based wait queues; a waiter that loses the lock to
 * newcomers 5 times is handed it by the next unlock, so nobody starves.
 *
 * lab_lock_page: may sleep (spins briefly first).  O(1) uncontended.
 */
LAB_API void lab_lock_page(struct lab_page *page);
/* Take the lock if it is free; true when taken.  Never sleeps, never waits:
 * one atomic operation.  Safe in atomic context and in signal handlers. */
LAB_API bool lab_trylock_page(struct lab_page *page);
/* Release the lock.  Never sleeps; wakes waiters only when some sleep (then
 * O(waiters in the bucket) under a short spinlock).  Safe in signal
 * handlers.  Unlocking a page that is not locked is a Bad page report. */
LAB_API void lab_unlock_page(struct lab_page *page);
/* Wait until the page is not locked (without taking it).  May sleep. */
LAB_API void lab_wait_on_page_locked(struct lab_page *page);

/*
 * References.  A block is handed out with one; lab_get_page adds one,
 * lab_put_page drops one, and the put that drops the last frees the block
 * at the order it was allocated with.  lab_free_pages(page, order) is itself
 * a put, as the kernel's __free_pages(): if others still hold references, a
 * LAB_GFP_COMP block stays whole until the last lab_put_page(); a plain
 * block gives its tail pages back at once and leaves the head page (then an
 * order-0 block) to the last lab_put_page().  So get / free / put leaks
 * nothing.  A get at INT32_MAX, or a get or put on a block without
 * references, is a "BUG: Bad page state" report; a block still allocated is
 * then leaked, never reused, and the count never wraps.  `page` must be a
 * block's head.  Thread-safe, never sleep, O(1) plus the free.
 */
LAB_API void lab_get_page(struct lab_page *page);
LAB_API void lab_put_page(struct lab_page *page);
/* The reference count (0 for a free page).  A snapshot; never sleeps. */
LAB_API int lab_page_count(const struct lab_page *page);

/*
 * Atomic context: code that must not sleep (holding a spinlock, a real-time
 * loop, a signal handler).  Per thread, nestable; enter and exit are a few
 * instructions, async-signal-safe, and never sleep.
 *
 * Calls that may sleep (lab_alloc_pages with LAB_GFP_DIRECT_RECLAIM,
 * lab_lock_page, lab_wait_on_page_locked, lab_might_sleep()) made in atomic
 * context print "BUG: sleeping function called from invalid context at
 * <function>", the nesting count, where atomic context was entered and a
 * backtrace, then abort().  The check is on by default in debug builds; the
 * environment variable LABYRINTH_DEBUG, read at load time, overrides it:
 * a comma-separated list where "1", "on", "yes", "all" or "atomic_sleep"
 * turn it on and "0", "off", "no", "none" or "-atomic_sleep" turn it off.
 * Off, each check costs one predictable branch.
 *
 * A signal handler marks itself by calling lab_atomic_enter() first and
 * lab_atomic_exit() before it returns (and before any siglongjmp out).
 */
LAB_API void lab_atomic_enter(void);
/* Leave one level.  An exit without an enter is reported and ignored. */
LAB_API void lab_atomic_exit(void);
/* Nesting depth of the calling thread: nonzero in atomic context. */
LAB_API unsigned int lab_in_atomic(void);

/* Report (and abort) if called in atomic context; `where` names the caller.
 * Put lab_might_sleep() at the top of your own functions that may sleep. */
LAB_API void lab_might_sleep_at(const char *where);
#define lab_might_sleep() lab_might_sleep_at(__func__)

/*
 * A spinlock that puts its holder in atomic context, as spin_lock() does in
 * the kernel.  Initialise with LAB_SPINLOCK_INIT or lab_spin_lock_init().
 * lab_spin_lock spins (yielding the CPU after a while, for a descheduled
 * holder) and never sleeps; taking a lock this thread already holds (say,
 * from a signal handler) and unlocking one it does not hold are reported
 * as BUG and abort.  Critical sections should be short.
 */
typedef struct {
	uintptr_t lab_owner;   /* private: the holder's thread token, 0 = free */
} lab_spinlock_t;
#define LAB_SPINLOCK_INIT { 0 }
LAB_API void lab_spin_lock_init(lab_spinlock_t *lock);
LAB_API void lab_spin_lock(lab_spinlock_t *lock);
/* True when taken (and in atomic context); false leaves the context as it was. */
LAB_API bool lab_spin_trylock(lab_spinlock_t *lock);
LAB_API void lab_spin_unlock(lab_spinlock_t *lock);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_H */
