/*
 * zone.c - zones: creation and growth of their memory, the registry that maps
 * addresses and descriptors back to zones, the zone lock, watermarks derived
 * as the kernel derives them, statistics, and the invariant checker.
 */
#include "base/compiler.h"
#include "os/os.h"
#include "page/badpage.h"
#include "page/buddy.h"
#include "page/page.h"
#include "page/pcp.h"
#include "page/reclaim.h"
#include "page/zone.h"
#include "secure/hooks.h"
#include "debug/export.h"
#include "debug/hooks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the zone lock ---------------------------------------------------- */

static _Thread_local char self_token_byte __attribute__((tls_model("initial-exec")));

uintptr_t lab__self_token(void)
{
	return (uintptr_t)&self_token_byte;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* An atomic caller spins at most this many times on a holder in another
 * thread (a descheduled holder), then fails rather than wait. */
#define ATOMIC_SPIN_LIMIT (1u << 14)

void lab__zone_lock(struct lab_zone *z)
{
	uintptr_t me = lab__self_token();
	for (unsigned int spins = 0;; spins++) {
		uintptr_t seen = 0;
		if (atomic_compare_exchange_weak_explicit(&z->lock.owner, &seen, me,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
		if (unlikely(seen == me)) {
			lab__printk("BUG: labyrinth: zone %s: lock taken recursively "
				    "(a sleeping call from a signal handler?)\n", z->name);
			abort();
		}
		if (spins < 64)
			cpu_relax();
		else
			lab__os_yield();
	}
}

bool lab__zone_lock_atomic(struct lab_zone *z)
{
	uintptr_t me = lab__self_token();
	for (unsigned int spins = 0; spins < ATOMIC_SPIN_LIMIT; spins++) {
		uintptr_t seen = 0;
		if (atomic_compare_exchange_weak_explicit(&z->lock.owner, &seen, me,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
		if (seen == me)  /* we interrupted ourselves: waiting would deadlock */
			break;
		cpu_relax();
	}
	zone_stat_inc(z, lock_fail);
	return false;
}

void lab__zone_unlock(struct lab_zone *z)
{
	atomic_store_explicit(&z->nr_free_snapshot, z->nr_free, memory_order_relaxed);
	atomic_store_explicit(&z->lock.owner, 0, memory_order_release);
}

/* ---- the registry ----------------------------------------------------- */

_Atomic(struct lab_zone *) lab__registry[LAB_MAX_ZONES];
_Atomic int lab__registry_used;  /* slots at and above it are empty */
#define registry lab__registry
#define registry_used lab__registry_used
static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;

/*
 * fork(): a child is born with one thread and every lock as it was.  Hold
 * every zone lock across fork() so that no zone is copied in the middle of
 * a list operation, with its lock owned by a thread the child does not have.
 */
static void zones_lock_for_fork(void)
{
	pthread_mutex_lock(&registry_mutex);
	for (int i = 0; i < atomic_load(&registry_used); i++) {
		struct lab_zone *z = atomic_load(&registry[i]);
		if (z)
			lab__zone_lock(z);
	}
}

static void zones_unlock_after_fork(void)
{
	for (int i = 0; i < atomic_load(&registry_used); i++) {
		struct lab_zone *z = atomic_load(&registry[i]);
		if (z)
			lab__zone_unlock(z);
	}
	pthread_mutex_unlock(&registry_mutex);
}

static void register_fork_handlers(void)
{
	pthread_atfork(zones_lock_for_fork, zones_unlock_after_fork, zones_unlock_after_fork);
}

static int registry_add(struct lab_zone *z)
{
	static pthread_once_t fork_handlers = PTHREAD_ONCE_INIT;
	pthread_once(&fork_handlers, register_fork_handlers);
	int rc = -ENFILE;
	pthread_mutex_lock(&registry_mutex);
	for (int i = 0; i < LAB_MAX_ZONES; i++) {
		if (!atomic_load(&registry[i])) {
			atomic_store(&registry[i], z);
			if (i >= atomic_load(&registry_used))
				atomic_store(&registry_used, i + 1);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&registry_mutex);
	return rc;
}

static void registry_del(struct lab_zone *z)
{
	pthread_mutex_lock(&registry_mutex);
	for (int i = 0; i < LAB_MAX_ZONES; i++)
		if (atomic_load(&registry[i]) == z)
			atomic_store(&registry[i], NULL);
	int used = atomic_load(&registry_used);
	while (used && !atomic_load(&registry[used - 1]))
		used--;
	atomic_store(&registry_used, used);
	pthread_mutex_unlock(&registry_mutex);
}

struct lab_zone *lab__zone_of_addr(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	int used = atomic_load_explicit(&registry_used, memory_order_acquire);
	for (int i = 0; i < used; i++) {
		struct lab_zone *z = atomic_load_explicit(&registry[i], memory_order_acquire);
		if (!z)
			continue;
		uintptr_t start = (uintptr_t)z->base;
		if (a >= start && a < start + (atomic_load(&z->managed) << z->page_shift))
			return z;
	}
	return NULL;
}

/* ---- watermarks ------------------------------------------------------- */

static size_t int_sqrt(size_t x)
{
	size_t r = 0;
	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/*
 * __setup_per_zone_wmarks() for a zone that is the whole machine:
 * min_free_kbytes = sqrt(16 * zone kB) clamped to 128..262144 kB, capped at
 * 1/16 of the zone so small zones stay usable; then
 * tmp = max(min / 4, managed * scale / 10000), low = min + tmp, high = low + tmp.
 */
void lab__setup_watermarks(struct lab_zone *z)
{
	if (z->wmark_fixed)
		return;
	size_t managed = atomic_load(&z->managed);
	size_t kb = managed * (z->page_size / 1024);
	size_t min_kb = int_sqrt(kb * 16);
	if (min_kb < 128)
		min_kb = 128;
	if (min_kb > 262144)
		min_kb = 262144;
	size_t min = min_kb / (z->page_size / 1024);
	if (min > managed / 16)
		min = managed / 16;
	size_t tmp = min / 4;
	size_t scaled = managed * z->watermark_scale_factor / 10000;
	if (scaled > tmp)
		tmp = scaled;
	atomic_store(&z->wmark[WMARK_MIN], min);
	atomic_store(&z->wmark[WMARK_LOW], min + tmp);
	atomic_store(&z->wmark[WMARK_HIGH], min + 2 * tmp);
}

/* ---- creation and growth ---------------------------------------------- */

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

/* Commit, pre-fault and initialise pfns [managed, managed + nr), then hand
 * them to the buddy allocator.  Callers serialise (creation or grow_mutex). */
int lab__zone_add_pages(struct lab_zone *z, size_t nr)
{
	size_t first = atomic_load(&z->managed);
	size_t ps = z->page_size;
	/* exclusive.c: the section's protections; with LAB_ZONE_GUARD a later
	 * section starts with a guard pfn that is never committed. */
	size_t guard = lab__section_guard(z, first, &nr);
	if (nr <= guard)
		return -ENOMEM;
	char *mem = z->base + ((first + guard) << z->page_shift);
	int rc = lab__exclusive_map_section(z, mem, (nr - guard) * ps);
	if (rc)
		return rc;

	/* Descriptors share OS pages with their neighbours: commit whole pages. */
	uintptr_t d0 = (uintptr_t)(z->pages + first) & ~(uintptr_t)(ps - 1);
	uintptr_t d1 = round_up((uintptr_t)(z->pages + first + nr), ps);
	rc = lab__os_commit((void *)d0, d1 - d0);
	if (!rc)
		rc = lab__os_prefault((void *)d0, d1 - d0);
	if (rc)
		return rc;
	for (size_t pfn = first; pfn < first + nr; pfn++) {
		struct lab_page *p = pfn_to_page(z, pfn);
		memset(p, 0, sizeof(*p));
		p->next = p->prev = LAB_NO_PFN;
		p->zone = z;
	}
	if (guard)
		set_page_flags(pfn_to_page(z, first), PG_guard);

	rc = lab__debug_new_range(z, first, nr);  /* poison, page owner records */
	if (rc)
		return rc;

	lab__zone_lock(z);
	atomic_store(&z->managed, first + nr);
	z->nr_allocated += nr;   /* free_range takes them back out */
	lab__free_range(z, first + guard, nr - guard);
	z->nr_allocated -= nr - guard;  /* a guard pfn stays allocated for good */
	atomic_fetch_add(&z->nr_guard_pfns, guard);
	lab__zone_unlock(z);
	lab__setup_watermarks(z);
	return 0;
}

static unsigned int ilog2(size_t x)
{
	unsigned int r = 0;
	while (x >>= 1)
		r++;
	return r;
}

static int check_config(const struct lab_zone_config *cfg)
{
	if (!cfg || !cfg->pages || cfg->pages >= LAB_NO_PFN)
		return -EINVAL;
	if (cfg->flags & ~LAB_ZONE_ALL_FLAGS)
		return -EINVAL;
	if ((cfg->flags & LAB_ZONE_GROW) && cfg->max_pages &&
	    (cfg->max_pages < cfg->pages || cfg->max_pages >= LAB_NO_PFN))
		return -EINVAL;
	if (!(cfg->flags & LAB_ZONE_GROW) && cfg->max_pages && cfg->max_pages != cfg->pages)
		return -EINVAL;
	if (cfg->wmark_min || cfg->wmark_low || cfg->wmark_high) {
		if (cfg->wmark_min > cfg->wmark_low || cfg->wmark_low > cfg->wmark_high ||
		    cfg->wmark_high >= cfg->pages)
			return -EINVAL;
	}
	if (cfg->watermark_scale_factor > 3000)  /* the kernel's sysctl limit */
		return -EINVAL;
	return lab__exclusive_check_config(cfg->flags);
}

struct lab_zone *lab_zone_create(const struct lab_zone_config *cfg)
{
	int rc = check_config(cfg);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	struct lab_zone *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;

	snprintf(z->name, sizeof(z->name), "%s", cfg->name ? cfg->name : "Normal");
	z->flags = cfg->flags;
	z->page_size = lab__os_page_size();
	z->page_shift = ilog2(z->page_size);
	z->max_pages = cfg->pages;
	if (cfg->flags & LAB_ZONE_GROW)
		z->max_pages = cfg->max_pages ? cfg->max_pages : 4 * cfg->pages;
	if (z->max_pages >= LAB_NO_PFN)
		z->max_pages = LAB_NO_PFN - 1;
	z->watermark_scale_factor = cfg->watermark_scale_factor ? cfg->watermark_scale_factor : 10;
	/* A pageblock is at most 512 pages (the kernel's) and at most 1/64 of the zone. */
	unsigned int lg = ilog2(cfg->pages);
	z->pageblock_order = lg > 6 + 9 ? 9 : lg > 6 ? lg - 6 : 0;
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		z->area[o].head[MT_NORMAL] = z->area[o].head[MT_HIGHATOMIC] = LAB_NO_PFN;
	pthread_rwlock_init(&z->shrinker_lock, NULL);
	pthread_mutex_init(&z->reclaim_mutex, NULL);
	pthread_mutex_init(&z->grow_mutex, NULL);

	size_t nblocks = (z->max_pages >> z->pageblock_order) + 1;
	z->pageblock_mt = calloc(nblocks, 1);
	int err = lab__exclusive_zone_init(z);  /* exclusive.c: protection key */
	size_t guard = lab__zone_guard_bytes(z);
	if (!err)
		z->base = lab__os_reserve_guarded(z->max_pages * z->page_size,
						  z->page_size << LAB_MAX_ORDER, guard, &err);
	if (z->base)
		z->pages = lab__os_reserve(round_up(z->max_pages * sizeof(struct lab_page),
						    z->page_size), z->page_size, &err);
	if (!z->pageblock_mt)
		err = -ENOMEM;
	if (!err && z->pages)
		err = lab__debug_zone_init(z, cfg->flags);
	if (!err && z->pages)
		err = lab__zone_add_pages(z, cfg->pages);
	if (!err && cfg->wmark_high) {
		z->wmark_fixed = true;
		atomic_store(&z->wmark[WMARK_MIN], cfg->wmark_min);
		atomic_store(&z->wmark[WMARK_LOW], cfg->wmark_low);
		atomic_store(&z->wmark[WMARK_HIGH], cfg->wmark_high);
	}
	if (!err)
		err = lab__pcp_init(z, cfg);
	if (!err)
		err = registry_add(z);
	if (!err && !(cfg->flags & LAB_ZONE_NO_KSWAPD)) {
		err = lab__kswapd_start(z);
		if (err)
			registry_del(z);
	}
	if (!err)
		lab__stats_zone_add(z);
	if (err) {
		lab__pcp_destroy(z);
		lab__debug_zone_fini(z);
		if (z->pages)
			lab__os_release(z->pages, round_up(z->max_pages * sizeof(struct lab_page),
							   z->page_size));
		if (z->base)
			lab__os_release(z->base - guard, z->max_pages * z->page_size + 2 * guard);
		lab__exclusive_zone_fini(z);
		free(z->pageblock_mt);
		free(z);
		errno = -err;
		return NULL;
	}
	return z;
}

void lab_zone_destroy(struct lab_zone *z)
{
	if (!z)
		return;
	lab__kswapd_stop(z);
	registry_del(z);
	lab__stats_zone_del(z);
	lab__pcp_drain_all(z, true);
	lab__pcp_destroy(z);
	lab__zone_lock(z);
	lab__drain_deferred(z);
	size_t leaked = z->nr_allocated - atomic_load(&z->nr_guard_pfns);
	lab__zone_unlock(z);
	if (leaked)
		lab__printk("labyrinth: zone %s destroyed with %zu pages still allocated\n",
			    z->name, leaked);
	lab__debug_zone_fini(z);  /* page owner leak report; sanitizer marks off */
	lab__os_release(z->pages, round_up(z->max_pages * sizeof(struct lab_page), z->page_size));
	size_t guard = lab__zone_guard_bytes(z);
	lab__os_release(z->base - guard, z->max_pages * z->page_size + 2 * guard);
	lab__exclusive_zone_fini(z);
	pthread_rwlock_destroy(&z->shrinker_lock);
	pthread_mutex_destroy(&z->reclaim_mutex);
	pthread_mutex_destroy(&z->grow_mutex);
	free(z->pageblock_mt);
	free(z);
}

const char *lab_zone_name(const struct lab_zone *z)
{
	return z ? z->name : NULL;
}

/* ---- pages and addresses --------------------------------------------- */

size_t lab_page_size(void)
{
	return lab__os_page_size();
}

void *lab_page_address(const struct lab_page *page)
{
	const struct lab_zone *z = page->zone;
	return z->base + (page_to_pfn(z, page) << z->page_shift);
}

struct lab_page *lab_virt_to_page(const void *addr)
{
	struct lab_zone *z = lab__zone_of_addr(addr);
	if (!z)
		return NULL;
	return pfn_to_page(z, ((uintptr_t)addr - (uintptr_t)z->base) >> z->page_shift);
}

size_t lab_page_to_pfn(const struct lab_page *page)
{
	return page_to_pfn(page->zone, page);
}

struct lab_page *lab_pfn_to_page(const struct lab_zone *z, size_t pfn)
{
	if (!z || pfn >= atomic_load(&z->managed))
		return NULL;
	return pfn_to_page(z, pfn);
}

struct lab_zone *lab_page_zone(const struct lab_page *page)
{
	return page->zone;
}

/* ---- statistics and the checker -------------------------------------- */

/* Readers of a const zone still take its lock. */
static struct lab_zone *zone_mut(const struct lab_zone *z)
{
	return (struct lab_zone *)(uintptr_t)z;
}

#define LOAD(f) atomic_load_explicit(&z->stat.f, memory_order_relaxed)

/* The struct grows only at its end: 0.1.0's fields keep their places. */
static_assert(sizeof(struct lab_zone_stats) >= LAB_ZONE_STATS_SIZE_0, "stats shrank");
static_assert(offsetof(struct lab_zone_stats, owner_refused) + sizeof(uint64_t) ==
	      LAB_ZONE_STATS_SIZE_0, "a field of 0.1.0 moved: append new fields after it");

static void get_stats(const struct lab_zone *cz, struct lab_zone_stats *out)
{
	struct lab_zone *z = zone_mut(cz);
	memset(out, 0, sizeof(*out));
	lab__zone_lock(z);
	out->managed = atomic_load(&z->managed);
	out->free = z->nr_free;
	out->pcp = lab__pcp_pages(z);
	out->allocated = z->nr_allocated > out->pcp ? z->nr_allocated - out->pcp : 0;
	out->reserved_highatomic = z->nr_reserved_highatomic;
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		out->nr_free[o] = z->area[o].nr_free[MT_NORMAL] + z->area[o].nr_free[MT_HIGHATOMIC];
	lab__zone_unlock(z);
	out->deferred = atomic_load(&z->nr_deferred);
	out->leaked = atomic_load(&z->nr_leaked);
	out->wmark_min = atomic_load(&z->wmark[WMARK_MIN]);
	out->wmark_low = atomic_load(&z->wmark[WMARK_LOW]);
	out->wmark_high = atomic_load(&z->wmark[WMARK_HIGH]);
	struct pcp_counters pcp;
	lab__pcp_sum_counters(z, &pcp);
	out->alloc_success = LOAD(alloc_success);
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		out->alloc_order[o] = LOAD(alloc_order[o]);
	for (int o = 0; o < LAB_PCP_ORDERS; o++) {
		out->alloc_order[o] += pcp.hit[o];
		out->alloc_success += pcp.hit[o];
		out->pcp_hit += pcp.hit[o];
	}
	out->free_calls = LOAD(free_calls) + pcp.free;
	out->pcp_refill = LOAD(pcp_refill);
	out->pcp_drain = LOAD(pcp_drain);
	out->pcp_batch = z->pcp ? z->pcp_batch[0] : 0;
	out->pcp_high = z->pcp ? z->pcp_high[0] : 0;
	out->alloc_fail = LOAD(alloc_fail);
	out->fail_atomic = LOAD(fail_atomic);
	out->fail_nowait = LOAD(fail_nowait);
	out->fail_sleeping = LOAD(fail_sleeping);
	out->alloc_einval = LOAD(alloc_einval);
	out->reserve_use = LOAD(reserve_use);
	out->highatomic_use = LOAD(highatomic_use);
	out->alloc_stall = LOAD(alloc_stall);
	out->direct_reclaim = LOAD(direct_reclaim);
	out->kswapd_wake = LOAD(kswapd_wake);
	out->kswapd_run = LOAD(kswapd_run);
	out->shrinker_freed = LOAD(shrinker_freed);
	out->oom_calls = LOAD(oom_calls);
	out->grow = LOAD(grow);
	out->bad_page = LOAD(bad_page);
	out->lock_fail = LOAD(lock_fail);
	out->fail_injected = LOAD(fail_injected);
	out->poison_corrupt = LOAD(poison_corrupt);
	lab__exclusive_stats(z, out);
}

size_t lab_zone_get_stats2(const struct lab_zone *z, struct lab_zone_stats *out, size_t size)
{
	if (size >= sizeof(*out)) {
		get_stats(z, out);
		memset((char *)out + sizeof(*out), 0, size - sizeof(*out));
		return sizeof(*out);
	}
	struct lab_zone_stats all;
	get_stats(z, &all);
	memcpy(out, &all, size);
	return size;
}

/* 0.1.0's entry point, for binaries built against its header. */
#undef lab_zone_get_stats
void lab_zone_get_stats(const struct lab_zone *z, struct lab_zone_stats *out)
{
	lab_zone_get_stats2(z, out, LAB_ZONE_STATS_SIZE_0);
}

#define BROKEN(...) (errors++, lab__printk("labyrinth: zone %s: invariant broken: " __VA_ARGS__))

/* Walk the free lists: each block a free head of its order and list, aligned. */
static int check_free_lists(const struct lab_zone *z, size_t managed, size_t *listed)
{
	int errors = 0;
	*listed = 0;
	for (unsigned int o = 0; o <= LAB_MAX_ORDER; o++) {
		for (unsigned int mt = 0; mt < MT_NR; mt++) {
			size_t n = 0;
			uint32_t prev = LAB_NO_PFN;
			for (uint32_t pfn = z->area[o].head[mt]; pfn != LAB_NO_PFN;
			     pfn = pfn_to_page(z, pfn)->next) {
				const struct lab_page *p = pfn_to_page(z, pfn);
				if (pfn >= managed || n > managed) {
					BROKEN("free_list_link order %u: pfn %u out of the zone\n", z->name, o, pfn);
					break;
				}
				if (!(page_flags(p) & PG_buddy) || p->order != o || p->list_mt != mt)
					BROKEN("free_list_membership pfn %u on list %u/%u: flags %#x order %u\n",
					       z->name, pfn, o, mt, page_flags(p), p->order);
				if (pfn & ((1u << o) - 1))
					BROKEN("free_block_aligned pfn %u order %u\n", z->name, pfn, o);
				if (p->prev != prev)
					BROKEN("free_list_link pfn %u prev %u, expected %u\n", z->name, pfn, p->prev, prev);
				prev = pfn;
				n++;
				*listed += (size_t)1 << o;
			}
			if (n != z->area[o].nr_free[mt])
				BROKEN("free_list_count order %u type %u: %zu blocks listed, %zu counted\n",
				       z->name, o, mt, n, z->area[o].nr_free[mt]);
		}
	}
	return errors;
}

/* Flags that make a page the head of a block. */
#define HEAD_FLAGS (PG_buddy | PG_allocated | PG_bad | PG_deferred | PG_pcp | PG_guard | PG_split)

/*
 * Walk pfn order: blocks tile the zone without overlapping.  Lock-free
 * paths run meanwhile, and all but one leave the tiling alone: they change a
 * whole block's flags (allocated, per-CPU, deferred, bad), each state counted
 * below.  The exception is a free splitting a shared block (alloc.c
 * split_block): the tails become blocks of their own (PG_split) inside the
 * head, which then shrinks to order 0, and only then do the tails move on.
 * So a head whose interior is not clean is read again: a changed order means
 * the split went on, and the block is walked again; an unchanged one means
 * what was seen is real, PG_split tails under a PG_splitting head being a
 * split in flight and anything else a break.  Every page is counted once.
 */
static int check_tiling(const struct lab_zone *z, size_t managed, size_t *free_seen,
			size_t *used_seen, size_t *pcp_seen)
{
	int errors = 0;
	unsigned int rewalks = 0;
	*free_seen = *used_seen = *pcp_seen = 0;
	for (size_t pfn = 0; pfn < managed;) {
		const struct lab_page *p = pfn_to_page(z, pfn);
		uint32_t f = atomic_load_explicit(&p->flags, memory_order_acquire);
		if (!(f & HEAD_FLAGS)) {
			BROKEN("block_tiling pfn %zu belongs to no block (flags %#x)\n", z->name, pfn, f);
			pfn++;
			continue;
		}
		unsigned int order = __atomic_load_n(&p->order, __ATOMIC_ACQUIRE);
		size_t n = (size_t)1 << order;
		if (order > LAB_MAX_ORDER || pfn & (n - 1) || pfn + n > managed) {
			BROKEN("block_aligned pfn %zu order %u\n", z->name, pfn, order);
			pfn++;
			continue;
		}
		size_t split_tails = 0, foreign = 0, first_split = 0, first = 0;
		uint32_t first_flags = 0;
		for (size_t t = pfn + 1; t < pfn + n; t++) {
			uint32_t tf = page_flags(pfn_to_page(z, t));
			if (tf == PG_split && !split_tails++)
				first_split = t;
			else if ((tf & HEAD_FLAGS) && tf != PG_split && !foreign++) {
				first = t;
				first_flags = tf;
			}
		}
		if (split_tails || foreign) {
			atomic_thread_fence(memory_order_acquire);
			uint32_t f2 = atomic_load_explicit(&p->flags, memory_order_acquire);
			if (__atomic_load_n(&p->order, __ATOMIC_ACQUIRE) != order && ++rewalks < 4)
				continue;  /* split meanwhile: walk it again from its head */
			if (!(f2 & PG_splitting) && split_tails) {
				if (!foreign) {
					first = first_split;
					first_flags = PG_split;
				}
				foreign += split_tails;
			}
			if (foreign)
				BROKEN("blocks_disjoint pfn %zu (flags %#x) inside block %zu "
				       "order %u (%zu such pages)\n", z->name, first, first_flags,
				       pfn, order, foreign);
		}
		rewalks = 0;
		if (f & PG_buddy)
			*free_seen += n;
		else if (f & PG_pcp)
			*pcp_seen += n;
		else
			*used_seen += n;
		pfn += n;
	}
	return errors;
}

int lab_zone_check(const struct lab_zone *cz)
{
	struct lab_zone *z = zone_mut(cz);
	int errors = 0;
	if (!z)
		return 1;
	/* Own every per-CPU set first (the lock order is set, then zone). */
	lab__pcp_own_all(z);
	lab__zone_lock(z);
	lab__drain_deferred(z);
	size_t managed = atomic_load(&z->managed);
	size_t listed, free_seen, used_seen, pcp_seen, pcp_listed;
	errors += check_free_lists(z, managed, &listed);
	errors += check_tiling(z, managed, &free_seen, &used_seen, &pcp_seen);
	errors += lab__pcp_check(z, &pcp_listed);
	/* A page between a list and its user (popped, not yet handed out; or
	 * claimed, not yet pushed) is marked but on no list: in transit, fine.
	 * A listed page that is not marked is not. */
	if (pcp_listed > pcp_seen)
		BROKEN("pcp_pages: %zu pages on per-CPU lists, only %zu marked so walking the zone\n",
		       z->name, pcp_listed, pcp_seen);
	if (listed != z->nr_free)
		BROKEN("nr_free: lists hold %zu pages, counter says %zu\n", z->name, listed, z->nr_free);
	if (free_seen != z->nr_free)
		BROKEN("nr_free: %zu free pages found walking the zone, counter says %zu\n",
		       z->name, free_seen, z->nr_free);
	if (used_seen + pcp_seen != z->nr_allocated)
		BROKEN("nr_allocated: %zu pages in use and %zu on per-CPU lists found walking the "
		       "zone, counter says %zu\n", z->name, used_seen, pcp_seen, z->nr_allocated);
	if (z->nr_free + z->nr_allocated != managed)
		BROKEN("conservation: free %zu + allocated %zu != managed %zu\n",
		       z->name, z->nr_free, z->nr_allocated, managed);
	size_t ha = 0, pb_pages = (size_t)1 << z->pageblock_order;
	for (size_t pb = 0; pb <= (managed - 1) >> z->pageblock_order; pb++)
		ha += z->pageblock_mt[pb] == MT_HIGHATOMIC ? pb_pages : 0;
	if (ha != z->nr_reserved_highatomic)
		BROKEN("highatomic_reserve: %zu pages in highatomic pageblocks, counter says %zu\n",
		       z->name, ha, z->nr_reserved_highatomic);
	lab__zone_unlock(z);
	lab__pcp_release_all(z);
	size_t min = atomic_load(&z->wmark[WMARK_MIN]), low = atomic_load(&z->wmark[WMARK_LOW]);
	size_t high = atomic_load(&z->wmark[WMARK_HIGH]);
	if (min > low || low > high)
		BROKEN("watermark_order: min %zu low %zu high %zu\n", z->name, min, low, high);
	return errors;
}
