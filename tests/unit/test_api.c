/* test_api.c - the small things users read: statistics after a scripted
 * sequence, gfp names, the buddyinfo line. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(api, stats_follow_a_scripted_sequence)
{
	struct lab_zone *z = make_zone(256, 8, 10, 12, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *a = lab_alloc_pages(z, LAB_GFP_KERNEL, 0);
	struct lab_page *b = lab_alloc_pages(z, LAB_GFP_ATOMIC, 2);
	struct lab_page *c = lab_alloc_pages(z, LAB_GFP_NOWAIT, 2);
	lab_alloc_pages(z, LAB_GFP_KERNEL, 11);                  /* EINVAL */
	struct held h;
	held_init(&h, 256);
	set_free(z, &h, 0);                                      /* MEMALLOC allocations */
	size_t filler = h.nr;
	lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);      /* fail: atomic */
	lab_alloc_page(z, LAB_GFP_NOWAIT);                       /* fail: nowait */
	lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN); /* fail: sleeping */
	held_free_all(&h);
	lab_free_pages(a, 0);
	lab_free_pages(b, 2);
	lab_free_pages(c, 2);

	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 256);
	cr_assert_eq(st.free, 256);
	cr_assert_eq(st.allocated, 0);
	cr_assert_eq(st.alloc_success, 3 + filler);
	cr_assert_eq(st.alloc_order[0], 1 + filler);
	cr_assert_eq(st.alloc_order[2], 2);
	cr_assert_eq(st.free_calls, 3 + filler);
	cr_assert_eq(st.alloc_fail, 3);
	cr_assert_eq(st.fail_atomic, 1);
	cr_assert_eq(st.fail_nowait, 1);
	cr_assert_eq(st.fail_sleeping, 1);
	cr_assert_eq(st.alloc_einval, 1);
	cr_assert_eq(st.direct_reclaim, 1, "NORETRY: one round");
	cr_assert_eq(st.alloc_stall, 0, "NORETRY never waits");
	cr_assert_eq(st.kswapd_wake, 0, "the zone has no kswapd");
	cr_assert_eq(st.bad_page, 0);
	cr_assert_eq(st.reserve_use, 8, "the MEMALLOC allocations at or below min");
	lab_zone_destroy(z);
}

Test(api, gfp_names)
{
	char buf[128];
	cr_assert_str_eq(lab_gfp_name(LAB_GFP_ATOMIC, buf, sizeof(buf)), "GFP_ATOMIC");
	cr_assert_str_eq(lab_gfp_name(LAB_GFP_KERNEL | LAB_GFP_ZERO, buf, sizeof(buf)), "GFP_KERNEL|ZERO");
	cr_assert_str_eq(lab_gfp_name(LAB_GFP_NOWAIT, buf, sizeof(buf)), "GFP_NOWAIT");
	cr_assert_str_eq(lab_gfp_name(LAB_GFP_HIGH | LAB_GFP_COMP, buf, sizeof(buf)), "HIGH|COMP");
	cr_assert_str_eq(lab_gfp_name(0, buf, sizeof(buf)), "0");
	cr_assert_str_eq(lab_gfp_name(0x10000, buf, sizeof(buf)), "0x10000");
}

Test(api, buddyinfo_line)
{
	struct lab_zone *z = make_zone(1024 + 3, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	lab_zone_print_buddyinfo(z, f);
	fclose(f);
	cr_assert_str_eq(text, "Node 0, zone     test      1      1      0      0      0      0      0"
			       "      0      0      0      1 \n");
	free(text);
	cr_assert_str_eq(lab_zone_name(z), "test");
	lab_zone_destroy(z);
}

Test(api, page_size_is_the_system_page_size)
{
	cr_assert_eq(lab_page_size(), (size_t)sysconf(_SC_PAGESIZE));
}
