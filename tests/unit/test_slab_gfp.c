/* test_slab_gfp.c - the GFP contract through a cache: a slab comes from the
 * zone with the caller's gfp, so ATOMIC dips into the reserve below the min
 * watermark where NOWAIT fails and KERNEL reclaims; NOFAIL waits until an
 * object comes back; kswapd is woken; a zone under pressure takes empty slabs
 * back through the cache's shrinker; failslab (with its cache filter and
 * fail-nth) and fail_page_alloc fail what they should and nothing else. */
#include "helpers.h"

#include "page/atomic.h"  /* lab__sleep_check: the might_sleep switch */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct lab_kmem_cache_stats cstats(const struct lab_kmem_cache *c)
{
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(c, &st);
	return st;
}

static struct lab_zone_stats zstats(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st;
}

/* A shrinker holding pages of the zone, as a page cache would: direct reclaim
 * calls it, and it gives pages back. */
struct stash {
	struct lab_shrinker s;
	struct held h;
	_Atomic int calls;
};

static unsigned long stash_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct stash *st = s->private_data;
	return st->h.nr ? st->h.nr : LAB_SHRINK_EMPTY;
}

static unsigned long stash_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct stash *st = s->private_data;
	unsigned long freed = 0;
	atomic_fetch_add(&st->calls, 1);
	while (st->h.nr && freed < sc->nr_to_scan) {
		lab_free_page(st->h.pages[--st->h.nr]);
		freed++;
	}
	return freed;
}

static void stash_init(struct stash *st, struct lab_zone *z, size_t pages)
{
	memset(st, 0, sizeof(*st));
	held_init(&st->h, pages);
	for (size_t i = 0; i < pages; i++)
		held_push(&st->h, lab_alloc_page(z, LAB_GFP_KERNEL));
	st->s = (struct lab_shrinker){ .count_objects = stash_count, .scan_objects = stash_scan,
				       .seeks = 0, .private_data = st };
	cr_assert_eq(lab_register_shrinker(z, &st->s), 0);
}

Test(slab_gfp, atomic_dips_below_min_where_nowait_fails_and_kernel_reclaims)
{
	/* min 64: ATOMIC may go down to 3/8 of it (24), NOWAIT and KERNEL stop at 64. */
	struct lab_zone *z = make_zone(1024, 64, 96, 128, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *a = lab_kmem_cache_create(z, "t-atomic", 256, 0, 0, NULL);
	struct lab_kmem_cache *k = lab_kmem_cache_create(z, "t-kernel", 256, 0, 0, NULL);
	cr_assert(a && k);
	struct stash stash;
	stash_init(&stash, z, 128);
	struct held h;
	held_init(&h, 1024);
	lab_drain_all_pages(z);
	set_free(z, &h, 48);  /* below min, well above ATOMIC's mark */
	uint64_t reserve_before = zstats(z).reserve_use;

	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(a, LAB_GFP_NOWAIT), "NOWAIT has no reserve");
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(cstats(a).alloc_fail, 1);

	void *o = lab_kmem_cache_alloc(a, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	cr_assert_not_null(o, "ATOMIC uses the reserve below min");
	cr_assert_gt(zstats(z).reserve_use, reserve_before, "counted as a reserve allocation");
	cr_assert_eq(atomic_load(&stash.calls), 0, "ATOMIC never reclaims");
	cr_assert_eq(cstats(a).slabs, 1);

	/* KERNEL at the same level: direct reclaim runs the shrinkers, then it
	 * gets its slab. */
	void *q = lab_kmem_cache_alloc(k, LAB_GFP_KERNEL | LAB_GFP_NORETRY);
	cr_assert_not_null(q);
	cr_assert_gt(atomic_load(&stash.calls), 0, "KERNEL reclaimed before taking a slab");
	cr_assert_gt(zstats(z).direct_reclaim, 0);

	lab_kmem_cache_free(a, o);
	lab_kmem_cache_free(k, q);
	lab_unregister_shrinker(z, &stash.s);
	held_free_all(&stash.h);
	held_free_all(&h);
	lab_kmem_cache_destroy(a);
	lab_kmem_cache_destroy(k);
	cr_assert_eq(zone_free_all(z), 1024);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- NOFAIL ------------------------------------------------------------- */

struct nofail {
	struct lab_kmem_cache *c;
	void *victim;
	_Atomic bool freed;
};

static void *free_later(void *arg)
{
	struct nofail *nf = arg;
	struct timespec t = { 0, 300 * 1000 * 1000 };
	nanosleep(&t, NULL);
	atomic_store(&nf->freed, true);
	lab_kmem_cache_free(nf->c, nf->victim);
	return NULL;
}

Test(slab_gfp, nofail_waits_until_another_thread_frees_an_object, .timeout = 60)
{
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-nofail", 512, 0, 0, NULL);
	static void *o[4096];
	size_t n = 0;
	void *x;
	while ((x = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		o[n++] = x;
	cr_assert_gt(n, 100);
	struct held h;
	held_init(&h, 256);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN),
		       "the zone and the cache are empty");

	struct nofail nf = { c, o[--n], false };
	pthread_t t;
	pthread_create(&t, NULL, free_later, &nf);
	void *got = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL | LAB_GFP_NOFAIL | LAB_GFP_NOWARN);
	cr_assert_not_null(got, "NOFAIL never returns NULL");
	cr_assert(atomic_load(&nf.freed), "it got an object before any was freed");
	cr_assert_eq(got, nf.victim, "the one object that came back");
	pthread_join(t, NULL);
	lab_kmem_cache_free(c, got);
	while (n)
		lab_kmem_cache_free(c, o[--n]);
	held_free_all(&h);
	lab_kmem_cache_destroy(c);
	cr_assert_eq(zone_free_all(z), 256);
	lab_zone_destroy(z);
}

/* ---- kswapd and the shrinker ------------------------------------------- */

Test(slab_gfp, an_atomic_slab_below_low_wakes_kswapd)
{
	struct lab_zone *z = make_zone(1024, 64, 96, 128, 0);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-kswapd", 256, 0, 0, NULL);
	struct held h;
	held_init(&h, 1024);
	lab_drain_all_pages(z);
	set_free(z, &h, 80);  /* below low */
	/* Those allocations woke kswapd too: let it finish, so that ours is a
	 * new wake-up and not one folded into a pending one. */
	while (zstats(z).kswapd_run < zstats(z).kswapd_wake)
		sched_yield();
	uint64_t wakes = zstats(z).kswapd_wake;
	void *o = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	cr_assert_not_null(o);
	cr_assert_gt(zstats(z).kswapd_wake, wakes, "kswapd woken by the slab's page");
	lab_kmem_cache_free(c, o);
	held_free_all(&h);
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

Test(slab_gfp, a_zone_under_pressure_takes_empty_slabs_back_through_the_shrinker)
{
	struct lab_zone *z = make_zone(1024, 4, 6, 8, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-reclaim", 512, 0, 0, NULL);
	static void *o[2000];
	for (int i = 0; i < 2000; i++)
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	for (int i = 0; i < 2000; i++)
		lab_kmem_cache_free(c, o[i]);
	size_t held_by_cache = cstats(c).pages;
	cr_assert_gt(held_by_cache, 0, "free objects on the arrays keep some slabs");
	struct held h;
	held_init(&h, 1024);
	struct lab_page *p;
	lab_drain_all_pages(z);
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	/* The zone is empty but for the cache's slabs: a sleeping allocation
	 * reclaims them. */
	p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY);
	cr_assert_not_null(p, "reclaim found the cache's empty slabs");
	held_push(&h, p);
	cr_assert_lt(cstats(c).pages, held_by_cache);
	cr_assert_gt(zstats(z).shrinker_freed, 0);
	held_free_all(&h);
	lab_kmem_cache_destroy(c);
	cr_assert_eq(zone_free_all(z), 1024);
	lab_zone_destroy(z);
}

/* ---- fault injection ----------------------------------------------------- */

/* Objects on this CPU's array, so that no allocation below needs a page. */
static void warm(struct lab_kmem_cache *c, int n)
{
	static void *o[256];
	for (int i = 0; i < n; i++)
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	for (int i = n - 1; i >= 0; i--)
		lab_kmem_cache_free(c, o[i]);
}

Test(slab_gfp, failslab_fails_atomic_callers_and_never_nofail)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-failslab", 64, 0, 0, NULL);
	warm(c, 16);
	char err[128];
	cr_assert_eq(lab_failslab_configure("probability=100,times=-1,verbose=0", err, sizeof(err)),
		     0, "%s", err);
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_null(lab_kmalloc(32, LAB_GFP_NOWAIT), "kmalloc too");
	struct lab_kmem_cache_stats st = cstats(c);
	cr_assert_eq(st.alloc_fail, 1);
	cr_assert_eq(st.fail_injected, 1);
	void *k = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	cr_assert_not_null(k, "ignore_gfp_wait (the default) spares sleeping callers");
	lab_kmem_cache_free(c, k);
	cr_assert_eq(lab_failslab_configure("probability=100,times=-1,verbose=0,ignore_gfp_wait=0",
					    err, sizeof(err)), 0);
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_KERNEL));
	k = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL | LAB_GFP_NOFAIL);
	cr_assert_not_null(k, "NOFAIL is never failed");
	lab_kmem_cache_free(c, k);
	/* times counts down */
	cr_assert_eq(lab_failslab_configure("probability=100,times=2,verbose=0", err, sizeof(err)), 0);
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC));
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC));
	k = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	cr_assert_not_null(k, "after two failures, times is 0");
	lab_kmem_cache_free(c, k);
	struct lab_fault_attr a;
	bool filter = true;
	lab_failslab_get(&a, &filter);
	cr_assert_eq(a.times, 0);
	cr_assert_eq(filter, false);
	cr_assert_eq(zstats(z).fail_injected, 0, "the page allocator was not failed");
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

Test(slab_gfp, failslab_cache_filter_fails_only_marked_caches)
{
	setenv("LABYRINTH_SLAB_DEBUG", "A,t-env-marked", 1);
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *marked = lab_kmem_cache_create(z, "t-marked", 64, 0,
							      LAB_SLAB_FAILSLAB, NULL);
	struct lab_kmem_cache *env = lab_kmem_cache_create(z, "t-env-marked", 64, 0, 0, NULL);
	struct lab_kmem_cache *plain = lab_kmem_cache_create(z, "t-plain", 64, 0, 0, NULL);
	warm(marked, 8);
	warm(env, 8);
	warm(plain, 8);
	char err[128];
	cr_assert_eq(lab_failslab_configure("probability=100,times=-1,verbose=0,cache_filter=1",
					    err, sizeof(err)), 0, "%s", err);
	cr_assert_null(lab_kmem_cache_alloc(marked, LAB_GFP_ATOMIC));
	cr_assert_null(lab_kmem_cache_alloc(env, LAB_GFP_ATOMIC), "marked by LABYRINTH_SLAB_DEBUG=A");
	void *p = lab_kmem_cache_alloc(plain, LAB_GFP_ATOMIC);
	cr_assert_not_null(p, "the filter spares unmarked caches");
	lab_kmem_cache_free(plain, p);
	struct lab_fault_attr off = { .interval = 1, .times = 1, .verbose = 2,
				      .ignore_gfp_wait = true };
	cr_assert_eq(lab_failslab_set(&off, false), 0);
	p = lab_kmem_cache_alloc(marked, LAB_GFP_ATOMIC);
	cr_assert_not_null(p, "disarmed");
	lab_kmem_cache_free(marked, p);
	lab_kmem_cache_destroy(marked);
	lab_kmem_cache_destroy(env);
	lab_kmem_cache_destroy(plain);
	lab_zone_destroy(z);
}

Test(slab_gfp, fail_nth_fails_exactly_the_nth_object_allocation)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-nth", 64, 0, 0, NULL);
	warm(c, 16);
	struct lab_fault_attr quiet = { .interval = 1, .times = 1, .verbose = 0,
					.ignore_gfp_wait = true };
	lab_failslab_set(&quiet, false);
	void *o[3];
	lab_fail_nth_set(3);
	o[0] = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	o[1] = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	o[2] = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	cr_assert(o[0] && o[1], "the first two go through");
	cr_assert_null(o[2], "the third fails");
	cr_assert_eq(lab_fail_nth_get(), 0, "and the count is spent");
	lab_kmem_cache_free(c, o[0]);
	lab_kmem_cache_free(c, o[1]);
	cr_assert_eq(cstats(c).fail_injected, 1);
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

Test(slab_gfp, fail_page_alloc_fails_new_slabs_but_not_cached_objects)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *warmc = lab_kmem_cache_create(z, "t-warm", 64, 0, 0, NULL);
	struct lab_kmem_cache *cold = lab_kmem_cache_create(z, "t-cold", 64, 0, 0, NULL);
	warm(warmc, 16);
	char err[128];
	cr_assert_eq(lab_fault_configure("probability=100,times=-1,verbose=0,min_order=0", err,
					 sizeof(err)), 0, "%s", err);
	void *p = lab_kmem_cache_alloc(warmc, LAB_GFP_ATOMIC);
	cr_assert_not_null(p, "a cached object needs no page");
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(cold, LAB_GFP_ATOMIC | LAB_GFP_NOWARN));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_gt(zstats(z).fail_injected, 0, "the slab's page was failed on purpose");
	struct lab_kmem_cache_stats st = cstats(cold);
	cr_assert_eq(st.alloc_fail, 1);
	cr_assert_eq(st.fail_injected, 0, "not by failslab");
	struct lab_fault_attr off = { .interval = 1, .times = 1, .verbose = 2,
				      .ignore_gfp_wait = true, .min_order = 1 };
	lab_fault_set(&off);
	lab_kmem_cache_free(warmc, p);
	lab_kmem_cache_destroy(warmc);
	lab_kmem_cache_destroy(cold);
	lab_zone_destroy(z);
}

Test(slab_gfp, failslab_settings_parse_and_bad_ones_are_named)
{
	char err[192];
	cr_assert_eq(lab_failslab_configure("probability=50,interval=3,times=7,space=4096,"
					    "cache_filter=1", err, sizeof(err)), 0, "%s", err);
	struct lab_fault_attr a;
	bool filter;
	lab_failslab_get(&a, &filter);
	cr_assert_eq(a.probability, 50);
	cr_assert_eq(a.interval, 3);
	cr_assert_eq(a.times, 7);
	cr_assert_eq(a.space, 4096);
	cr_assert(filter);
	cr_assert_eq(lab_failslab_configure("bogus=1", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "unknown key 'bogus'"), "%s", err);
	cr_assert_not_null(strstr(err, "cache_filter"), "the extra key is listed: %s", err);
	cr_assert_eq(lab_fault_configure("cache_filter=1", err, sizeof(err)), -EINVAL,
		     "fail_page_alloc has no cache filter");
	lab_failslab_get(&a, &filter);
	cr_assert_eq(a.probability, 50, "a bad spec changes nothing");
	/* The environment, read at start-up, reports by name. */
	char out[4096], cmd[1024];
	snprintf(cmd, sizeof(cmd), "LABYRINTH_FAILSLAB=probability=101 %s --version",
		 test_path("TOOL"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "labyrinth: LABYRINTH_FAILSLAB: bad value '101' for key "
				       "'probability'"), "%s", out);
	cr_assert_not_null(strstr(out, "failslab stays off"), "%s", out);
}

/* ---- might_sleep ------------------------------------------------------- */

static void sleeping_alloc_in_atomic(void *arg)
{
	struct lab_kmem_cache *c = lab_kmem_cache_create(NULL, "t-sleep", 64, 0, 0, NULL);
	lab__sleep_check = true;  /* as LABYRINTH_DEBUG=atomic_sleep sets it at load */
	void *o = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);  /* fine */
	lab_kmem_cache_free(c, o);
	lab_atomic_enter();
	if (arg)
		o = lab_kmalloc(64, LAB_GFP_KERNEL);   /* may sleep: caught */
	else
		o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	fprintf(stderr, "not caught\n");
}

Test(slab_gfp, a_sleeping_allocation_in_atomic_context_is_caught)
{
	static char out[16384];
	for (int i = 0; i < 2; i++) {
		int status = run_in_child(sleeping_alloc_in_atomic, i ? (void *)1 : NULL, out,
					  sizeof(out));
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x\n%s",
			  status, out);
		cr_assert_not_null(strstr(out, i ? "BUG: sleeping function called from invalid "
						   "context at lab_kmalloc"
						 : "BUG: sleeping function called from invalid "
						   "context at lab_kmem_cache_alloc"), "%s", out);
		cr_assert_null(strstr(out, "not caught"), "%s", out);
	}
}
