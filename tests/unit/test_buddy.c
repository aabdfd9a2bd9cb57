/* test_buddy.c - the buddy system: alignment, split and merge, the free
 * lists, address translation, zeroing; the invariant checker after every
 * step.  Zones without per-CPU lists, so every page moves through the buddy
 * lists (test_pcp.c covers the lists). */
#include "helpers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

Test(buddy, new_zone_is_one_block_per_max_order)
{
	struct lab_zone *z = make_zone(4096, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 4096);
	cr_assert_eq(st.free, 4096);
	cr_assert_eq(st.nr_free[LAB_MAX_ORDER], 4);
	for (int o = 0; o < LAB_MAX_ORDER; o++)
		cr_assert_eq(st.nr_free[o], 0, "order %d", o);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(buddy, odd_sized_zone_is_tiled_by_aligned_blocks)
{
	struct lab_zone *z = make_zone(1000 + 7, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.free, 1007);
	/* 1007 = 512 + 256 + 128 + 64 + 32 + 8 + 4 + 2 + 1 */
	size_t expect[LAB_MAX_ORDER + 1] = { 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0 };
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		cr_assert_eq(st.nr_free[o], expect[o], "order %d", o);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(buddy, blocks_are_aligned_to_their_order)
{
	struct lab_zone *z = make_zone(8192, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	size_t ps = lab_page_size();
	struct lab_page *p[LAB_MAX_ORDER + 1];
	for (unsigned int o = 0; o <= LAB_MAX_ORDER; o++) {
		p[o] = lab_alloc_pages(z, LAB_GFP_KERNEL, o);
		cr_assert_not_null(p[o], "order %u", o);
		uintptr_t a = (uintptr_t)lab_page_address(p[o]);
		cr_assert_eq(a % (ps << o), 0, "order %u block at %#lx misaligned", o, (unsigned long)a);
		cr_assert_eq(lab_page_to_pfn(p[o]) % (1u << o), 0);
		memset((void *)a, 0x5a, ps << o);  /* all of it is ours and mapped */
		assert_zone_ok(z);
	}
	for (unsigned int o = 0; o <= LAB_MAX_ORDER; o++) {
		lab_free_pages(p[o], o);
		assert_zone_ok(z);
	}
	cr_assert_eq(zone_free(z), 8192);
	lab_zone_destroy(z);
}

Test(buddy, split_then_merge_back_to_one_block)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct held h;
	held_init(&h, 1024);
	for (int i = 0; i < 1024; i++) {
		struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_MEMALLOC);
		cr_assert_not_null(p, "page %d", i);
		held_push(&h, p);
	}
	cr_assert_null(lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN));
	assert_zone_ok(z);
	/* Free in a shuffled order: merging must not depend on order of frees. */
	srand(42);
	for (size_t i = h.nr - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1);
		struct lab_page *t = h.pages[i];
		h.pages[i] = h.pages[j];
		h.pages[j] = t;
	}
	while (h.nr) {
		lab_free_page(h.pages[--h.nr]);
		if (h.nr % 97 == 0)
			assert_zone_ok(z);
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.nr_free[LAB_MAX_ORDER], 1, "pages did not merge back into one block");
	cr_assert_eq(st.free, 1024);
	assert_zone_ok(z);
	lab_zone_destroy(z);
	free(h.pages);
}

Test(buddy, smallest_block_is_split_first)
{
	struct lab_zone *z = make_zone(2048, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *a = lab_alloc_page(z, LAB_GFP_KERNEL);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	/* One order-10 block split into 512+256+...+1 free halves. */
	cr_assert_eq(st.nr_free[LAB_MAX_ORDER], 1);
	for (int o = 0; o < LAB_MAX_ORDER; o++)
		cr_assert_eq(st.nr_free[o], 1, "order %d", o);
	struct lab_page *b = lab_alloc_page(z, LAB_GFP_KERNEL);
	cr_assert_eq(lab_page_to_pfn(b), lab_page_to_pfn(a) ^ 1, "the order-0 buddy is used next");
	lab_free_page(a);
	lab_free_page(b);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.nr_free[LAB_MAX_ORDER], 2);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(buddy, address_translation)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	char *a = lab_page_address(p);
	cr_assert_eq(lab_virt_to_page(a), p);
	cr_assert_eq(lab_virt_to_page(a + 100), p, "an address inside the page");
	cr_assert_eq(lab_virt_to_page(a + lab_page_size()), lab_pfn_to_page(z, lab_page_to_pfn(p) + 1));
	cr_assert_eq(lab_page_zone(p), z);
	int on_stack;
	cr_assert_null(lab_virt_to_page(&on_stack));
	cr_assert_null(lab_virt_to_page(NULL));
	cr_assert_null(lab_pfn_to_page(z, 1024));
	void *addr = lab_get_free_pages(z, LAB_GFP_KERNEL, 2);
	cr_assert_not_null(addr);
	lab_free_pages_addr(addr, 2);
	lab_free_pages(p, 3);
	assert_zone_ok(z);
	lab_zone_destroy(z);
	cr_assert_null(lab_virt_to_page(a), "a destroyed zone's address maps to no page");
}

Test(buddy, gfp_zero_zeroes)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	size_t ps = lab_page_size();
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	memset(lab_page_address(p), 0xff, 4 * ps);
	lab_free_pages(p, 2);
	struct lab_page *q = lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_ZERO, 2);
	cr_assert_eq(q, p, "LIFO: the block just freed comes back");
	const unsigned char *c = lab_page_address(q);
	for (size_t i = 0; i < 4 * ps; i++)
		cr_assert_eq(c[i], 0, "byte %zu not zeroed", i);
	lab_free_pages(q, 2);
	lab_zone_destroy(z);
}

Test(buddy, random_operations_keep_every_invariant)
{
	struct lab_zone *z = make_zone(3000, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct { struct lab_page *p; unsigned int order; } live[512];
	size_t nlive = 0, pages_live = 0;
	srand(7);
	for (int step = 0; step < 3000; step++) {
		if (nlive < 512 && (rand() % 3 || !nlive)) {
			unsigned int order = (unsigned int)rand() % 6;
			struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN, order);
			if (p) {
				live[nlive].p = p;
				live[nlive++].order = order;
				pages_live += 1u << order;
			}
		} else {
			size_t i = (size_t)rand() % nlive;
			lab_free_pages(live[i].p, live[i].order);
			pages_live -= 1u << live[i].order;
			live[i] = live[--nlive];
		}
		cr_assert_eq(lab_zone_check(z), 0, "step %d", step);
		struct lab_zone_stats st;
		lab_zone_get_stats(z, &st);
		cr_assert_eq(st.allocated, pages_live, "step %d", step);
		cr_assert_eq(st.free + st.allocated, st.managed, "step %d", step);
	}
	while (nlive--)
		lab_free_pages(live[nlive].p, live[nlive].order);
	cr_assert_eq(zone_free(z), 3000);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}
