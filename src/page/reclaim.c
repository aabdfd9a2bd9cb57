/*
 * reclaim.c - getting memory back: the per-zone background reclaimer
 * ("kswapd"), shrinkers run at decreasing priority as do_shrink_slab() runs
 * them, direct reclaim by sleeping allocators, waiting for frees on a futex,
 * the OOM handler and zone growth.
 *
 * Reclaim's own allocations: shrinker callbacks run with the thread marked
 * as the kernel's PF_MEMALLOC (lab__in_reclaim), so what they allocate, in
 * any zone, may use every free page and never enters reclaim again: no
 * recursion, no deadlock on the reclaim mutex their thread holds.  The OOM
 * handler runs under a trylock (the kernel's oom_lock): one at a time per
 * zone, never inside itself.
 */
#include "base/fmt.h"
#include "os/os.h"
#include "os/thread.h"
#include "page/alloc.h"
#include "page/buddy.h"
#include "page/pcp.h"
#include "page/reclaim.h"
#include "page/zone.h"
#include "debug/trace.h"

#include <errno.h>
#include <stdatomic.h>

#define DEF_PRIORITY 12
#define SHRINK_BATCH 128
/* Grow a LAB_ZONE_GROW zone by at least one max-order block at a time. */
#define GROW_MIN_PAGES ((size_t)1 << LAB_MAX_ORDER)

/* ---- shrinkers -------------------------------------------------------- */

/* Registrations and unregistrations one at a time: the check that a
 * shrinker is on no zone's list and its insertion are one step.  Every
 * change of a list is made holding this mutex (and the list's write lock,
 * for the shrink rounds that read it), so a holder of this mutex reads any
 * list without its lock: taking a zone's shrinker_lock under the registry
 * lock would order them against a shrinker callback's own locks (a round
 * holds shrinker_lock while it calls them). */
static lab__os_mutex_t register_mutex = LAB_OS_MUTEX_INIT;

/* Under register_mutex. */
static bool on_list(const struct lab_zone *z, const struct lab_shrinker *s)
{
	for (const struct lab_shrinker *it = z->shrinkers; it; it = it->lab_next)
		if (it == s)
			return true;
	return false;
}

/* Is s on any live zone's list?  Its link field can be on one list only.
 * Under register_mutex. */
static bool registered_anywhere(const struct lab_shrinker *s)
{
	bool found = false;
	struct lab_zone *z;
	lab__registry_lock();
	lab__for_each_zone(z) {
		if (on_list(z, s)) {
			found = true;
			break;
		}
	}
	lab__registry_unlock();
	return found;
}

int lab_register_shrinker(struct lab_zone *z, struct lab_shrinker *s)
{
	if (!z || !s || !s->count_objects || !s->scan_objects || s->seeks < 0 || s->batch < 0)
		return -EINVAL;
	lab__os_mutex_lock(&register_mutex);
	if (on_list(z, s) || registered_anywhere(s)) {
		lab__os_mutex_unlock(&register_mutex);
		return -EBUSY;
	}
	lab__os_rwlock_wrlock(&z->shrinker_lock);
	s->lab_nr_deferred = 0;
	s->lab_next = z->shrinkers;
	z->shrinkers = s;
	lab__os_rwlock_unlock(&z->shrinker_lock);
	lab__os_mutex_unlock(&register_mutex);
	return 0;
}

void lab_unregister_shrinker(struct lab_zone *z, struct lab_shrinker *s)
{
	if (!z || !s)
		return;
	lab__os_mutex_lock(&register_mutex);
	lab__os_rwlock_wrlock(&z->shrinker_lock);
	for (struct lab_shrinker **it = &z->shrinkers; *it; it = &(*it)->lab_next) {
		if (*it == s) {
			*it = s->lab_next;
			break;
		}
	}
	lab__os_rwlock_unlock(&z->shrinker_lock);
	lab__os_mutex_unlock(&register_mutex);
}

/* do_shrink_slab(): scan (freeable >> priority) * 4 / seeks objects plus the
 * deferred work, in batches, carrying what was not done to the next call. */
static unsigned long do_shrink(struct lab_shrinker *s, lab_gfp_t gfp, int priority)
{
	struct lab_shrink_control sc = { .gfp_mask = gfp };
	unsigned long freeable = s->count_objects(s, &sc);
	if (freeable == 0 || freeable == LAB_SHRINK_EMPTY)
		return 0;
	long batch = s->batch ? s->batch : SHRINK_BATCH;
	long nr = __atomic_exchange_n(&s->lab_nr_deferred, 0, __ATOMIC_RELAXED);
	long delta = s->seeks ? (long)(freeable >> priority) * 4 / s->seeks : (long)freeable / 2;
	long total_scan = (nr >> priority) + delta;
	if (total_scan > 2 * (long)freeable)
		total_scan = 2 * (long)freeable;

	unsigned long freed = 0;
	long scanned = 0;
	while (total_scan >= batch || total_scan >= (long)freeable) {
		long nr_to_scan = total_scan < batch ? total_scan : batch;
		sc.nr_to_scan = (unsigned long)nr_to_scan;
		sc.nr_scanned = (unsigned long)nr_to_scan;
		unsigned long ret = s->scan_objects(s, &sc);
		if (ret == LAB_SHRINK_STOP)
			break;
		freed += ret;
		total_scan -= (long)sc.nr_scanned;
		scanned += (long)sc.nr_scanned;
		if (!sc.nr_scanned)
			break;
	}
	long next = nr + delta - scanned;
	if (next < 0)
		next = 0;
	if (next > 2 * (long)freeable)
		next = 2 * (long)freeable;
	__atomic_fetch_add(&s->lab_nr_deferred, next, __ATOMIC_RELAXED);
	return freed;
}

/* PF_MEMALLOC: how deep the calling thread is in reclaim (shrinker callbacks). */
static _Thread_local unsigned int in_reclaim __attribute__((tls_model("initial-exec")));

bool lab__in_reclaim(void)
{
	return in_reclaim != 0;
}

/* Shrinker callbacks never run concurrently with each other, and run as
 * PF_MEMALLOC (see the top of this file). */
unsigned long lab__shrink_slab(struct lab_zone *z, lab_gfp_t gfp, int priority)
{
	unsigned long freed = 0;
	lab__zone_mutex_lock(z, ZL_RECLAIM);
	lab__os_rwlock_rdlock(&z->shrinker_lock);
	in_reclaim++;
	for (struct lab_shrinker *s = z->shrinkers; s; s = s->lab_next)
		freed += do_shrink(s, gfp, priority);
	in_reclaim--;
	lab__os_rwlock_unlock(&z->shrinker_lock);
	lab__zone_mutex_unlock(z, ZL_RECLAIM);
	zone_stat_add(z, shrinker_freed, freed);
	return freed;
}

static size_t free_pages_now(struct lab_zone *z)
{
	return atomic_load_explicit(&z->nr_free_snapshot, memory_order_relaxed);
}

/* Shrink at decreasing priority until the zone is above target or priority 0. */
static unsigned long shrink_until(struct lab_zone *z, lab_gfp_t gfp, size_t target)
{
	unsigned long freed = 0;
	for (int prio = DEF_PRIORITY; prio >= 0 && free_pages_now(z) <= target; prio--)
		freed += lab__shrink_slab(z, gfp, prio);
	return freed;
}

unsigned long lab__direct_reclaim(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	zone_stat_inc(z, direct_reclaim);
	lab_trace(mm_vmscan_direct_reclaim_begin, z->name, order, gfp);
	/* Memory is short: no CPU should park more than its floor. */
	lab__pcp_high_reset(z);
	size_t target = atomic_load(&z->wmark[WMARK_MIN]) + ((size_t)1 << order);
	unsigned long freed = shrink_until(z, gfp, target);
	lab_trace(mm_vmscan_direct_reclaim_end, z->name, freed);
	return freed;
}

/* ---- waiting for frees ------------------------------------------------ */

bool lab__wait_for_free(struct lab_zone *z, uint32_t seq, int64_t timeout_ns)
{
	int rc = lab__os_futex_wait(&z->free_seq, seq, timeout_ns);
	return rc == 0 || rc == -EAGAIN;
}

void lab__wake_waiters_now(struct lab_zone *z)
{
	atomic_fetch_add(&z->free_seq, 1);
	lab__os_futex_wake(&z->free_seq, INT32_MAX);
}

/* ---- kswapd ----------------------------------------------------------- */

/* Wake the reclaimer: one futex wake per sleep of kswapd, never blocking. */
void lab__wakeup_kswapd(struct lab_zone *z)
{
	if (!z->kswapd_started)
		return;
	if (atomic_load_explicit(&z->kswapd_pending, memory_order_relaxed) ||
	    atomic_exchange(&z->kswapd_pending, 1))
		return;
	zone_stat_inc(z, kswapd_wake);
	lab_trace(mm_vmscan_wakeup_kswapd, z->name);
	atomic_fetch_add(&z->kswapd_seq, 1);
	lab__os_futex_wake(&z->kswapd_seq, 1);
}

/* How often kswapd decays a raised per-CPU high (the kernel: every second). */
#define PCP_DECAY_NS 1000000000LL

/*
 * A per-CPU high rose above its floor: make sure kswapd sleeps at most a
 * second, so that it decays.  No round of reclaim, no statistics: kswapd
 * only looks again.  At most one futex wake per indefinite sleep of kswapd,
 * never blocking (fine in atomic context).
 */
void lab__kswapd_arm_decay(struct lab_zone *z)
{
	/* The raised high (a relaxed store) before the flag, against kswapd's
	 * flag before its look at the highs: without it each could miss the other. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!z->kswapd_started || atomic_load_explicit(&z->kswapd_timed, memory_order_relaxed) ||
	    atomic_exchange(&z->kswapd_timed, 1))
		return;
	atomic_fetch_add(&z->kswapd_seq, 1);
	lab__os_futex_wake(&z->kswapd_seq, 1);
}

static void *kswapd_main(void *arg)
{
	struct lab_zone *z = arg;
	for (;;) {
		uint32_t seq = atomic_load(&z->kswapd_seq);
		if (atomic_load(&z->kswapd_stop))
			break;
		/* Take the request before the work: one that arrives during the
		 * round sets the flag again and gets a round of its own. */
		if (!atomic_exchange(&z->kswapd_pending, 0)) {
			/* While some CPU's list high is raised, wake each second to
			 * decay it (the kernel's vmstat_update: decay_pcp_high). */
			atomic_store(&z->kswapd_timed, 0);
			atomic_thread_fence(memory_order_seq_cst);
			bool raised = lab__pcp_high_raised(z);
			if (raised)
				atomic_store(&z->kswapd_timed, 1);
			int rc = lab__os_futex_wait(&z->kswapd_seq, seq,
						    raised ? PCP_DECAY_NS : -1);
			if (raised && rc == -ETIMEDOUT && !atomic_load(&z->kswapd_stop))
				lab__pcp_decay(z, false);
			continue;
		}
		zone_stat_inc(z, kswapd_run);
		lab_trace(mm_vmscan_kswapd_wake, z->name);
		lab__flush_warnings(z);
		/* An atomic caller could not drain other CPUs' lists itself. */
		if (atomic_exchange(&z->pcp_drain_request, 0))
			lab__pcp_drain_all(z, true);
		/* Below the high watermark, the lists give back what lies above
		 * their floor; else they decay an eighth. */
		lab__pcp_decay(z, false);
		/* Frees deferred by signal handlers land on the lists first. */
		lab__zone_lock(z);
		lab__drain_deferred(z);
		lab__zone_unlock(z);
		unsigned long freed = shrink_until(z, LAB_GFP_KERNEL,
						   atomic_load(&z->wmark[WMARK_HIGH]));
		lab_trace(mm_vmscan_kswapd_sleep, z->name, freed);
		if (freed)
			lab__wake_waiters(z);
	}
	return NULL;
}

int lab__kswapd_start(struct lab_zone *z)
{
	char name[16];
	lab__snprintf(name, sizeof(name), "kswapd-%.8s", z->name);
	int rc = lab__os_thread_create(&z->kswapd, kswapd_main, z, name);
	if (rc)
		return rc;
	z->kswapd_started = true;
	return 0;
}

void lab__kswapd_stop(struct lab_zone *z)
{
	if (!z->kswapd_started)
		return;
	atomic_store(&z->kswapd_stop, true);
	atomic_fetch_add(&z->kswapd_seq, 1);
	lab__os_futex_wake(&z->kswapd_seq, 1);
	lab__os_thread_join(z->kswapd);
	z->kswapd_started = false;
	lab__flush_warnings(z);
}

/* ---- OOM and growth --------------------------------------------------- */

/*
 * __alloc_pages_may_oom(): call the handler, if any, under the zone's OOM
 * lock, taken with a trylock as the kernel takes oom_lock.  The handler may
 * free, or even allocate: an allocation of its own that runs out of memory
 * finds the lock held by its thread and gets OOM_SELF (it fails rather than
 * call the handler inside itself); another thread's gets OOM_BUSY, which,
 * as in the kernel, counts as progress: the handler is working for it.
 */
int lab__out_of_memory(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	uintptr_t me = lab__self_token(), seen = 0;
	if (!atomic_compare_exchange_strong(&z->oom_lock, &seen, me))
		return seen == me ? OOM_SELF : OOM_BUSY;
	atomic_store(&z->oom_tid, lab__self_tid());
	lab__zone_mutex_lock(z, ZL_RECLAIM);
	lab_oom_handler_t fn = z->oom_handler;
	void *arg = z->oom_arg;
	lab__zone_mutex_unlock(z, ZL_RECLAIM);
	int rc = OOM_NONE;
	if (fn) {
		zone_stat_inc(z, oom_calls);
		rc = fn(z, gfp, order, arg) ? OOM_FREED : OOM_NONE;
	}
	atomic_store(&z->oom_lock, 0);
	return rc;
}

void lab_set_oom_handler(struct lab_zone *z, lab_oom_handler_t fn, void *arg)
{
	if (!z)
		return;
	lab__zone_mutex_lock(z, ZL_RECLAIM);
	z->oom_handler = fn;
	z->oom_arg = arg;
	lab__zone_mutex_unlock(z, ZL_RECLAIM);
}

/* How many pages to add to a zone of managed pages for a block of order:
 * one max-order block at least; a lazy zone (nothing resident until
 * touched) a quarter of its size, ending on a max-order boundary so that
 * every order forms in the new memory: a growing heap grows tens of times,
 * not thousands.  Never past max_pages. */
static size_t grow_step(const struct lab_zone *z, size_t managed, unsigned int order)
{
	size_t want = GROW_MIN_PAGES > ((size_t)1 << order) ? GROW_MIN_PAGES : (size_t)1 << order;
	if ((z->flags & LAB_ZONE_LAZY) && want < managed / 4) {
		size_t end = managed + managed / 4;
		want = (end + GROW_MIN_PAGES - 1) / GROW_MIN_PAGES * GROW_MIN_PAGES - managed;
	}
	return want < z->max_pages - managed ? want : z->max_pages - managed;
}

bool lab__zone_grow(struct lab_zone *z, unsigned int order)
{
	size_t before = atomic_load(&z->managed);
	lab__zone_mutex_lock(z, ZL_GROW);
	size_t managed = atomic_load(&z->managed);
	/* Another caller grew it while we waited for the mutex: look at that
	 * memory before adding more. */
	bool grew = managed != before;
	if (!grew) {
		size_t want = grow_step(z, managed, order);
		if (want && lab__zone_add_pages(z, want) == 0) {
			zone_stat_inc(z, grow);
			grew = true;
		}
	}
	lab__zone_mutex_unlock(z, ZL_GROW);
	return grew;
}
