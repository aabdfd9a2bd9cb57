/*
 * zone.h - a zone: its struct, the zone lock, the registry that maps
 * descriptors and addresses back to zones, pfn helpers and the counters
 * (zone.c; the watermarks are watermark.h).
 */
#ifndef LAB_PAGE_ZONE_H
#define LAB_PAGE_ZONE_H

#include "base/compiler.h"
#include "labyrinth.h"
#include "base/assert.h"
#include "os/thread.h"
#include "page/counters.h"
#include "page/page.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAB_NR_ORDERS (LAB_MAX_ORDER + 1)
/* LAB_MAX_ZONES: <labyrinth/zone.h>. */

/* Per-CPU lists (pcp.c): a list per order, 0..LAB_COSTLY_ORDER as the
 * kernel's, and above them one-block caches where the zone is big enough
 * (pcp.c, lab__pcp_init; a zone without one has a list of capacity 0). */
#define LAB_PCP_ORDERS    LAB_NR_ORDERS
#define LAB_PCP_MAX_BATCH 256
struct pcp_set;
struct page_owner;

/* Free lists per order are split by pageblock type, like the kernel's. */
enum { MT_NORMAL = 0, MT_HIGHATOMIC = 1, MT_NR = 2 };

struct free_area {
	uint32_t head[MT_NR];
	size_t nr_free[MT_NR];  /* blocks */
};

/*
 * The zone lock.  Its word holds the owner's thread token, so a signal
 * handler that interrupted the owner sees that its own thread holds it and
 * backs off instead of deadlocking.  Critical sections are O(LAB_MAX_ORDER).
 */
struct zone_lock {
	_Atomic uintptr_t owner;
	_Atomic int holder_tid;  /* the owner's thread id when known, for reports (lockwait.c) */
};

/* The locks of a zone a thread may wait for, and the waits in progress,
 * named in reports and by lab_zone_get_locks() (lockwait.c). */
enum zone_lock_kind { ZL_ZONE, ZL_PCP_SET, ZL_RECLAIM, ZL_GROW, ZL_NR };
#define ZONE_WAIT_SLOTS LAB_LOCK_WAITS
struct zone_wait {
	_Atomic int tid;          /* the waiter; 0 for a free slot */
	_Atomic int kind;         /* enum zone_lock_kind */
	_Atomic int cpu;          /* ZL_PCP_SET: the set */
	_Atomic uint64_t since_ns;
};

enum { WMARK_MIN, WMARK_LOW, WMARK_HIGH, NR_WMARK };

/* The zone's event counters (counters.h): every counter's atomic cell,
 * bumped with zone_stat_inc(), then the cells of the SPLIT and ORDERS ones
 * that only holders of the zone lock write (zone_stat_inc_locked()). */
#define LAB_COUNTER_NONE(field, name)
#define LAB_COUNTER_FIELD(field, name) _Atomic uint64_t field;
#define LAB_COUNTER_ORDERS(field, name) _Atomic uint64_t field[LAB_NR_ORDERS];
struct zone_counters {
	LAB_ZONE_STATS(LAB_COUNTER_NONE, LAB_COUNTER_FIELD, LAB_COUNTER_ORDERS, LAB_COUNTER_FIELD)
	struct {
		LAB_ZONE_STATS(LAB_COUNTER_NONE, LAB_COUNTER_NONE, LAB_COUNTER_ORDERS,
			       LAB_COUNTER_FIELD)
	} locked;
};

/*
 * A zone.  Invariants, under the lock:
 *     nr_free + nr_allocated == managed
 *     nr_free == sum over orders and types of (area[o].nr_free[mt] << o)
 * Pages leaked by a Bad page report, or deferred, count as allocated.
 */
/* Stripes of the exclusive allocation counter (a power of two). */
#define LAB_EXCLUSIVE_STRIPES 16

struct lab_zone {
	char name[32];
	size_t self_bytes;         /* the mapping of the struct and pageblock_mt */
	unsigned int flags;
	struct zone_lock lock;

	char *base;                /* memory of pfn 0; aligned to the max order */
	struct lab_page *pages;    /* descriptors, reserved for max_pages */
	_Atomic size_t managed;    /* pages committed and handed to the buddy */
	size_t max_pages;          /* address space reserved */
	size_t page_size;
	unsigned int page_shift;

	/* Buddy state, under the lock. */
	struct free_area area[LAB_NR_ORDERS];
	size_t nr_free;            /* pages on buddy lists */
	size_t nr_allocated;       /* pages handed out, leaked and deferred included */
	_Atomic size_t nr_leaked;  /* pages leaked by Bad page reports */
	unsigned int pageblock_order;
	uint8_t *pageblock_mt;     /* migratetype per pageblock (after the struct) */
	size_t nr_reserved_highatomic;

	/* Watermarks; read without the lock. */
	_Atomic size_t wmark[NR_WMARK];
	bool wmark_fixed;
	unsigned int watermark_scale_factor;
	_Atomic size_t nr_free_snapshot; /* nr_free, readable without the lock */

	/* Frees that found the lock taken; drained by the next holder. */
	_Atomic uint64_t deferred_head; /* pfn + 1 of the top, 0 = empty */
	_Atomic size_t nr_deferred;     /* pages */

	/* Sleeping allocators wait on free_seq; frees bump it when waiters exist. */
	_Atomic uint32_t free_seq;
	_Atomic int nr_waiters;
	_Atomic uint32_t nofail_warned;  /* orders warned of as never satisfiable (alloc.c) */

	/* Background reclaimer. */
	lab__os_thread_t kswapd;
	bool kswapd_started;
	_Atomic uint32_t kswapd_seq;
	_Atomic int kswapd_pending;
	_Atomic bool kswapd_stop;
	_Atomic uint64_t pending_warn;       /* a failure report left by an atomic caller */
	_Atomic unsigned long pending_warn_count;

	/* Shrinkers and the OOM handler. */
	lab__os_rwlock_t shrinker_lock;
	struct lab_shrinker *shrinkers;
	lab__os_mutex_t reclaim_mutex;  /* serialises shrink rounds */
	_Atomic uintptr_t oom_lock;     /* the OOM handler's runner: a thread token, 0 free */
	_Atomic int oom_tid;            /* its thread id, for reports */
	lab_oom_handler_t oom_handler;
	void *oom_arg;

	/* Growth (LAB_ZONE_GROW), by sleeping callers only. */
	lab__os_mutex_t grow_mutex;
	/* Holders of the two mutexes (thread ids, 0 none) and the sleeping
	 * waits for any lock of the zone, for reports (lockwait.c). */
	_Atomic int mutex_tid[ZL_NR];
	struct zone_wait waits[ZONE_WAIT_SLOTS];

	/* Per-CPU lists: nr_pcp sets of pcp_stride bytes (pcp.c). */
	struct pcp_set *pcp;
	int nr_pcp;
	int pcp_mode;
	size_t pcp_stride, pcp_bytes;
	uint32_t pcp_batch[LAB_PCP_ORDERS], pcp_high[LAB_PCP_ORDERS];
	_Atomic uint32_t pcp_drain_request;

	struct zone_counters stat;

	/* Debugging (src/debug/); set at creation. */
	unsigned int debug;             /* ZONE_DEBUG_* (below): one test on the hot paths */
	/* The kernel's init_on_free for an exclusive zone (secure/owner.c): every
	 * block is wiped on its way back, so a hand-out needs no second wipe.
	 * Fixed at creation; beside debug (in the hole after it, so no hot
	 * field moves), as every fast free tests it. */
	bool zero_on_free;
	struct page_owner *page_owner;  /* LAB_ZONE_PAGE_OWNER: one record per pfn */
	/* Exclusive pages (src/secure/); written at creation and under grow_mutex. */
	int pkey;                  /* protection key in force, -1 if none */
	unsigned int prot_wanted;  /* LAB_ZONE_* protections asked for or implied */
	_Atomic unsigned int prot_in_force;  /* held by every section so far */
	_Atomic unsigned int prot_fallback;  /* missing on some section */
	int prot_errno[16];        /* first errno per fallback bit */
	_Atomic size_t nr_sections;
	_Atomic size_t nr_guard_pfns;

	/* Cold, at the end so that the hot fields above keep their offsets: the
	 * adaptive high's bound per order, the slots of each list (pcp.c), equal
	 * to pcp_high when the high is fixed; and whether kswapd waits at most a
	 * second (to decay a raised high, reclaim.c). */
	uint32_t pcp_high_max[LAB_PCP_ORDERS];
	_Atomic int kswapd_timed;
	int slot;           /* index in the registry, and of the descriptor slot */
	bool desc_outside;  /* descriptors mapped outside the range (lab__vmemmap) */
	bool addr_unmapped; /* memory left out of the address map (lab__addrmap) */
	/* exclusive_alloc: counted in this CPU's per-CPU set by a restartable
	 * sequence (pcp.h pcp_count_exclusive), else in stripes a cache line
	 * apart indexed by the CPU (secure/owner.c): one zone-wide counter
	 * written by every exclusive allocation made two threads on 16 cores
	 * slower than one (issue 12). */
	struct {
		_Atomic uint64_t n;
		char pad[56];
	} exclusive_alloc_cpu[LAB_EXCLUSIVE_STRIPES] __attribute__((aligned(64)));
};

/* Readers of a const zone still take its lock. */
static inline struct lab_zone *zone_mut(const struct lab_zone *z)
{
	return (struct lab_zone *)(uintptr_t)z;
}

/* z->debug: what the alloc and free paths must do beyond the buddy work
 * (debug/hooks.h). */
enum {
	ZONE_DEBUG_POISON     = 1u << 0, /* fill freed pages with 0xaa, check on alloc */
	ZONE_DEBUG_PAGE_OWNER = 1u << 1, /* page_owner records (alloc tracking) */
	ZONE_DEBUG_SANITIZE   = 1u << 2, /* mark free pages for ASan / Valgrind */
};

#define zone_stat_inc(z, field) \
	atomic_fetch_add_explicit(&(z)->stat.field, 1, memory_order_relaxed)
/* A SPLIT or ORDERS counter (counters.h) by a holder of the zone lock: no
 * locked instruction, exact because every writer of the cell holds the lock;
 * readers (stats.c) load it relaxed, with or without the lock. */
#define zone_stat_inc_locked(z, field)                                                  \
	do {                                                                            \
		LAB_ASSERT(zone_lock_held_by_self(z));                                  \
		atomic_store_explicit(&(z)->stat.locked.field,                          \
				      atomic_load_explicit(&(z)->stat.locked.field,     \
							   memory_order_relaxed) + 1,   \
				      memory_order_relaxed);                            \
	} while (0)
#define zone_stat_add(z, field, n) \
	atomic_fetch_add_explicit(&(z)->stat.field, (n), memory_order_relaxed)

static inline size_t page_to_pfn(const struct lab_zone *z, const struct lab_page *p)
{
	return (size_t)(p - z->pages);
}
static inline struct lab_page *pfn_to_page(const struct lab_zone *z, size_t pfn)
{
	return &z->pages[pfn];
}
/* The memory of z's page p. */
static inline char *zone_page_address(const struct lab_zone *z, const struct lab_page *p)
{
	return z->base + (page_to_pfn(z, p) << z->page_shift);
}
/* Thread token: an address unique to each live thread, found without a syscall. */
uintptr_t lab__self_token(void);

/* This thread's id: found once per thread (a system call, so only from a
 * caller that may sleep); _cached gives 0 instead when not yet found. */
int lab__self_tid(void);
int lab__self_tid_cached(void);
void lab__self_tid_forget(void);  /* in a fork child */
/* fork(): lock() runs after every zone's reclaim and growth mutexes are held
 * and before their per-CPU sets and locks; unlock(child) in reverse.  One
 * layer may set them (the malloc layer), before its first fork. */
void lab__zone_fork_above(void (*lock)(void), void (*unlock)(bool child));

/* zone lock: lock_sleepable may yield; lock_atomic fails rather than wait long
 * (frees then defer); lock_atomic_alloc, for allocations, spins out another
 * thread's hold, descheduled or not, up to a bound (zone.c). */
void lab__zone_lock(struct lab_zone *z);
bool lab__zone_lock_atomic(struct lab_zone *z);
bool lab__zone_lock_atomic_alloc(struct lab_zone *z);
void lab__zone_unlock(struct lab_zone *z);
static inline bool zone_lock_held_by_self(const struct lab_zone *z)
{
	return atomic_load_explicit(&z->lock.owner, memory_order_relaxed) == lab__self_token();
}

/*
 * lockwait.c: the waits of sleeping callers for the zone's locks, each in a
 * slot of z->waits while it lasts; a wait that lasts LAB_LOCK_REPORT_S
 * seconds is reported once, naming the lock and its holder (a holder that
 * left the library without releasing it never will).  begin returns the
 * slot (-1 when all are taken: the wait goes unrecorded).  The mutexes
 * (ZL_RECLAIM, ZL_GROW) are taken through zone_mutex_lock/unlock.
 */
struct lab__lock_wait {
	int slot;
	int kind, cpu;
	uint64_t since_ns;
	bool reported;
};
void lab__lock_wait_begin(struct lab_zone *z, struct lab__lock_wait *w, int kind, int cpu);
void lab__lock_wait_poll(struct lab_zone *z, struct lab__lock_wait *w, int holder_tid);
void lab__lock_wait_end(struct lab_zone *z, struct lab__lock_wait *w);
void lab__zone_mutex_lock(struct lab_zone *z, int kind);
void lab__zone_mutex_unlock(struct lab_zone *z, int kind);

/* zone.c */
extern _Atomic(struct lab_zone *) lab__registry[LAB_MAX_ZONES];
extern _Atomic int lab__registry_used;

/* For each registered zone z: a lock-free walk, for lookups that race with
 * creation and destruction (a slot read empty is skipped). */
#define lab__for_each_zone(z)                                                         \
	for (int lab__i_ = 0, lab__used_ = atomic_load_explicit(&lab__registry_used,        \
								 memory_order_acquire);      \
	     lab__i_ < lab__used_; lab__i_++)                                               \
		if (!((z) = atomic_load_explicit(&lab__registry[lab__i_],                    \
						 memory_order_acquire)))                     \
			continue;                                                           \
		else

/*
 * The descriptor range (zone.c), as the kernel's vmemmap: every zone's
 * descriptors in one reservation made at the first zone's creation, slot i
 * (1 << shift bytes) for the zone at lab__registry[i] (zone[i] below,
 * published and unpublished with it), committed as the zone grows and
 * decommitted when it is destroyed.  A descriptor is then validated in
 * O(1): its offset in the range names the slot, the slot's zone (NULL for a
 * free slot) its bound.  The full range gives every zone the library allows
 * (LAB_NO_PFN - 1 pages) a slot: LAB_MAX_ZONES << 37 bytes, 8 TiB of address
 * space, PROT_NONE and MAP_NORESERVE (no commit charge), MADV_DONTDUMP where
 * nothing is committed.  Where it is refused (RLIMIT_AS, Valgrind,
 * ThreadSanitizer), an eighth of the largest range that would fit is taken
 * (slots of at least 1 << LAB_VMEMMAP_MIN_SHIFT bytes); a zone too large for
 * a slot maps its descriptors apart ("outside"), as every zone does when no
 * range could be had, and a descriptor outside the range is looked for by a
 * walk of the registry, as before the range.  Until then, and without a
 * range, base and shift are 0: every pointer but the first LAB_MAX_ZONES
 * bytes goes to the walk, and zone[] is all NULL.  Written once, before the
 * first zone is published (a lookup racing with it finds zone[] empty,
 * whatever it reads); relaxed loads on the fast path.
 */
struct lab__vmemmap {
	/* The zone in each slot: lab__registry's, less the zones outside
	 * (first: the lookup indexes it without an offset). */
	_Atomic(struct lab_zone *) zone[LAB_MAX_ZONES];
	_Atomic uintptr_t base;
	_Atomic unsigned int shift;
	_Atomic int nr_outside;   /* zones whose descriptors lie outside the range */
	_Atomic uintptr_t bytes;  /* LAB_MAX_ZONES << shift; 0 without a range */
};
extern struct lab__vmemmap lab__vmemmap;
#define LAB_VMEMMAP_FULL_SHIFT 37  /* (LAB_NO_PFN - 1) * 32 bytes fit in 1 << 37 */
#define LAB_VMEMMAP_MIN_SHIFT  21  /* 64 Ki descriptors: 256 MiB of 4 KiB pages */

/* Zones with their descriptors outside the range: the walk (zone.c). */
struct lab_zone *lab__zone_of_desc_outside(uintptr_t desc);

/* The slot of the descriptor range that would hold d (LAB_MAX_ZONES or
 * more: outside the range). */
static inline uintptr_t lab__vmemmap_slot(uintptr_t d)
{
	return (d - atomic_load_explicit(&lab__vmemmap.base, memory_order_relaxed)) >>
	       atomic_load_explicit(&lab__vmemmap.shift, memory_order_relaxed);
}

/* The zone in a slot of the range, if d is one of its descriptors.  The
 * offset in the slot, rotated right by 5 bits, is the pfn when it is a
 * multiple of 32 and at least 1 << 59 when it is not: one compare with
 * managed tests both. */
static inline struct lab_zone *lab__vmemmap_zone(uintptr_t slot, uintptr_t d)
{
	static_assert(sizeof(struct lab_page) == 1 << 5, "the rotation below");
	struct lab_zone *z = atomic_load_explicit(&lab__vmemmap.zone[slot], memory_order_acquire);
	if (lab_unlikely(!z))
		return NULL;
	uintptr_t off = d - (uintptr_t)z->pages;
	off = off >> 5 | off << (sizeof(off) * 8 - 5);
	return off < atomic_load_explicit(&z->managed, memory_order_relaxed) ? z : NULL;
}

/* The zone whose descriptor array holds desc, or NULL: a descriptor that is
 * no descriptor of a live zone is caught here.  Inline: every free asks. */
static inline struct lab_zone *lab__zone_of_desc(const void *desc)
{
	uintptr_t d = (uintptr_t)desc, slot = lab__vmemmap_slot(d);
	if (lab_likely(slot < LAB_MAX_ZONES))
		return lab__vmemmap_zone(slot, d);
	return lab__zone_of_desc_outside(d);
}

/* The same for a descriptor in the range only: NULL also for one outside it
 * (lab__zone_of_desc walks the zones there), and for NULL. */
static inline struct lab_zone *lab__zone_of_desc_in_range(const void *desc)
{
	uintptr_t d = (uintptr_t)desc, slot = lab__vmemmap_slot(d);
	return lab_likely(slot < LAB_MAX_ZONES) ? lab__vmemmap_zone(slot, d) : NULL;
}

/*
 * The address map (zone.c): the zone of an address without walking many
 * zones, for lab_virt_to_page() and lab_free_pages_addr() (the kernel
 * headers' virt_to_page() and free_pages()).  One byte per 4 MiB granule
 * holds the registry slot + 1 of the zone whose memory it is: a zone's
 * memory starts on a max-order boundary (4 MiB or more), so no granule
 * holds two zones' memory.  The bytes lie in leaves of LAB_ADDRMAP_LEAF
 * granules (64 KiB, pre-faulted, never freed) under a directory covering
 * LAB_ADDRMAP_BITS of address.  A zone the map cannot hold (a leaf not
 * allocated, memory above those bits) is counted in nr_unmapped and found
 * by the walk.  While there are at most LAB_ADDRMAP_WALK zones, the walk is
 * the shorter chain of loads, and is used.
 */
#define LAB_ADDRMAP_BITS 48
#define LAB_ADDRMAP_SHIFT 22
#define LAB_ADDRMAP_LEAF_SHIFT 16
#define LAB_ADDRMAP_LEAF ((size_t)1 << LAB_ADDRMAP_LEAF_SHIFT)
#define LAB_ADDRMAP_DIR ((size_t)1 << (LAB_ADDRMAP_BITS - LAB_ADDRMAP_SHIFT - LAB_ADDRMAP_LEAF_SHIFT))
#define LAB_ADDRMAP_WALK 4
struct lab__addrmap {
	_Atomic(uint8_t *) leaf[LAB_ADDRMAP_DIR];
	_Atomic int nr_unmapped;
};
extern struct lab__addrmap lab__addrmap;

/* Whether addr lies in z's memory. */
static inline bool lab__zone_holds_addr(const struct lab_zone *z, uintptr_t a)
{
	size_t managed = atomic_load_explicit(&z->managed, memory_order_relaxed);
	return a - (uintptr_t)z->base < managed << z->page_shift;
}

/* The registry's walk: every zone while there are few, the zones the map
 * does not hold otherwise. */
static inline struct lab_zone *lab__zone_of_addr_walk(uintptr_t a)
{
	struct lab_zone *z;
	lab__for_each_zone(z) {
		if (lab__zone_holds_addr(z, a))
			return z;
	}
	return NULL;
}

/* The zone whose memory holds addr, or NULL. */
static inline struct lab_zone *lab__zone_of_addr(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	if (lab_likely(atomic_load_explicit(&lab__registry_used, memory_order_relaxed) <=
		       LAB_ADDRMAP_WALK))
		return lab__zone_of_addr_walk(a);
	uintptr_t g = a >> LAB_ADDRMAP_SHIFT;
	if (lab_likely(g < ((uintptr_t)1 << (LAB_ADDRMAP_BITS - LAB_ADDRMAP_SHIFT)))) {
		uint8_t *leaf = atomic_load_explicit(&lab__addrmap.leaf[g >> LAB_ADDRMAP_LEAF_SHIFT],
						     memory_order_acquire);
		unsigned int slot = leaf ? __atomic_load_n(&leaf[g & (LAB_ADDRMAP_LEAF - 1)],
							   __ATOMIC_RELAXED) : 0;
		struct lab_zone *z = slot ? atomic_load_explicit(&lab__registry[slot - 1],
								 memory_order_acquire) : NULL;
		if (lab_likely(z) && lab__zone_holds_addr(z, a))
			return z;
	}
	if (lab_likely(!atomic_load_explicit(&lab__addrmap.nr_unmapped, memory_order_relaxed)))
		return NULL;
	return lab__zone_of_addr_walk(a);
}

/* Hold the registry (no zone comes or goes) while walking it to read what
 * only a live zone may be asked (reclaim.c: every zone's shrinkers). */
void lab__registry_lock(void);
void lab__registry_unlock(void);
/* The descriptor of the page holding addr if addr lies in z's memory, else
 * NULL: lab_virt_to_page() for a caller that knows the zone (no registry walk). */
static inline struct lab_page *lab__zone_addr_to_page(const struct lab_zone *z, const void *addr)
{
	if (!lab__zone_holds_addr(z, (uintptr_t)addr))
		return NULL;
	return &z->pages[((uintptr_t)addr - (uintptr_t)z->base) >> z->page_shift];
}
int lab__zone_add_pages(struct lab_zone *z, size_t nr); /* commit, prefault, free */
/* lab_zone_create() in two steps, for a layer that publishes the zone in
 * between (the slab layer's default zones): a zone that works, made without
 * calling malloc; then what may call malloc (kswapd's thread, the unwinder's
 * first load).  A zone whose start failed works without kswapd. */
struct lab_zone *lab__zone_create(const struct lab_zone_config *cfg);
int lab__zone_start(struct lab_zone *z);

#endif /* LAB_PAGE_ZONE_H */
