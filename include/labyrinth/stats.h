/*
 * labyrinth/stats.h - statistics of a zone: the snapshot, text dumps in
 * the kernel's /proc formats, and the live export to other processes.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_STATS_H
#define LABYRINTH_STATS_H

#include <labyrinth/types.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

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
	size_t pcp_batch, pcp_high; /* order-0 batch and capacity (the adaptive high's floor) */
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
	/* The adaptive per-CPU capacity (docs/PCP.md), order 0; pcp_high is its
	 * floor.  Equal to pcp_high when the zone's config fixed it. */
	size_t pcp_high_max;        /* its bound */
	size_t pcp_high_now;        /* the largest over the CPUs now */
	/* Zone-lock attempts by allocations that spun out another thread's hold
	 * and gave up (also in lock_fail).  Atomic allocations should fail only
	 * on their watermark: nonzero means a holder kept the lock for tens of
	 * milliseconds (descheduled, or gone without unlocking). */
	uint64_t alloc_lock_fail;
};

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

/* Print the zone in the format of one /proc/buddyinfo line. */
LAB_API void lab_zone_print_buddyinfo(const struct lab_zone *zone, FILE *out);

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

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_STATS_H */
