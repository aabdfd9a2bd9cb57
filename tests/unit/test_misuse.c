/* test_misuse.c - bad input gets a clear error and loses nothing: EINVAL for
 * bad arguments, a "BUG: Bad page state" report for a bad free, with the page
 * leaked rather than reused.  Reports are read from a child's stderr. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[8192];

static void assert_child_said(int status, const char *needle)
{
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: status %#x\n%s",
		  status, out);
	cr_assert_not_null(strstr(out, needle), "expected \"%s\" in:\n%s", needle, out);
}

Test(misuse, bad_arguments_give_einval)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	errno = 0;
	cr_assert_null(lab_alloc_pages(NULL, LAB_GFP_KERNEL, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_KERNEL, LAB_MAX_ORDER + 1));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_KERNEL | 0x80000000u, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_NOFAIL, 0));
	cr_assert_eq(errno, EINVAL, "NOFAIL cannot be honoured without sleeping");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.alloc_einval, 3);
	cr_assert_eq(st.free, 1024, "nothing was taken");
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(misuse, bad_zone_configs_give_einval)
{
	struct lab_zone_config bad[] = {
		{ .pages = 0 },
		{ .pages = 64, .flags = 0x80000000u },
		{ .pages = 64, .wmark_min = 10, .wmark_low = 5, .wmark_high = 20 },
		{ .pages = 64, .wmark_min = 1, .wmark_low = 2, .wmark_high = 64 },
		{ .pages = 64, .max_pages = 128 },           /* max_pages without GROW */
		{ .pages = 64, .flags = LAB_ZONE_GROW, .max_pages = 32 },
		{ .pages = 64, .watermark_scale_factor = 5000 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_null(lab_zone_create(&bad[i]), "config %zu accepted", i);
		cr_assert_eq(errno, EINVAL, "config %zu", i);
	}
	errno = 0;
	cr_assert_null(lab_zone_create(NULL));
	cr_assert_eq(errno, EINVAL);
}

static void double_free(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	lab_free_pages(p, 2);
	lab_free_pages(p, 2);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (st.free + st.pcp != 1024 || st.bad_page != 1 || lab_zone_check(z))
		_exit(3);
	lab_zone_destroy(z);
}

Test(misuse, double_free_is_reported_and_harmless)
{
	int status = run_in_child(double_free, NULL, out, sizeof(out));
	assert_child_said(status, "BUG: Bad page state in process");
	assert_child_said(status, "double free");
}

/*
 * Two threads free the same order-5 block, its only reference, at once (the
 * general path: no per-CPU list above order 3).  The free claims the block
 * and then drops the count (free.c free_only_ref): exactly one of the two
 * wins and frees it, the other is reported, and nothing is leaked.  A drop
 * of the count first could let the loser's report claim the block as bad
 * before the winner's claim: a leak and two reports.
 */
#define RACE_ROUNDS 300
static struct lab_zone *race_zone;
static struct lab_page *_Atomic race_page;
static pthread_barrier_t race_go;

static void *race_free(void *arg)
{
	(void)arg;
	for (int i = 0; i < RACE_ROUNDS; i++) {
		pthread_barrier_wait(&race_go);  /* the block is allocated */
		lab_free_pages(atomic_load(&race_page), 5);
		pthread_barrier_wait(&race_go);  /* both frees are done */
	}
	return NULL;
}

static void racing_frees(void *arg)
{
	(void)arg;
	struct lab_zone *z = race_zone = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	/* A report per round would fill the parent's buffer: counted, not read. */
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
	if (saved < 0 || null < 0 || dup2(null, STDERR_FILENO) < 0)
		_exit(2);
	pthread_t t[2];
	pthread_barrier_init(&race_go, NULL, 3);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, race_free, NULL))
			_exit(2);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		atomic_store(&race_page, lab_alloc_pages(z, LAB_GFP_KERNEL, 5));
		if (!atomic_load(&race_page))
			_exit(3);
		pthread_barrier_wait(&race_go);
		pthread_barrier_wait(&race_go);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	dup2(saved, STDERR_FILENO);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	fprintf(stderr, "racing frees: %llu reports, %zu pages leaked, %llu frees counted\n",
		(unsigned long long)st.bad_page, st.leaked, (unsigned long long)st.free_calls);
	if (st.bad_page != RACE_ROUNDS || st.leaked != 0)
		_exit(4);
	if (st.free + st.pcp != 1024 || st.free_calls != RACE_ROUNDS || lab_zone_check(z))
		_exit(5);
	lab_zone_destroy(z);
}

Test(misuse, racing_frees_of_an_only_reference_free_it_once_and_report_the_other)
{
	int status = run_in_child(racing_frees, NULL, out, sizeof(out));
	assert_child_said(status, "racing frees: 300 reports, 0 pages leaked, 300 frees counted");
}

static void wrong_order(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	size_t pfn = lab_page_to_pfn(p);
	lab_free_pages(p, 3);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (st.leaked != 4 || st.allocated != 4 || lab_zone_check(z))
		_exit(3);
	/* The leaked block is never handed out again: take everything else. */
	struct lab_page *q;
	while ((q = lab_alloc_page(z, LAB_GFP_NOWAIT | LAB_GFP_MEMALLOC)))
		if (lab_page_to_pfn(q) >= pfn && lab_page_to_pfn(q) < pfn + 4)
			_exit(4);
	lab_zone_get_stats(z, &st);
	/* Pages a refill parked on another CPU's list (if this thread migrated)
	 * are free, just not on the buddy lists. */
	if (st.free != 0 || st.allocated + st.pcp != 1024)
		_exit(5);
	/* And freeing it again, even with the right order, is refused. */
	lab_free_pages(p, 2);
	lab_zone_get_stats(z, &st);
	if (st.bad_page != 2 || lab_zone_check(z))
		_exit(6);
}

Test(misuse, wrong_order_is_reported_and_the_block_leaked)
{
	int status = run_in_child(wrong_order, NULL, out, sizeof(out));
	assert_child_said(status, "BUG: Bad page state in process");
	assert_child_said(status, "freed with a different order than allocated");
	assert_child_said(status, "free of a page already reported bad");
}

static void tail_free(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	struct lab_page *tail = lab_pfn_to_page(z, lab_page_to_pfn(p) + 1);
	lab_free_pages(tail, 0);
	if (lab_zone_check(z))
		_exit(3);
	lab_free_pages(p, 3);
	if (lab_zone_check(z) || zone_free_all(z) != 1024)
		_exit(4);
}

Test(misuse, free_of_a_tail_page_is_reported)
{
	int status = run_in_child(tail_free, NULL, out, sizeof(out));
	assert_child_said(status, "BUG: Bad page state in process");
	assert_child_said(status, "not the first page of an allocated block");
}

static void foreign_pointers(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	char on_stack[64];
	lab_free_pages((struct lab_page *)(void *)on_stack, 0);
	lab_free_pages_addr(on_stack, 0);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	/* A pointer into the descriptor array that is not a descriptor. */
	lab_free_pages((struct lab_page *)(void *)((char *)p + 4), 0);
	/* An address inside the zone that is not page aligned. */
	lab_free_pages_addr((char *)lab_page_address(p) + 8, 0);
	if (lab_zone_check(z) || zone_free_all(z) != 1023)
		_exit(3);
	lab_free_page(p);
	if (zone_free_all(z) != 1024)
		_exit(4);
}

Test(misuse, pointers_outside_any_zone_are_reported)
{
	int status = run_in_child(foreign_pointers, NULL, out, sizeof(out));
	assert_child_said(status, "not a page descriptor of any zone");
	assert_child_said(status, "address in no zone");
	assert_child_said(status, "not page aligned");
}

static void failure_report(void *arg)
{
	lab_gfp_t gfp = *(lab_gfp_t *)arg;
	struct lab_zone *z = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 64);
	set_free(z, &h, 0);
	if (lab_alloc_page(z, gfp))
		_exit(3);
	held_free_all(&h);
	lab_zone_destroy(z);
}

Test(misuse, allocation_failure_is_reported_unless_nowarn)
{
	lab_gfp_t gfp = LAB_GFP_ATOMIC;
	int status = run_in_child(failure_report, &gfp, out, sizeof(out));
	assert_child_said(status, "page allocation failure: order:0, mode:0x201(GFP_ATOMIC)");
	assert_child_said(status, "zone:test free:0");
	gfp = LAB_GFP_NOWAIT;
	status = run_in_child(failure_report, &gfp, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(out[0], '\0', "NOWARN printed: %s", out);
}

static void leak_at_destroy(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	lab_zone_destroy(z);
}

Test(misuse, destroy_reports_blocks_still_allocated)
{
	int status = run_in_child(leak_at_destroy, NULL, out, sizeof(out));
	assert_child_said(status, "zone test destroyed with 2 pages still allocated");
}

/* ---- NULL, everywhere ------------------------------------------------------ */

/*
 * Every entry point takes NULL for any pointer argument, as labyrinth.h
 * states: a query answers its empty value, a free, put, unlock or destroy does
 * nothing, and a call that would create, allocate, register or fill fails with
 * EINVAL.  (lab_page_address, lab_page_to_pfn, lab_page_zone,
 * lab_zone_get_stats and lab_mempool_available crashed.)  Each call in a
 * child of its own, so a crash names it.
 */
static struct lab_zone *null_zone(void)
{
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "null",
		.pages = 64, .flags = LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(z);
	return z;
}

static void null_queries(void *arg)
{
	(void)arg;
	CHILD_CHECK(lab_page_address(NULL) == NULL);
	CHILD_CHECK(lab_virt_to_page(NULL) == NULL);
	CHILD_CHECK(lab_page_to_pfn(NULL) == 0);
	CHILD_CHECK(lab_pfn_to_page(NULL, 0) == NULL);
	CHILD_CHECK(lab_page_zone(NULL) == NULL);
	CHILD_CHECK(lab_page_count(NULL) == 0);
	CHILD_CHECK(lab_page_owner(NULL) == LAB_OWNER_NONE);
	CHILD_CHECK(lab_zone_name(NULL) == NULL);
	CHILD_CHECK(lab_mempool_available(NULL) == 0);
	CHILD_CHECK(lab_zone_check(NULL) != 0);
	CHILD_CHECK(lab_trylock_page(NULL) == false);
	CHILD_CHECK(lab_dump_page_owner(NULL, stderr) == 0);
	CHILD_CHECK(lab_page_owner_report_leaks(NULL, stderr) == 0);
	char buf[8];
	CHILD_CHECK(lab_gfp_name(0, NULL, 0) == NULL);
	CHILD_CHECK(lab_gfp_name(LAB_GFP_KERNEL, buf, sizeof(buf)) == buf);
	_exit(0);
}

static void null_stats(void *arg)
{
	(void)arg;
	struct lab_zone_stats st;
	memset(&st, 0xff, sizeof(st));
	lab_zone_get_stats(NULL, &st);
	CHILD_CHECK(st.managed == 0 && st.free == 0 && st.alloc_success == 0);
	memset(&st, 0xff, sizeof(st));
	CHILD_CHECK(lab_zone_get_stats2(NULL, &st, sizeof(st)) == 0);
	CHILD_CHECK(st.managed == 0);
	struct lab_zone *z = null_zone();
	CHILD_CHECK(lab_zone_get_stats2(z, NULL, sizeof(st)) == 0);
	lab_zone_print_buddyinfo(NULL, stderr);
	lab_zone_print_zoneinfo(NULL, stderr);
	lab_zone_print_vmstat(NULL, stderr);
	lab_zone_print_buddyinfo(z, NULL);
	lab_zone_print_zoneinfo(z, NULL);
	lab_zone_print_vmstat(z, NULL);
	lab_zone_describe(NULL, stderr);
	lab_zone_describe(z, NULL);
	lab_dump_page_owner(z, NULL);
	CHILD_CHECK(lab_stats_read_export2(getpid(), NULL, sizeof(st)) == -EINVAL);
	lab_zone_destroy(z);
	_exit(0);
}

static void null_operations(void *arg)
{
	(void)arg;
	lab_free_pages(NULL, 0);
	lab_free_pages_addr(NULL, 0);
	lab_get_page(NULL);
	lab_put_page(NULL);
	lab_lock_page(NULL);
	lab_unlock_page(NULL);
	lab_wait_on_page_locked(NULL);
	lab_mempool_free(NULL, NULL);
	lab_mempool_destroy(NULL);
	lab_unregister_shrinker(NULL, NULL);
	lab_set_oom_handler(NULL, NULL, NULL);
	lab_drain_all_pages(NULL);
	lab_zone_destroy(NULL);
	lab_fault_get(NULL);
	lab_failslab_get(NULL, NULL);
	lab_spin_lock_init(NULL);
	struct lab_zone *z = null_zone();
	struct lab_mempool *pool = lab_mempool_create(z, 1, 0);
	CHILD_CHECK(pool);
	lab_mempool_free(NULL, pool);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_mempool_free(p, NULL);        /* no pool: nothing done, the block stays */
	CHILD_CHECK(lab_page_count(p) == 1);
	lab_free_page(p);
	lab_mempool_destroy(pool);
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_zone_destroy(z);
	_exit(0);
}

static void null_einval(void *arg)
{
	(void)arg;
	errno = 0;
	CHILD_CHECK(!lab_zone_create(NULL) && errno == EINVAL);
	errno = 0;
	CHILD_CHECK(!lab_alloc_pages(NULL, LAB_GFP_KERNEL, 0) && errno == EINVAL);
	errno = 0;
	CHILD_CHECK(!lab_get_free_pages(NULL, LAB_GFP_KERNEL, 0) && errno == EINVAL);
	errno = 0;
	CHILD_CHECK(!lab_mempool_create(NULL, 1, 0) && errno == EINVAL);
	errno = 0;
	CHILD_CHECK(!lab_mempool_alloc(NULL, LAB_GFP_KERNEL) && errno == EINVAL);
	CHILD_CHECK(lab_register_shrinker(NULL, NULL) == -EINVAL);
	CHILD_CHECK(lab_page_transfer(NULL, 1) == -EINVAL);
	CHILD_CHECK(lab_zone_grant(NULL) == -EINVAL);
	CHILD_CHECK(lab_zone_revoke(NULL) == -EINVAL);
	CHILD_CHECK(lab_fault_set(NULL) == -EINVAL);
	CHILD_CHECK(lab_failslab_set(NULL, false) == -EINVAL);
	CHILD_CHECK(lab_fault_configure(NULL, NULL, 0) == -EINVAL);
	CHILD_CHECK(lab_failslab_configure(NULL, NULL, 0) == -EINVAL);
	_exit(0);
}

static void null_spinlock(void *arg)
{
	lab_spin_lock((lab_spinlock_t *)arg);
	_exit(0);
}

Test(misuse, null_is_accepted_everywhere_as_the_header_says)
{
	void (*const fns[])(void *) = { null_queries, null_stats, null_operations, null_einval };
	const char *const names[] = { "queries", "stats", "operations", "einval" };
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		int status = run_in_child(fns[i], NULL, out, sizeof(out));
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %#x\n%s",
			  names[i], status, out);
	}
	/* A spinlock that is not there cannot be held: a BUG report, as for a
	 * recursive one, never a wild write. */
	int status = run_in_child(null_spinlock, NULL, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x\n%s", status, out);
	cr_assert(strstr(out, "BUG: spinlock: NULL lock"), "%s", out);
}
