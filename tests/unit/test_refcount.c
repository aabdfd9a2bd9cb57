/* test_refcount.c - page references: a new block has one, the last put frees
 * it whole, lab_free_pages() is a put (get / free / put leaks nothing, for
 * plain and compound blocks), racing puts free exactly once, and every
 * misuse of the free path (double free, wrong order, freed while locked,
 * overflow, underflow) is reported with the block leaked, not reused. */
#include "helpers.h"
#include "page/zone.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 4096

/*
 * Statistics once the zone has settled.  A free that finds the zone lock
 * held by a preempted thread is deferred, and its pages count as allocated
 * until the next lock holder drains them; lab_zone_check() drains first.
 */
static struct lab_zone_stats stats(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	assert_zone_ok(z);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.deferred, 0);
	return st;
}

/* All memory back, merged into max-order blocks, nothing leaked or reported. */
static void assert_all_free(const struct lab_zone *z)
{
	lab_drain_all_pages((struct lab_zone *)(uintptr_t)z);  /* per-CPU lists back first */
	struct lab_zone_stats st = stats(z);
	cr_assert_eq(st.allocated, 0, "%zu pages still allocated", st.allocated);
	cr_assert_eq(st.pcp, 0);
	cr_assert_eq(st.free, PAGES);
	cr_assert_eq(st.nr_free[LAB_MAX_ORDER], PAGES >> LAB_MAX_ORDER);
	cr_assert_eq(st.leaked, 0);
	cr_assert_eq(st.bad_page, 0);
	assert_zone_ok(z);
}

Test(refcount, new_block_has_one_reference_and_last_put_frees_it_whole)
{
	struct lab_zone *z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	cr_assert_not_null(p);
	cr_assert_eq(lab_page_count(p), 1);
	lab_get_page(p);
	lab_get_page(p);
	cr_assert_eq(lab_page_count(p), 3);
	lab_put_page(p);
	lab_put_page(p);
	cr_assert_eq(stats(z).allocated, 8, "a put that is not the last frees nothing");
	assert_zone_ok(z);
	uint64_t frees = stats(z).free_calls;
	lab_put_page(p);  /* the last: the whole order-3 block, no lab_free_pages needed */
	cr_assert_eq(lab_page_count(p), 0);
	cr_assert_eq(stats(z).free_calls, frees + 1);
	assert_all_free(z);
	lab_zone_destroy(z);
}

/* Kernel code: get_page(); __free_pages(page, order); ...; put_page().
 * Without per-CPU lists, so the tails are visible on the buddy lists. */
Test(refcount, get_free_put_plain_block_frees_tails_at_once_and_head_last)
{
	struct lab_zone *z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	cr_assert_not_null(p);
	size_t pfn = lab_page_to_pfn(p);
	lab_get_page(p);
	lab_free_pages(p, 2);
	struct lab_zone_stats st = stats(z);
	cr_assert_eq(lab_page_count(p), 1);
	cr_assert_eq(st.allocated, 1, "only the head page stays: %zu allocated", st.allocated);
	cr_assert_eq(st.free, PAGES - 1);
	cr_assert_eq(st.free_calls, 2, "tails go back as an order-1 and an order-0 block");
	assert_zone_ok(z);
	/* The head is still ours to use; the tails are really free: the next
	 * three order-0 allocations are exactly them (smallest blocks first). */
	memset(lab_page_address(p), 0x5a, lab_page_size());
	struct lab_page *t[3];
	for (int i = 0; i < 3; i++) {
		t[i] = lab_alloc_page(z, LAB_GFP_KERNEL);
		cr_assert_not_null(t[i]);
		size_t tp = lab_page_to_pfn(t[i]);
		cr_assert(tp > pfn && tp < pfn + 4, "page %zu is not a tail of block %zu", tp, pfn);
	}
	for (int i = 0; i < 3; i++)
		lab_free_page(t[i]);
	lab_put_page(p);
	assert_all_free(z);
	lab_zone_destroy(z);
}

Test(refcount, get_free_put_compound_block_is_freed_whole_by_the_last_put)
{
	struct lab_zone *z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_COMP, 2);
	cr_assert_not_null(p);
	lab_get_page(p);
	lab_free_pages(p, 2);
	struct lab_zone_stats st = stats(z);
	cr_assert_eq(lab_page_count(p), 1);
	cr_assert_eq(st.allocated, 4, "a compound block stays whole");
	cr_assert_eq(st.free_calls, 0);
	assert_zone_ok(z);
	memset(lab_page_address(p), 0x5a, lab_page_size() << 2);
	lab_put_page(p);
	cr_assert_eq(stats(z).free_calls, 1, "freed once, as one block");
	assert_all_free(z);
	lab_zone_destroy(z);
}

/* What kernel code's compound_order() reads: the order of the block a page
 * heads, whatever its references and gfp, and -1 for what heads no block. */
Test(refcount, page_order_is_the_allocated_blocks_order)
{
	struct lab_zone *z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	cr_assert_eq(lab_page_order(NULL), -1);
	cr_assert_eq(lab_page_order(lab_pfn_to_page(z, 0)), -1, "a free page");
	for (unsigned int order = 0; order <= LAB_MAX_ORDER; order++) {
		for (int comp = 0; comp < 2; comp++) {
			lab_gfp_t gfp = LAB_GFP_KERNEL | (comp ? LAB_GFP_COMP : 0);
			struct lab_page *p = lab_alloc_pages(z, gfp, order);
			cr_assert_not_null(p);
			cr_assert_eq(lab_page_order(p), (int)order, "order %u comp %d", order, comp);
			if (order)
				cr_assert_eq(lab_page_order(p + 1), -1, "a tail heads nothing");
			lab_get_page(p);
			cr_assert_eq(lab_page_order(p), (int)order, "references change nothing");
			lab_free_pages(p, order);
			/* With a reference left, a compound block stays whole; a plain
			 * one keeps its head as an order-0 block. */
			cr_assert_eq(lab_page_order(p), comp ? (int)order : 0, "order %u comp %d",
				     order, comp);
			lab_put_page(p);
			cr_assert_eq(lab_page_order(p), -1, "freed");
		}
	}
	assert_all_free(z);
	lab_zone_destroy(z);
}

Test(refcount, free_pages_without_other_references_frees_the_whole_block)
{
	struct lab_zone *z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	for (unsigned int order = 0; order <= LAB_MAX_ORDER; order++) {
		lab_gfp_t gfp = LAB_GFP_KERNEL | (order & 1 ? LAB_GFP_COMP : 0);
		struct lab_page *p = lab_alloc_pages(z, gfp, order);
		cr_assert_not_null(p);
		uint64_t frees = stats(z).free_calls;
		lab_free_pages(p, order);
		cr_assert_eq(stats(z).free_calls, frees + 1, "order %u", order);
		assert_all_free(z);
	}
	lab_zone_destroy(z);
}

/* ---- races ------------------------------------------------------------- */

#define RACERS 4
#define ROUNDS 2000

struct race {
	pthread_barrier_t start, done;
	struct lab_page *_Atomic page;
	_Atomic bool stop;
};

/* Each round: churn extra references, then drop the one main gave us. */
static void *racer(void *arg)
{
	struct race *r = arg;
	for (;;) {
		pthread_barrier_wait(&r->start);
		if (atomic_load(&r->stop))
			return NULL;
		struct lab_page *p = atomic_load(&r->page);
		for (int i = 0; i < 8; i++) {
			lab_get_page(p);
			lab_put_page(p);
		}
		lab_put_page(p);
		pthread_barrier_wait(&r->done);
	}
}

/*
 * Each round: a block with RACERS + 2 references.  The racers churn and drop
 * theirs while main drops one (with lab_free_pages or lab_put_page); then
 * exactly main's last reference must remain, and its put frees once.
 */
static void run_rounds(lab_gfp_t gfp, unsigned int order, bool main_uses_free_pages)
{
	struct lab_zone *z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct race r = { .stop = false };
	pthread_barrier_init(&r.start, NULL, RACERS + 1);
	pthread_barrier_init(&r.done, NULL, RACERS + 1);
	pthread_t t[RACERS];
	for (int i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, racer, &r), 0);

	for (int round = 0; round < ROUNDS; round++) {
		struct lab_page *p = lab_alloc_pages(z, gfp, order);
		cr_assert_not_null(p);
		for (int i = 0; i < RACERS + 1; i++)
			lab_get_page(p);
		atomic_store(&r.page, p);
		pthread_barrier_wait(&r.start);
		if (main_uses_free_pages)
			lab_free_pages(p, order);
		else
			lab_put_page(p);
		pthread_barrier_wait(&r.done);
		cr_assert_eq(lab_page_count(p), 1, "round %d: references lost or gained", round);
		uint64_t frees = stats(z).free_calls;
		lab_put_page(p);
		cr_assert_eq(stats(z).free_calls, frees + 1, "round %d: not freed exactly once", round);
		struct lab_zone_stats st = stats(z);
		cr_assert_eq(st.allocated, 0, "round %d: %zu pages not freed", round, st.allocated);
		cr_assert_eq(st.bad_page, 0);
	}
	assert_all_free(z);
	atomic_store(&r.stop, true);
	pthread_barrier_wait(&r.start);
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&r.start);
	pthread_barrier_destroy(&r.done);
	lab_zone_destroy(z);
}

Test(refcount, racing_get_put_keep_the_count_exact_plain, .timeout = 120)
{
	run_rounds(LAB_GFP_KERNEL, 2, false);
}

Test(refcount, racing_free_pages_and_puts_keep_the_count_exact_compound, .timeout = 120)
{
	run_rounds(LAB_GFP_KERNEL | LAB_GFP_COMP, 2, true);
}

Test(refcount, racing_free_pages_and_puts_keep_the_count_exact_plain, .timeout = 120)
{
	run_rounds(LAB_GFP_KERNEL, 2, true);
}

/* Every thread holds one reference and all drop it at the same moment;
 * thread 0 with lab_free_pages(), the others with lab_put_page(). */
struct last_put {
	pthread_barrier_t go;
	struct lab_page *page;
	unsigned int order;
	_Atomic int next_id;
};

static void *drop_one(void *arg)
{
	struct last_put *lp = arg;
	int id = atomic_fetch_add(&lp->next_id, 1);
	pthread_barrier_wait(&lp->go);
	if (id == 0)
		lab_free_pages(lp->page, lp->order);
	else
		lab_put_page(lp->page);
	return NULL;
}

static void last_puts(lab_gfp_t gfp)
{
	struct lab_zone *z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	for (int round = 0; round < 500; round++) {
		struct last_put lp = { .order = (unsigned int)round % 4 };
		pthread_barrier_init(&lp.go, NULL, RACERS);
		lp.page = lab_alloc_pages(z, gfp, lp.order);
		cr_assert_not_null(lp.page);
		for (int i = 1; i < RACERS; i++)
			lab_get_page(lp.page);
		uint64_t frees = stats(z).free_calls;
		pthread_t t[RACERS];
		for (int i = 0; i < RACERS; i++)
			cr_assert_eq(pthread_create(&t[i], NULL, drop_one, &lp), 0);
		for (int i = 0; i < RACERS; i++)
			pthread_join(t[i], NULL);
		struct lab_zone_stats st = stats(z);
		cr_assert_eq(st.allocated, 0, "round %d: %zu pages left", round, st.allocated);
		cr_assert_eq(st.bad_page, 0, "round %d", round);
		/* A compound block goes back in one piece; a plain one as its
		 * tails (one block per order below) plus the head, or whole when
		 * lab_free_pages() dropped the last reference. */
		uint64_t n = st.free_calls - frees;
		if (gfp & LAB_GFP_COMP)
			cr_assert_eq(n, 1, "round %d: %llu frees", round, (unsigned long long)n);
		else
			cr_assert(n == 1 || n == lp.order + 1, "round %d: %llu frees", round,
				  (unsigned long long)n);
		pthread_barrier_destroy(&lp.go);
		assert_zone_ok(z);
	}
	assert_all_free(z);
	lab_zone_destroy(z);
}

Test(refcount, simultaneous_last_puts_free_a_compound_block_exactly_once, .timeout = 120)
{
	last_puts(LAB_GFP_KERNEL | LAB_GFP_COMP);
}

Test(refcount, simultaneous_last_puts_free_a_plain_block_without_leaks, .timeout = 120)
{
	last_puts(LAB_GFP_KERNEL);
}

/* ---- misuse: reported, leaked if allocated, never reused --------------- */

struct misuse {
	const char *what;
	size_t expect_leaked;      /* pages */
	size_t expect_allocated;   /* pages counted allocated after the misuse */
};

static struct lab_zone *child_zone;

/* Runs in a child: do the misuse, check the zone, exit 0 when all held. */
static void misuse_child(void *arg)
{
	struct misuse *m = arg;
	struct lab_zone *z = child_zone;
	struct lab_page *p;

	if (!strcmp(m->what, "double_free")) {
		p = lab_alloc_page(z, LAB_GFP_KERNEL);
		lab_free_page(p);
		lab_free_page(p);
	} else if (!strcmp(m->what, "double_free_order_2")) {
		/* Orders 1..3 have the inline fast paths too (this CPU's lists). */
		p = lab_alloc_pages(z, LAB_GFP_ATOMIC, 2);
		lab_free_pages(p, 2);
		lab_free_pages(p, 2);
	} else if (!strcmp(m->what, "double_free_exclusive")) {
		/* Exclusive blocks of orders 0..3 have the inline fast paths too. */
		p = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE, 1);
		lab_free_pages(p, 1);
		lab_free_pages(p, 1);
	} else if (!strcmp(m->what, "wrong_order")) {
		p = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
		lab_free_pages(p, 1);
		lab_free_pages(p, 2);  /* and the right one after: reported, still leaked */
	} else if (!strcmp(m->what, "order_above_max")) {
		p = lab_alloc_pages(z, LAB_GFP_KERNEL, 0);
		lab_free_pages(p, LAB_MAX_ORDER + 1);
	} else if (!strcmp(m->what, "freed_locked")) {
		p = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
		lab_lock_page(p);
		lab_free_pages(p, 1);
		lab_unlock_page(p);   /* the leaked page's lock still works */
		if (lab_trylock_page(p))
			lab_unlock_page(p);
	} else if (!strcmp(m->what, "put_underflow")) {
		p = lab_alloc_page(z, LAB_GFP_KERNEL);
		lab_put_page(p);
		lab_put_page(p);
	} else if (!strcmp(m->what, "get_on_free")) {
		p = lab_alloc_page(z, LAB_GFP_KERNEL);
		lab_free_page(p);
		lab_get_page(p);
		if (lab_page_count(p) != 0)
			_exit(3);
	} else if (!strcmp(m->what, "get_overflow")) {
		p = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
		atomic_store(&p->refcount, INT32_MAX - 1);
		lab_get_page(p);           /* INT32_MAX: fine */
		lab_get_page(p);           /* would wrap: reported */
		if (lab_page_count(p) != INT32_MAX)
			_exit(3);
		lab_put_page(p);           /* the leaked block is never freed */
		lab_free_pages(p, 1);
	} else if (!strcmp(m->what, "unlock_unlocked")) {
		p = lab_alloc_page(z, LAB_GFP_KERNEL);
		lab_unlock_page(p);
		lab_free_page(p);
	} else {
		_exit(4);
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (st.leaked != m->expect_leaked || st.allocated != m->expect_allocated) {
		fprintf(stderr, "stats: leaked %zu allocated %zu\n", st.leaked, st.allocated);
		_exit(1);
	}
	if (lab_zone_check(z))
		_exit(2);
	/* A leaked block is never handed out again: drain the zone and look. */
	struct lab_page *q;
	while ((q = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		if (m->expect_leaked && q == p)
			_exit(5);
	_exit(0);
}

static void check_misuse(const char *what, size_t leaked, size_t allocated, const char *reason)
{
	child_zone = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct misuse m = { what, leaked, allocated };
	char out[8192];
	int status = run_in_child(misuse_child, &m, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%s: child status %#x, stderr:\n%s", what, status, out);
	cr_assert(strstr(out, "BUG: Bad page state in process "), "%s: no report:\n%s", what, out);
	char because[256];
	snprintf(because, sizeof(because), "page dumped because: %s\n", reason);
	cr_assert(strstr(out, because), "%s: expected \"%s\" in:\n%s", what, reason, out);
	lab_zone_destroy(child_zone);
}

Test(refcount, double_free_is_reported_and_nothing_leaks)
{
	check_misuse("double_free", 0, 0, "double free: the block is already free");
}

Test(refcount, double_free_of_an_order_2_block_is_reported_and_nothing_leaks)
{
	check_misuse("double_free_order_2", 0, 0, "double free: the block is already free");
}

Test(refcount, double_free_of_an_exclusive_block_is_reported_and_nothing_leaks)
{
	check_misuse("double_free_exclusive", 0, 0, "double free: the block is already free");
}

Test(refcount, wrong_order_is_reported_and_the_block_leaked)
{
	check_misuse("wrong_order", 4, 4, "freed with a different order than allocated");
}

Test(refcount, order_above_max_is_reported_and_the_block_leaked)
{
	check_misuse("order_above_max", 1, 1, "freed with an order above LAB_MAX_ORDER");
}

Test(refcount, free_while_locked_is_reported_and_the_block_leaked)
{
	check_misuse("freed_locked", 2, 2, "freed while the page lock is held");
}

Test(refcount, put_without_reference_is_reported_never_wraps)
{
	check_misuse("put_underflow", 0, 0, "reference count underflow: put without a reference");
}

Test(refcount, get_on_a_free_page_is_reported)
{
	check_misuse("get_on_free", 0, 0,
		     "lab_get_page: no reference held (page not allocated, or freed)");
}

Test(refcount, get_at_the_maximum_is_reported_and_the_block_leaked)
{
	check_misuse("get_overflow", 2, 2, "lab_get_page: reference count overflow");
}

Test(refcount, unlock_of_an_unlocked_page_is_reported)
{
	check_misuse("unlock_unlocked", 0, 0, "lab_unlock_page: the page is not locked");
}
