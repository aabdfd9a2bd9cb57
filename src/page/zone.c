/*
 * zone.c - zones: creation, growth and destruction of their memory, the
 * registry that maps addresses and descriptors back to zones, the
 * descriptor range that puts every zone's descriptors in one reservation
 * (zone.h: struct lab__vmemmap), the zone lock, and the page <-> address
 * conversions.  Watermarks are in watermark.c,
 * statistics in stats.c, the invariant checker in check.c.
 */
#include "base/compiler.h"
#include "base/fmt.h"
#include "os/cpu.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/stack.h"
#include "os/thread.h"
#include "page/buddy.h"
#include "page/page.h"
#include "page/pcp.h"
#include "page/reclaim.h"
#include "page/watermark.h"
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

static _Thread_local int self_tid __attribute__((tls_model("initial-exec")));

int lab__self_tid(void)
{
	if (lab_unlikely(!self_tid))
		self_tid = lab__os_gettid();
	return self_tid;
}

int lab__self_tid_cached(void)
{
	return self_tid;
}

void lab__self_tid_forget(void)
{
	self_tid = 0;  /* the forking thread lives on in the child with a new id */
}

/* An atomic caller spins at most this many times on a holder in another
 * thread (a descheduled holder), then fails rather than wait. */
#define ATOMIC_SPIN_LIMIT (1u << 14)

/* This thread finds the lock held by itself.  In atomic context it is a
 * signal handler (or a spinlock section) that interrupted its own thread's
 * call and then made a sleeping one; outside, either a call of this thread
 * took it and never returned (it was left with siglongjmp: README, "Jumping
 * out of a handler"), or a handler that did not mark itself atomic. */
static void __attribute__((noreturn)) lock_recursion(const struct lab_zone *z)
{
	if (lab_in_atomic())
		lab__printk("BUG: labyrinth: zone %s: lock taken recursively (a sleeping call from "
			    "a signal handler that interrupted this thread's call?)\n", z->name);
	else
		lab__printk("BUG: labyrinth: zone %s: lock taken recursively: held by this thread "
			    "since a call of it that never returned (a siglongjmp out of a signal "
			    "handler that interrupted the library?), or a sleeping call from a "
			    "signal handler that did not call lab_atomic_enter()\n", z->name);
	abort();
}

void lab__zone_lock(struct lab_zone *z)
{
	uintptr_t me = lab__self_token();
	struct lab__lock_wait w = { .slot = -1 };
	bool waiting = false;
	for (unsigned int spins = 0;; spins++) {
		uintptr_t seen = 0;
		if (atomic_compare_exchange_weak_explicit(&z->lock.owner, &seen, me,
							  memory_order_acquire,
							  memory_order_relaxed)) {
			atomic_store_explicit(&z->lock.holder_tid, lab__self_tid(),
					      memory_order_relaxed);
			if (lab_unlikely(waiting))
				lab__lock_wait_end(z, &w);
			return;
		}
		if (lab_unlikely(seen == me))
			lock_recursion(z);
		if (spins < 64) {
			lab__os_cpu_relax();
			continue;
		}
		/* A long wait: recorded, and reported once if it lasts. */
		if (!waiting) {
			lab__lock_wait_begin(z, &w, ZL_ZONE, -1);
			waiting = true;
		} else if (!(spins & 255)) {
			lab__lock_wait_poll(z, &w, atomic_load_explicit(&z->lock.holder_tid,
									memory_order_relaxed));
		}
		lab__os_yield();
	}
}

/* Spin for the lock up to limit pauses, never sleeping; fail at once on the
 * caller's own hold (a signal handler that interrupted it).  An allocation
 * that spun out another thread's hold is counted apart (alloc_lock_fail). */
static bool lock_atomic_spin(struct lab_zone *z, unsigned int limit, bool alloc)
{
	uintptr_t me = lab__self_token();
	unsigned int spins = 0;
	for (; spins < limit; spins++) {
		uintptr_t seen = 0;
		if (atomic_compare_exchange_weak_explicit(&z->lock.owner, &seen, me,
							  memory_order_acquire,
							  memory_order_relaxed)) {
			atomic_store_explicit(&z->lock.holder_tid, lab__self_tid_cached(),
					      memory_order_relaxed);
			return true;
		}
		if (seen == me)  /* we interrupted ourselves: waiting would deadlock */
			break;
		lab__os_cpu_relax();
	}
	zone_stat_inc(z, lock_fail);
	if (alloc && spins == limit)  /* another thread's hold outlasted the spin */
		zone_stat_inc(z, alloc_lock_fail);
	return false;
}

bool lab__zone_lock_atomic(struct lab_zone *z)
{
	return lock_atomic_spin(z, ATOMIC_SPIN_LIMIT, false);
}

void lab__zone_unlock(struct lab_zone *z)
{
	atomic_store_explicit(&z->nr_free_snapshot, z->nr_free, memory_order_relaxed);
	atomic_store_explicit(&z->lock.owner, 0, memory_order_release);
}

/*
 * An atomic allocation that needs the zone lock must not fail because
 * another thread holds it: only its watermark may fail it.  Holders never
 * sleep with the lock, so the wait is the holder's own time on a CPU, as
 * for the kernel's atomic callers spinning on zone->lock.  A holder can be
 * descheduled, though (the kernel's cannot): the spin outlasts that, since
 * the scheduler gives the holder a CPU within a time slice or two, while
 * the caller keeps spinning without a system call.  It is bounded all the
 * same (a holder that left the library without unlocking; a real-time
 * caller that shares its CPU with the holder): ATOMIC_ALLOC_SPIN_LIMIT
 * pauses, about 20-60 ms on current x86-64 (a PAUSE is 40-140 cycles),
 * then it fails, counted in lock_fail and alloc_lock_fail.  Its own
 * thread's hold (a signal handler that interrupted it) fails at once.  Frees keep
 * lab__zone_lock_atomic and its short spin: they defer instead of waiting.
 */
#define ATOMIC_ALLOC_SPIN_LIMIT (1u << 20)

bool lab__zone_lock_atomic_alloc(struct lab_zone *z)
{
	return lock_atomic_spin(z, ATOMIC_ALLOC_SPIN_LIMIT, true);
}

/* ---- the registry ----------------------------------------------------- */

_Atomic(struct lab_zone *) lab__registry[LAB_MAX_ZONES];
_Atomic int lab__registry_used;  /* slots at and above it are empty */
#define registry lab__registry
#define registry_used lab__registry_used
static lab__os_mutex_t registry_mutex = LAB_OS_MUTEX_INIT;

/*
 * fork(): a child is born with one thread and every lock as it was.  Hold
 * every lock of every zone across fork() so that no zone is copied in the
 * middle of an operation, with a lock owned by a thread the child does not
 * have: the sleeping ones first (the reclaim mutex a shrink round holds, the
 * growth mutex), every zone's, then each zone's per-CPU sets and its lock
 * (the lock order: set, then zone).  A shrink round's callbacks allocate
 * without reclaiming (PF_MEMALLOC), so they never wait for a mutex this
 * holds.  The OOM lock is a trylock a handler holds while it runs: the
 * child, which has no such handler running, finds it free.  A layer above
 * whose locks nest between the mutexes and the per-CPU sets (the slab
 * caches a malloc holds) takes them through lab__zone_fork_above().
 */
static void (*fork_lock_above)(void);
static void (*fork_unlock_above)(bool child);

void lab__zone_fork_above(void (*lock)(void), void (*unlock)(bool child))
{
	fork_lock_above = lock;
	fork_unlock_above = unlock;
}

static void zones_lock_for_fork(void)
{
	struct lab_zone *z;
	lab__os_mutex_lock(&registry_mutex);
	lab__for_each_zone(z) {
		lab__os_mutex_lock(&z->reclaim_mutex);
		lab__os_mutex_lock(&z->grow_mutex);
	}
	if (fork_lock_above)
		fork_lock_above();
	lab__for_each_zone(z) {
		lab__pcp_own_all(z);
		lab__zone_lock(z);
	}
}

static void zones_unlock(bool child)
{
	struct lab_zone *z;
	lab__for_each_zone(z) {
		lab__zone_unlock(z);
		lab__pcp_release_all(z);
	}
	if (fork_unlock_above)
		fork_unlock_above(child);
	lab__for_each_zone(z) {
		lab__os_mutex_unlock(&z->grow_mutex);
		lab__os_mutex_unlock(&z->reclaim_mutex);
		if (child && atomic_load(&z->oom_lock) != lab__self_token())
			atomic_store(&z->oom_lock, 0);
		if (child)
			memset(z->waits, 0, sizeof(z->waits));  /* the waiters are not here */
	}
	lab__os_mutex_unlock(&registry_mutex);
}

static void zones_unlock_in_parent(void)
{
	zones_unlock(false);
}

/* The child's file-backed mappings start unpopulated: map the pages an
 * rseq abort reads again (os.h) before its atomic paths run. */
static void zones_unlock_in_child(void)
{
	lab__os_rseq_prefault();
	lab__self_tid_forget();
	zones_unlock(true);
}

static void register_fork_handlers(void)
{
	lab__os_atfork(zones_lock_for_fork, zones_unlock_in_parent, zones_unlock_in_child);
}

/*
 * A zone's index is claimed first (slot_claim: ENFILE beyond LAB_MAX_ZONES),
 * since its descriptors go to the slot of that index; the zone is published
 * there once it works (registry_add) and unpublished first at destruction
 * (registry_del); the index is free again only when the slot's descriptors
 * are decommitted (slot_release).  Under registry_mutex.
 */
static bool slot_taken[LAB_MAX_ZONES];

static int slot_claim(void)
{
	int slot = -ENFILE;
	lab__os_mutex_lock(&registry_mutex);
	for (int i = 0; i < LAB_MAX_ZONES; i++) {
		if (!slot_taken[i]) {
			slot_taken[i] = true;
			slot = i;
			break;
		}
	}
	lab__os_mutex_unlock(&registry_mutex);
	return slot;
}

static void slot_release(int slot)
{
	lab__os_mutex_lock(&registry_mutex);
	slot_taken[slot] = false;
	lab__os_mutex_unlock(&registry_mutex);
}

/* ---- the address map (zone.h, struct lab__addrmap) ----------------------- */

struct lab__addrmap lab__addrmap;

/* The granules of z's reservation (the memory it may grow into), last
 * included; false when they lie above the map's bits. */
static bool addrmap_span(const struct lab_zone *z, uintptr_t *first, uintptr_t *last)
{
	*first = (uintptr_t)z->base >> LAB_ADDRMAP_SHIFT;
	*last = ((uintptr_t)z->base + z->max_pages * z->page_size - 1) >> LAB_ADDRMAP_SHIFT;
	return *last < ((uintptr_t)1 << (LAB_ADDRMAP_BITS - LAB_ADDRMAP_SHIFT));
}

/* Under registry_mutex: name z's slot in its granules' bytes, with the
 * leaves they need allocated first, or count z as unmapped. */
static void addrmap_add(struct lab_zone *z)
{
	static_assert(LAB_MAX_ZONES < 256, "a slot + 1 fits a byte");
	static bool dir_touched;
	if (!dir_touched) {
		/* Written once, so that the directory's pages are this process's
		 * own and no lookup meets the zero page's first fault. */
		for (size_t i = 0; i < LAB_ADDRMAP_DIR; i++)
			atomic_store_explicit(&lab__addrmap.leaf[i], NULL, memory_order_relaxed);
		dir_touched = true;
	}
	uintptr_t first = 0, last = 0;
	bool fits = ((uintptr_t)z->base & (((uintptr_t)1 << LAB_ADDRMAP_SHIFT) - 1)) == 0 &&
		    addrmap_span(z, &first, &last);
	for (uintptr_t l = first >> LAB_ADDRMAP_LEAF_SHIFT;
	     fits && l <= last >> LAB_ADDRMAP_LEAF_SHIFT; l++) {
		if (atomic_load_explicit(&lab__addrmap.leaf[l], memory_order_relaxed))
			continue;
		int err;
		uint8_t *leaf = lab__os_map_populated(LAB_ADDRMAP_LEAF, &err);
		if (leaf)
			atomic_store_explicit(&lab__addrmap.leaf[l], leaf, memory_order_release);
		else
			fits = false;
	}
	z->addr_unmapped = !fits;
	if (!fits) {
		atomic_fetch_add(&lab__addrmap.nr_unmapped, 1);
		return;
	}
	for (uintptr_t g = first; g <= last; g++)
		__atomic_store_n(&lab__addrmap.leaf[g >> LAB_ADDRMAP_LEAF_SHIFT]
				 [g & (LAB_ADDRMAP_LEAF - 1)], (uint8_t)(z->slot + 1), __ATOMIC_RELAXED);
}

/* Under registry_mutex, once z is out of the registry. */
static void addrmap_del(struct lab_zone *z)
{
	uintptr_t first, last;
	if (z->addr_unmapped) {
		atomic_fetch_sub(&lab__addrmap.nr_unmapped, 1);
		return;
	}
	addrmap_span(z, &first, &last);
	for (uintptr_t g = first; g <= last; g++)
		__atomic_store_n(&lab__addrmap.leaf[g >> LAB_ADDRMAP_LEAF_SHIFT]
				 [g & (LAB_ADDRMAP_LEAF - 1)], 0, __ATOMIC_RELAXED);
}

static void registry_add(struct lab_zone *z)
{
	static lab__os_once_t fork_handlers = LAB_OS_ONCE_INIT;
	lab__os_once(&fork_handlers, register_fork_handlers);
	lab__os_rseq_prefault();  /* before the zone's per-CPU lists run */
	lab__os_mutex_lock(&registry_mutex);
	atomic_store(&registry[z->slot], z);
	if (!z->desc_outside)
		atomic_store(&lab__vmemmap.zone[z->slot], z);
	addrmap_add(z);
	if (z->slot >= atomic_load(&registry_used))
		atomic_store(&registry_used, z->slot + 1);
	lab__os_mutex_unlock(&registry_mutex);
}

static void registry_del(struct lab_zone *z)
{
	lab__os_mutex_lock(&registry_mutex);
	atomic_store(&registry[z->slot], NULL);
	atomic_store(&lab__vmemmap.zone[z->slot], NULL);
	addrmap_del(z);
	int used = atomic_load(&registry_used);
	while (used && !atomic_load(&registry[used - 1]))
		used--;
	atomic_store(&registry_used, used);
	lab__os_mutex_unlock(&registry_mutex);
}

void lab__registry_lock(void)
{
	lab__os_mutex_lock(&registry_mutex);
}

void lab__registry_unlock(void)
{
	lab__os_mutex_unlock(&registry_mutex);
}

struct lab_zone *lab__zone_of_desc_outside(uintptr_t d)
{
	struct lab_zone *z;
	if (lab_likely(!atomic_load_explicit(&lab__vmemmap.nr_outside, memory_order_relaxed)))
		return NULL;  /* every zone's descriptors lie in the range: d is none */
	lab__for_each_zone(z) {
		uintptr_t start = (uintptr_t)z->pages;
		uintptr_t end = start + atomic_load_explicit(&z->managed, memory_order_relaxed) *
						sizeof(struct lab_page);
		if (d >= start && d < end)
			return (d - start) % sizeof(struct lab_page) ? NULL : z;
	}
	return NULL;
}

/* ---- creation and growth ---------------------------------------------- */

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

/* ---- the descriptor range (zone.h, struct lab__vmemmap) ------------------ */

static_assert(sizeof(uintptr_t) >= 8, "the descriptor range needs a 64-bit address space");
static_assert(((uintptr_t)(LAB_NO_PFN - 1) * sizeof(struct lab_page)) <=
	      (uintptr_t)1 << LAB_VMEMMAP_FULL_SHIFT, "the largest zone must fit a full slot");

struct lab__vmemmap lab__vmemmap;

static size_t range_bytes(unsigned int shift)
{
	return (size_t)LAB_MAX_ZONES << shift;
}

static int range_err;  /* why the full range was refused */

/*
 * Reserve the range, once per process, before the first zone is published
 * (a lookup that races with this finds lab__vmemmap.zone[] all NULL,
 * whatever it reads here).  The full range, else an eighth of the largest that the
 * process may still reserve (a power of two, probed and given back), so
 * that the zones' own reservations keep the rest; none below the smallest
 * slot.  What it costs is reported once, with the first zone that does not
 * fit a slot (desc_reserve): under Valgrind or ThreadSanitizer, whose
 * smaller ranges still hold every zone of the tests, nothing is.
 */
static void vmemmap_reserve(void)
{
	size_t ps = lab__os_page_size();
	unsigned int shift = LAB_VMEMMAP_FULL_SHIFT;
	int err = 0;
	void *base = lab__os_reserve(range_bytes(shift), ps, &err);
	range_err = err;
	if (!base) {
		for (shift--; shift >= LAB_VMEMMAP_MIN_SHIFT + 3; shift--) {
			void *probe = lab__os_reserve(range_bytes(shift), ps, &err);
			if (probe) {
				lab__os_release(probe, range_bytes(shift));
				break;
			}
		}
		shift -= 3;
		if (shift >= LAB_VMEMMAP_MIN_SHIFT)
			base = lab__os_reserve(range_bytes(shift), ps, &err);
	}
	if (!base)
		return;
	lab__os_dontdump(base, range_bytes(shift));  /* committed slots ask to be dumped */
	atomic_store_explicit(&lab__vmemmap.shift, shift, memory_order_relaxed);
	atomic_store_explicit(&lab__vmemmap.base, (uintptr_t)base, memory_order_relaxed);
	atomic_store_explicit(&lab__vmemmap.bytes, range_bytes(shift), memory_order_relaxed);
}

static size_t desc_bytes(const struct lab_zone *z)
{
	return round_up(z->max_pages * sizeof(struct lab_page), z->page_size);
}

/* z->pages: the zone's slot when it fits, else a reservation of its own. */
static int desc_reserve(struct lab_zone *z)
{
	static lab__os_once_t once = LAB_OS_ONCE_INIT;
	lab__os_once(&once, vmemmap_reserve);
	unsigned int shift = atomic_load(&lab__vmemmap.shift);
	if (atomic_load(&lab__vmemmap.bytes) && desc_bytes(z) <= (size_t)1 << shift) {
		z->pages = (struct lab_page *)(atomic_load(&lab__vmemmap.base) +
					       ((uintptr_t)z->slot << shift));
		return 0;
	}
	int err = 0;
	z->pages = lab__os_reserve(desc_bytes(z), z->page_size, &err);
	if (!z->pages)
		return err;
	static _Atomic bool reported;
	if (!atomic_exchange(&reported, true)) {
		char buf[64];
		size_t full = range_bytes(LAB_VMEMMAP_FULL_SHIFT) >> 30;
		const char *why = lab__os_strerror(-range_err, buf, sizeof(buf));
		if (!atomic_load(&lab__vmemmap.bytes))
			lab__printk("labyrinth: descriptor range: %zu GiB of address space refused "
				    "(%s), and no smaller range fits; every zone maps its "
				    "descriptors apart, validated by a walk of the zones\n", full,
				    why);
		else
			lab__printk("labyrinth: descriptor range: %zu GiB of address space refused "
				    "(%s); took %zu MiB: zone %s and any other of more than %zu "
				    "pages map their descriptors apart, validated by a walk of "
				    "those zones\n", full, why,
				    (size_t)atomic_load(&lab__vmemmap.bytes) >> 20, z->name,
				    ((size_t)1 << shift) / sizeof(struct lab_page));
	}
	z->desc_outside = true;
	atomic_fetch_add(&lab__vmemmap.nr_outside, 1);
	return 0;
}

static int desc_commit(struct lab_zone *z, uintptr_t from, uintptr_t to)
{
	int rc = lab__os_commit((void *)from, to - from);
	if (!rc && !z->desc_outside)
		lab__os_dodump((void *)from, to - from);  /* as descriptors were before */
	return rc;
}

static void desc_decommit(struct lab_zone *z, uintptr_t from, uintptr_t to)
{
	lab__os_decommit((void *)from, to - from);
	if (!z->desc_outside)
		lab__os_dontdump((void *)from, to - from);
}

/* After the zone left the registry: its slot back to PROT_NONE, or its own
 * reservation unmapped; then its index may be claimed again. */
static void desc_release(struct lab_zone *z)
{
	if (z->desc_outside) {
		lab__os_release(z->pages, desc_bytes(z));
		atomic_fetch_sub(&lab__vmemmap.nr_outside, 1);
	} else if (z->pages) {
		uintptr_t start = (uintptr_t)z->pages;
		size_t used = round_up(atomic_load(&z->managed) * sizeof(struct lab_page),
				       z->page_size);
		if (used)
			desc_decommit(z, start, start + used);
	}
	slot_release(z->slot);
}

/*
 * Commit, pre-fault and initialise pfns [managed, managed + nr), then hand
 * them to the buddy allocator.  Callers serialise (creation or grow_mutex).
 *
 * Memory the machine or the process cannot have is -ENOMEM before anything
 * is committed (lab__os_mem_fits: available memory, the memory cgroup,
 * RLIMIT_DATA), and the pre-fault re-checks in steps (lab__os_prefault):
 * a zone larger than memory fails instead of waking the OOM killer, which
 * would end the caller's process.  A step that fails undoes the earlier
 * ones: nothing of a failed creation or growth stays committed.
 */
int lab__zone_add_pages(struct lab_zone *z, size_t nr)
{
	size_t first = atomic_load(&z->managed);
	size_t ps = z->page_size;
	/* secure/protect.c: the section's protections; with LAB_ZONE_GUARD a later
	 * section starts with a guard pfn that is never committed. */
	size_t guard = lab__section_guard(z, first, &nr);
	if (nr <= guard)
		return -ENOMEM;
	/* Descriptors share OS pages with their neighbours: commit whole pages.
	 * Those from `fresh` on are new; the one below may hold older ones. */
	uintptr_t d0 = (uintptr_t)(z->pages + first) & ~(uintptr_t)(ps - 1);
	uintptr_t d1 = round_up((uintptr_t)(z->pages + first + nr), ps);
	uintptr_t fresh = round_up((uintptr_t)(z->pages + first), ps);
	int rc = lab__os_mem_fits((nr - guard) * ps + (d1 - d0) + lab__debug_bytes(z, nr));
	if (rc)
		return rc;
	char *mem = z->base + ((first + guard) << z->page_shift);
	size_t len = (nr - guard) * ps;
	rc = lab__exclusive_map_section(z, mem, len);  /* undoes itself on failure */
	if (rc)
		return rc;

	rc = desc_commit(z, d0, d1);
	if (!rc)
		rc = lab__os_prefault((void *)d0, d1 - d0);
	if (rc)
		goto undo;
	for (size_t pfn = first; pfn < first + nr; pfn++) {
		struct lab_page *p = pfn_to_page(z, pfn);
		memset(p, 0, sizeof(*p));
		p->next = p->prev = LAB_NO_PFN;
		p->zone = z;
	}
	if (guard)
		set_page_flags(pfn_to_page(z, first), PG_guard);

	rc = lab__debug_new_range(z, first, nr);  /* poison, page_owner records */
	if (rc)
		goto undo;

	lab__zone_lock(z);
	atomic_store(&z->managed, first + nr);
	z->nr_allocated += nr;   /* free_range takes them back out */
	lab__free_range(z, first + guard, nr - guard);
	z->nr_allocated -= nr - guard;  /* a guard pfn stays allocated for good */
	atomic_fetch_add(&z->nr_guard_pfns, guard);
	lab__zone_unlock(z);
	lab__setup_watermarks(z);
	return 0;
undo:
	lab__exclusive_unmap_section(z, mem, len);
	if (d1 > fresh)
		desc_decommit(z, fresh, d1);
	return rc;
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

struct lab_zone *lab__zone_create(const struct lab_zone_config *cfg)
{
	int rc = check_config(cfg);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	size_t max_pages = cfg->pages;
	if (cfg->flags & LAB_ZONE_GROW)
		max_pages = cfg->max_pages ? cfg->max_pages : 4 * cfg->pages;
	if (max_pages >= LAB_NO_PFN)
		max_pages = LAB_NO_PFN - 1;
	/* A pageblock is at most 512 pages (the kernel's) and at most 1/64 of the zone. */
	unsigned int lg = ilog2(cfg->pages);
	unsigned int pageblock_order = lg > 6 + 9 ? 9 : lg > 6 ? lg - 6 : 0;

	/* The zone and its pageblock types, zeroed, in pages of their own from
	 * the OS (no malloc in the library). */
	size_t nblocks = (max_pages >> pageblock_order) + 1;
	size_t self_bytes = round_up(sizeof(struct lab_zone) + nblocks, lab__os_page_size());
	int err = 0;
	struct lab_zone *z = lab__os_map_populated(self_bytes, &err);
	if (!z) {
		errno = -err;
		return NULL;
	}
	z->self_bytes = self_bytes;
	z->pageblock_mt = (uint8_t *)(z + 1);
	lab__snprintf(z->name, sizeof(z->name), "%s", cfg->name ? cfg->name : "Normal");
	z->flags = cfg->flags;
	z->page_size = lab__os_page_size();
	z->page_shift = ilog2(z->page_size);
	z->max_pages = max_pages;
	z->watermark_scale_factor = cfg->watermark_scale_factor ? cfg->watermark_scale_factor : 10;
	z->pageblock_order = pageblock_order;
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		z->area[o].head[MT_NORMAL] = z->area[o].head[MT_HIGHATOMIC] = LAB_NO_PFN;
	lab__os_rwlock_init(&z->shrinker_lock);
	lab__os_mutex_init(&z->reclaim_mutex);
	lab__os_mutex_init(&z->grow_mutex);

	err = lab__exclusive_zone_init(z);  /* secure/protect.c: protection key */
	z->slot = err ? -1 : slot_claim();  /* the registry index, and descriptor slot */
	if (z->slot < 0 && !err)
		err = z->slot;
	size_t guard = lab__zone_guard_bytes(z);
	if (!err)
		z->base = lab__os_reserve_guarded(z->max_pages * z->page_size,
						  z->page_size << LAB_MAX_ORDER, guard, &err);
	if (z->base)
		err = desc_reserve(z);
	if (!err && z->pages)
		err = lab__debug_zone_init(z, cfg->flags);
	if (!err && z->pages)
		lab__exclusive_zone_debug(z);  /* secure/owner.c: needs z->debug */
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
	if (!err) {
		registry_add(z);
		lab__stats_zone_add(z);
	}
	if (err) {
		lab__pcp_destroy(z);
		lab__debug_zone_fini(z);
		if (z->slot >= 0)
			desc_release(z);
		if (z->base)
			lab__os_release(z->base - guard, z->max_pages * z->page_size + 2 * guard);
		lab__exclusive_zone_fini(z);
		lab__os_unmap(z, z->self_bytes);
		errno = -err;
		return NULL;
	}
	return z;
}

/*
 * What may call malloc comes last, once the zone works: the unwinder's first
 * load (dlopen) and kswapd's thread (its TLS).  A malloc built on a zone
 * that the layer above publishes before this step finds it made.
 */
int lab__zone_start(struct lab_zone *z)
{
	lab__os_stack_warm();  /* reports capture stacks later, maybe in atomic context */
	if (z->flags & LAB_ZONE_NO_KSWAPD)
		return 0;
	return lab__kswapd_start(z);
}

struct lab_zone *lab_zone_create(const struct lab_zone_config *cfg)
{
	struct lab_zone *z = lab__zone_create(cfg);
	if (!z)
		return NULL;
	int err = lab__zone_start(z);
	if (err) {
		lab_zone_destroy(z);
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
	lab__debug_zone_fini(z);  /* page_owner leak report; sanitizer marks off */
	size_t guard = lab__zone_guard_bytes(z);
	lab__os_release(z->base - guard, z->max_pages * z->page_size + 2 * guard);
	lab__exclusive_zone_fini(z);
	desc_release(z);  /* last: the index is free from here */
	lab__os_rwlock_destroy(&z->shrinker_lock);
	lab__os_mutex_destroy(&z->reclaim_mutex);
	lab__os_mutex_destroy(&z->grow_mutex);
	lab__os_unmap(z, z->self_bytes);
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
	if (!page)
		return NULL;
	return zone_page_address(page->zone, page);
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
	return page ? page_to_pfn(page->zone, page) : 0;
}

struct lab_page *lab_pfn_to_page(const struct lab_zone *z, size_t pfn)
{
	if (!z || pfn >= atomic_load(&z->managed))
		return NULL;
	return pfn_to_page(z, pfn);
}

struct lab_zone *lab_page_zone(const struct lab_page *page)
{
	return page ? page->zone : NULL;
}
