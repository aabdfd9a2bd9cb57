/* test_zone.c - zones: configuration checks, names, destroy with blocks
 * still out, the buddyinfo line, the invariant checker catching each kind of
 * corruption (white-box: the descriptors are damaged on purpose in a child),
 * and the zone lock's contract with its own thread: a free never waits for
 * it (deferred), an atomic allocation fails, a sleeping one is a bug. */
#include "helpers.h"
#include "base/assert.h"
#include "page/alloc.h"
#include "page/buddy.h"
#include "page/zone.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16];

/* ---- configuration ------------------------------------------------------- */

Test(zone, bad_configs_are_einval)
{
	const struct lab_zone_config bad[] = {
		{ .pages = 0 },
		{ .pages = 64, .flags = 0x8000 },
		{ .pages = 64, .max_pages = 128 },                          /* max without GROW */
		{ .pages = 64, .flags = LAB_ZONE_GROW, .max_pages = 32 },   /* max below pages */
		{ .pages = 64, .wmark_min = 8, .wmark_low = 4, .wmark_high = 16 },
		{ .pages = 64, .wmark_min = 4, .wmark_low = 16, .wmark_high = 8 },
		{ .pages = 64, .wmark_min = 4, .wmark_low = 8, .wmark_high = 64 },
		{ .pages = 64, .wmark_min = 4 },                            /* high missing */
		{ .pages = 64, .watermark_scale_factor = 3001 },
	};
	errno = 0;
	cr_assert_null(lab_zone_create(NULL));
	cr_assert_eq(errno, EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_null(lab_zone_create(&bad[i]), "config %zu accepted", i);
		cr_assert_eq(errno, EINVAL, "config %zu", i);
	}
}

Test(zone, edge_configs_are_accepted_as_documented)
{
	struct lab_zone_stats st;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .pages = 64, .max_pages = 64,
		.watermark_scale_factor = 3000, .flags = LAB_ZONE_NO_KSWAPD });
	cr_assert_not_null(z);
	cr_assert_str_eq(lab_zone_name(z), "Normal", "default name");
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 64);
	cr_assert(st.wmark_min <= st.wmark_low && st.wmark_low <= st.wmark_high);
	lab_zone_destroy(z);

	/* GROW without max_pages: 4 x pages; sleeping callers grow it. */
	z = lab_zone_create(&(struct lab_zone_config){ .name = "a-name-longer-than-the-limit-of-31",
		.pages = 1024, .flags = LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD });
	cr_assert_not_null(z);
	cr_assert_eq(strlen(lab_zone_name(z)), 31, "names are cut to 31 characters");
	struct held h;
	held_init(&h, 8192);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_MEMALLOC | LAB_GFP_NORETRY | LAB_GFP_NOWARN)))
		held_push(&h, p);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 4096);
	cr_assert_eq(st.allocated, 4096);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
	cr_assert_null(lab_zone_name(NULL));
	lab_zone_destroy(NULL);
}

static void destroy_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "leaky", .pages = 64,
		.flags = LAB_ZONE_NO_KSWAPD });
	lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_zone_destroy(z);
}

Test(zone, destroy_reports_blocks_still_allocated)
{
	int status = run_in_child(destroy_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && !WEXITSTATUS(status));
	cr_assert(strstr(out, "labyrinth: zone leaky destroyed with 3 pages still allocated"), "%s", out);
}

Test(zone, buddyinfo_is_one_proc_line)
{
	struct lab_zone *z = make_zone(1000 + 7, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	lab_zone_print_buddyinfo(z, f);
	fclose(f);
	/* 1007 = 512 + 256 + 128 + 64 + 32 + 8 + 4 + 2 + 1 */
	cr_assert_str_eq(buf, "Node 0, zone     test      1      1      1      1      0      1"
			      "      1      1      1      1      0 \n");
	lab_zone_destroy(z);
}

/* ---- the checker catches each kind of corruption --------------------------- */

struct corruption {
	const char *invariant;   /* named in the report */
	void (*damage)(struct lab_zone *z);
};

static void bad_nr_free(struct lab_zone *z)
{
	z->nr_free++;
}

static void bad_nr_allocated(struct lab_zone *z)
{
	z->nr_allocated += 2;
}

static void bad_list_count(struct lab_zone *z)
{
	z->area[3].nr_free[MT_NORMAL]++;
}

/* corrupt_child() splits a 1024-page zone by allocating pfn 0: pfn 1 heads
 * a free order-0 block, pfn 2 an order-1 block, ..., pfn 512 an order-9 one. */
static void unflagged_free_block(struct lab_zone *z)
{
	set_page_flags(pfn_to_page(z, 1), 0);
}

static void overlapping_blocks(struct lab_zone *z)
{
	set_page_flags(pfn_to_page(z, 3), PG_allocated);   /* the tail of pfn 2's block */
}

/* A tail split off a block (PG_split) inside a block no free is splitting. */
static void split_tail_outside_a_split(struct lab_zone *z)
{
	pfn_to_page(z, 3)->order = 0;
	set_page_flags(pfn_to_page(z, 3), PG_split);
}

static void misaligned_block(struct lab_zone *z)
{
	pfn_to_page(z, 2)->order = 2;
}

static void broken_link(struct lab_zone *z)
{
	pfn_to_page(z, 512)->prev = 7;           /* alone on the order-9 list */
}

static void link_out_of_zone(struct lab_zone *z)
{
	pfn_to_page(z, 512)->next = 1u << 30;
}

static void bad_highatomic_count(struct lab_zone *z)
{
	z->nr_reserved_highatomic = 16;
}

static void marks_out_of_order(struct lab_zone *z)
{
	atomic_store(&z->wmark[WMARK_LOW], atomic_load(&z->wmark[WMARK_HIGH]) + 1);
}

static const struct corruption corruptions[] = {
	{ "nr_free", bad_nr_free },
	{ "nr_allocated", bad_nr_allocated },
	{ "free_list_count", bad_list_count },
	{ "block_tiling", unflagged_free_block },
	{ "blocks_disjoint", overlapping_blocks },
	{ "blocks_disjoint", split_tail_outside_a_split },
	{ "block_aligned", misaligned_block },
	{ "free_list_link", broken_link },
	{ "free_list_link", link_out_of_zone },
	{ "highatomic_reserve", bad_highatomic_count },
	{ "watermark_order", marks_out_of_order },
};

static void corrupt_child(void *arg)
{
	const struct corruption *c = arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "bad", .pages = 1024,
		.flags = LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(lab_alloc_page(z, LAB_GFP_KERNEL) == lab_pfn_to_page(z, 0));
	CHILD_CHECK(lab_zone_check(z) == 0);
	c->damage(z);
	int broken = lab_zone_check(z);
	fprintf(stderr, "broken: %d\n", broken);
	CHILD_CHECK(broken > 0);
}

Test(zone, checker_names_each_broken_invariant)
{
	cr_assert_eq(lab_zone_check(NULL), 1);
	for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
		const struct corruption *c = &corruptions[i];
		int status = run_in_child(corrupt_child, (void *)(uintptr_t)c, out, sizeof(out));
		cr_assert(WIFEXITED(status) && !WEXITSTATUS(status), "%s not detected:\n%s",
			  c->invariant, out);
		char want[80];
		snprintf(want, sizeof(want), "zone bad: invariant broken: %s", c->invariant);
		cr_assert(strstr(out, want), "expected \"%s\" in:\n%s", want, out);
	}
}

/* Each state a free splitting a shared block goes through (alloc.c
 * split_block) is a consistent zone to the checker, which may walk it at
 * any moment; none of them prints anything. */
static void split_states(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *head = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	CHILD_CHECK(head && lab_zone_check(z) == 0);
	atomic_fetch_or(&head->flags, PG_splitting);                 /* 1: the split is ours */
	CHILD_CHECK(lab_zone_check(z) == 0);
	for (unsigned int k = 0; k < 3; k++) {                        /* 2: tails, one by one */
		head[1u << k].order = (uint8_t)k;
		set_page_flags(&head[1u << k], PG_split);
		CHILD_CHECK(lab_zone_check(z) == 0);
	}
	head->order = 0;                                              /* 3: the head shrinks */
	CHILD_CHECK(lab_zone_check(z) == 0);
	atomic_fetch_and(&head->flags, ~(uint32_t)PG_splitting);      /* 4: done */
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_free_pages(head, 0);                                      /* 5: head and tails go */
	for (unsigned int k = 0; k < 3; k++) {
		set_page_flags(&head[1u << k], PG_deferred);  /* as the free path claims them */
		lab__free_block(z, &head[1u << k], k);
		CHILD_CHECK(lab_zone_check(z) == 0);
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK(st.free == 1024);
	/* The same tails under a head no free is splitting are a break. */
	head = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	set_page_flags(&head[1], PG_split);
	CHILD_CHECK(lab_zone_check(z) == 1);
}

Test(zone, checker_accepts_each_state_of_a_split_and_nothing_else)
{
	int status = run_in_child(split_states, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && !WEXITSTATUS(status), "status %#x:\n%s", status, out);
	cr_assert_eq(count_of(out, "invariant broken"), 1, "%s", out);
	cr_assert(strstr(out, "invariant broken: blocks_disjoint pfn ") &&
		  strstr(out, " (flags 0x400) inside block ") &&
		  strstr(out, " order 3 (1 such pages)"), "%s", out);
}

/* ---- the zone lock and its own thread ------------------------------------- */

static struct lab_zone *sig_zone;
static struct lab_page *sig_page;
static struct lab_page *sig_got;
static int sig_errno;

/* What a signal handler does when it interrupted its thread inside the
 * allocator: free (deferred) and allocate ATOMIC (fails, never waits). */
static void handler(int sig)
{
	(void)sig;
	lab_free_page(sig_page);
	errno = 0;
	sig_got = lab_alloc_page(sig_zone, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	sig_errno = errno;
}

Test(zone, own_thread_holding_the_lock_defers_frees_and_fails_atomic)
{
	/* Without per-CPU lists: with them the handler is served by this CPU's
	 * list (test_threads.c, test_pcp.c). */
	struct lab_zone *z = sig_zone = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	sig_page = lab_alloc_pages(z, LAB_GFP_KERNEL, 0);
	signal(SIGUSR1, handler);

	lab__zone_lock(z);           /* as if interrupted inside the allocator */
	raise(SIGUSR1);
	size_t deferred = atomic_load(&z->nr_deferred);
	uint64_t lock_fail = atomic_load(&z->stat.lock_fail);
	lab__zone_unlock(z);

	cr_assert_null(sig_got, "an atomic allocation under its own thread's lock must fail");
	cr_assert_eq(sig_errno, ENOMEM);
	cr_assert_eq(deferred, 1, "the free was deferred");
	cr_assert_geq(lock_fail, 2, "both calls saw the lock taken");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.alloc_lock_fail, 0, "its own hold is not another thread's");
	cr_assert_eq(st.deferred, 1);
	cr_assert_eq(st.allocated, 1, "a deferred page still counts as allocated");
	/* The next holder drains it: nothing lost. */
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.deferred, 0);
	cr_assert_eq(st.allocated, 1);
	cr_assert_eq(p, sig_page, "the drained page is reused first (LIFO)");
	lab_free_page(p);
	assert_zone_ok(z);
	cr_assert_eq(zone_free(z), 1024);
	lab_zone_destroy(z);
}

static void recursive_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "rec", .pages = 64,
		.flags = LAB_ZONE_NO_KSWAPD });
	lab__zone_lock(z);
	lab_alloc_page(z, LAB_GFP_KERNEL);   /* a sleeping call from "a signal handler" */
	_exit(0);
}

Test(zone, sleeping_call_under_its_own_lock_is_reported_and_aborts)
{
	int status = run_in_child(recursive_child, NULL, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "BUG: labyrinth: zone rec: lock taken recursively"), "%s", out);
}

/* ---- assertion tiers -------------------------------------------------------- */

/* The buddy lists without the zone lock: what buddy.c's comment claims is
 * asserted in debug builds. */
static void unlocked_buddy_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab__buddy_free(z, lab_page_to_pfn(p), 0);
	_exit(0);
}

Test(zone, buddy_lists_without_the_zone_lock_are_a_bug_in_debug_builds)
{
	if (LAB_ASSERT_LEVEL < 1)
		cr_skip_test("LAB_ASSERT is compiled out of release builds");
	int status = run_in_child(unlocked_buddy_child, NULL, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "BUG: labyrinth: assertion failed at ") &&
		  strstr(out, "(lab__buddy_free): zone_lock_held_by_self(z)"), "%s", out);
}

/* A block outside the zone never reaches the free lists, in any build. */
static void foreign_block_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	lab__zone_lock(z);
	lab__buddy_free(z, 64, 0);   /* one past the last pfn */
	_exit(0);
}

Test(zone, a_block_outside_the_zone_is_refused_in_every_build)
{
	int status = run_in_child(foreign_block_child, NULL, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "BUG: labyrinth: assertion failed at ") &&
		  strstr(out, "(lab__buddy_free): order <= LAB_MAX_ORDER"), "%s", out);
}

/* ---- translation across a grown zone ---------------------------------------- */

Test(zone, grown_memory_translates_like_the_first)
{
	struct lab_zone *z = make_zone(1024, 0, 0, 0, LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD);
	struct held h;
	held_init(&h, 2048);
	while (zone_free(z))
		held_push(&h, lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC));
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	cr_assert_not_null(p, "a sleeping caller grows the zone");
	cr_assert_geq(lab_page_to_pfn(p), 1024);
	char *a = lab_page_address(p);
	cr_assert_eq(lab_virt_to_page(a + 3 * lab_page_size() + 17),
		     lab_pfn_to_page(z, lab_page_to_pfn(p) + 3));
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_null(lab_pfn_to_page(z, st.managed));
	cr_assert_null(lab_virt_to_page((char *)lab_page_address(lab_pfn_to_page(z, 0)) +
					st.managed * lab_page_size()),
		       "reserved but not yet managed memory is in no zone");
	lab_free_pages(p, 3);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- the address map: many zones ----------------------------------------- */

/* Every managed page of z translates to its descriptor, the first byte
 * past the managed memory to none. */
static void assert_translates(struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	char *base = lab_page_address(lab_pfn_to_page(z, 0));
	size_t ps = lab_page_size();
	for (size_t pfn = 0; pfn < st.managed; pfn += 7)
		cr_assert_eq(lab_virt_to_page(base + pfn * ps + pfn % ps), lab_pfn_to_page(z, pfn),
			     "zone %s pfn %zu", lab_zone_name(z), pfn);
	cr_assert_eq(lab_virt_to_page(base + st.managed * ps - 1),
		     lab_pfn_to_page(z, st.managed - 1));
	cr_assert_null(lab_virt_to_page(base + st.managed * ps));
	cr_assert_null(lab_virt_to_page(base - 1));
}

Test(zone, many_zones_translate_addresses_through_the_map)
{
	enum { N = LAB_ADDRMAP_WALK + 9 };
	static char names[N][16];
	struct lab_zone *z[N];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "map%d", i);
		struct lab_zone_config cfg = { .name = names[i], .pages = 64 + 37 * (size_t)i,
					       .flags = LAB_ZONE_NO_KSWAPD };
		z[i] = lab_zone_create(&cfg);
		cr_assert_not_null(z[i], "zone %d: %s", i, strerror(errno));
	}
	cr_assert_gt(atomic_load(&lab__registry_used), LAB_ADDRMAP_WALK,
		     "enough zones that the lookup goes through the map");
	cr_assert_null(lab_virt_to_page(names), "memory outside every zone");
	for (int i = 0; i < N; i++) {
		assert_translates(z[i]);
		/* The address API's pair: the free finds the zone from the address. */
		void *a = lab_get_free_pages(z[i], LAB_GFP_KERNEL, 1);
		cr_assert_not_null(a);
		cr_assert_eq(lab_page_zone(lab_virt_to_page(a)), z[i]);
		lab_free_pages_addr(a, 1);
		struct lab_zone_stats st;
		lab_zone_get_stats(z[i], &st);
		cr_assert_eq(st.allocated, 0, "zone %d", i);
	}
	/* Half the zones go: their memory is in no zone; their slots are reused. */
	char *gone[N];
	for (int i = 0; i < N; i += 2) {
		gone[i] = lab_page_address(lab_pfn_to_page(z[i], 0));
		lab_zone_destroy(z[i]);
		z[i] = NULL;
	}
	for (int i = 0; i < N; i++) {
		if (z[i])
			assert_translates(z[i]);
		else
			cr_assert_null(lab_virt_to_page(gone[i]), "zone %d is destroyed", i);
	}
	for (int i = 0; i < N; i += 2) {
		struct lab_zone_config cfg = { .name = names[i], .pages = 512,
					       .flags = LAB_ZONE_NO_KSWAPD };
		z[i] = lab_zone_create(&cfg);
		cr_assert_not_null(z[i]);
	}
	for (int i = 0; i < N; i++) {
		assert_translates(z[i]);
		assert_zone_ok(z[i]);
		lab_zone_destroy(z[i]);
	}
}
