/* test_watermark.c - the exact boundary page of each GFP class, as the
 * kernel's __zone_watermark_ok() draws it, and the highatomic reserve.
 * Zone: 1024 pages, min 64, low 80, high 96, no per-CPU lists, so the free
 * count is exact at every step (test_pcp.c: the check with lists). */
#include "helpers.h"

#include <errno.h>

#define MIN 64
#define LOW 80
#define HIGH 96

static struct lab_zone *z;
static struct held h;

static void setup(void)
{
	z = make_zone(1024, MIN, LOW, HIGH, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	held_init(&h, 1024);
}

static void teardown(void)
{
	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

TestSuite(watermark, .init = setup, .fini = teardown);

/* With `free` pages free, does one allocation of gfp/order succeed?  The
 * zone is put back to `free` afterwards. */
static bool succeeds_at(size_t free, lab_gfp_t gfp, unsigned int order)
{
	set_free(z, &h, free);
	struct lab_page *p = lab_alloc_pages(z, gfp | LAB_GFP_NOWARN, order);
	if (p) {
		lab_free_pages(p, order);
		return true;
	}
	cr_assert_eq(errno, ENOMEM);
	assert_zone_ok(z);
	return false;
}

/* The lowest free count at which the class still gets a page. */
static void assert_boundary(lab_gfp_t gfp, unsigned int order, size_t lowest_ok)
{
	cr_assert(succeeds_at(lowest_ok, gfp, order), "gfp %#x order %u should succeed at free=%zu",
		  gfp, order, lowest_ok);
	cr_assert_not(succeeds_at(lowest_ok - 1, gfp, order),
		      "gfp %#x order %u should fail at free=%zu", gfp, order, lowest_ok - 1);
}

Test(watermark, config_is_reported)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.wmark_min, MIN);
	cr_assert_eq(st.wmark_low, LOW);
	cr_assert_eq(st.wmark_high, HIGH);
}

/* NOWAIT: no reduction; passes while free > min. */
Test(watermark, nowait_stops_at_min)
{
	assert_boundary(LAB_GFP_NOWAIT, 0, MIN + 1);
}

/* A sleeping caller without HIGH: also min (NORETRY so it fails promptly). */
Test(watermark, kernel_stops_at_min)
{
	assert_boundary(LAB_GFP_KERNEL | LAB_GFP_NORETRY, 0, MIN + 1);
}

/* HIGH that may sleep: half the reserve, 64 - 32 = 32. */
Test(watermark, high_sleeping_uses_half_the_reserve)
{
	assert_boundary(LAB_GFP_KERNEL | LAB_GFP_HIGH | LAB_GFP_NORETRY, 0, 33);
}

/* ATOMIC: a further quarter, 32 - 8 = 24: 62.5% of min is usable. */
Test(watermark, atomic_uses_five_eighths_of_the_reserve)
{
	assert_boundary(LAB_GFP_ATOMIC, 0, 25);
}

/* MEMALLOC ignores watermarks: the last page goes. */
Test(watermark, memalloc_takes_the_last_page)
{
	assert_boundary(LAB_GFP_NOWAIT | LAB_GFP_MEMALLOC, 0, 1);
}

/* Order 1: free - (2^1 - 1) > mark. */
Test(watermark, order_one_counts_its_extra_page)
{
	assert_boundary(LAB_GFP_KERNEL | LAB_GFP_NORETRY, 1, MIN + 2);
}

/* ATOMIC order 1: 24 + 1 (a NOWAIT-or-ATOMIC order>0 allocation also sets a
 * highatomic pageblock aside, which only sleeping callers must not count). */
Test(watermark, atomic_order_one)
{
	assert_boundary(LAB_GFP_ATOMIC, 1, 26);
}

/* Above low, the fast path serves everyone without touching the reserve. */
Test(watermark, above_low_no_reserve_is_used)
{
	cr_assert(succeeds_at(LOW + 1, LAB_GFP_NOWAIT, 0));
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.reserve_use, 0);
	cr_assert(succeeds_at(MIN, LAB_GFP_ATOMIC, 0));
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.reserve_use, 1, "an allocation at or below min dips into the reserve");
}

/* Enough pages but no block of the order: the check looks at the free lists. */
Test(watermark, high_order_needs_a_free_block)
{
	set_free(z, &h, 0);
	/* Free 200 pages whose buddies stay allocated: all order 0. */
	size_t kept = 0;
	for (size_t i = 0; i < h.nr; i++) {
		if ((lab_page_to_pfn(h.pages[i]) & 1) == 0 && kept < 200) {
			lab_free_page(h.pages[i]);
			kept++;
		} else {
			h.pages[i - kept] = h.pages[i];
		}
	}
	h.nr -= kept;
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.free, 200);
	cr_assert_eq(st.nr_free[0], 200);
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_NOWAIT, 1), "200 free pages, but no order-1 block");
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_NOWAIT, 0);
	cr_assert_not_null(p);
	held_push(&h, p);
}

/* An order>0 allocation that cannot sleep sets a pageblock aside (1024 pages:
 * pageblocks of 16); callers without reserve rights can no longer count it. */
Test(watermark, highatomic_reserve_taken_and_hidden)
{
	/* Only the slow path (below low) reserves, as in the kernel. */
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, 1);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.reserved_highatomic, 0, "fast path: no reserve");
	lab_free_pages(p, 1);
	set_free(z, &h, LOW);
	p = lab_alloc_pages(z, LAB_GFP_ATOMIC, 1);
	cr_assert_not_null(p);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.reserved_highatomic, 16);
	/* A second one comes from the same reserve: at most ~1% (one pageblock). */
	struct lab_page *q = lab_alloc_pages(z, LAB_GFP_ATOMIC, 1);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.reserved_highatomic, 16);
	cr_assert_geq(st.highatomic_use, 1);
	lab_free_pages(q, 1);
	lab_free_pages(p, 1);
	/* Sleeping callers lose the reserved pages from their count: boundary + 16. */
	assert_boundary(LAB_GFP_KERNEL | LAB_GFP_NORETRY, 0, MIN + 1 + 16);
	/* NOWAIT cannot sleep, so it has reserve rights: boundary unchanged. */
	assert_boundary(LAB_GFP_NOWAIT, 0, MIN + 1);
	assert_zone_ok(z);
}

/* A sleeping allocation that has run out of rounds releases the reserve. */
Test(watermark, highatomic_released_before_sleeping_caller_fails)
{
	set_free(z, &h, LOW);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, 1);
	lab_free_pages(p, 1);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.reserved_highatomic, 16);
	struct lab_page *q;
	while ((q = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_MEMALLOC | LAB_GFP_RETRY_MAYFAIL | LAB_GFP_NOWARN)))
		held_push(&h, q);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.reserved_highatomic, 0);
	cr_assert_eq(st.free, 0, "the released pageblock was used before failing");
}

Test(watermark, derived_marks_follow_the_kernel_formula)
{
	/* 65536 pages of 4 KiB = 256 MiB: min_free_kbytes = sqrt(262144 * 16) = 2048 kB
	 * = 512 pages; tmp = max(512/4, 65536*10/10000) = 128. */
	struct lab_zone *big = make_zone(65536, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_zone_stats st;
	lab_zone_get_stats(big, &st);
	if (lab_page_size() == 4096) {
		cr_assert_eq(st.wmark_min, 512);
		cr_assert_eq(st.wmark_low, 640);
		cr_assert_eq(st.wmark_high, 768);
	}
	cr_assert_lt(st.wmark_min, st.wmark_low);
	cr_assert_lt(st.wmark_low, st.wmark_high);
	lab_zone_destroy(big);
}
