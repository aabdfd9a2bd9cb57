/*
 * lockwait.c - who holds the locks of a zone and who waits for them.  A
 * sleeping caller that cannot take a lock at once records its wait in one of
 * the zone's slots while it lasts; one that has waited LAB_LOCK_REPORT_S
 * seconds says so once, naming the lock and its holder: a lock never
 * released (its holder jumped out of the library with siglongjmp, or was
 * stopped) is then a report, not a silent hang.  The waiter goes on
 * waiting: a lock cannot be taken from a thread that may still be inside.
 * lab_zone_get_locks() reads all of it without taking any lock, for a
 * watchdog.  Also the zone's two mutexes (reclaim, growth), taken here so
 * that their holders and waiters are known too.
 *
 * Exports lab__lock_wait_begin/poll/end, lab__zone_mutex_lock/unlock and
 * lab_zone_get_locks.  Nothing here runs on a path that cannot sleep.
 */
#include "base/fmt.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/thread.h"
#include "page/pcp.h"
#include "page/zone.h"

#include <stdatomic.h>
#include <string.h>

#define NS_PER_S 1000000000ull

static const char *const lock_names[ZL_NR] = {
	[ZL_ZONE] = "zone lock",
	[ZL_PCP_SET] = "per-CPU set",
	[ZL_RECLAIM] = "reclaim mutex",
	[ZL_GROW] = "growth mutex",
};

void lab__lock_wait_begin(struct lab_zone *z, struct lab__lock_wait *w, int kind, int cpu)
{
	int me = lab__self_tid();
	*w = (struct lab__lock_wait){ .slot = -1, .kind = kind, .cpu = cpu,
				      .since_ns = lab__os_now_ns() };
	for (int i = 0; i < ZONE_WAIT_SLOTS; i++) {
		struct zone_wait *s = &z->waits[i];
		int free_slot = 0;
		if (atomic_load_explicit(&s->tid, memory_order_relaxed) ||
		    !atomic_compare_exchange_strong(&s->tid, &free_slot, -1))
			continue;
		/* Claimed (-1): filled in, then published with the waiter's id. */
		atomic_store_explicit(&s->kind, kind, memory_order_relaxed);
		atomic_store_explicit(&s->cpu, cpu, memory_order_relaxed);
		atomic_store_explicit(&s->since_ns, w->since_ns, memory_order_relaxed);
		atomic_store_explicit(&s->tid, me, memory_order_release);
		w->slot = i;
		return;
	}
}

void lab__lock_wait_poll(struct lab_zone *z, struct lab__lock_wait *w, int holder_tid)
{
	if (w->reported)
		return;
	uint64_t waited = lab__os_now_ns() - w->since_ns;
	if (waited < LAB_LOCK_REPORT_S * NS_PER_S)
		return;
	w->reported = true;
	char holder[48] = "a thread not yet known to it";
	if (holder_tid > 0)
		lab__snprintf(holder, sizeof(holder), "thread %d", holder_tid);
	char cpu[24] = "";
	if (w->kind == ZL_PCP_SET)
		lab__snprintf(cpu, sizeof(cpu), " of cpu %d", w->cpu);
	lab__printk("BUG: labyrinth: zone %s: thread %d has waited %llu s for the %s%s, held by "
		    "%s: a lock never released (its holder jumped out of the library, with "
		    "siglongjmp from a signal handler that interrupted a call, or is stopped); "
		    "still waiting\n", z->name, lab__self_tid(),
		    (unsigned long long)(waited / NS_PER_S), lock_names[w->kind], cpu, holder);
}

void lab__lock_wait_end(struct lab_zone *z, struct lab__lock_wait *w)
{
	if (w->slot >= 0)
		atomic_store_explicit(&z->waits[w->slot].tid, 0, memory_order_release);
	if (w->reported)
		lab__printk("labyrinth: zone %s: thread %d took the %s after %llu s\n", z->name,
			    lab__self_tid(), lock_names[w->kind],
			    (unsigned long long)((lab__os_now_ns() - w->since_ns) / NS_PER_S));
}

static lab__os_mutex_t *zone_mutex(struct lab_zone *z, int kind)
{
	return kind == ZL_RECLAIM ? &z->reclaim_mutex : &z->grow_mutex;
}

void lab__zone_mutex_lock(struct lab_zone *z, int kind)
{
	lab__os_mutex_t *m = zone_mutex(z, kind);
	if (!lab__os_mutex_trylock(m)) {
		struct lab__lock_wait w;
		lab__lock_wait_begin(z, &w, kind, -1);
		while (!lab__os_mutex_lock_for(m, NS_PER_S))
			lab__lock_wait_poll(z, &w, atomic_load(&z->mutex_tid[kind]));
		lab__lock_wait_end(z, &w);
	}
	atomic_store_explicit(&z->mutex_tid[kind], lab__self_tid(), memory_order_relaxed);
}

void lab__zone_mutex_unlock(struct lab_zone *z, int kind)
{
	atomic_store_explicit(&z->mutex_tid[kind], 0, memory_order_relaxed);
	lab__os_mutex_unlock(zone_mutex(z, kind));
}

/* A holder's id as lab_zone_get_locks() gives it: -1 when held by a thread
 * whose id is not known yet. */
static int holder_of(bool held, int tid)
{
	return !held ? 0 : tid > 0 ? tid : -1;
}

void lab_zone_get_locks(const struct lab_zone *cz, struct lab_zone_locks *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!cz)
		return;
	const struct lab_zone *z = cz;
	out->zone_lock = holder_of(atomic_load(&z->lock.owner) != 0,
				   atomic_load(&z->lock.holder_tid));
	out->pcp_sets_owned = lab__pcp_sets_owned(z);
	out->reclaim_mutex = atomic_load(&z->mutex_tid[ZL_RECLAIM]);
	out->growth_mutex = atomic_load(&z->mutex_tid[ZL_GROW]);
	out->oom_handler = holder_of(atomic_load(&z->oom_lock) != 0, atomic_load(&z->oom_tid));
	uint64_t now = lab__os_now_ns();
	for (int i = 0; i < ZONE_WAIT_SLOTS; i++) {
		const struct zone_wait *s = &z->waits[i];
		int tid = atomic_load_explicit(&s->tid, memory_order_acquire);
		if (tid <= 0)
			continue;
		struct lab_lock_wait *w = &out->waits[out->nr_waits++];
		int kind = atomic_load_explicit(&s->kind, memory_order_relaxed);
		uint64_t since = atomic_load_explicit(&s->since_ns, memory_order_relaxed);
		w->tid = tid;
		w->lock = lock_names[kind];
		w->cpu = kind == ZL_PCP_SET ? atomic_load_explicit(&s->cpu, memory_order_relaxed) : -1;
		w->holder_tid = kind == ZL_ZONE ? out->zone_lock
			: kind == ZL_RECLAIM ? out->reclaim_mutex
			: kind == ZL_GROW ? out->growth_mutex : -1;
		w->waited_ns = now > since ? now - since : 0;
	}
}
