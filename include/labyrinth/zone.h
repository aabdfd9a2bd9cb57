/*
 * labyrinth/zone.h - zones: their flags and configuration, creation,
 * destruction, the invariant checker and the per-CPU lists.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_ZONE_H
#define LABYRINTH_ZONE_H

#include <labyrinth/types.h>

#ifdef __cplusplus
extern "C" {
#endif

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
/* memfd_secret: out of the kernel's direct map; implies LOCKED|NODUMP|DONTFORK.
 * Every block is wiped when freed (init_on_free), exclusive or not. */
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
/* Do not pre-fault the zone's memory: pages are faulted in when first
 * touched, so resident memory follows use (the malloc layer's zone).  The
 * price: an allocation, atomic ones included, may take a page fault.  A
 * LOCKED zone is populated all the same (mlock). */
#define LAB_ZONE_LAZY       0x4000u
#define LAB_ZONE_ALL_FLAGS  (0x0003u | 0x03fcu | LAB_ZONE_NO_PCP | LAB_ZONE_POISON | \
			     LAB_ZONE_PAGE_OWNER | LAB_ZONE_LAZY)

/*
 * Zones that may exist at once; lab_zone_create() is ENFILE beyond it.  The
 * descriptors of all of them share one reservation of address space, made
 * at the first lab_zone_create(): a slot of 128 GiB per zone, 8 TiB in all,
 * inaccessible and never charged to overcommit or resident (MAP_NORESERVE,
 * PROT_NONE; left out of core dumps) but counted by RLIMIT_AS.  It makes the
 * check of a descriptor passed to lab_free_pages() O(1).  Where it cannot be
 * had, a smaller range is taken (an eighth of what RLIMIT_AS or the address
 * space leaves, 128 MiB at the least) or none, reported once on stderr; a
 * zone whose descriptors do not fit a slot then has its own and its
 * descriptors are checked by a walk of the zones, O(LAB_MAX_ZONES), as
 * every zone's are without a range.  No zone is refused for it.
 */
#define LAB_MAX_ZONES 64

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
	size_t pcp_high;       /* per-CPU list capacity in pages (order 0), fixed; 0 = derive
				* a capacity that adapts to the live set (docs/PCP.md) */
};

/*
 * Create a zone of cfg->pages pages.  Memory and descriptors are mapped and
 * pre-faulted here so that later allocations never fault.  Returns NULL and
 * sets errno (EINVAL for a bad config, ENOMEM, ...) on failure.  May sleep.
 *
 * A zone the machine or the process cannot hold is ENOMEM before anything is
 * committed, and the caller keeps its process (the pre-fault would otherwise
 * wake the kernel's OOM killer): its memory, descriptors and debugging
 * records must fit in what the machine has available (MemAvailable) less a
 * reserve of 1/64 of its memory (at least 64 MiB), under the memory cgroup's
 * limit (cgroup v2 memory.max or v1 memory.limit_in_bytes, at every level)
 * and RLIMIT_DATA; the address space it reserves (max_pages) is subject to
 * RLIMIT_AS (the first zone also reserves the descriptor range: LAB_MAX_ZONES).
 * The pre-fault checks again every 64 MiB and undoes what it did
 * if memory ran out meanwhile.  Growth (LAB_ZONE_GROW) obeys the same rules:
 * a growth that does not fit fails and the zone stays as it was.
 *
 * At most 64 zones exist at once (LAB_MAX_ZONES): the 65th is ENFILE until
 * one is destroyed.
 */
LAB_API struct lab_zone *lab_zone_create(const struct lab_zone_config *cfg);
/* Destroy a zone; reports blocks still allocated.  May sleep. */
LAB_API void lab_zone_destroy(struct lab_zone *zone);
LAB_API const char *lab_zone_name(const struct lab_zone *zone);

/*
 * Walk the zone and verify every invariant: free + allocated == managed;
 * every free block aligned, on the list of its order and not overlapping.
 * Returns 0 when all hold, otherwise the number of broken invariants, each
 * reported on stderr by name.  Takes the zone lock; O(managed).
 */
LAB_API int lab_zone_check(const struct lab_zone *zone);

/* drain_all_pages(): give every CPU's cached pages back to the buddy lists
 * (for a clean picture of the zone, or before a large allocation).  May
 * sleep; O(CPUs x list capacity). */
LAB_API void lab_drain_all_pages(struct lab_zone *zone);

/* How per-CPU lists are owned in this process: "rseq", "lock" or "off"
 * (LABYRINTH_PCP=lock or =off forces the latter two). */
LAB_API const char *lab_pcp_mode_name(void);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_ZONE_H */
