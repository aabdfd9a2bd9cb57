/* test_mempool.c - reserves with a guarantee: an atomic caller gets a pooled
 * block when the zone is exhausted; a sleeping caller waits for a returned
 * element instead of failing; frees refill the reserve first. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static void exhaust(struct lab_zone *z, struct held *h)
{
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(h, p);
}

Test(mempool, atomic_caller_gets_the_reserve_when_the_zone_is_empty)
{
	struct lab_zone *z = make_zone(256, 8, 10, 12, LAB_ZONE_NO_KSWAPD);
	struct lab_mempool *pool = lab_mempool_create(z, 4, 1);
	cr_assert_not_null(pool);
	cr_assert_eq(lab_mempool_available(pool), 4);
	struct held h;
	held_init(&h, 256);
	exhaust(z, &h);
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, 1), "the zone is empty");
	struct lab_page *got[5];
	for (int i = 0; i < 4; i++) {
		got[i] = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
		cr_assert_not_null(got[i], "element %d", i);
		memset(lab_page_address(got[i]), 0x11, 2 * lab_page_size());
	}
	errno = 0;
	got[4] = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
	cr_assert_null(got[4], "zone and reserve both empty");
	cr_assert_eq(errno, ENOMEM);
	/* Returned elements refill the reserve first. */
	for (int i = 0; i < 4; i++)
		lab_mempool_free(got[i], pool);
	cr_assert_eq(lab_mempool_available(pool), 4);
	struct lab_page *z0 = lab_mempool_alloc(pool, LAB_GFP_ATOMIC | LAB_GFP_ZERO);
	const unsigned char *c = lab_page_address(z0);
	for (size_t i = 0; i < 2 * lab_page_size(); i++)
		cr_assert_eq(c[i], 0, "ZERO honoured for pooled elements");
	lab_mempool_free(z0, pool);
	held_free_all(&h);
	/* With memory back, frees beyond min_nr go to the zone. */
	struct lab_page *a = lab_mempool_alloc(pool, LAB_GFP_KERNEL);
	cr_assert_eq(lab_mempool_available(pool), 4, "served by the zone while it has memory");
	lab_mempool_free(a, pool);
	cr_assert_eq(lab_mempool_available(pool), 4);
	lab_mempool_destroy(pool);
	assert_zone_ok(z);
	cr_assert_eq(zone_free_all(z), 256);
	lab_zone_destroy(z);
}

struct waiter {
	struct lab_mempool *pool;
	struct lab_page *got;
	_Atomic int done;
};

static void *sleeping_alloc(void *arg)
{
	struct waiter *w = arg;
	w->got = lab_mempool_alloc(w->pool, LAB_GFP_KERNEL);
	atomic_store(&w->done, 1);
	return NULL;
}

Test(mempool, sleeping_caller_waits_for_a_returned_element)
{
	struct lab_zone *z = make_zone(256, 8, 10, 12, LAB_ZONE_NO_KSWAPD);
	struct lab_mempool *pool = lab_mempool_create(z, 2, 0);
	struct held h;
	held_init(&h, 256);
	exhaust(z, &h);
	struct lab_page *a = lab_mempool_alloc(pool, LAB_GFP_KERNEL);
	struct lab_page *b = lab_mempool_alloc(pool, LAB_GFP_KERNEL);
	cr_assert(a && b);
	struct waiter w = { .pool = pool };
	pthread_t t;
	pthread_create(&t, NULL, sleeping_alloc, &w);
	usleep(200000);
	cr_assert_eq(atomic_load(&w.done), 0, "waits rather than fails");
	lab_mempool_free(a, pool);
	pthread_join(t, NULL);
	cr_assert_eq(w.got, a, "woken by the returned element");
	lab_mempool_free(b, pool);
	lab_mempool_free(w.got, pool);
	held_free_all(&h);
	lab_mempool_destroy(pool);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

static struct lab_mempool *sig_pool;
static _Atomic unsigned long sig_ok, sig_fail;

static void pool_handler(int sig)
{
	(void)sig;
	struct lab_page *p = lab_mempool_alloc(sig_pool, LAB_GFP_ATOMIC);
	if (p) {
		atomic_fetch_add(&sig_ok, 1);
		lab_mempool_free(p, sig_pool);
	} else {
		atomic_fetch_add(&sig_fail, 1);
	}
}

/* Signal handlers and a thread share the reserve of an exhausted zone. */
Test(mempool, reserve_is_async_signal_safe)
{
	struct lab_zone *z = make_zone(256, 8, 10, 12, LAB_ZONE_NO_KSWAPD);
	sig_pool = lab_mempool_create(z, 8, 0);
	struct held h;
	held_init(&h, 256);
	exhaust(z, &h);
	signal(SIGUSR1, pool_handler);
	for (int i = 0; i < 20000; i++) {
		struct lab_page *p = lab_mempool_alloc(sig_pool, LAB_GFP_ATOMIC);
		if (i % 7 == 0)
			raise(SIGUSR1);
		if (p)
			lab_mempool_free(p, sig_pool);
	}
	signal(SIGUSR1, SIG_DFL);
	cr_assert_gt(atomic_load(&sig_ok), 0);
	cr_assert_eq(atomic_load(&sig_fail), 0, "8 elements, at most 2 in use at once");
	cr_assert_eq(lab_mempool_available(sig_pool), 8);
	held_free_all(&h);
	lab_mempool_destroy(sig_pool);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(mempool, bad_arguments)
{
	struct lab_zone *z = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	errno = 0;
	cr_assert_null(lab_mempool_create(NULL, 1, 0));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(lab_mempool_create(z, 0, 0));
	cr_assert_null(lab_mempool_create(z, 1, LAB_MAX_ORDER + 1));
	errno = 0;
	cr_assert_null(lab_mempool_create(z, 100, 0), "more than the zone holds");
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(zone_free_all(z), 64, "a failed creation gives everything back");
	struct lab_mempool *pool = lab_mempool_create(z, 1, 0);
	cr_assert_null(lab_mempool_alloc(pool, LAB_GFP_KERNEL | LAB_GFP_NOFAIL));
	lab_mempool_destroy(pool);
	lab_zone_destroy(z);
}
