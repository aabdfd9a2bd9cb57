/* test_badpage.c - "BUG: Bad page state" reports, one class of misuse per
 * test, each in a child process whose stderr is checked: the exact header,
 * the descriptor line (refcount, order, owner), the decoded flags, the
 * reason, the call trace; the block leaked and never handed out again; the
 * rate limit with its suppressed-count line; and lab_zone_check() naming
 * each broken invariant. */
#include "helpers.h"
#include "page/badpage.h"
#include "page/zone.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define COMM "badpage-child"

static struct lab_zone *z;

static void setup(void)
{
	z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
}

static void teardown(void)
{
	lab_zone_destroy(z);
}

TestSuite(badpage, .init = setup, .fini = teardown);

static void name_child(void)
{
	prctl(PR_SET_NAME, COMM, 0, 0, 0);
}

static void expect_header(const char *out, const struct lab_page *p)
{
	char header[128];
	snprintf(header, sizeof(header), "BUG: Bad page state in process " COMM "  pfn:%05zx\n",
		 lab_page_to_pfn(p));
	cr_assert(strncmp(out, header, strlen(header)) == 0, "expected '%s' first, got:\n%s",
		  header, out);
	cr_assert_eq(count_of(out, "BUG: Bad page state"), 1, "one report:\n%s", out);
	cr_assert(strstr(out, "Call Trace:\n"), "with the stack of the bad call:\n%s", out);
}

/* The child checks that the leaked block never comes back, and exits 0. */
static void assert_never_reused(struct lab_page *bad, unsigned int order)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (st.leaked != (size_t)1 << order || st.bad_page != 1)
		_exit(10);
	if (lab_zone_check(z))
		_exit(11);
	/* Take every page left: none may be inside the leaked block. */
	size_t lo = lab_page_to_pfn(bad), hi = lo + ((size_t)1 << order);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		if (lab_page_to_pfn(p) >= lo && lab_page_to_pfn(p) < hi)
			_exit(12);
	lab_zone_get_stats(z, &st);
	if (st.free != 0 || st.allocated != st.managed)
		_exit(13);
}

static struct lab_page *victim;

static void double_free(void *arg)
{
	(void)arg;
	name_child();
	/* Keep the buddy allocated so the freed page stays a free order-0 head. */
	victim = lab_alloc_page(z, LAB_GFP_KERNEL);
	struct lab_page *buddy = lab_alloc_page(z, LAB_GFP_KERNEL);
	(void)buddy;
	lab_free_page(victim);
	lab_free_page(victim);
}

Test(badpage, double_free)
{
	char out[16384];
	int status = run_in_child(double_free, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	victim = lab_pfn_to_page(z, 0);  /* the child's first page of a fresh zone */
	expect_header(out, victim);
	cr_assert(strstr(out, "refcount:0 order:0 owner:0\nflags: 0x4(buddy)\n"
			      "page dumped because: double free: the block is already free\n"),
		  "%s", out);
}

static void wrong_order(void *arg)
{
	(void)arg;
	name_child();
	victim = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	lab_free_pages(victim, 0);
	assert_never_reused(victim, 1);
}

Test(badpage, wrong_order_is_reported_and_the_block_leaked)
{
	char out[16384];
	int status = run_in_child(wrong_order, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status), "%s", out);
	cr_assert_eq(WEXITSTATUS(status), 0, "leak check step %d failed:\n%s",
		     WEXITSTATUS(status), out);
	expect_header(out, lab_pfn_to_page(z, 0));
	cr_assert(strstr(out, "refcount:1 order:1 owner:0\nflags: 0x48(allocated|bad)\n"
			      "page dumped because: freed with a different order than allocated\n"),
		  "%s", out);
}

static void order_above_max(void *arg)
{
	(void)arg;
	name_child();
	victim = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_free_pages(victim, LAB_MAX_ORDER + 1);
	assert_never_reused(victim, 0);
}

Test(badpage, order_above_max)
{
	char out[16384];
	int status = run_in_child(order_above_max, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	expect_header(out, lab_pfn_to_page(z, 0));
	cr_assert(strstr(out, "page dumped because: freed with an order above LAB_MAX_ORDER\n"),
		  "%s", out);
}

static void refcount_not_zero(void *arg)
{
	(void)arg;
	name_child();
	victim = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_get_page(victim);   /* a reference someone still holds */
	lab_free_page(victim);  /* __free_pages() is a put: not the last one */
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (lab_page_count(victim) != 1 || st.allocated != 1 || st.bad_page != 0)
		_exit(30);
	lab_put_page(victim);   /* the last put frees it */
	lab_zone_get_stats(z, &st);
	if (st.allocated != 0 || st.bad_page != 0 || lab_zone_check(z))
		_exit(31);
}

/* With the kernel's put semantics a free while another reference is held is
 * no misuse: the block stays until the last put, and nothing is reported. */
Test(badpage, refcount_still_held)
{
	char out[16384];
	int status = run_in_child(refcount_not_zero, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x\n%s", status, out);
	cr_assert_null(strstr(out, "BUG"), "%s", out);
}

static void still_locked(void *arg)
{
	(void)arg;
	name_child();
	victim = lab_alloc_page(z, LAB_GFP_KERNEL);
	atomic_fetch_or(&victim->flags, PG_locked);
	lab_free_page(victim);
	assert_never_reused(victim, 0);
}

Test(badpage, page_still_locked)
{
	char out[16384];
	int status = run_in_child(still_locked, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	expect_header(out, lab_pfn_to_page(z, 0));
	cr_assert(strstr(out, "flags: 0x49(locked|allocated|bad)\n"
			      "page dumped because: freed while the page lock is held\n"),
		  "%s", out);
}

static void owner_is_printed(void *arg)
{
	(void)arg;
	name_child();
	victim = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	victim->owner = 42;  /* what exclusive pages set */
	lab_free_pages(victim, 1);
}

Test(badpage, owner_is_printed)
{
	char out[16384];
	run_in_child(owner_is_printed, NULL, out, sizeof(out));
	expect_header(out, lab_pfn_to_page(z, 0));
	cr_assert(strstr(out, "refcount:1 order:2 owner:42\n"), "%s", out);
}

static void tail_page(void *arg)
{
	(void)arg;
	name_child();
	victim = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	lab_free_page(lab_pfn_to_page(z, lab_page_to_pfn(victim) + 1));
	/* The block itself is untouched and frees normally. */
	lab_free_pages(victim, 2);
	if (zone_free(z) != 1024 || lab_zone_check(z))
		_exit(20);
}

Test(badpage, not_the_start_of_a_block)
{
	char out[16384];
	int status = run_in_child(tail_page, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	expect_header(out, lab_pfn_to_page(z, 1));
	cr_assert(strstr(out, "refcount:0 order:0 owner:0\nflags: 0()\npage dumped because: "
			      "not the first page of an allocated block"), "%s", out);
}

static void unaligned_address(void *arg)
{
	(void)arg;
	name_child();
	victim = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_free_pages_addr((char *)lab_page_address(victim) + 8, 0);
}

Test(badpage, address_inside_a_page)
{
	char out[16384];
	run_in_child(unaligned_address, NULL, out, sizeof(out));
	expect_header(out, lab_pfn_to_page(z, 0));
	cr_assert(strstr(out, "page dumped because: lab_free_pages_addr: address not page aligned\n"),
		  "%s", out);
}

static void foreign_pointer(void *arg)
{
	(void)arg;
	name_child();
	static char not_ours[64];
	lab_free_pages_addr(not_ours, 0);
	lab_free_pages((struct lab_page *)(void *)not_ours, 0);
}

Test(badpage, address_in_no_zone)
{
	char out[16384];
	run_in_child(foreign_pointer, NULL, out, sizeof(out));
	cr_assert_eq(count_of(out, "BUG: Bad page state in process " COMM "  pointer:0x"), 2,
		     "%s", out);
	cr_assert(strstr(out, "page dumped because: lab_free_pages_addr: address in no zone\n"),
		  "%s", out);
	cr_assert(strstr(out, "page dumped because: lab_free_pages: not a page descriptor of any "
			      "zone\n"), "%s", out);
}

/* 60 reports, then silence until the period ends, then the count. */
static void many_bad_frees(void *arg)
{
	(void)arg;
	name_child();
	atomic_store(&lab__bad_page_interval_ns, UINT64_MAX / 2);
	victim = lab_alloc_page(z, LAB_GFP_KERNEL);
	struct lab_page *buddy = lab_alloc_page(z, LAB_GFP_KERNEL);
	(void)buddy;
	lab_free_page(victim);
	for (int i = 0; i < 65; i++)
		lab_free_page(victim);
	atomic_store(&lab__bad_page_interval_ns, 0);  /* the minute is over */
	lab_free_page(victim);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (st.bad_page != 66)
		_exit(30);
}

Test(badpage, reports_are_rate_limited_with_a_suppressed_count)
{
	static char out[1 << 20];
	int status = run_in_child(many_bad_frees, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_assert_eq(count_of(out, "BUG: Bad page state in process"), 61);
	cr_assert_eq(count_of(out, "BUG: Bad page state: 5 messages suppressed\n"), 1);
	const char *sup = strstr(out, "messages suppressed");
	cr_assert(strstr(sup, "BUG: Bad page state in process"), "the count comes before the "
		  "next report");
}

/* ---- the invariant checker names what broke ---- */

static void checker_names(void *arg)
{
	(void)arg;
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_free_page(p);  /* pfn 0 merges back; pfn 0..1023 is one free block */
	z->nr_free++;
	lab_zone_check(z);
	z->nr_free--;
	z->area[LAB_MAX_ORDER].nr_free[MT_NORMAL]++;
	lab_zone_check(z);
	z->area[LAB_MAX_ORDER].nr_free[MT_NORMAL]--;
	pfn_to_page(z, 0)->list_mt = MT_HIGHATOMIC;  /* on the normal list */
	lab_zone_check(z);
	pfn_to_page(z, 0)->list_mt = MT_NORMAL;
	z->nr_reserved_highatomic += 16;
	lab_zone_check(z);
	z->nr_reserved_highatomic -= 16;
	size_t low = atomic_load(&z->wmark[WMARK_LOW]);
	atomic_store(&z->wmark[WMARK_LOW], atomic_load(&z->wmark[WMARK_HIGH]) + 1);
	lab_zone_check(z);
	atomic_store(&z->wmark[WMARK_LOW], low);
	set_page_flags(pfn_to_page(z, 5), PG_allocated);
	lab_zone_check(z);
	set_page_flags(pfn_to_page(z, 5), 0);
	if (lab_zone_check(z))
		_exit(40);
}

Test(badpage, zone_check_names_each_broken_invariant)
{
	char out[65536];
	int status = run_in_child(checker_names, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "repaired zone still broken:\n%s",
		  out);
	const char *names[] = {
		"invariant broken: nr_free: lists hold 1024 pages, counter says 1025",
		"invariant broken: conservation: free 1025 + allocated 0 != managed 1024",
		"invariant broken: free_list_count order 10 type 0: 1 blocks listed, 2 counted",
		"invariant broken: free_list_membership pfn 0 on list 10/0",
		"invariant broken: highatomic_reserve: 0 pages in highatomic pageblocks, counter says 16",
		"invariant broken: watermark_order",
		"invariant broken: blocks_disjoint pfn 5",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert(strstr(out, names[i]), "missing '%s' in:\n%s", names[i], out);
	cr_assert_eq(lab_zone_check(z), 0, "the parent's zone is intact");
}
