/*
 * fork.c - fork() in a program whose other threads are in the middle of
 * malloc: the child has one thread and every lock as it was, so before
 * fork() we take the heap's locks in the order the allocator nests them:
 * the zone's reclaim and grow mutexes, the class caches' per-CPU array
 * locks (lock mode, where every user takes them), every class cache's lock
 * and the slab-header cache's (a slab of a large class gets its header
 * outside its cache's lock), and the zone's per-CPU page lists; and give
 * them back after it, in parent and child.  The zone's own lock is held across fork by the page layer's
 * handlers, which run after ours (registered before them), so the whole
 * heap is copied at rest: no lock of it is inherited held by a thread the
 * child does not have.
 *
 * While the handlers hold the locks the forking thread counts as inside the
 * allocator, so that a signal handler's malloc there goes around them.  In
 * the child kswapd did not come along: the zone grows when a call needs it.
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
static bool zone_held;

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

static void prepare(void)
{
	lab__malloc_enter();
	struct lab_zone *z = __atomic_load_n(&lab__malloc_heap.zone, __ATOMIC_ACQUIRE);
	if (!z)
		return;
	lab__malloc_zone_locks(z, true);
	zone_held = true;
	for (unsigned int i = 0; i < NR_HELD; i++)
		cache_sets(held_cache(i), true);
	for (unsigned int i = 0; i < NR_HELD; i++)
		held[i] = held_cache(i) && lab__slab_lock(held_cache(i), true);
	lab__pcp_own_all(z);
}

static void release(bool child)
{
	struct lab_zone *z = __atomic_load_n(&lab__malloc_heap.zone, __ATOMIC_ACQUIRE);
	if (z && zone_held) {
		lab__pcp_release_all(z);
		for (unsigned int i = NR_HELD; i-- > 0;)
			if (held[i])
				lab__slab_unlock(held_cache(i));
		for (unsigned int i = NR_HELD; i-- > 0;)
			cache_sets(held_cache(i), false);
		lab__malloc_zone_locks(z, false);
		zone_held = false;
		if (child)
			lab__malloc_zone_child(z);
	}
	lab__malloc_exit();
}

static void parent(void)
{
	release(false);
}

static void child(void)
{
	release(true);
}

void lab__malloc_fork_init(void)
{
	lab__os_atfork(prepare, parent, child);
}
