/* test_pcp.c - per-CPU lists: LIFO reuse, batched refill and drain, the
 * one-block caches above the costly order (kept only where two fit), the
 * free count that leaves them out, draining before failing (this CPU's
 * lists, then every CPU's), the lock-mode fallback when rseq is absent, and
 * a CPU beyond the sets taking the locked path, and the high that adapts to
 * the live set (rising under a batch-1024 pattern, falling when idle or
 * short of memory). */
#include "helpers.h"
#include "os/os.h"
#include "page/pcp.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static bool lists_on(void)
{
	return strcmp(lab_pcp_mode_name(), "off") != 0;
}

/* 4096 pages with an explicit batch and capacity, so counts are predictable. */
static struct lab_zone *pcp_zone(size_t batch, size_t high)
{
	struct lab_zone_config cfg = { .name = "pcp", .pages = 4096, .flags = LAB_ZONE_NO_KSWAPD,
				       .wmark_min = 64, .wmark_low = 80, .wmark_high = 96,
				       .pcp_batch = batch, .pcp_high = high };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	return z;
}

/* Keep the test on one CPU: the lists are per CPU. */
static void pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

Test(pcp, a_freed_page_comes_back_first)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 64);
	struct lab_page *a = lab_alloc_page(z, LAB_GFP_ATOMIC);
	struct lab_page *b = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_free_page(a);
	lab_free_page(b);
	cr_assert_eq(lab_alloc_page(z, LAB_GFP_ATOMIC), b, "LIFO: the last freed, cache-hot, first");
	cr_assert_eq(lab_alloc_page(z, LAB_GFP_NOWAIT), a);
	lab_free_page(a);
	lab_free_page(b);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(pcp, refill_and_drain_move_whole_batches)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 32);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_batch, 8);
	cr_assert_eq(st.pcp_high, 32);

	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_refill, 1);
	cr_assert_eq(st.free, 4096 - 8, "a refill takes a batch from the buddy lists");
	cr_assert_eq(st.pcp, 7, "one handed out, the rest on the list");
	cr_assert_eq(st.allocated, 1);
	cr_assert_eq(st.free + st.pcp + st.allocated, st.managed);

	/* Seven more come from the list without touching the zone. */
	struct lab_page *more[40];
	for (int i = 0; i < 7; i++)
		more[i] = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_refill, 1);
	cr_assert_eq(st.pcp_hit, 7);
	cr_assert_eq(st.pcp, 0);
	for (int i = 7; i < 40; i++)
		more[i] = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_refill, 6, "41 allocations, a batch of 8 at a time");

	/* Frees fill the list to its capacity, then a batch drains at a time. */
	lab_free_page(p);
	for (int i = 0; i < 40; i++)
		lab_free_page(more[i]);
	lab_zone_get_stats(z, &st);
	cr_assert_leq(st.pcp, 32);
	cr_assert_geq(st.pcp_drain, 1);
	cr_assert_eq(st.free + st.pcp, 4096);
	cr_assert_eq(st.free % 8, 0, "drains move whole batches");
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * The sets are indexed by the CPU id the kernel reports.  One at or above
 * their number (a CPU outside the possible mask the sets were sized by)
 * must take the locked path, not read and write past the sets (issue 16,
 * item 10).  Here the sets are sized for CPU 0 alone and the thread runs on
 * CPU 1: in rseq mode the buddy lists serve it and the lists stay empty; in
 * lock mode it shares set 0 (the lock-mode index wraps).
 */
Test(pcp, a_cpu_beyond_the_sets_takes_the_locked_path)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	cpu_set_t can;
	cr_assert_eq(sched_getaffinity(0, sizeof(can), &can), 0);
	if (!CPU_ISSET(0, &can) || !CPU_ISSET(1, &can))
		cr_skip_test("needs CPUs 0 and 1");
	lab__os_nr_cpus();
	lab__os_cpu_bound = 1;  /* as if CPU 0 were the only possible one */
	struct lab_zone *z = pcp_zone(8, 64);
	cr_assert_eq(z->nr_pcp, 1, "the sets are sized by the bound");
	bool rseq = !strcmp(lab_pcp_mode_name(), "rseq");

	/* In rseq mode, what lies past the sets (CPU 0's slots, all unused yet)
	 * is made to look like an unlocked set with room: a CPU 1 that indexed
	 * past the sets would use it. */
	static char saved[sizeof(struct pcp_set)];
	static void *decoy[LAB_PCP_ORDERS][64];
	struct pcp_set *past = set_at(z, 1);
	if (rseq) {
		cr_assert_geq(z->pcp_bytes, 2 * sizeof(struct pcp_set));
		memcpy(saved, past, sizeof(saved));
		memset(past, 0, sizeof(*past));
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
			past->list[o].high = 64;
			past->list[o].slots = decoy[o];
		}
	}
	pin_to_cpu(1);
	enum { N = 200 };
	static struct lab_page *held[N];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			held[i] = lab_alloc_pages(z, LAB_GFP_ATOMIC, (unsigned int)(i % 4 == 3));
			cr_assert_not_null(held[i], "allocation %d on CPU 1", i);
		}
		for (int i = 0; i < N; i++)
			lab_free_pages(held[i], (unsigned int)(i % 4 == 3));
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (rseq) {
		cr_assert_eq(st.pcp_hit, 0, "CPU 1 has no set: the buddy lists served it");
		cr_assert_eq(lab__pcp_pages(z), 0, "nothing was pushed on a list");
		for (unsigned int o = 0; o < LAB_PCP_ORDERS; o++) {
			cr_assert_eq(pcp_count(&past->list[o]), 0, "order %u: a set past the last used", o);
			for (int i = 0; i < 64; i++)
				cr_assert_null(decoy[o][i]);
		}
		memcpy(past, saved, sizeof(saved));
	}
	assert_zone_ok(z);

	pin_to_cpu(0);  /* CPU 0's set still works */
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_free_page(p);
	cr_assert_eq(lab_alloc_page(z, LAB_GFP_ATOMIC), p, "served from CPU 0's list");
	lab_free_page(p);
	lab_zone_get_stats(z, &st);
	cr_assert_gt(st.pcp_hit, 0);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(pcp, higher_orders_have_their_own_lists)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 32);
	for (unsigned int order = 1; order <= 3; order++) {
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, order);
		cr_assert_not_null(p);
		cr_assert_eq(lab_page_to_pfn(p) % (1u << order), 0);
		lab_free_pages(p, order);
		cr_assert_eq(lab_alloc_pages(z, LAB_GFP_ATOMIC, order), p, "order %u reuses its list", order);
		lab_free_pages(p, order);
	}
	struct lab_page *big = lab_alloc_pages(z, LAB_GFP_ATOMIC, 4);
	lab_free_pages(big, 4);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_hit, 3);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * Above the costly order a CPU keeps one block per order, the last it freed,
 * where its share of the zone (here the configured capacity, 1024 pages)
 * holds two: orders 4..9 here, not order 10.  The pair then takes no zone
 * lock; the block is counted on the lists, not free, until a drain.
 */
Test(pcp, above_the_costly_order_a_cpu_keeps_one_block)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 1024);
	struct lab_zone_stats st;
	struct lab_page *a = lab_alloc_pages(z, LAB_GFP_ATOMIC, 9);
	cr_assert_not_null(a);
	lab_free_pages(a, 9);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 512, "the order-9 block stays on this CPU's list");
	cr_assert_eq(st.free, 4096 - 512);
	uint64_t hits = st.pcp_hit;
	cr_assert_eq(lab_alloc_pages(z, LAB_GFP_ATOMIC, 9), a, "served from the list");
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_hit, hits + 1);
	cr_assert_eq(st.pcp, 0);
	/* Two live blocks of the order, both freed: the list keeps the last. */
	struct lab_page *b = lab_alloc_pages(z, LAB_GFP_ATOMIC, 9);
	cr_assert_not_null(b);
	cr_assert_neq(b, a);
	lab_free_pages(a, 9);
	lab_free_pages(b, 9);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 512);
	cr_assert_geq(st.pcp_drain, 1, "the full list gave its block back");
	cr_assert_eq(lab_alloc_pages(z, LAB_GFP_ATOMIC, 9), b, "the last freed comes back");
	lab_free_pages(b, 9);
	assert_zone_ok(z);
	/* Order 10: two blocks would not fit in 1024 pages, so none is kept. */
	struct lab_page *c = lab_alloc_pages(z, LAB_GFP_ATOMIC, 10);
	cr_assert_not_null(c);
	lab_free_pages(c, 10);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 512, "only the order-9 block is on a list");
	cr_assert_eq(st.free, 4096 - 512);
	lab_drain_all_pages(z);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 0);
	cr_assert_eq(st.free, 4096);
	cr_assert_eq(st.nr_free[LAB_MAX_ORDER], 4, "every block merged again");
	/* kswapd's round under pressure empties the caches too. */
	lab_free_pages(lab_alloc_pages(z, LAB_GFP_ATOMIC, 7), 7);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 128);
	lab__pcp_decay(z, false);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 128, "kept while memory is plentiful");
	lab__pcp_decay(z, true);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 0, "given back under pressure");
	cr_assert_eq(st.free, 4096);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* A capacity of 64 pages holds two blocks of order 5 but not of order 6:
 * order 6 goes back to the buddy lists at once, where every CPU finds it. */
Test(pcp, a_small_share_keeps_large_blocks_in_the_buddy_lists)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 64);
	struct lab_zone_stats st;
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, 6);
	cr_assert_not_null(p);
	lab_free_pages(p, 6);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 0);
	cr_assert_eq(st.free, 4096);
	p = lab_alloc_pages(z, LAB_GFP_ATOMIC, 5);
	cr_assert_not_null(p);
	lab_free_pages(p, 5);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 32, "order 5 is kept");
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * Two CPUs' pages never share 128 bytes of descriptors (an adjacent pair
 * of cache lines, what Intel's L2 fetches together): each refill cuts its
 * pages from a group of four.  Here the batch is one page: the first
 * allocation takes the first page of a group, the second (on another CPU
 * where the thread may run on two, else on the same one, whose list the
 * batch of one left empty) the first of the next, not its neighbour.
 */
Test(pcp, two_cpus_pages_do_not_share_descriptor_lines)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	cpu_set_t allowed;
	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	int cpus[2] = { -1, -1 };
	for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n++] = c;
	if (cpus[1] < 0)
		cpus[1] = cpus[0];
	pin_to_cpu(cpus[0]);
	struct lab_zone *z = pcp_zone(1, 4);
	struct lab_page *a = lab_alloc_page(z, LAB_GFP_ATOMIC);
	pin_to_cpu(cpus[1]);
	struct lab_page *b = lab_alloc_page(z, LAB_GFP_ATOMIC);
	cr_assert(a && b);
	cr_assert_neq((uintptr_t)a / 128, (uintptr_t)b / 128,
		      "pfns %zu and %zu: descriptors in one 128-byte block",
		      lab_page_to_pfn(a), lab_page_to_pfn(b));
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp, 0, "a batch of one parks nothing");
	lab_free_page(a);
	lab_free_page(b);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* Below min, with pages parked on this CPU's list: an allocation that would
 * fail first returns them to the buddy lists, then succeeds. */
Test(pcp, an_allocation_that_would_fail_drains_the_lists_first)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 64);
	struct held h;
	held_init(&h, 4096);
	/* Park 60 pages on the list. */
	struct lab_page *park[60];
	for (int i = 0; i < 60; i++)
		park[i] = lab_alloc_page(z, LAB_GFP_KERNEL);
	for (int i = 0; i < 60; i++)
		lab_free_page(park[i]);
	/* Take the buddy lists down to the min watermark. */
	struct lab_page *p;
	while (zone_free(z) > 64 && (p = lab_alloc_pages(z, LAB_GFP_NOWAIT | LAB_GFP_MEMALLOC, 0)))
		held_push(&h, p);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_leq(st.free, 64);
	size_t parked = st.pcp;
	cr_assert_gt(parked, 0);
	/* NOWAIT may not go below min: only the drained pages can serve it. */
	p = lab_alloc_page(z, LAB_GFP_NOWAIT);
	cr_assert_not_null(p, "the drain put %zu pages back", parked);
	lab_zone_get_stats(z, &st);
	cr_assert_geq(st.pcp_drain, 1);
	held_push(&h, p);
	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* Pages parked on another CPU's list are drained for a sleeping caller. */
struct parker {
	struct lab_zone *z;
	int n;
};

static void *park_on_cpu1(void *arg)
{
	struct parker *pk = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	struct lab_page *pages[64];
	for (int i = 0; i < pk->n; i++)
		pages[i] = lab_alloc_page(pk->z, LAB_GFP_KERNEL);
	for (int i = 0; i < pk->n; i++)
		lab_free_page(pages[i]);
	return NULL;
}

Test(pcp, a_sleeping_caller_drains_every_cpus_lists)
{
	if (!lists_on() || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("needs per-CPU lists and two CPUs");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 64);
	struct parker pk = { .z = z, .n = 60 };
	pthread_t t;
	pthread_create(&t, NULL, park_on_cpu1, &pk);
	pthread_join(t, NULL);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_gt(st.pcp, 0, "pages parked on CPU 1");
	struct held h;
	held_init(&h, 4096);
	struct lab_page *p;
	while (zone_free(z) > 0 && (p = lab_alloc_pages(z, LAB_GFP_NOWAIT | LAB_GFP_MEMALLOC, 0)))
		held_push(&h, p);
	/* This CPU's list is empty; only CPU 1's pages can serve this. */
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.free, 0);
	p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY);
	cr_assert_not_null(p, "CPU 1's list was drained (mode %s)", lab_pcp_mode_name());
	held_push(&h, p);
	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* glibc 2.35+: the size of the rseq area it registered, 0 when it did not. */
extern const unsigned int __rseq_size __attribute__((weak));

/* Where glibc registered rseq (and the kernel has membarrier's rseq fence),
 * the library must use it; elsewhere this is a counted skip and the test
 * below covers what such a machine gets. */
Test(pcp, rseq_mode_where_glibc_registered_rseq)
{
	if (getenv("LABYRINTH_PCP"))
		cr_skip_test("LABYRINTH_PCP=%s forces the mode (suite lock)",
			     getenv("LABYRINTH_PCP"));
	if (!&__rseq_size || !__rseq_size)
		cr_skip_test("glibc registered no rseq (glibc.pthread.rseq=0, Valgrind, or a "
			     "kernel before 4.18): pcp/lock_mode_without_rseq tests lock mode");
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ))
		cr_skip_test("no membarrier rseq fence (a kernel before 5.10): the library uses "
			     "lock mode, as pcp/lock_mode_without_rseq tests");
	cr_assert_str_eq(lab_pcp_mode_name(), "rseq");
	struct lab_zone *z = pcp_zone(8, 32);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_free_page(p);
	cr_assert_eq(lab_alloc_page(z, LAB_GFP_ATOMIC), p, "served from this CPU's list");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_gt(st.pcp_hit, 0);
	lab_free_page(p);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* Without rseq (glibc.pthread.rseq=0: glibc registers none, as on a kernel
 * older than 4.18) the library finds out by itself and uses lock mode: a
 * fresh process, since glibc registers at start-up. */
Test(pcp, lock_mode_without_rseq)
{
	char cmd[4200], out[4096];
	snprintf(cmd, sizeof(cmd), "GLIBC_TUNABLES=glibc.pthread.rseq=0 %s pcp-probe",
		 test_path("CHILD"));
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, out);
	cr_assert(strstr(out, "rseq registered: no\n"), "%s", out);
	cr_assert(strstr(out, "mode: lock\n"), "%s", out);
	cr_assert(!strstr(out, "pcp_hit: 0\n"), "lock mode still uses the lists: %s", out);
	cr_assert(strstr(out, "free+pcp: 4096 of 4096\n"), "%s", out);
	cr_assert(strstr(out, "check: 0\n"), "%s", out);
}

/*
 * The lists count their hits in the commit word of each pop and their
 * frees as what the words, the refills and the drains leave (docs/PCP.md):
 * a known sequence of allocations and frees of every listed order on one
 * CPU (pairs on the inline fast paths, then rounds that refill and drain)
 * must give exactly the counters a model of the lists gives, in rseq mode
 * where the process has it and in lock mode, each in a fresh process (the
 * mode is chosen once per process).
 */
static void expect_exact_counts(const char *env, const char *mode)
{
	char cmd[4300], out[4096];
	snprintf(cmd, sizeof(cmd), "%s %s pcp-count", env, test_path("CHILD"));
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, out);
	char want[32];
	snprintf(want, sizeof(want), "mode: %s\n", mode);
	cr_assert(strstr(out, want), "wanted %s: %s", mode, out);
	int lines = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long long lib, model;
		char name[32];
		if (sscanf(line, "%31[a-z_0-9]: %llu model %llu", name, &lib, &model) == 3) {
			cr_assert_eq(lib, model, "%s mode: %s is %llu, the model says %llu", mode,
				     name, lib, model);
			cr_assert_gt(model, 0, "%s", name);
			lines++;
		} else if (!strncmp(line, "check:", 6)) {
			cr_assert_str_eq(line, "check: 0", "%s mode", mode);
		}
	}
	cr_assert_eq(lines, 10, "every counter printed");
}

Test(pcp, counters_are_exact_in_rseq_and_lock_mode)
{
	cpu_set_t can;
	cr_assert_eq(sched_getaffinity(0, sizeof(can), &can), 0);
	if (!CPU_ISSET(0, &can))
		cr_skip_test("needs CPU 0");
	expect_exact_counts("LABYRINTH_PCP=lock", "lock");
	if (getenv("LABYRINTH_PCP"))
		return;  /* a suite that forces the mode: the unit suite checks rseq mode */
	if (!&__rseq_size || !__rseq_size)
		cr_skip_test("lock mode checked; glibc registered no rseq, so no rseq mode");
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ))
		cr_skip_test("lock mode checked; no membarrier rseq fence, so no rseq mode");
#if defined(LAB_TSAN)
	cr_skip_test("lock mode checked; a ThreadSanitizer build has no rseq mode");
#endif
	expect_exact_counts("", "rseq");
}

/* __free_pages() of a block someone still references gives its tails back at
 * once: to this CPU's lists, each with its own order. */
Test(pcp, tails_of_a_referenced_block_go_to_the_lists_with_their_order)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 64);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	lab_get_page(p);
	lab_free_pages(p, 3);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.allocated, 1, "the head page stays");
	assert_zone_ok(z);  /* each tail on the list of its order */
	cr_assert_eq(lab_alloc_pages(z, LAB_GFP_ATOMIC, 2), lab_pfn_to_page(z, lab_page_to_pfn(p) + 4),
		     "the order-2 tail is the first order-2 block handed out");
	lab_free_pages(lab_pfn_to_page(z, lab_page_to_pfn(p) + 4), 2);
	lab_put_page(p);
	lab_drain_all_pages(z);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.free, 4096);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- the adaptive high (docs/PCP.md) ------------------------------------ */

/* A zone whose per-CPU high is derived, so adaptive: floor the low
 * watermark over the CPUs, bound an eighth of the zone over the CPUs. */
static const struct lab_zone_config adaptive_cfg = {
	.name = "pcp-adapt", .pages = 16384, .flags = LAB_ZONE_NO_KSWAPD, .wmark_min = 64,
	.wmark_low = 80, .wmark_high = 96, .pcp_batch = 8
};

static struct lab_zone *adaptive_zone(void)
{
	struct lab_zone *z = lab_zone_create(&adaptive_cfg);
	cr_assert_not_null(z);
	return z;
}

/* Zone-lock trips (refills plus drains) of one round: allocate n pages,
 * then free them, as `labyrinth bench` does at batch 1024. */
static uint64_t lock_trips_of_a_round(struct lab_zone *z, struct lab_page **pages, size_t n)
{
	struct lab_zone_stats a, b;
	lab_zone_get_stats(z, &a);
	for (size_t i = 0; i < n; i++) {
		pages[i] = lab_alloc_page(z, LAB_GFP_ATOMIC);
		cr_assert_not_null(pages[i]);
	}
	for (size_t i = 0; i < n; i++)
		lab_free_page(pages[i]);
	lab_zone_get_stats(z, &b);
	return (b.pcp_refill - a.pcp_refill) + (b.pcp_drain - a.pcp_drain);
}

/* Raise this CPU's high by running rounds of a live set of n; returns the
 * trips of the first and of the last round. */
static void raise_high(struct lab_zone *z, size_t n, uint64_t *first, uint64_t *last)
{
	struct lab_page **pages = calloc(n, sizeof(*pages));
	cr_assert_not_null(pages);
	*first = lock_trips_of_a_round(z, pages, n);
	for (int r = 0; r < 8; r++)
		*last = lock_trips_of_a_round(z, pages, n);
	free(pages);
}

/* The live set an adaptive zone's lists can hold once high rose, beyond
 * the fixed sizing's; 0 when this machine has too many CPUs for a margin. */
static size_t live_set(const struct lab_zone_stats *st)
{
	size_t n = st->pcp_high_max > 2 * st->pcp_batch ? st->pcp_high_max - 2 * st->pcp_batch : 0;
	if (n > 1024)
		n = 1024;
	return n > st->pcp_high + 2 * st->pcp_batch ? n : 0;
}

/* On CPU 0, a zone of cfg whose high rose above its floor by rounds of the
 * live set (*n, skipped on a machine without a margin); st as it is then. */
static struct lab_zone *raised_zone(const struct lab_zone_config *cfg, struct lab_zone_stats *st,
				    size_t *n)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = lab_zone_create(cfg);
	cr_assert_not_null(z);
	lab_zone_get_stats(z, st);
	*n = live_set(st);
	if (!*n)
		cr_skip_test("%ld CPUs: no margin for an adaptive high",
			     sysconf(_SC_NPROCESSORS_CONF));
	uint64_t first, last;
	raise_high(z, *n, &first, &last);
	lab_zone_get_stats(z, st);
	cr_assert_gt(st->pcp_high_now, st->pcp_high);
	return z;
}

/*
 * A live set of 1024 pages (the bench's batch 1024) exceeds the fixed
 * sizing's high, so every round refilled and drained batches under the zone
 * lock.  The high rises on refills (the kernel's nr_pcp_alloc), the lists
 * then hold the whole set, and later rounds never take the zone lock.
 */
Test(pcp, high_rises_to_hold_the_live_set)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = adaptive_zone();
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_batch, 8);
	cr_assert_eq(st.pcp_high_now, st.pcp_high, "high starts at its floor");
	size_t n = live_set(&st);
	if (!n)
		cr_skip_test("%ld CPUs: an eighth of the zone per CPU (%zu) leaves no margin",
			     sysconf(_SC_NPROCESSORS_CONF), st.pcp_high_max);
	cr_assert_gt(n, st.pcp_high + st.pcp_batch, "the live set exceeds the fixed sizing");

	uint64_t first, last;
	raise_high(z, n, &first, &last);
	lab_zone_get_stats(z, &st);
	cr_assert_geq(first, n / st.pcp_batch, "the first round refills batch after batch");
	cr_assert_eq(last, 0, "once high rose, a round takes the zone lock not once (%" PRIu64
		     " trips; high %zu, floor %zu, bound %zu)", last, st.pcp_high_now,
		     st.pcp_high, st.pcp_high_max);
	cr_assert_geq(st.pcp_high_now, n, "high holds the live set");
	cr_assert_leq(st.pcp_high_now, st.pcp_high_max);
	cr_assert_eq(st.free + st.pcp, st.managed);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* The same with a fixed high (a configured pcp_high, as the kernel's
 * percpu_pagelist_high_fraction): every round still goes to the zone. */
Test(pcp, a_configured_high_stays_fixed)
{
	if (!lists_on())
		cr_skip_test("per-CPU lists are off");
	pin_to_cpu(0);
	struct lab_zone *z = pcp_zone(8, 64);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_high_max, 64);
	uint64_t first, last;
	raise_high(z, 256, &first, &last);
	lab_zone_get_stats(z, &st);
	cr_assert_gt(last, 0);
	cr_assert_eq(st.pcp_high_now, 64);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * A raised high decays back: by an eighth a step while the CPU is idle (what
 * kswapd does each second, here called directly so that nothing waits on a
 * clock; a CPU whose counters moved since the last step keeps its high), its
 * pages above it drained to the buddy lists; at once to the floor under
 * memory pressure.
 */
Test(pcp, high_falls_back_when_idle_and_under_pressure)
{
	struct lab_zone_stats st;
	size_t n;
	struct lab_zone *z = raised_zone(&adaptive_cfg, &st, &n);
	size_t raised = st.pcp_high_now;
	uint64_t first, last;
	cr_assert_gt(st.pcp, st.pcp_high, "the lists hold more than the floor");

	/* The first tick sees the rounds just run: a CPU at work keeps its high. */
	lab__pcp_decay(z, false);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_high_now, raised, "a busy CPU keeps its high");
	lab__pcp_decay(z, false);
	lab_zone_get_stats(z, &st);
	cr_assert_lt(st.pcp_high_now, raised, "an idle step lowers high");
	cr_assert_geq(st.pcp_high_now, raised - raised / 8 - 1, "by an eighth");
	cr_assert_leq(st.pcp, st.pcp_high_now, "and drains what lies above it");
	for (int i = 0; i < 64 && st.pcp_high_now > st.pcp_high; i++) {
		lab__pcp_decay(z, false);
		lab_zone_get_stats(z, &st);
	}
	cr_assert_eq(st.pcp_high_now, st.pcp_high, "idle, high returns to its floor");
	cr_assert_leq(st.pcp, st.pcp_high);
	assert_zone_ok(z);

	/* Raised again, then pressure: the floor at once. */
	raise_high(z, n, &first, &last);
	lab_zone_get_stats(z, &st);
	cr_assert_gt(st.pcp_high_now, st.pcp_high);
	lab__pcp_decay(z, true);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.pcp_high_now, st.pcp_high);
	cr_assert_leq(st.pcp, st.pcp_high);
	cr_assert_eq(st.free + st.pcp, st.managed);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * Below the high watermark a raised high shrinks on the slow paths by
 * itself (the kernel's ZONE_BELOW_HIGH), and a sleeping caller still finds
 * every page: the lists drain before an allocation fails.
 */
Test(pcp, below_the_high_watermark_high_shrinks_and_nothing_is_stranded)
{
	struct lab_zone_stats st;
	size_t n;
	struct lab_zone *z = raised_zone(&adaptive_cfg, &st, &n);
	size_t raised = st.pcp_high_now;

	/* Take the zone below its high watermark, then return pages: each full
	 * list finds the zone short and lowers high instead of raising it. */
	struct held h;
	held_init(&h, 16384);
	struct lab_page *p;
	while ((p = lab_alloc_pages(z, LAB_GFP_NOWAIT | LAB_GFP_MEMALLOC, 0)))
		held_push(&h, p);
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.free + st.pcp, 0, "every page handed out");
	p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY);
	cr_assert_null(p);
	held_free_all(&h);
	lab_zone_get_stats(z, &st);
	cr_assert_lt(st.pcp_high_now, raised, "the slow paths below the high watermark lowered high");
	cr_assert_eq(st.free + st.pcp, st.managed);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* The same decay from kswapd itself, which wakes once a second while some
 * high is raised: the wait is a bound, not a measurement (20 s at most). */
Test(pcp, kswapd_decays_a_raised_high)
{
	struct lab_zone_config cfg = { .name = "pcp-kswapd", .pages = 16384, .wmark_min = 64,
				       .wmark_low = 80, .wmark_high = 96, .pcp_batch = 8 };
	struct lab_zone_stats st;
	size_t n;
	struct lab_zone *z = raised_zone(&cfg, &st, &n);
	size_t raised = st.pcp_high_now;
	for (int i = 0; i < 200 && st.pcp_high_now >= raised; i++) {
		usleep(100 * 1000);
		lab_zone_get_stats(z, &st);
	}
	cr_assert_lt(st.pcp_high_now, raised, "kswapd lowered the idle CPU's high");
	cr_assert_leq(st.pcp, (size_t)st.pcp_high_now * (size_t)sysconf(_SC_NPROCESSORS_CONF));
	assert_zone_ok(z);
	lab_zone_destroy(z);
}
