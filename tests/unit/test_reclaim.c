/* test_reclaim.c - getting memory back: shrinkers (registration, scan
 * batches, deferred work), direct reclaim by sleeping callers, kswapd,
 * waiting for frees, the retry policy (NORETRY, RETRY_MAYFAIL, costly
 * orders), the OOM handler, and zone growth. */
#include "helpers.h"
#include "page/reclaim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the retry policy ---------------------------------------------------- */

struct churn {
	struct lab_zone *z;
	atomic_bool stop;
	atomic_ulong rounds;
};

/* Free and reallocate one order-0 page, over and over: frees that wake
 * sleeping allocators but never give them what they wait for. */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	while (!atomic_load(&c->stop)) {
		struct lab_page *p = lab_alloc_page(c->z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
		if (p)
			lab_free_page(p);
		atomic_fetch_add(&c->rounds, 1);
		usleep(100);
	}
	return NULL;
}

/* Every other page allocated: half the zone free, no free block above order 0. */
static void fragment(struct lab_zone *z, struct held *h)
{
	struct held all;
	size_t n = zone_free(z);
	held_init(&all, n);
	for (size_t i = 0; i < n; i++) {
		struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC);
		cr_assert_not_null(p);
		held_push(&all, p);
	}
	for (size_t i = 0; i < n; i++) {
		if (i % 2)
			held_push(h, all.pages[i]);
		else
			lab_free_page(all.pages[i]);
	}
	free(all.pages);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.nr_free[0] << 0, st.free, "only order-0 blocks are free");
}

/*
 * Found by `labyrinth stress`: a sleeping allocation that no free can satisfy
 * looped for as long as any other thread freed anything, because every
 * wake-up restarted its count of rounds without progress.  It must fail after
 * a bounded number of rounds (the timeout catches the old livelock).
 */
static void assert_fails_despite_churn(lab_gfp_t gfp, unsigned int order)
{
	struct lab_zone *z = make_zone(2048, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 2048);
	fragment(z, &h);
	struct churn c = { .z = z };
	pthread_t t;
	pthread_create(&t, NULL, churn_main, &c);
	while (atomic_load(&c.rounds) < 10)
		usleep(100);
	errno = 0;
	struct lab_page *p = lab_alloc_pages(z, gfp | LAB_GFP_NOWARN, order);
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	cr_assert_null(p, "order %u cannot be satisfied: no free block above order 0", order);
	cr_assert_eq(errno, ENOMEM);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.fail_sleeping, 1);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(reclaim, costly_retry_mayfail_is_bounded_while_others_free, .timeout = 60)
{
	assert_fails_despite_churn(LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL, LAB_MAX_ORDER);
}

Test(reclaim, retry_mayfail_is_bounded_while_others_free, .timeout = 60)
{
	assert_fails_despite_churn(LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL, 1);
}

Test(reclaim, kernel_is_bounded_while_others_free, .timeout = 60)
{
	assert_fails_despite_churn(LAB_GFP_KERNEL, 2);
}

/* The README: NORETRY gives up after one round of reclaim, and orders above
 * LAB_COSTLY_ORDER fail after one round unless RETRY_MAYFAIL: no waiting. */
Test(reclaim, noretry_and_costly_orders_do_not_wait)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 1024);
	fragment(z, &h);
	struct lab_zone_stats st;
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN, 1));
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOWARN, LAB_COSTLY_ORDER + 1));
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.direct_reclaim, 2, "one round of reclaim each");
	cr_assert_eq(st.alloc_stall, 0, "neither waited");
	cr_assert_eq(st.fail_sleeping, 2);
	held_free_all(&h);
	free(h.pages);
	lab_zone_destroy(z);
}

/* ---- shrinkers --------------------------------------------------------- */

/* A cache of pages a shrinker gives back; it records how it is called. */
struct cache {
	struct lab_shrinker s;
	struct lab_page *pages[4096];
	unsigned long nr;
	unsigned long scans, max_batch, fake_objects;
	lab_gfp_t last_gfp;
	bool stop;              /* scan answers LAB_SHRINK_STOP */
	atomic_ulong counted;
};

static unsigned long cache_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct cache *c = s->private_data;
	atomic_fetch_add(&c->counted, 1);
	unsigned long n = c->fake_objects ? c->fake_objects : c->nr;
	return n ? n : LAB_SHRINK_EMPTY;
}

static unsigned long cache_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct cache *c = s->private_data;
	c->scans++;
	c->last_gfp = sc->gfp_mask;
	if (sc->nr_to_scan > c->max_batch)
		c->max_batch = sc->nr_to_scan;
	if (c->stop)
		return LAB_SHRINK_STOP;
	if (c->fake_objects)
		return sc->nr_to_scan;
	unsigned long freed = 0;
	while (c->nr && freed < sc->nr_to_scan) {
		lab_free_page(c->pages[--c->nr]);
		freed++;
	}
	return freed;
}

static void cache_init(struct cache *c, int seeks, long batch)
{
	memset(c, 0, sizeof(*c));
	c->s = (struct lab_shrinker){ .count_objects = cache_count, .scan_objects = cache_scan,
				      .seeks = seeks, .batch = batch, .private_data = c };
}

static void cache_fill(struct cache *c, struct lab_zone *z, unsigned long n)
{
	while (c->nr < n) {
		c->pages[c->nr] = lab_alloc_page(z, LAB_GFP_KERNEL);
		cr_assert_not_null(c->pages[c->nr]);
		c->nr++;
	}
}

Test(reclaim, shrinker_registration_rules)
{
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	static struct cache c;
	cache_init(&c, LAB_DEFAULT_SEEKS, 0);
	struct lab_shrinker no_scan = { .count_objects = cache_count };
	struct lab_shrinker no_count = { .scan_objects = cache_scan };
	struct lab_shrinker bad_seeks = { .count_objects = cache_count, .scan_objects = cache_scan,
					  .seeks = -1 };
	struct lab_shrinker bad_batch = { .count_objects = cache_count, .scan_objects = cache_scan,
					  .batch = -5 };
	cr_assert_eq(lab_register_shrinker(NULL, &c.s), -EINVAL);
	cr_assert_eq(lab_register_shrinker(z, NULL), -EINVAL);
	cr_assert_eq(lab_register_shrinker(z, &no_scan), -EINVAL);
	cr_assert_eq(lab_register_shrinker(z, &no_count), -EINVAL);
	cr_assert_eq(lab_register_shrinker(z, &bad_seeks), -EINVAL);
	cr_assert_eq(lab_register_shrinker(z, &bad_batch), -EINVAL);
	cr_assert_eq(lab_register_shrinker(z, &c.s), 0);
	cr_assert_eq(lab_register_shrinker(z, &c.s), -EBUSY, "registered twice");
	lab_unregister_shrinker(z, &c.s);
	lab_unregister_shrinker(z, &c.s);      /* not registered: harmless */
	lab_unregister_shrinker(NULL, &c.s);
	lab_unregister_shrinker(z, NULL);
	/* Unregistered: an allocation that needs reclaim does not call it. */
	cache_fill(&c, z, 100);
	struct held h;
	held_init(&h, 256);
	while (zone_free(z))
		held_push(&h, lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN));
	cr_assert_eq(c.scans, 0);
	cr_assert_eq(atomic_load(&c.counted), 0);
	while (c.nr)
		lab_free_page(c.pages[--c.nr]);
	held_free_all(&h);
	free(h.pages);
	lab_zone_destroy(z);
}

/* A sleeping allocation on an exhausted zone runs the shrinkers itself, in
 * batches, with its gfp mask, and gets a page they gave back. */
Test(reclaim, direct_reclaim_runs_shrinkers_for_a_sleeping_caller)
{
	struct lab_zone *z = make_zone(1024, 8, 16, 24, LAB_ZONE_NO_KSWAPD);
	static struct cache c;
	cache_init(&c, LAB_DEFAULT_SEEKS, 16);
	cache_fill(&c, z, 600);
	cr_assert_eq(lab_register_shrinker(z, &c.s), 0);
	struct held h;
	held_init(&h, 1024);
	while (zone_free(z))
		held_push(&h, lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	cr_assert_null(lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN), "atomic callers never reclaim");
	cr_assert_eq(c.scans, 0);

	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_ZERO);
	cr_assert_not_null(p);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_geq(c.scans, 1);
	cr_assert_leq(c.max_batch, 16, "scan calls get at most a batch");
	cr_assert_eq(c.last_gfp, LAB_GFP_KERNEL | LAB_GFP_ZERO);
	cr_assert_eq(st.direct_reclaim, 1);
	cr_assert_eq(st.shrinker_freed, 600 - c.nr);
	cr_assert_gt(st.free + 1, st.wmark_min, "reclaimed until the allocation fits above min");
	lab_unregister_shrinker(z, &c.s);
	lab_free_page(p);
	while (c.nr)
		lab_free_page(c.pages[--c.nr]);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* do_shrink_slab()'s arithmetic: (freeable >> priority) * 4 / seeks objects
 * per round, at most twice what there is, in batches; seeks 0 means half;
 * a STOP ends the round and the work is carried to the next one. */
Test(reclaim, shrink_rounds_scale_with_priority_and_seeks)
{
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	static struct cache c;

	cache_init(&c, LAB_DEFAULT_SEEKS, 10);
	c.fake_objects = 1000;
	cr_assert_eq(lab_register_shrinker(z, &c.s), 0);
	cr_assert_eq(lab__shrink_slab(z, LAB_GFP_KERNEL, 12), 0, "1000 >> 12 = 0: nothing this round");
	cr_assert_eq(c.scans, 0);
	cr_assert_eq(lab__shrink_slab(z, LAB_GFP_KERNEL, 4), 120, "(1000 >> 4) * 4 / 2 = 124, in batches of 10");
	cr_assert_eq(c.scans, 12);
	cr_assert_eq(c.s.lab_nr_deferred, 4, "the 4 short of a batch are carried");
	cr_assert_eq(lab__shrink_slab(z, LAB_GFP_KERNEL, 0), 2000, "at most twice the objects");
	lab_unregister_shrinker(z, &c.s);

	cache_init(&c, 0, 100);
	c.fake_objects = 1000;
	cr_assert_eq(lab_register_shrinker(z, &c.s), 0);
	cr_assert_eq(lab__shrink_slab(z, LAB_GFP_KERNEL, 12), 500, "seeks 0: half of it, whatever the priority");
	c.stop = true;
	cr_assert_eq(lab__shrink_slab(z, LAB_GFP_KERNEL, 12), 0);
	cr_assert_gt(c.s.lab_nr_deferred, 0, "stopped work is carried");
	lab_unregister_shrinker(z, &c.s);

	cache_init(&c, LAB_DEFAULT_SEEKS, 0);   /* empty cache: count says EMPTY, no scan */
	cr_assert_eq(lab_register_shrinker(z, &c.s), 0);
	cr_assert_eq(lab__shrink_slab(z, LAB_GFP_KERNEL, 0), 0);
	cr_assert_eq(c.scans, 0);
	lab_unregister_shrinker(z, &c.s);
	lab_zone_destroy(z);
}

/* kswapd: woken when an allocation dips below low, shrinks until free is
 * above high, never blocking the caller. */
Test(reclaim, kswapd_reclaims_to_the_high_watermark, .timeout = 60)
{
	struct lab_zone *z = make_zone(1024, 32, 64, 96, 0);
	static struct cache c;
	cache_init(&c, 0, 32);
	cache_fill(&c, z, 500);
	struct held h;
	held_init(&h, 1024);
	set_free(z, &h, 70);
	cr_assert_eq(lab_register_shrinker(z, &c.s), 0);
	/* NOWAIT never reclaims itself: below low it wakes kswapd.  (A fixed
	 * count: kswapd may give pages back while this runs.) */
	for (int i = 0; i < 7; i++)
		held_push(&h, lab_alloc_page(z, LAB_GFP_NOWAIT));
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_geq(st.kswapd_wake, 1);
	/* Wait for it (no timing assumed: only that it eventually runs).  Its
	 * shrinker_freed count is added when its round of shrinking ends, after
	 * the pages it freed already show in free. */
	while (st.free <= 96 || !st.shrinker_freed) {
		usleep(1000);
		lab_zone_get_stats(z, &st);
	}
	cr_assert_geq(st.kswapd_run, 1);
	cr_assert_gt(st.shrinker_freed, 0);
	lab_unregister_shrinker(z, &c.s);
	while (c.nr)
		lab_free_page(c.pages[--c.nr]);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- OOM handler, NOFAIL, growth -------------------------------------------- */

struct oom {
	struct held *h;
	int calls;
};

static int oom_release_one(struct lab_zone *z, lab_gfp_t gfp, unsigned int order, void *arg)
{
	(void)z;
	(void)gfp;
	(void)order;
	struct oom *o = arg;
	o->calls++;
	if (!o->h->nr)
		return 0;
	lab_free_page(o->h->pages[--o->h->nr]);
	return 1;
}

Test(reclaim, oom_handler_runs_after_rounds_without_progress, .timeout = 60)
{
	struct lab_zone *z = make_zone(256, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 256);
	while (zone_free(z))
		held_push(&h, lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	struct oom o = { &h, 0 };
	lab_set_oom_handler(z, oom_release_one, &o);
	lab_set_oom_handler(NULL, oom_release_one, &o);   /* ignored */

	/* RETRY_MAYFAIL never calls it. */
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL | LAB_GFP_NOWARN));
	cr_assert_eq(o.calls, 0);
	/* KERNEL | MEMALLOC: the handler frees a page, the retry takes it. */
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_MEMALLOC);
	cr_assert_not_null(p);
	cr_assert_eq(o.calls, 1);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.oom_calls, 1);
	cr_assert_geq(st.alloc_stall, 16, "it waited its rounds first");
	/* A handler that cannot help: the allocation fails. */
	lab_free_page(p);
	p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC);
	size_t kept = h.nr;
	h.nr = 0;
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN));
	cr_assert_eq(o.calls, 2);
	h.nr = kept;
	lab_free_page(p);
	lab_set_oom_handler(z, NULL, NULL);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

struct late_free {
	struct lab_zone *z;
	struct lab_page *page;
};

static void *free_later(void *arg)
{
	struct late_free *l = arg;
	/* Once the allocator waits (or soon after: either order is correct). */
	for (int i = 0; i < 1000; i++) {
		struct lab_zone_stats st;
		lab_zone_get_stats(l->z, &st);
		if (st.alloc_stall > 20)
			break;
		usleep(1000);
	}
	lab_free_page(l->page);
	return NULL;
}

Test(reclaim, nofail_waits_until_memory_comes_back, .timeout = 300)
{
	struct lab_zone *z = make_zone(256, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 256);
	while (zone_free(z))
		held_push(&h, lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	struct late_free l = { z, h.pages[--h.nr] };
	pthread_t t;
	pthread_create(&t, NULL, free_later, &l);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_MEMALLOC | LAB_GFP_NOFAIL);
	pthread_join(t, NULL);
	cr_assert_eq(p, l.page, "NOFAIL never returns NULL; it got the page freed meanwhile");
	lab_free_page(p);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(reclaim, growth_is_for_sleeping_callers_up_to_max_pages)
{
	struct lab_zone_config cfg = { .name = "grow", .pages = 1024, .max_pages = 3000,
				       .flags = LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	size_t min_before = st.wmark_min;
	struct held h;
	held_init(&h, 4096);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 1024, "callers that cannot sleep never grow the zone");
	cr_assert_eq(st.grow, 0);
	while ((p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_MEMALLOC | LAB_GFP_NORETRY | LAB_GFP_NOWARN)))
		held_push(&h, p);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 3000, "grown up to max_pages, not past it");
	cr_assert_eq(st.grow, 2, "by a max-order block at a time, the last one cut to fit");
	cr_assert_eq(st.allocated, 3000);
	cr_assert_gt(st.wmark_min, min_before, "marks follow the zone's new size");
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.free + st.pcp, 3000);
	lab_zone_destroy(z);
}

/* A shrinker whose first scan blocks until the test lets it go. */
static atomic_int gate_state;   /* 0 closed, 1 a scan is waiting, 2 open */

static unsigned long gated_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)s;
	(void)sc;
	return 100;
}

static unsigned long gated_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)s;
	(void)sc;
	int closed = 0;
	if (atomic_compare_exchange_strong(&gate_state, &closed, 1))
		while (atomic_load(&gate_state) != 2)
			usleep(100);
	return 0;   /* nothing to give back */
}

/*
 * A wake-up that arrives while kswapd is running must not be lost: kswapd
 * runs again.  (It was dropped: the request was only a flag, cleared when
 * the running round ended, so kswapd slept with the zone below low until
 * some later allocation woke it again.)
 */
Test(reclaim, kswapd_wakeup_during_a_run_is_not_lost, .timeout = 60)
{
	struct lab_zone *z = make_zone(1024, 32, 64, 96, 0);
	struct lab_shrinker s = { .count_objects = gated_count, .scan_objects = gated_scan,
				  .seeks = 0, .batch = 10 };
	cr_assert_eq(lab_register_shrinker(z, &s), 0);
	struct held h;
	held_init(&h, 1024);
	set_free(z, &h, 50);                   /* below low: kswapd woken, blocks in scan */
	while (atomic_load(&gate_state) != 1)
		usleep(100);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.kswapd_run, 1);
	held_push(&h, lab_alloc_page(z, LAB_GFP_NOWAIT));   /* still below low: wake again */
	atomic_store(&gate_state, 2);
	/* kswapd must start a second round for the second request. */
	for (int i = 0; i < 30000 && st.kswapd_run < 2; i++) {
		usleep(1000);
		lab_zone_get_stats(z, &st);
	}
	cr_assert_geq(st.kswapd_run, 2, "the wake-up sent during the first round was lost");
	lab_unregister_shrinker(z, &s);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- reclaim's own allocations, the OOM lock, one list per shrinker ---------- */

/*
 * One struct lab_shrinker is one list entry: registered in a second zone it
 * was accepted (the duplicate check looked at one zone), linking the two
 * zones' lists, so reclaim in zone A ran zone B's shrinkers.
 */
Test(reclaim, a_shrinker_registered_in_two_zones_is_ebusy)
{
	struct lab_zone *a = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_zone *b = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	static struct cache ca, cb;
	cache_init(&ca, LAB_DEFAULT_SEEKS, 0);
	cache_init(&cb, LAB_DEFAULT_SEEKS, 0);
	cr_assert_eq(lab_register_shrinker(a, &ca.s), 0);
	cr_assert_eq(lab_register_shrinker(b, &cb.s), 0);
	cr_assert_eq(lab_register_shrinker(b, &ca.s), -EBUSY);
	/* Reclaim in B runs B's shrinker only. */
	cache_fill(&cb, b, 100);
	struct held h;
	held_init(&h, 256);
	while (zone_free(b))
		held_push(&h, lab_alloc_page(b, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	struct lab_page *p = lab_alloc_page(b, LAB_GFP_KERNEL | LAB_GFP_NORETRY);
	cr_assert_not_null(p);
	cr_assert_gt(cb.scans, 0);
	cr_assert_eq(ca.scans, 0, "zone A's shrinker ran for zone B");
	cr_assert_eq(atomic_load(&ca.counted), 0);
	lab_free_page(p);
	/* Unregistered from A, it may join B. */
	lab_unregister_shrinker(a, &ca.s);
	cr_assert_eq(lab_register_shrinker(b, &ca.s), 0);
	lab_unregister_shrinker(b, &ca.s);
	lab_unregister_shrinker(b, &cb.s);
	while (cb.nr)
		lab_free_page(cb.pages[--cb.nr]);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(a);
	assert_zone_ok(b);
	lab_zone_destroy(a);
	lab_zone_destroy(b);
}

/* An OOM handler that allocates from its own exhausted zone. */
struct oom_alloc {
	atomic_int depth, max_depth, calls;
	int nested_errno;
};

static int oom_allocating(struct lab_zone *z, lab_gfp_t gfp, unsigned int order, void *arg)
{
	(void)gfp;
	struct oom_alloc *o = arg;
	int d = atomic_fetch_add(&o->depth, 1) + 1;
	atomic_fetch_add(&o->calls, 1);
	if (d > atomic_load(&o->max_depth))
		atomic_store(&o->max_depth, d);
	if (d < 4) {   /* without the OOM lock this recursed without bound: stop at 4 */
		errno = 0;
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOWARN, order);
		o->nested_errno = errno;
		if (p)
			lab_free_pages(p, order);
	}
	atomic_fetch_sub(&o->depth, 1);
	return 0;
}

/*
 * The README says an OOM handler "may free, or even allocate": a handler
 * that allocates from the zone it was called for recursed, each level
 * waiting out its rounds before calling the handler again.  The OOM lock is
 * taken with a trylock, as the kernel's oom_lock: the nested allocation,
 * finding it held by its own thread, fails instead of calling the handler.
 */
Test(reclaim, an_oom_handler_that_allocates_does_not_recurse, .timeout = 60)
{
	struct lab_zone *z = make_zone(256, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 256);
	while (zone_free(z))
		held_push(&h, lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	static struct oom_alloc o;
	lab_set_oom_handler(z, oom_allocating, &o);
	errno = 0;
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NOWARN));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(atomic_load(&o.max_depth), 1, "the handler ran inside itself");
	cr_assert_eq(atomic_load(&o.calls), 1);
	cr_assert_eq(o.nested_errno, ENOMEM, "the nested allocation fails");
	lab_set_oom_handler(z, NULL, NULL);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* Two threads out of memory at once: one runs the handler, the other counts
 * the running handler as progress and waits for what it frees. */
struct oom_gate {
	struct held *h;
	atomic_int running, max_running, calls, release;
};

static int oom_gated(struct lab_zone *z, lab_gfp_t gfp, unsigned int order, void *arg)
{
	(void)z, (void)gfp, (void)order;
	struct oom_gate *g = arg;
	int r = atomic_fetch_add(&g->running, 1) + 1;
	if (r > atomic_load(&g->max_running))
		atomic_store(&g->max_running, r);
	atomic_fetch_add(&g->calls, 1);
	while (!atomic_load(&g->release))
		usleep(1000);
	/* Give back two pages: one for each caller. */
	for (int i = 0; i < 2 && g->h->nr; i++)
		lab_free_page(g->h->pages[--g->h->nr]);
	atomic_fetch_sub(&g->running, 1);
	return 1;
}

struct oom_caller {
	struct lab_zone *z;
	struct lab_page *got;
};

static void *oom_caller_main(void *arg)
{
	struct oom_caller *c = arg;
	c->got = lab_alloc_page(c->z, LAB_GFP_KERNEL);
	return NULL;
}

Test(reclaim, one_oom_handler_at_a_time_and_the_others_wait_for_it, .timeout = 60)
{
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 256);
	while (zone_free_all(z))
		held_push(&h, lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	static struct oom_gate g;
	g.h = &h;
	lab_set_oom_handler(z, oom_gated, &g);
	struct oom_caller c[2] = { { z, NULL }, { z, NULL } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, oom_caller_main, &c[i]);
	while (!atomic_load(&g.calls))
		usleep(1000);
	/* Both are out of rounds by now or soon: whatever the timing, no
	 * second handler may start while the first runs. */
	struct lab_zone_stats st;
	do {
		usleep(1000);
		lab_zone_get_stats(z, &st);
	} while (st.alloc_stall < 2 * 17);
	atomic_store(&g.release, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&g.max_running), 1, "two OOM handlers ran at once");
	cr_assert(c[0].got && c[1].got, "both got a page the handler freed");
	lab_free_page(c[0].got);
	lab_free_page(c[1].got);
	lab_set_oom_handler(z, NULL, NULL);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* A shrinker whose scan allocates from its own zone with LAB_GFP_KERNEL. */
struct greedy {
	struct lab_shrinker s;
	struct lab_zone *z;
	struct held *h;
	atomic_int depth, max_depth, scans;
	struct lab_page *got[16];
	int nr_got;
};

static unsigned long greedy_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct greedy *g = s->private_data;
	return g->h->nr ? 8 : LAB_SHRINK_EMPTY;
}

static unsigned long greedy_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct greedy *g = s->private_data;
	int d = atomic_fetch_add(&g->depth, 1) + 1;
	if (d > atomic_load(&g->max_depth))
		atomic_store(&g->max_depth, d);
	atomic_fetch_add(&g->scans, 1);
	unsigned long freed = 0;
	/* A bookkeeping page first (a kernel shrinker may need one too), then
	 * free two of the cache's. */
	struct lab_page *p = lab_alloc_page(g->z, LAB_GFP_KERNEL | LAB_GFP_NOWARN);
	if (p && g->nr_got < 16)
		g->got[g->nr_got++] = p;
	else if (p)
		lab_free_page(p);
	for (int i = 0; i < 2 && g->h->nr; i++, freed++)
		lab_free_page(g->h->pages[--g->h->nr]);
	atomic_fetch_sub(&g->depth, 1);
	return freed;
}

static void greedy_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "greedy",
		.pages = 256, .flags = LAB_ZONE_NO_KSWAPD, .wmark_min = 8, .wmark_low = 12,
		.wmark_high = 16 });
	CHILD_CHECK(z);
	struct held h;
	held_init(&h, 256);
	struct lab_page *p;
	while (zone_free_all(z) > 4 && (p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC)))
		held_push(&h, p);
	lab_drain_all_pages(z);
	static struct greedy g;
	g.s = (struct lab_shrinker){ .count_objects = greedy_count, .scan_objects = greedy_scan,
				     .seeks = 0, .batch = 8, .private_data = &g };
	g.z = z;
	g.h = &h;
	CHILD_CHECK(lab_register_shrinker(z, &g.s) == 0);
	/* Below min: direct reclaim runs the shrinker, whose allocation must
	 * neither deadlock on the reclaim it runs in nor recurse into it. */
	p = lab_alloc_page(z, LAB_GFP_KERNEL);
	CHILD_CHECK(p);
	CHILD_CHECK(atomic_load(&g.scans) > 0);
	CHILD_CHECK(atomic_load(&g.max_depth) == 1);
	CHILD_CHECK(g.nr_got > 0);   /* from the reserve below min: PF_MEMALLOC */
	lab_free_page(p);
	lab_unregister_shrinker(z, &g.s);
	while (g.nr_got)
		lab_free_page(g.got[--g.nr_got]);
	held_free_all(&h);
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_zone_destroy(z);
	_exit(0);
}

/*
 * A shrinker whose scan allocates with LAB_GFP_KERNEL from its own zone
 * deadlocked on the zone's reclaim mutex, which its thread already held.
 * Reclaim runs as the kernel's PF_MEMALLOC: allocations made inside it use
 * the reserves (no watermark) and never enter reclaim themselves.
 */
Test(reclaim, a_shrinker_that_allocates_uses_the_reserve_and_does_not_recurse, .timeout = 60)
{
	char out[8192];
	int status = run_in_child(greedy_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
}
