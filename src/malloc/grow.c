/*
 * grow.c - the heap zone grows from the OS instead of failing, while the
 * machine has memory (up to the zone's maximum, LABYRINTH_MALLOC_ZONE max=).
 * The growth itself is the page layer's (lab__zone_grow: a lazy zone by a
 * quarter of its size at a time, to a max-order boundary); this file says
 * when:
 *
 *   - Synchronously: an ordinary malloc whose NOWAIT request the zone
 *     refused, and that finds the zone short rather than contended.
 *   - Ahead of need: a shrinker registered last (so it runs first) turns
 *     kswapd's "get the zone above its high watermark" into growth, as the
 *     virtio balloon's shrinker deflates the balloon under pressure
 *     (drivers/virtio/virtio_balloon.c).  kswapd is woken when the zone falls
 *     below its low watermark, so most growth happens on kswapd's time and
 *     the caches' objects are reclaimed only once the zone cannot grow.
 *
 * And a fork child's zone for fork.c.
 */
#include "malloc/malloc.h"
#include "os/thread.h"
#include "page/reclaim.h"
#include "page/zone.h"

/* Growth ends on multiples of a max-order block (reclaim.c). */
#define STEP_PAGES ((size_t)1 << LAB_MAX_ORDER)

static size_t zone_free(const struct lab_zone *z)
{
	return atomic_load_explicit(&z->nr_free_snapshot, memory_order_relaxed);
}

static size_t zone_high(const struct lab_zone *z)
{
	return atomic_load_explicit(&z->wmark[WMARK_HIGH], memory_order_relaxed);
}

/* Does the zone lack memory for a block of order?  (A racy look, enough to
 * tell "low" or "fragmented" from "contended".) */
static bool zone_short(const struct lab_zone *z, unsigned int order)
{
	if (zone_free(z) <= zone_high(z) + ((size_t)1 << order))
		return true;
	for (unsigned int o = order; o <= LAB_MAX_ORDER; o++)
		if (__atomic_load_n(&z->area[o].nr_free[MT_NORMAL], __ATOMIC_RELAXED))
			return false;
	return true;
}

void lab__malloc_heap_sync(void)
{
	struct lab_zone *z = __atomic_load_n(&lab__malloc_heap.zone, __ATOMIC_ACQUIRE);
	if (!z)
		return;
	uintptr_t now = (uintptr_t)atomic_load(&z->managed) << z->page_shift;
	uintptr_t seen = atomic_load_explicit(&lab__malloc_heap.bytes, memory_order_relaxed);
	while (seen < now && !atomic_compare_exchange_weak(&lab__malloc_heap.bytes, &seen, now))
		;
}

static bool grow(struct lab_zone *z, unsigned int order)
{
	if (!lab__zone_grow(z, order))
		return false;
	lab__malloc_heap_sync();
	lab__malloc_event(EV_grow);
	return true;
}

bool lab__malloc_grow(struct lab_zone *z, unsigned int order)
{
	if (!(z->flags & LAB_ZONE_GROW))
		return false;
	/* Not short: contention (or another thread grew it): just retry. */
	return !zone_short(z, order) || grow(z, order);
}

/* ---- ahead of need: a shrinker that grows --------------------------------- */

static unsigned long grow_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct lab_zone *z = s->private_data;
	if (atomic_load(&z->managed) >= z->max_pages || zone_free(z) > zone_high(z))
		return LAB_SHRINK_EMPTY;
	return 2 * STEP_PAGES;  /* seeks 0: half of it, one batch, is scanned */
}

static unsigned long grow_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct lab_zone *z = s->private_data;
	size_t before = atomic_load(&z->managed);
	if (zone_free(z) > zone_high(z) || !grow(z, 0))
		return LAB_SHRINK_STOP;
	size_t added = atomic_load(&z->managed) - before;
	sc->nr_scanned = added;
	return added;
}

static struct lab_shrinker grower = {
	.count_objects = grow_count,
	.scan_objects = grow_scan,
	.seeks = 0,
	.batch = STEP_PAGES,
};

int lab__malloc_grow_init(struct lab_zone *z)
{
	if (!(z->flags & LAB_ZONE_GROW))
		return 0;
	grower.private_data = z;
	return lab_register_shrinker(z, &grower);  /* last registered: first to run */
}

/* ---- fork ----------------------------------------------------------------- */

void lab__malloc_zone_child(struct lab_zone *z)
{
	/* kswapd did not come along: the child grows when its calls need it. */
	z->kswapd_started = false;
}
