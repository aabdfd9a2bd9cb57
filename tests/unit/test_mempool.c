/* test_mempool.c - reserves with a guarantee: an atomic caller gets a pooled
 * block when the zone is exhausted; a sleeping caller waits for a returned
 * element instead of failing; frees refill the reserve first. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef LAB_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#endif

static char out[16384];

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

/* ---- a pool takes blocks back as a free does ------------------------------ */

static struct lab_zone_stats stats_of(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st;
}

/* Whether every byte of p is c.  Under Valgrind a block handed out without
 * ZERO is undefined, as malloc's memory is: mark it defined first (its
 * bytes stay what they are) so that the scrub itself is what is checked. */
static bool all_bytes(const void *p, size_t len, unsigned char c)
{
#ifdef LAB_HAVE_VALGRIND
	(void)VALGRIND_MAKE_MEM_DEFINED(p, len);
#endif
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* A pool of min_nr elements with its zone exhausted and every element out:
 * whatever is freed to it next goes into the reserve. */
static struct lab_mempool *empty_pool(struct lab_zone *z, unsigned int min_nr, struct held *h,
				      struct lab_page **out_elems)
{
	struct lab_mempool *pool = lab_mempool_create(z, min_nr, 0);
	CHILD_CHECK(pool);
	exhaust(z, h);
	for (unsigned int i = 0; i < min_nr; i++)
		CHILD_CHECK((out_elems[i] = lab_mempool_alloc(pool, LAB_GFP_ATOMIC)));
	CHILD_CHECK(lab_mempool_available(pool) == 0);
	return pool;
}

/* A second lab_mempool_free of one block is a double free: reported as a
 * page's is, and the reserve holds the block once (it handed the same block
 * to two callers, and its stack linked the block to itself). */
static void double_free_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "pool", .pages = 64,
		.flags = LAB_ZONE_NO_KSWAPD });
	struct held h;
	held_init(&h, 64);
	struct lab_page *e[2];
	struct lab_mempool *pool = empty_pool(z, 2, &h, e);
	lab_mempool_free(e[0], pool);
	lab_mempool_free(e[0], pool);              /* the double free */
	CHILD_CHECK(lab_mempool_available(pool) == 1);
	CHILD_CHECK(stats_of(z).bad_page == 1);
	struct lab_page *x = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
	struct lab_page *y = lab_mempool_alloc(pool, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	CHILD_CHECK(x == e[0]);
	CHILD_CHECK(!y);                           /* not e[0] a second time */
	CHILD_CHECK(lab_page_count(x) == 1);
	lab_mempool_free(x, pool);
	lab_mempool_free(e[1], pool);
	held_free_all(&h);
	lab_mempool_destroy(pool);
	CHILD_CHECK(lab_zone_check(z) == 0);
	CHILD_CHECK(stats_of(z).allocated == 0);
	/* The free checks, each: a page of another zone, a tail, a free block. */
	pool = lab_mempool_create(z, 1, 1);
	struct lab_page *big = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	lab_mempool_free(lab_pfn_to_page(z, lab_page_to_pfn(big) + 1), pool);
	lab_free_pages(big, 1);
	lab_mempool_free(big, pool);
	CHILD_CHECK(lab_mempool_available(pool) == 1);
	CHILD_CHECK(stats_of(z).bad_page == 3);
	lab_mempool_destroy(pool);
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_zone_destroy(z);
	_exit(0);
}

Test(mempool, a_double_free_is_reported_and_the_block_pooled_once, .timeout = 60)
{
	int status = run_in_child(double_free_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "BUG: Bad page state"), "%s", out);
	cr_assert(strstr(out, "double free: the block is in a mempool's reserve"), "%s", out);
	cr_assert_eq(count_of(out, "BUG: Bad page state in process"), 3, "%s", out);
}

struct pool_thread {
	struct lab_mempool *pool;
	struct lab_page *page;
	lab_gfp_t gfp;
	int op;                 /* 0 alloc, 1 mempool_free, 2 lab_free_page */
	lab_owner_t token;      /* the thread's owner token, if not NONE */
	lab_owner_t self;
};

static void *pool_thread_main(void *arg)
{
	struct pool_thread *t = arg;
	if (t->token)
		lab_set_owner_token(t->token);
	t->self = lab_owner_self();
	if (t->op == 0)
		t->page = lab_mempool_alloc(t->pool, t->gfp);
	else if (t->op == 1)
		lab_mempool_free(t->page, t->pool);
	else
		lab_free_page(t->page);
	return NULL;
}

static void in_thread(struct pool_thread *t)
{
	pthread_t th;
	CHILD_CHECK(pthread_create(&th, NULL, pool_thread_main, t) == 0);
	pthread_join(th, NULL);
}

/*
 * An exclusive block returned to a pool below min_nr went into the reserve
 * unscrubbed and still owned by its first thread: another thread's
 * ATOMIC|EXCLUSIVE allocation got it with the secret readable, and that
 * thread's own free was then refused.  A pool takes a block back as a free
 * does (owner check, scrub, owner reset) and hands it out as an allocation
 * does (zeroed and owned for EXCLUSIVE).
 */
static void secret_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "pool", .pages = 64,
		.flags = LAB_ZONE_NO_KSWAPD });
	struct held h;
	held_init(&h, 64);
	struct lab_page *e[1];
	struct lab_mempool *pool = empty_pool(z, 1, &h, e);
	/* This thread's secret, in an exclusive block of the zone. */
	lab_free_page(h.pages[--h.nr]);
	struct lab_page *secret = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC |
						     LAB_GFP_EXCLUSIVE);
	CHILD_CHECK(secret);
	memset(lab_page_address(secret), 0x5e, lab_page_size());
	/* A non-owner may not return it (as it may not free it). */
	struct pool_thread t = { .pool = pool, .page = secret, .op = 1 };
	in_thread(&t);
	CHILD_CHECK(lab_mempool_available(pool) == 0);
	CHILD_CHECK(stats_of(z).owner_refused == 1);
	CHILD_CHECK(all_bytes(lab_page_address(secret), lab_page_size(), 0x5e));
	/* The owner's return: the pool is below min_nr, it keeps the block. */
	lab_mempool_free(secret, pool);
	CHILD_CHECK(lab_mempool_available(pool) == 1);
	CHILD_CHECK(lab_page_owner(secret) == LAB_OWNER_NONE);
	CHILD_CHECK(lab_page_transfer(secret, lab_owner_new()) == -EINVAL);  /* not allocated */
	/* Another thread's exclusive allocation gets it: zeroed and its own. */
	t = (struct pool_thread){ .pool = pool, .gfp = LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE,
				  .token = lab_owner_new() };
	in_thread(&t);
	CHILD_CHECK(t.page == secret);
	CHILD_CHECK(all_bytes(lab_page_address(t.page), lab_page_size(), 0));
	CHILD_CHECK(lab_page_owner(t.page) == t.self);
	CHILD_CHECK(t.self != lab_owner_self());
	/* ... which that owner may free (another thread with its token), and
	 * nobody else. */
	lab_free_page(t.page);
	CHILD_CHECK(stats_of(z).owner_refused == 2);
	t.op = 2;
	in_thread(&t);
	CHILD_CHECK(stats_of(z).owner_refused == 2);
	/* A plain allocation from the reserve is nobody's, and not left with
	 * the bytes of an exclusive owner: returned exclusive, it was scrubbed. */
	lab_mempool_free(e[0], pool);
	lab_free_page(h.pages[--h.nr]);
	struct lab_page *x = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_EXCLUSIVE);
	memset(lab_page_address(x), 0x77, lab_page_size());
	struct lab_page *y = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
	CHILD_CHECK(y == e[0]);
	lab_mempool_free(x, pool);
	lab_mempool_free(y, pool);   /* beyond min_nr: to the zone */
	struct lab_page *q = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
	CHILD_CHECK(q == x);
	CHILD_CHECK(lab_page_owner(q) == LAB_OWNER_NONE);
	CHILD_CHECK(all_bytes(lab_page_address(q), lab_page_size(), 0));
	lab_mempool_free(q, pool);
	held_free_all(&h);
	lab_mempool_destroy(pool);
	CHILD_CHECK(lab_zone_check(z) == 0);
	CHILD_CHECK(stats_of(z).allocated == 0);
	CHILD_CHECK(stats_of(z).leaked == 0);
	lab_zone_destroy(z);
	_exit(0);
}

Test(mempool, an_exclusive_block_is_scrubbed_and_disowned_by_the_reserve, .timeout = 60)
{
	int status = run_in_child(secret_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "mempool free of an exclusive page by a non-owner"), "%s", out);
	cr_assert(strstr(out, "free of an exclusive page by a non-owner"), "%s", out);
}

/* Destroying a pool gives its reserve back to the zone, whoever returned the
 * elements: they were refused (owned by another thread) and leaked. */
static void destroy_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "pool", .pages = 64,
		.flags = LAB_ZONE_NO_KSWAPD });
	struct lab_mempool *pool = lab_mempool_create(z, 2, 0);
	struct pool_thread t = { .pool = pool, .gfp = LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE,
				 .token = lab_owner_new() };
	in_thread(&t);            /* from the zone */
	CHILD_CHECK(t.page && lab_mempool_available(pool) == 2);
	/* Take both elements: the pool has room for the other thread's block. */
	struct held h;
	held_init(&h, 64);
	exhaust(z, &h);
	struct lab_page *a = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
	struct lab_page *b = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
	CHILD_CHECK(a && b && lab_mempool_available(pool) == 0);
	t.op = 1;
	in_thread(&t);            /* the other thread returns its exclusive block */
	lab_mempool_free(b, pool);
	CHILD_CHECK(lab_mempool_available(pool) == 2);
	lab_mempool_free(a, pool);   /* beyond min_nr: to the zone */
	lab_mempool_destroy(pool);
	held_free_all(&h);
	struct lab_zone_stats st = stats_of(z);
	CHILD_CHECK(st.allocated == 0);
	CHILD_CHECK(st.owner_refused == 0 && st.bad_page == 0);
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_zone_destroy(z);
	_exit(0);
}

Test(mempool, destroy_returns_every_element_whoever_owned_it, .timeout = 60)
{
	int status = run_in_child(destroy_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	cr_assert(!strstr(out, "BUG"), "%s", out);
}
