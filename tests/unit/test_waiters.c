/* test_waiters.c - pages never strand for a sleeping caller: a page freed
 * while it waits reaches it wherever the free put it (this or another CPU's
 * list, the deferred stack, the buddy lists), in rseq and in lock mode;
 * NOFAIL in a one-page zone; a growing zone whose NOFAIL demand exceeds its
 * maximum makes progress as frees happen.  NOFAIL for a block that can never
 * fit is refused.  Each hang is caught by Criterion's timeout. */
#include "helpers.h"
#include "page/zone.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[16384];

static bool lists_on(void)
{
	return strcmp(lab_pcp_mode_name(), "off") != 0;
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

static uint64_t stalls(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st.alloc_stall;
}

/* Wait until a sleeping allocator has gone to sleep at least n times. */
static void wait_for_stalls(const struct lab_zone *z, uint64_t n)
{
	while (stalls(z) < n)
		usleep(1000);
}

struct waiter {
	struct lab_zone *z;
	lab_gfp_t gfp;
	unsigned int order;
	int cpu;                  /* -1: anywhere */
	struct lab_page *got;
	int err;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	if (w->cpu >= 0)
		pin_to_cpu(w->cpu);
	errno = 0;
	w->got = lab_alloc_pages(w->z, w->gfp, w->order);
	w->err = errno;
	return NULL;
}

/*
 * A free deferred while the zone lock was taken (by a signal handler's
 * interrupted owner, or here by the test) lands on the deferred stack, which
 * the per-CPU path's watermark test does not count: a sleeping caller must
 * still get it.  It waited forever: the order-0 path judged the zone by the
 * buddy lists alone and never took the lock that drains the stack.
 */
Test(waiters, a_deferred_free_reaches_a_nofail_waiter, .timeout = 60)
{
	struct lab_zone *z = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *big = lab_alloc_pages(z, LAB_GFP_KERNEL, 4);
	struct held h;
	held_init(&h, 64);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	lab_drain_all_pages(z);
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	cr_assert_eq(zone_free_all(z), 0);

	struct waiter w = { z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 0, -1, NULL, 0 };
	pthread_t t;
	pthread_create(&t, NULL, waiter_main, &w);
	wait_for_stalls(z, 2);
	lab__zone_lock(z);             /* as if a signal handler interrupted the owner */
	lab_free_pages(big, 4);        /* order 4: no per-CPU list, so it is deferred */
	size_t deferred = atomic_load(&z->nr_deferred);
	lab__zone_unlock(z);
	cr_assert_eq(deferred, 16, "the free was deferred");
	pthread_join(t, NULL);
	cr_assert_not_null(w.got, "NOFAIL got a page of the deferred block");
	lab_free_page(w.got);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	cr_assert_eq(zone_free_all(z), 64);
	lab_zone_destroy(z);
}

/* Free n pages on CPU cpu (its per-CPU list), after the waiter sleeps. */
struct freer {
	struct lab_zone *z;
	struct lab_page **pages;
	int n, cpu;
};

static void *freer_main(void *arg)
{
	struct freer *f = arg;
	pin_to_cpu(f->cpu);
	wait_for_stalls(f->z, 2);
	for (int i = 0; i < f->n; i++)
		lab_free_page(f->pages[i]);
	return NULL;
}

/*
 * 64 pages, min watermark 4, all allocated; a KERNEL caller on CPU 0 starts
 * waiting; a thread on CPU 1 then frees 8 pages onto CPU 1's list (in lock
 * mode: its own set).  The caller must get one: the zone has 8 free pages,
 * above min, even though the buddy lists hold none of them.
 */
static void remote_free_reaches(lab_gfp_t gfp)
{
	if (!lists_on() || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs per-CPU lists and two CPUs");
	struct lab_zone *z = make_zone(64, 4, 5, 6, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 64);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	lab_drain_all_pages(z);
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	cr_assert_eq(h.nr, 64);

	struct freer f = { z, h.pages + 56, 8, 1 };
	h.nr = 56;
	struct waiter w = { z, gfp, 0, 0, NULL, 0 };
	pthread_t tw, tf;
	pthread_create(&tw, NULL, waiter_main, &w);
	pthread_create(&tf, NULL, freer_main, &f);
	pthread_join(tf, NULL);
	pthread_join(tw, NULL);
	cr_assert_not_null(w.got, "8 pages were free on CPU 1's list (mode %s), errno %d",
			   lab_pcp_mode_name(), w.err);
	lab_free_page(w.got);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	cr_assert_eq(zone_free_all(z), 64);
	lab_zone_destroy(z);
}

Test(waiters, a_remote_free_reaches_a_kernel_waiter, .timeout = 60)
{
	remote_free_reaches(LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL);
}

Test(waiters, a_remote_free_reaches_a_nofail_waiter, .timeout = 60)
{
	remote_free_reaches(LAB_GFP_KERNEL | LAB_GFP_NOFAIL);
}

/* One page: a NOFAIL waiter gets it once its holder, on another CPU, frees it. */
Test(waiters, nofail_in_a_one_page_zone_gets_the_page_when_it_is_freed, .timeout = 60)
{
	struct lab_zone *z = make_zone(1, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *only = lab_alloc_page(z, LAB_GFP_KERNEL);
	cr_assert_not_null(only);
	struct lab_page *pages[1] = { only };
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct freer f = { z, pages, 1, ncpu > 1 ? 1 : 0 };
	struct waiter w = { z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 0, 0, NULL, 0 };
	pthread_t tw, tf;
	pthread_create(&tw, NULL, waiter_main, &w);
	pthread_create(&tf, NULL, freer_main, &f);
	pthread_join(tf, NULL);
	pthread_join(tw, NULL);
	cr_assert_eq(w.got, only);
	lab_free_page(w.got);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * A growing zone of 64 pages, 256 at most, and 8 threads that each take an
 * order-6 block (64 pages) with NOFAIL, hold it a moment and free it, 20
 * times: together they want 512 pages, twice the maximum, so most of them
 * wait at any time; each free must let a waiter through.
 */
struct grower {
	struct lab_zone *z;
	unsigned int order;
	int rounds;
	atomic_int *done;
};

static void *grower_main(void *arg)
{
	struct grower *g = arg;
	for (int i = 0; i < g->rounds; i++) {
		struct lab_page *p = lab_alloc_pages(g->z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, g->order);
		if (!p)
			abort();       /* NOFAIL returned NULL */
		memset(lab_page_address(p), 0x5a, lab_page_size() << g->order);
		usleep(200);
		lab_free_pages(p, g->order);
	}
	atomic_fetch_add(g->done, 1);
	return NULL;
}

static void nofail_demand_beyond_the_maximum(unsigned int order, int threads)
{
	struct lab_zone_config cfg = { .name = "grow", .pages = 64, .max_pages = 256,
				       .flags = LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	atomic_int done = 0;
	pthread_t t[16];
	struct grower g = { z, order, 20, &done };
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, grower_main, &g);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&done), threads);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 256);
	assert_zone_ok(z);
	cr_assert_eq(zone_free_all(z), 256);
	lab_zone_destroy(z);
}

Test(waiters, nofail_demand_beyond_a_growing_zones_maximum_makes_progress, .timeout = 120)
{
	nofail_demand_beyond_the_maximum(6, 8);
}

Test(waiters, nofail_demand_of_16_threads_beyond_the_maximum_makes_progress, .timeout = 120)
{
	nofail_demand_beyond_the_maximum(5, 16);
}

static uint64_t direct_reclaims(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st.direct_reclaim;
}

/* Free the pages after the waiter has been through reclaim twice. */
static void *late_freer_main(void *arg)
{
	struct freer *f = arg;
	pin_to_cpu(f->cpu);
	while (direct_reclaims(f->z) < 2)
		usleep(1000);
	for (int i = 0; i < f->n; i++)
		lab_free_page(f->pages[i]);
	return NULL;
}

/*
 * A costly NOFAIL caller (order 4) drained the lists once, then looped
 * without draining (or sleeping) again: 16 pages freed onto another CPU's
 * list, together the block it wants, stayed there while it spun.
 */
Test(waiters, a_costly_nofail_waiter_drains_again_after_each_round, .timeout = 60)
{
	if (!lists_on() || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs per-CPU lists and two CPUs");
	struct lab_zone_config cfg = { .name = "costly", .pages = 64, .flags = LAB_ZONE_NO_KSWAPD,
				       .wmark_min = 1, .wmark_low = 2, .wmark_high = 3,
				       .pcp_batch = 1, .pcp_high = 64 };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	struct lab_page *pages[64];
	for (int i = 0; i < 64; i++) {
		pages[i] = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC);
		cr_assert_not_null(pages[i]);
	}
	/* Free the aligned 16 pages of one order-4 block on CPU 1, and one more
	 * to stay above min once the block is out. */
	struct lab_page *block[17];
	int n = 0;
	for (int i = 0; i < 64; i++)
		if (lab_page_to_pfn(pages[i]) / 16 == 1 || lab_page_to_pfn(pages[i]) == 0)
			block[n++] = pages[i], pages[i] = NULL;
	cr_assert_eq(n, 17);
	struct freer f = { z, block, 17, 1 };
	struct waiter w = { z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL | LAB_GFP_NOWARN, 4, 0, NULL, 0 };
	pthread_t tw, tf;
	pthread_create(&tw, NULL, waiter_main, &w);
	pthread_create(&tf, NULL, late_freer_main, &f);
	pthread_join(tf, NULL);
	pthread_join(tw, NULL);
	cr_assert_eq(lab_page_to_pfn(w.got), 16);
	lab_free_pages(w.got, 4);
	for (int i = 0; i < 64; i++)
		if (pages[i])
			lab_free_page(pages[i]);
	assert_zone_ok(z);
	cr_assert_eq(zone_free_all(z), 64);
	lab_zone_destroy(z);
}

/* Every free wakes sleeping allocators, those that land on a per-CPU list
 * (the order-0 fast path included) as well as those that reach the buddy
 * lists: free_seq moves.  (White-box: a waiter is counted, none sleeps.) */
Test(waiters, a_free_onto_a_per_cpu_list_wakes_waiters)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	for (unsigned int order = 0; order <= 3; order++) {
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, order);
		cr_assert_not_null(p);
		atomic_fetch_add(&z->nr_waiters, 1);
		uint32_t seq = atomic_load(&z->free_seq);
		lab_free_pages(p, order);
		uint32_t after = atomic_load(&z->free_seq);
		atomic_fetch_sub(&z->nr_waiters, 1);
		cr_assert_neq(after, seq, "the free of an order-%u block woke nobody", order);
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_gt(st.pcp, 0, "the blocks went to a per-CPU list");
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- NOFAIL for a block that can never fit ------------------------------- */

static void never_fits_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "tiny", .pages = 16,
		.flags = LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(z);
	for (int i = 0; i < 2; i++) {
		errno = 0;
		CHILD_CHECK(!lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 8));
		CHILD_CHECK(errno == EINVAL);
	}
	/* The whole zone as one block: min watermark 1 stays out of reach even
	 * with the reserve NOFAIL may use. */
	errno = 0;
	CHILD_CHECK(!lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 4));
	CHILD_CHECK(errno == EINVAL);
	/* What does fit still works, and a growing zone judges its maximum. */
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 3);
	CHILD_CHECK(p);
	lab_free_pages(p, 3);
	lab_zone_destroy(z);
	z = lab_zone_create(&(struct lab_zone_config){ .name = "grows", .pages = 16, .max_pages = 4096,
		.flags = LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(z);
	p = lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 8);
	CHILD_CHECK(p);
	lab_free_pages(p, 8);
	lab_zone_destroy(z);
	_exit(0);
}

Test(waiters, nofail_for_a_block_that_can_never_fit_is_refused_with_a_warning, .timeout = 60)
{
	int status = run_in_child(never_fits_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	cr_assert_eq(count_of(out, "labyrinth: zone tiny: NOFAIL allocation of order 8 can never be "
				   "satisfied"), 1, "warned once:\n%s", out);
	cr_assert_eq(count_of(out, "of order 4 can never be satisfied"), 1, "%s", out);
}
