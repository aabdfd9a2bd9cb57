/* test_reclaim.c - getting memory back: shrinkers (registration, scan
 * batches, deferred work), direct reclaim by sleeping callers, kswapd,
 * waiting for frees, the retry policy (NORETRY, RETRY_MAYFAIL, costly
 * orders), the OOM handler, and zone growth. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
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
