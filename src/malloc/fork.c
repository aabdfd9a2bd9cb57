/*
 * fork.c - fork() in a program whose other threads are in the middle of
 * malloc: the child has one thread and every lock as it was.  The page
 * layer's fork handlers hold every zone's locks across fork() in the order
 * the allocator nests them (page/zone.c): the reclaim and growth mutexes,
 * then, through lab__zone_fork_above(), ours: the class caches' per-CPU
 * array locks (lock mode, where every user takes them), every class cache's
 * lock and the slab-header cache's (a slab of a large class gets its header
 * outside its cache's lock); then the zone's per-CPU page lists and its
 * lock.  So the whole heap is copied at rest: no lock of it is inherited
 * held by a thread the child does not have.
 *
 * Around all of it the forking thread counts as inside the allocator, so
 * that a signal handler's malloc there goes around the locks.  In the child
 * kswapd did not come along: the zone grows when a call needs it.
 *
 * Exports lab__malloc_fork_init.
 */
#include "malloc/malloc.h"
#include "os/rseq_list.h"
#include "os/thread.h"
#include "page/pcp.h"
#include "page/zone.h"

/* The caches whose locks fork holds: the classes, then the header cache. */
#define NR_HELD (MALLOC_NR_CLASSES + 1)
static bool held[NR_HELD];
static bool caches_held;

static struct lab_kmem_cache *held_cache(unsigned int i)
{
	return i < MALLOC_NR_CLASSES ? lab__malloc_heap.cls[i] : lab__slab_header_cache;
}

/* Lock mode: own (or release) every CPU's array of c, as a drain does. */
static void cache_sets(struct lab_kmem_cache *c, bool own)
{
	if (!c || c->cpu_mode != LAB_PCP_LOCK)
		return;  /* rseq: only drains own them, under the reclaim mutex we hold */
	for (unsigned int i = 0; i < c->nr_cpu; i++) {
		struct slab_cpu *set = (struct slab_cpu *)((char *)c->cpu + (size_t)i * SLAB_CPU_STRIDE);
		if (!own)
			rseq_set_unlock(&set->lock);
		else
			while (!rseq_set_trylock(&set->lock))
				lab__os_yield();
	}
}

/* Between the zones' mutexes and their per-CPU sets (the page layer's fork
 * handlers, page/zone.h): the caches' per-CPU arrays and locks. */
static void lock_caches(void)
{
	if (!__atomic_load_n(&lab__malloc_heap.zone, __ATOMIC_ACQUIRE))
		return;
	for (unsigned int i = 0; i < NR_HELD; i++)
		cache_sets(held_cache(i), true);
	for (unsigned int i = 0; i < NR_HELD; i++)
		held[i] = held_cache(i) && lab__slab_lock(held_cache(i), true);
	caches_held = true;
}

static void unlock_caches(bool child)
{
	if (!caches_held)
		return;
	for (unsigned int i = NR_HELD; i-- > 0;)
		if (held[i])
			lab__slab_unlock(held_cache(i));
	for (unsigned int i = NR_HELD; i-- > 0;)
		cache_sets(held_cache(i), false);
	caches_held = false;
	struct lab_zone *z = __atomic_load_n(&lab__malloc_heap.zone, __ATOMIC_ACQUIRE);
	if (child && z)
		lab__malloc_zone_child(z);
}

/* Around all of it (registered after the page layer's, so its prepare runs
 * first and its parent/child handlers last): the forking thread counts as
 * inside the allocator. */
static void prepare(void)
{
	lab__malloc_enter();
}

static void done(void)
{
	lab__malloc_exit();
}

void lab__malloc_fork_init(void)
{
	lab__zone_fork_above(lock_caches, unlock_caches);
	lab__os_atfork(prepare, done, done);
}
