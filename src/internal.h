/*
 * internal.h - types and cross-file internals of Labyrinth.
 *
 * Cross-file functions carry the `lab__` marker; everything else is static.
 * Files: zone.c (creation, registry, watermarks, stats, checker),
 * buddy.c (free lists, split and merge, highatomic pageblocks),
 * alloc.c (the GFP contract: fast path, slow path, free path),
 * reclaim.c (kswapd, shrinkers, waiting, OOM, growth), report.c (reports),
 * fault.c (fault injection), poison.c (page poisoning, ASan/Valgrind marks),
 * page_owner.c (who allocated what, stack capture), stats.c (dumps, export).
 * exclusive.c (zone protections, owners, zeroing and scrubbing), env.c (the
 * LABYRINTH_* variables).
 */
#ifndef LAB_INTERNAL_H
#define LAB_INTERNAL_H

#include "labyrinth.h"
#include "os/os.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LAB_NR_ORDERS (LAB_MAX_ORDER + 1)
#define LAB_NO_PFN    UINT32_MAX
#define LAB_MAX_ZONES 64

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Page descriptor flags (lab_page.flags). */
enum {
	PG_locked    = 1u << 0, /* page lock held */
	PG_waiters   = 1u << 1, /* someone sleeps on the page lock */
	PG_buddy     = 1u << 2, /* head of a free block on a buddy list */
	PG_allocated = 1u << 3, /* head of a block handed out */
	PG_head      = 1u << 4, /* allocated with LAB_GFP_COMP */
	PG_exclusive = 1u << 5, /* allocated with LAB_GFP_EXCLUSIVE */
	PG_bad       = 1u << 6, /* reported bad and leaked: never reused */
	PG_deferred  = 1u << 7, /* being freed, or waiting on the deferred stack */
	PG_guard     = 1u << 8, /* inaccessible guard pfn between sections (exclusive.c) */
	PG_splitting = 1u << 9, /* head: a free is splitting the tails off (alloc.c) */
	PG_split     = 1u << 10, /* tail split off a shared block, on its way to be freed */
	PG_slab      = 1u << 11, /* every page of a block the slab layer holds (src/slab/) */
	PG_pcp       = 1u << 13, /* free, on a per-CPU list */
};

/* Per-CPU lists (pcp.c). */
#define LAB_PCP_ORDERS    (LAB_COSTLY_ORDER + 1)
#define LAB_PCP_MAX_BATCH 256
/* ThreadSanitizer cannot see into the sequences: lock mode there (gcc says
 * so with __SANITIZE_THREAD__, clang with __has_feature). */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LAB_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define LAB_TSAN 1
#endif
#if defined(__x86_64__) && !defined(LAB_TSAN)
#define LAB_PCP_HAVE_RSEQ 1
#endif
enum { LAB_PCP_OFF = 0, LAB_PCP_RSEQ = 1, LAB_PCP_LOCK = 2 };
struct pcp_counters {
	uint64_t hit[LAB_PCP_ORDERS];  /* allocations served by a list, per order */
	uint64_t free;                 /* blocks pushed by lab_free_pages */
};
struct pcp_set;

/*
 * One descriptor per page, half the kernel's struct page.  A free block is
 * described by its head (PG_buddy, order, list links); an allocated block by
 * its head (PG_allocated, order, refcount).  Tail pages carry no flags.
 */
struct lab_page {
	_Atomic uint32_t flags;
	_Atomic int32_t refcount;
	union {
		struct {
			uint32_t next, prev; /* free-list links as pfns, LAB_NO_PFN ends */
		};
		/* An allocated block's pages: a word for the layer above that holds
		 * the block (the slab layer: its slab, with PG_slab). */
		void *private;
	};
	uint8_t order;          /* free: block order; allocated head: its order */
	uint8_t list_mt;        /* free: which migratetype list holds it */
	uint16_t spare;
	uint32_t owner;         /* owner token of an exclusive block */
	struct lab_zone *zone;
};
static_assert(sizeof(struct lab_page) == 32, "descriptor must stay 32 bytes");

/* Free lists per order are split by pageblock type, like the kernel's. */
enum { MT_NORMAL = 0, MT_HIGHATOMIC = 1, MT_NR = 2 };

struct free_area {
	uint32_t head[MT_NR];
	size_t nr_free[MT_NR];  /* blocks */
};

/* alloc_flags, mirroring mm/internal.h ALLOC_*. */
enum {
	ALLOC_WMARK_MIN      = 0,
	ALLOC_WMARK_LOW      = 1,
	ALLOC_WMARK_HIGH     = 2,
	ALLOC_NO_WATERMARKS  = 4,
	ALLOC_WMARK_MASK     = 7,
	ALLOC_MIN_RESERVE    = 1u << 3, /* __GFP_HIGH */
	ALLOC_NON_BLOCK      = 1u << 4, /* cannot sleep */
	ALLOC_HIGHATOMIC     = 1u << 5, /* may use and create highatomic reserves */
	ALLOC_KSWAPD         = 1u << 6,
};
#define ALLOC_RESERVES (ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC)

/*
 * The zone lock.  Its word holds the owner's thread token, so a signal
 * handler that interrupted the owner sees that its own thread holds it and
 * backs off instead of deadlocking.  Critical sections are O(LAB_MAX_ORDER).
 */
struct zone_lock {
	_Atomic uintptr_t owner;
};

enum { WMARK_MIN, WMARK_LOW, WMARK_HIGH, NR_WMARK };

struct zone_counters {
	_Atomic uint64_t alloc_success, alloc_order[LAB_NR_ORDERS], free_calls;
	_Atomic uint64_t alloc_fail, fail_atomic, fail_nowait, fail_sleeping, alloc_einval;
	_Atomic uint64_t reserve_use, highatomic_use, alloc_stall, direct_reclaim;
	_Atomic uint64_t kswapd_wake, kswapd_run, shrinker_freed, oom_calls, grow;
	_Atomic uint64_t bad_page, lock_fail, pcp_refill, pcp_drain;
	/* debugging and observability */
	_Atomic uint64_t fail_injected, poison_corrupt;
	_Atomic uint64_t exclusive_alloc, owner_refused;  /* exclusive.c */
};

/*
 * A zone.  Invariants, under the lock:
 *     nr_free + nr_allocated == managed
 *     nr_free == sum over orders and types of (area[o].nr_free[mt] << o)
 * Pages leaked by a Bad page report, or deferred, count as allocated.
 */
struct lab_zone {
	char name[32];
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
	uint8_t *pageblock_mt;     /* migratetype per pageblock */
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

	/* Background reclaimer. */
	pthread_t kswapd;
	bool kswapd_started;
	_Atomic uint32_t kswapd_seq;
	_Atomic int kswapd_pending;
	_Atomic bool kswapd_stop;
	_Atomic uint64_t pending_warn;       /* a failure report left by an atomic caller */
	_Atomic unsigned long pending_warn_count;

	/* Shrinkers and the OOM handler. */
	pthread_rwlock_t shrinker_lock;
	struct lab_shrinker *shrinkers;
	pthread_mutex_t reclaim_mutex;  /* serialises shrink rounds */
	lab_oom_handler_t oom_handler;
	void *oom_arg;

	/* Growth (LAB_ZONE_GROW), by sleeping callers only. */
	pthread_mutex_t grow_mutex;

	/* Per-CPU lists: nr_pcp sets of pcp_stride bytes (pcp.c). */
	struct pcp_set *pcp;
	int nr_pcp;
	int pcp_mode;
	size_t pcp_stride, pcp_bytes;
	uint32_t pcp_batch[LAB_PCP_ORDERS], pcp_high[LAB_PCP_ORDERS];
	_Atomic uint32_t pcp_drain_request;

	struct zone_counters stat;

	/* Debugging (fault.c, poison.c, page_owner.c, stats.c); set at creation. */
	unsigned int debug;             /* ZONE_DEBUG_*: one test on the hot paths */
	struct page_owner *page_owner;  /* LAB_ZONE_PAGE_OWNER: one record per pfn */
	/* Exclusive pages (exclusive.c); written at creation and under grow_mutex. */
	int pkey;                  /* protection key in force, -1 if none */
	unsigned int prot_wanted;  /* LAB_ZONE_* protections asked for or implied */
	_Atomic unsigned int prot_in_force;  /* held by every section so far */
	_Atomic unsigned int prot_fallback;  /* missing on some section */
	int prot_errno[16];        /* first errno per fallback bit */
	_Atomic size_t nr_sections;
	_Atomic size_t nr_guard_pfns;
};

#define zone_stat_inc(z, field) \
	atomic_fetch_add_explicit(&(z)->stat.field, 1, memory_order_relaxed)
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
static inline uint32_t page_flags(const struct lab_page *p)
{
	return atomic_load_explicit(&p->flags, memory_order_relaxed);
}
static inline void set_page_flags(struct lab_page *p, uint32_t f)
{
	atomic_store_explicit(&p->flags, f, memory_order_relaxed);
}

/* Thread token: an address unique to each live thread, found without a syscall. */
uintptr_t lab__self_token(void);

/* zone lock: lock_sleepable may yield; lock_atomic fails rather than wait long. */
void lab__zone_lock(struct lab_zone *z);
bool lab__zone_lock_atomic(struct lab_zone *z);
void lab__zone_unlock(struct lab_zone *z);
static inline bool zone_lock_held_by_self(const struct lab_zone *z)
{
	return atomic_load_explicit(&z->lock.owner, memory_order_relaxed) == lab__self_token();
}

/* zone.c */
extern _Atomic(struct lab_zone *) lab__registry[LAB_MAX_ZONES];
extern _Atomic int lab__registry_used;

/* The zone whose descriptor array holds desc, or NULL: a descriptor that is
 * no descriptor of a live zone is caught here.  Inline: every free asks. */
static inline struct lab_zone *lab__zone_of_desc(const void *desc)
{
	uintptr_t d = (uintptr_t)desc;
	int used = atomic_load_explicit(&lab__registry_used, memory_order_acquire);
	for (int i = 0; i < used; i++) {
		struct lab_zone *z = atomic_load_explicit(&lab__registry[i], memory_order_acquire);
		if (!z)
			continue;
		uintptr_t start = (uintptr_t)z->pages;
		uintptr_t end = start + atomic_load_explicit(&z->managed, memory_order_relaxed) *
						sizeof(struct lab_page);
		if (d >= start && d < end)
			return (d - start) % sizeof(struct lab_page) ? NULL : z;
	}
	return NULL;
}
struct lab_zone *lab__zone_of_addr(const void *addr);
/* The descriptor of the page holding addr if addr lies in z's memory, else
 * NULL: lab_virt_to_page() for a caller that knows the zone (no registry walk). */
static inline struct lab_page *lab__zone_addr_to_page(const struct lab_zone *z, const void *addr)
{
	uintptr_t off = (uintptr_t)addr - (uintptr_t)z->base;
	if (off >= atomic_load_explicit(&z->managed, memory_order_relaxed) << z->page_shift)
		return NULL;
	return &z->pages[off >> z->page_shift];
}
void lab__setup_watermarks(struct lab_zone *z);
int lab__zone_add_pages(struct lab_zone *z, size_t nr); /* commit, prefault, free */

/* buddy.c, all under the zone lock */
void lab__buddy_free(struct lab_zone *z, size_t pfn, unsigned int order);
struct lab_page *lab__rmqueue(struct lab_zone *z, unsigned int order, unsigned int alloc_flags);
void lab__reserve_highatomic(struct lab_zone *z, size_t pfn);
bool lab__unreserve_highatomic(struct lab_zone *z, bool force);
void lab__free_range(struct lab_zone *z, size_t start, size_t nr);
void lab__drain_deferred(struct lab_zone *z);
void lab__defer_free(struct lab_zone *z, size_t pfn, unsigned int order);
bool lab__zone_watermark_ok(const struct lab_zone *z, unsigned int order, size_t mark,
			    unsigned int alloc_flags, size_t free_pages);

/* alloc.c */
void lab__free_block(struct lab_zone *z, struct lab_page *page, unsigned int order);

/* pcp.c */
int lab__pcp_mode(void);
int lab__pcp_init(struct lab_zone *z, const struct lab_zone_config *cfg);
void lab__pcp_destroy(struct lab_zone *z);
struct lab_page *lab__pcp_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
bool lab__pcp_free(struct lab_zone *z, struct lab_page *page, unsigned int order);
bool lab__pcp_drain_local(struct lab_zone *z);
void lab__pcp_drain_all(struct lab_zone *z, bool may_sleep);
void lab__pcp_own_all(struct lab_zone *z);
void lab__pcp_release_all(struct lab_zone *z);
int lab__pcp_check(const struct lab_zone *z, size_t *pages);
size_t lab__pcp_pages(const struct lab_zone *z);
void lab__pcp_sum_counters(const struct lab_zone *z, struct pcp_counters *sum);

/* reclaim.c */
void lab__wakeup_kswapd(struct lab_zone *z);
int lab__kswapd_start(struct lab_zone *z);
void lab__kswapd_stop(struct lab_zone *z);
unsigned long lab__shrink_slab(struct lab_zone *z, lab_gfp_t gfp, int priority);
unsigned long lab__direct_reclaim(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
bool lab__wait_for_free(struct lab_zone *z, uint32_t seq, int64_t timeout_ns);
void lab__wake_waiters(struct lab_zone *z);
bool lab__zone_grow(struct lab_zone *z, unsigned int order);
bool lab__out_of_memory(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);

/* env.c: the LABYRINTH_* variables, read by constructors.  lab__env_get:
 * the value, NULL when unset or empty.  lab__env_word: the index of
 * s[0..len) in the NULL-terminated words, or -1.  lab__env_choice: the index
 * of the variable's value in words; -1 when unset, or when bad after one line
 * on stderr ("NAME: bad value 'V': expected a, b or c; KEEPS"). */
const char *lab__env_get(const char *name);
int lab__env_word(const char *s, size_t len, const char *const *words);
int lab__env_choice(const char *name, const char *const *words, const char *keeps);
void lab__env_bad(const char *name, const char *value, const char *expected, const char *keeps);
void lab__env_report(const char *name, const char *what, const char *keeps);

/* report.c */
void lab__printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A rate limit, the kernel's ratelimit_state: at most burst messages per
 * interval.  The messages it holds back are counted and shown as one line,
 * "<what>: N messages suppressed", when the next interval opens and, for a
 * count still unshown, when the process exits.  Static, zero-initialised
 * but for what (LAB_RATELIMIT_INIT).  Lock-free, async-signal-safe. */
struct lab__ratelimit {
	_Atomic uint64_t begin;                /* start of the interval, ns */
	_Atomic uint32_t printed;              /* messages let through in it */
	_Atomic uint64_t missed;               /* held back, not yet shown */
	_Atomic bool listed;                   /* on the list the exit walks */
	struct lab__ratelimit *_Atomic next;
	const char *what;
};
#define LAB_RATELIMIT_INIT(msg) { .what = (msg) }
/* True when this message may print. */
bool lab__ratelimit(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns);
void lab__bad_page(struct lab_zone *z, const struct lab_page *p, const char *reason);
void lab__bad_pointer(const void *ptr, const char *reason);
void lab__warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
void lab__flush_warnings(struct lab_zone *z);

/* ---- debugging and observability ------------------------------------- */
/* fault.c, poison.c, page_owner.c, stats.c; hooks in alloc.c and zone.c. */

/* z->debug: what the alloc and free paths must do beyond the buddy work. */
enum {
	ZONE_DEBUG_POISON   = 1u << 0, /* fill freed pages with 0xaa, check on alloc */
	ZONE_DEBUG_OWNER    = 1u << 1, /* page owner records */
	ZONE_DEBUG_SANITIZE = 1u << 2, /* mark free pages for ASan / Valgrind */
};

/* fault.c: nonzero when any allocation might be failed on purpose. */
extern _Atomic unsigned int lab__fault_armed;
static inline bool fault_armed(void)
{
	return atomic_load_explicit(&lab__fault_armed, memory_order_relaxed) != 0;
}
bool lab__should_fail_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
/* failslab: the flag the slab layer tests, and the decision for an object of
 * size bytes of a cache marked (or not) with LAB_SLAB_FAILSLAB. */
extern _Atomic unsigned int lab__failslab_armed;
bool lab__should_failslab(lab_gfp_t gfp, size_t size, bool marked);

/* poison.c */
unsigned int lab__poison_zone_debug(unsigned int zone_flags);
void lab__poison_free(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__poison_alloc(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__poison_new_range(struct lab_zone *z, size_t first, size_t nr);
void lab__poison_zone_fini(struct lab_zone *z);
/* ASan's and Valgrind's view of [mem, mem+len): unaddressable, or usable
 * (defined: as initialised).  Only where z->debug has ZONE_DEBUG_SANITIZE. */
void lab__sanitizer_mark_free(void *mem, size_t len);
void lab__sanitizer_mark_allocated(void *mem, size_t len, bool defined);

/* page_owner.c: stacks are captured without malloc or locks (see there). */
#define LAB_STACK_DEPTH 16
void lab__stack_warm(void);   /* once, where allocating is fine */
unsigned int lab__stack_capture(void **frames, unsigned int max, unsigned int skip);
void lab__stack_print(void *const *frames, unsigned int nr, FILE *out);  /* NULL: stderr */
void lab__dump_stack(void);
unsigned int lab__page_owner_zone_debug(unsigned int zone_flags);
int lab__page_owner_zone_init(struct lab_zone *z);
int lab__page_owner_new_range(struct lab_zone *z, size_t first, size_t nr);
void lab__page_owner_zone_fini(struct lab_zone *z);
void lab__page_owner_alloc(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			   unsigned int order);
void lab__page_owner_free(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__page_owner_dump_bad(struct lab_zone *z, const struct lab_page *page);

/* stats.c: the zones the live export shows. */
void lab__stats_zone_add(struct lab_zone *z);
void lab__stats_zone_del(struct lab_zone *z);

/* report.c: the Bad page rate limit's quiet period (tests shorten it). */
extern _Atomic uint64_t lab__bad_page_interval_ns;
void lab__bad_page_state(struct lab_zone *z, const struct lab_page *p, uint32_t flags,
			 const char *reason);

/* Hooks, each one predictable branch when debugging is off. */
static inline int lab__debug_zone_init(struct lab_zone *z, unsigned int zone_flags)
{
	lab__stack_warm();  /* reports capture stacks later, maybe in atomic context */
	z->debug = lab__poison_zone_debug(zone_flags) | lab__page_owner_zone_debug(zone_flags);
	return (z->debug & ZONE_DEBUG_OWNER) ? lab__page_owner_zone_init(z) : 0;
}
/* New memory [first, first+nr) about to be handed to the buddy lists. */
static inline int lab__debug_new_range(struct lab_zone *z, size_t first, size_t nr)
{
	if (likely(!z->debug))
		return 0;
	lab__poison_new_range(z, first, nr);
	return (z->debug & ZONE_DEBUG_OWNER) ? lab__page_owner_new_range(z, first, nr) : 0;
}
static inline void lab__debug_zone_fini(struct lab_zone *z)
{
	if (z->debug & ZONE_DEBUG_OWNER)
		lab__page_owner_zone_fini(z);
	if (z->debug & (ZONE_DEBUG_POISON | ZONE_DEBUG_SANITIZE))
		lab__poison_zone_fini(z);
}
static inline void lab__debug_alloc(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
				    unsigned int order)
{
	if (likely(!z->debug))
		return;
	lab__poison_alloc(z, page, order);
	if (z->debug & ZONE_DEBUG_OWNER)
		lab__page_owner_alloc(z, page, gfp, order);
}
static inline void lab__debug_free(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	if (likely(!z->debug))
		return;
	if (z->debug & ZONE_DEBUG_OWNER)
		lab__page_owner_free(z, page, order);
	lab__poison_free(z, page, order);
}

/* exclusive.c: zone protections (creation and growth only) */
int lab__exclusive_check_config(unsigned int flags);
int lab__exclusive_zone_init(struct lab_zone *z);      /* before any section */
void lab__exclusive_zone_fini(struct lab_zone *z);     /* after the memory is gone */
size_t lab__zone_guard_bytes(const struct lab_zone *z);/* kept outside the reservation */
size_t lab__section_guard(struct lab_zone *z, size_t first, size_t *nr);
int lab__exclusive_map_section(struct lab_zone *z, void *mem, size_t len);
void lab__exclusive_stats(const struct lab_zone *z, struct lab_zone_stats *out);
/* exclusive.c: per allocation.  Every library write to zone memory (zeroing,
 * scrubbing, poisoning) goes between write_begin and write_end, which let the
 * calling thread past the zone's protection key whatever its grants (signal
 * handlers included) and restore its PKRU after; no syscall. */
uint32_t lab__zone_write_begin(const struct lab_zone *z);
void lab__zone_write_end(const struct lab_zone *z, uint32_t saved);
void lab__zone_wipe(const struct lab_zone *z, void *addr, size_t len); /* not elided */
void lab__exclusive_prep(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			 unsigned int order);
void lab__exclusive_scrub(struct lab_zone *z, struct lab_page *page, unsigned int order);
/* May the calling thread free, lock or get (what) this page?  True for a
 * page that is not exclusive; otherwise a non-owner gets a Bad page report
 * and false, and the page is left as it was. */
bool lab__exclusive_may_touch(struct lab_zone *z, const struct lab_page *page, const char *what);

/* ---- page locks, references and atomic context (pagelock.c, refcount.c,
 * atomic_ctx.c) ---------------------------------------------------------- */

static inline void lab__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* atomic_ctx.c: the might_sleep check, on when lab__sleep_check (set once at
 * load from the build type and LABYRINTH_DEBUG).  Off, it costs one branch. */
extern bool lab__sleep_check;
void lab__might_sleep_report(const char *where); /* reports and aborts in atomic context */
static inline void lab__might_sleep(const char *where)
{
	if (unlikely(lab__sleep_check))
		lab__might_sleep_report(where);
}

/*
 * Exclusive pages: THE owner check for lab_lock_page, lab_trylock_page and
 * lab_get_page.  Returns true when the calling thread may not lock or
 * reference the page (after reporting it): the caller then does nothing
 * (trylock returns false).  Only exclusive blocks have an owner.
 */
static inline bool lab__page_owner_refuses(const struct lab_page *page, const char *who)
{
	if (likely(!(page_flags(page) & PG_exclusive)))
		return false;
	return !lab__exclusive_may_touch(page->zone, page, who);
}

/* refcount.c: drop a reference; true when it was the last one.  A put
 * without a reference is reported (and the block leaked if still allocated). */
bool lab__put_testzero(struct lab_zone *z, struct lab_page *page);

/* alloc.c: the free side of references.  free_the_page: the last reference
 * is gone, check and free the block; leak_block: report a misuse and, if the
 * block is still allocated, leak it (never reused, counted as allocated). */
void lab__free_the_page(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__leak_block(struct lab_zone *z, struct lab_page *page, const char *reason);

/* The head's order, read and written outside the zone lock by the free path. */
static inline unsigned int page_order(const struct lab_page *p)
{
	return __atomic_load_n(&p->order, __ATOMIC_RELAXED);
}

/* pagelock.c, for tests only: called by a lock waiter woken by a plain
 * unlock before it tries the lock again; and the page's wait-table bucket
 * lock, to stand in for the moment a signal interrupts its holder. */
extern void (*lab__page_lock_woken_hook)(const struct lab_page *page);
bool lab__page_waitqueue_lock(const struct lab_page *page);
void lab__page_waitqueue_unlock(const struct lab_page *page);

#endif /* LAB_INTERNAL_H */
