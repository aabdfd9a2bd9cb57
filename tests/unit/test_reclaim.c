/* test_reclaim.c - getting memory back: kswapd woken below low and running
 * shrinkers to high, direct reclaim, sleeping allocations woken by frees,
 * NOFAIL, the retry policies, the OOM handler and zone growth. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* A cache of pages that a shrinker can give back. */
struct cache {
	struct lab_shrinker shrinker;
	pthread_mutex_t lock;
	struct lab_page *pages[1024];
	unsigned long nr;
	_Atomic unsigned long scans, max_batch;
};

static unsigned long cache_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct cache *c = s->private_data;
	pthread_mutex_lock(&c->lock);
	unsigned long n = c->nr;
	pthread_mutex_unlock(&c->lock);
	return n ? n : LAB_SHRINK_EMPTY;
}

static unsigned long cache_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct cache *c = s->private_data;
	unsigned long freed = 0;
	atomic_fetch_add(&c->scans, 1);
	if (sc->nr_to_scan > atomic_load(&c->max_batch))
		atomic_store(&c->max_batch, sc->nr_to_scan);
	pthread_mutex_lock(&c->lock);
	while (c->nr && freed < sc->nr_to_scan) {
		lab_free_page(c->pages[--c->nr]);
		freed++;
	}
	pthread_mutex_unlock(&c->lock);
	return freed;
}

static void cache_init(struct cache *c, struct lab_zone *z, unsigned long n, long batch)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->shrinker.count_objects = cache_count;
	c->shrinker.scan_objects = cache_scan;
	c->shrinker.seeks = LAB_DEFAULT_SEEKS;
	c->shrinker.batch = batch;
	c->shrinker.private_data = c;
	while (c->nr < n) {
		c->pages[c->nr] = lab_alloc_page(z, LAB_GFP_KERNEL);
		cr_assert_not_null(c->pages[c->nr]);
		c->nr++;
	}
	cr_assert_eq(lab_register_shrinker(z, &c->shrinker), 0);
}

static void cache_fini(struct cache *c, struct lab_zone *z)
{
	lab_unregister_shrinker(z, &c->shrinker);
	while (c->nr)
		lab_free_page(c->pages[--c->nr]);
}

Test(reclaim, kswapd_wakes_below_low_and_reclaims_to_high)
{
	struct lab_zone *z = make_zone(1024, 64, 80, 96, 0);
	struct cache c;
	cache_init(&c, z, 512, 0);
	struct held h;
	held_init(&h, 1024);
	/* NOWAIT cannot reclaim itself: only kswapd can bring free back up. */
	set_free(z, &h, 70);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_NOWAIT);
	cr_assert_not_null(p, "70 > min: the slow path serves NOWAIT");
	held_push(&h, p);
	struct lab_zone_stats st;
	for (int i = 0; i < 500; i++) {
		lab_zone_get_stats(z, &st);
		if (st.free > 96 && st.kswapd_run)
			break;
		usleep(10000);
	}
	cr_assert_geq(st.kswapd_wake, 1);
	cr_assert_geq(st.kswapd_run, 1);
	cr_assert_gt(st.free, 96, "kswapd reclaims until free is above high (free %zu)", st.free);
	cr_assert_gt(c.scans, 0);
	cr_assert_gt(st.shrinker_freed, 0);
	held_free_all(&h);
	cache_fini(&c, z);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(reclaim, direct_reclaim_runs_shrinkers_in_batches)
{
	struct lab_zone *z = make_zone(1024, 64, 80, 96, LAB_ZONE_NO_KSWAPD);
	struct cache c;
	cache_init(&c, z, 600, 16);
	struct held h;
	held_init(&h, 1024);
	set_free(z, &h, 0);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	cr_assert_not_null(p, "KERNEL reclaims from the shrinker");
	cr_assert_lt(c.nr, 600);
	cr_assert_leq(c.max_batch, 16, "scan_objects is asked for at most `batch` objects");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_geq(st.direct_reclaim, 1);
	cr_assert_eq(st.kswapd_wake, 0);
	lab_free_page(p);
	/* ATOMIC never reclaims: with nothing free it fails at once. */
	set_free(z, &h, 0);
	unsigned long before = c.nr;
	cr_assert_null(lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN));
	cr_assert_eq(c.nr, before, "an atomic caller ran a shrinker");
	held_free_all(&h);
	cache_fini(&c, z);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

struct sleeper {
	struct lab_zone *z;
	lab_gfp_t gfp;
	struct lab_page *got;
	_Atomic int done;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	s->got = lab_alloc_page(s->z, s->gfp);
	atomic_store(&s->done, 1);
	return NULL;
}

/* Start a sleeping allocation on an empty zone, let it stall, then free. */
static void woken_by_free(lab_gfp_t gfp, useconds_t delay)
{
	struct lab_zone *z = make_zone(256, 8, 10, 12, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 256);
	set_free(z, &h, 0);
	struct sleeper s = { .z = z, .gfp = gfp };
	pthread_t t;
	pthread_create(&t, NULL, sleeper_main, &s);
	usleep(delay);
	cr_assert_eq(atomic_load(&s.done), 0, "the allocation should be waiting");
	/* Free enough to clear the min watermark. */
	for (int i = 0; i < 16; i++)
		lab_free_page(h.pages[--h.nr]);
	pthread_join(t, NULL);
	cr_assert_not_null(s.got);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_geq(st.alloc_stall, 1);
	lab_free_page(s.got);
	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(reclaim, sleeping_allocation_is_woken_by_a_free)
{
	woken_by_free(LAB_GFP_KERNEL, 50000);
}

Test(reclaim, nofail_waits_as_long_as_it_takes)
{
	/* Longer than all the retry rounds of a plain KERNEL allocation. */
	woken_by_free(LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 600000);
}

static _Atomic int oom_calls;

static int oom_frees_one(struct lab_zone *z, lab_gfp_t gfp, unsigned int order, void *arg)
{
	(void)z; (void)gfp; (void)order;
	struct held *h = arg;
	atomic_fetch_add(&oom_calls, 1);
	if (!h->nr)
		return 0;
	for (int i = 0; i < 16 && h->nr; i++)
		lab_free_page(h->pages[--h->nr]);
	return 1;
}

Test(reclaim, kernel_calls_the_oom_handler_then_fails)
{
	struct lab_zone *z = make_zone(256, 8, 10, 12, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 256);
	set_free(z, &h, 0);
	errno = 0;
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NOWARN), "no handler: fails");
	cr_assert_eq(errno, ENOMEM);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_gt(st.alloc_stall, 16, "fails only after repeated rounds");
	cr_assert_eq(st.oom_calls, 0);

	lab_set_oom_handler(z, oom_frees_one, &h);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	cr_assert_not_null(p, "the OOM handler released memory");
	cr_assert_eq(atomic_load(&oom_calls), 1);
	lab_free_page(p);

	/* NORETRY and RETRY_MAYFAIL never call it. */
	set_free(z, &h, 0);
	atomic_store(&oom_calls, 0);
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN));
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL | LAB_GFP_NOWARN));
	cr_assert_eq(atomic_load(&oom_calls), 0);
	/* A costly order without RETRY_MAYFAIL gives up after one round. */
	lab_zone_get_stats(z, &st);
	uint64_t stalls = st.alloc_stall;
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOWARN, 4));
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.alloc_stall, stalls, "costly order did not wait");
	cr_assert_eq(atomic_load(&oom_calls), 0);
	lab_set_oom_handler(z, NULL, NULL);
	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(reclaim, grow_zone_adds_memory_for_sleeping_callers_only)
{
	struct lab_zone_config cfg = { .name = "grow", .pages = 1024, .flags = LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD,
				       .max_pages = 3072 };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	struct held h;
	held_init(&h, 4096);
	set_free(z, &h, 0);
	cr_assert_null(lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN), "atomic callers never grow");
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	cr_assert_not_null(p, "a sleeping caller grows the zone");
	memset(lab_page_address(p), 1, lab_page_size() << 3);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 2048, "one max-order block at a time");
	cr_assert_eq(st.grow, 1);
	cr_assert_gt(st.wmark_min, 0);
	cr_assert_eq(lab_virt_to_page(lab_page_address(p)), p);
	assert_zone_ok(z);
	/* Up to max_pages, then it fails like any zone. */
	struct lab_page *q;
	while ((q = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN)))
		held_push(&h, q);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 3072);
	cr_assert_eq(st.grow, 2);
	cr_assert_leq(st.free, st.wmark_min);
	lab_free_pages(p, 3);
	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(reclaim, shrinker_registration_rejects_bad_input)
{
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_shrinker empty = { 0 };
	cr_assert_eq(lab_register_shrinker(z, &empty), -EINVAL);
	cr_assert_eq(lab_register_shrinker(NULL, &empty), -EINVAL);
	struct cache c;
	cache_init(&c, z, 4, 0);
	cr_assert_eq(lab_register_shrinker(z, &c.shrinker), -EINVAL, "registered twice");
	cache_fini(&c, z);
	lab_zone_destroy(z);
}
