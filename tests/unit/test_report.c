/* test_report.c - what the allocator says when it is misused or fails:
 * "BUG: Bad page state" reports with their reasons (and that the page is
 * leaked, never reused), the rate limit, EINVAL for bad arguments, the
 * allocation-failure report and NOWARN, and gfp names.  Reports are read
 * from a forked child's stderr. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16];

static void assert_child_ok(int status)
{
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %#x):\n%s",
		  status, out);
}

static size_t count_lines(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- Bad page reports --------------------------------------------------- */

struct misuse {
	const char *reason;     /* expected after "page dumped because: " */
	void (*run)(struct lab_zone *z);
	int counted;            /* Bad page reports the zone counts */
	size_t leaked;          /* pages leaked */
};

static void double_free(struct lab_zone *z)
{
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_free_page(p);
	lab_free_page(p);
}

static void wrong_order(struct lab_zone *z)
{
	lab_free_pages(lab_alloc_pages(z, LAB_GFP_KERNEL, 2), 1);
}

static void order_too_big(struct lab_zone *z)
{
	lab_free_pages(lab_alloc_pages(z, LAB_GFP_KERNEL, 1), LAB_MAX_ORDER + 1);
}

static void tail_page(struct lab_zone *z)
{
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	lab_free_page(lab_pfn_to_page(z, lab_page_to_pfn(p) + 5));
}

static void stack_descriptor(struct lab_zone *z)
{
	(void)z;
	int local = 0;
	lab_free_page((struct lab_page *)(void *)&local);
}

static void stack_address(struct lab_zone *z)
{
	(void)z;
	int local = 0;
	lab_free_pages_addr(&local, 0);
}

static void unaligned_address(struct lab_zone *z)
{
	lab_free_pages_addr((char *)lab_get_free_pages(z, LAB_GFP_KERNEL, 0) + 100, 0);
}

static void already_bad(struct lab_zone *z)
{
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	lab_free_pages(p, 0);   /* reported and leaked */
	lab_free_pages(p, 1);   /* the leaked block again */
}

static const struct misuse misuses[] = {
	{ "double free: the block is already free", double_free, 1, 0 },
	{ "freed with a different order than allocated", wrong_order, 1, 4 },
	{ "freed with an order above LAB_MAX_ORDER", order_too_big, 1, 2 },
	{ "not the first page of an allocated block", tail_page, 1, 0 },
	{ "lab_free_pages: not a page descriptor of any zone", stack_descriptor, 0, 0 },
	{ "lab_free_pages_addr: address in no zone", stack_address, 0, 0 },
	{ "lab_free_pages_addr: address not page aligned", unaligned_address, 1, 0 },
	{ "free of a page already reported bad", already_bad, 2, 2 },
};

static void misuse_child(void *arg)
{
	const struct misuse *m = arg;
	prctl(PR_SET_NAME, "labtest", 0, 0, 0);
	/* No per-CPU lists: the freed head must be seen on the buddy lists. */
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "rep", .pages = 1024,
		.flags = LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP });
	CHILD_CHECK(z);
	m->run(z);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK(st.bad_page == (uint64_t)m->counted);
	CHILD_CHECK(st.leaked == m->leaked);
	CHILD_CHECK(lab_zone_check(z) == 0);
	/* A leaked block is never handed out again: take everything else. */
	size_t got = 0;
	while (lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN))
		got++;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK(st.free == 0 && st.allocated == 1024);
	CHILD_CHECK(st.leaked == m->leaked);
	fprintf(stderr, "took %zu\n", got);
}

Test(report, every_misuse_is_reported_with_its_reason)
{
	for (size_t i = 0; i < sizeof(misuses) / sizeof(misuses[0]); i++) {
		const struct misuse *m = &misuses[i];
		int status = run_in_child(misuse_child, (void *)(uintptr_t)m, out, sizeof(out));
		assert_child_ok(status);
		cr_assert(strstr(out, "BUG: Bad page state in process labtest "), "%s:\n%s", m->reason, out);
		char reason[160];
		snprintf(reason, sizeof(reason), "page dumped because: %s", m->reason);
		cr_assert(strstr(out, reason), "expected \"%s\" in:\n%s", reason, out);
	}
}

static void report_fields_child(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "labtest", 0, 0, 0);
	/* No per-CPU lists: the freed head must be seen on the buddy lists. */
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "rep", .pages = 1024,
		.flags = LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP });
	struct lab_page *p = lab_pfn_to_page(z, 0x2a);
	/* pfn 0x2a is inside a free block: its descriptor heads nothing. */
	lab_free_page(p);
	struct lab_page *q = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	lab_free_pages(q, 2);
	lab_free_pages(q, 2);
	fprintf(stderr, "pfn of q: %05zx\n", lab_page_to_pfn(q));
}

/* The kernel's format: process and pfn, then the descriptor, then why. */
Test(report, bad_page_report_names_process_pfn_flags_and_reason)
{
	assert_child_ok(run_in_child(report_fields_child, NULL, out, sizeof(out)));
	cr_assert(strstr(out, "BUG: Bad page state in process labtest  pfn:0002a\n"), "%s", out);
	cr_assert(strstr(out, "zone:rep refcount:0 order:"), "%s", out);
	const char *pfn_line = strstr(out, "pfn of q: ");
	cr_assert_not_null(pfn_line);
	char want[64];
	snprintf(want, sizeof(want), "pfn:%.5s\n", pfn_line + strlen("pfn of q: "));
	const char *second = strstr(out, want);
	cr_assert_not_null(second, "no report for %s in:\n%s", want, out);
	cr_assert(strstr(second, "flags: 0x4(buddy)\npage dumped because: double free"),
		  "the freed head shows PG_buddy:\n%s", out);
}

static void flood_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "rep", .pages = 256,
		.flags = LAB_ZONE_NO_KSWAPD });
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_free_page(p);
	for (int i = 0; i < 100; i++)
		lab_free_page(p);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK(st.bad_page == 100);
	CHILD_CHECK(lab_zone_check(z) == 0);
}

/* Like the kernel's bad_page(): a burst of 60, then silence; all counted. */
Test(report, reports_are_rate_limited_but_all_counted)
{
	assert_child_ok(run_in_child(flood_child, NULL, out, sizeof(out)));
	cr_assert_eq(count_lines(out, "BUG: Bad page state in process"), 60, "%s", out);
}

/* What the limit held back is said, in one line: at exit when nothing came
 * after, or before the first report of the next interval. */
Test(report, suppressed_reports_are_counted_in_one_line)
{
	static char got[1 << 17];
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s flood", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, got, sizeof(got)), 0, "%.4000s", got);
	cr_assert_eq(count_lines(got, "BUG: Bad page state in process"), 60, "%s", got);
	const char *tail = strstr(got, "-- exit\n");
	cr_assert_not_null(tail, "%s", got);
	cr_assert_str_eq(tail, "-- exit\nBUG: Bad page state: 40 messages suppressed\n",
			 "the count, at exit, after the last report");

	snprintf(cmd, sizeof(cmd), "%s flood reopen", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, got, sizeof(got)), 0, "%.4000s", got);
	cr_assert_eq(count_lines(got, "BUG: Bad page state in process"), 61, "%s", got);
	tail = strstr(got, "-- interval over\n");
	cr_assert_not_null(tail, "%s", got);
	const char *line = "-- interval over\nBUG: Bad page state: 40 messages suppressed\n"
			   "BUG: Bad page state in process";
	cr_assert(!strncmp(tail, line, strlen(line)), "the count, then the next report:\n%s", tail);
	cr_assert_eq(count_of(got, "messages suppressed"), 1, "shown once, not again at exit:\n%s",
		     tail);
}

/* ---- invalid arguments --------------------------------------------------- */

Test(report, invalid_arguments_give_einval_and_are_counted)
{
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	errno = 0;
	cr_assert_null(lab_alloc_pages(NULL, LAB_GFP_KERNEL, 0));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_get_free_pages(NULL, LAB_GFP_ATOMIC, 0));
	cr_assert_eq(errno, EINVAL);
	const struct { lab_gfp_t gfp; unsigned order; } bad[] = {
		{ LAB_GFP_KERNEL, LAB_MAX_ORDER + 1 }, { LAB_GFP_KERNEL, 255 },
		{ LAB_GFP_KERNEL | 0x800, 0 }, { LAB_GFP_ATOMIC | 0x80000000u, 0 },
		{ LAB_GFP_ATOMIC | LAB_GFP_NOFAIL, 0 }, { LAB_GFP_NOWAIT | LAB_GFP_NOFAIL, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_null(lab_alloc_pages(z, bad[i].gfp, bad[i].order), "case %zu", i);
		cr_assert_eq(errno, EINVAL, "case %zu", i);
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.alloc_einval, 6);
	cr_assert_eq(st.alloc_fail, 0, "EINVAL is not an allocation failure");
	cr_assert_eq(st.free, 256, "nothing was taken");
	/* NULL frees are no-ops, as free(NULL). */
	lab_free_pages(NULL, 0);
	lab_free_pages_addr(NULL, 3);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

static void nofail_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "rep", .pages = 256,
		.flags = LAB_ZONE_NO_KSWAPD });
	for (int i = 0; i < 3; i++)
		CHILD_CHECK(!lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOFAIL));
}

Test(report, nofail_without_direct_reclaim_is_reported_once)
{
	assert_child_ok(run_in_child(nofail_child, NULL, out, sizeof(out)));
	cr_assert_eq(count_lines(out, "NOFAIL without DIRECT_RECLAIM is invalid"), 1, "%s", out);
}

/* ---- allocation failures --------------------------------------------------- */

static void failure_child(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "labtest", 0, 0, 0);
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "rep", .pages = 256,
		.flags = LAB_ZONE_NO_KSWAPD, .wmark_min = 8, .wmark_low = 10, .wmark_high = 12 });
	while (lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN))
		;
	CHILD_CHECK(!lab_alloc_page(z, LAB_GFP_NOWAIT));              /* NOWAIT has NOWARN */
	CHILD_CHECK(!lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN));
	fprintf(stderr, "-- now one that warns\n");
	errno = 0;
	CHILD_CHECK(!lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_ZERO, 2));
	CHILD_CHECK(errno == ENOMEM);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	/* The MEMALLOC that found the zone empty failed too. */
	CHILD_CHECK(st.alloc_fail == 4 && st.fail_atomic == 3 && st.fail_nowait == 1);
}

/* warn_alloc(): the mode decoded and the zone's state, unless NOWARN. */
Test(report, allocation_failure_is_reported_unless_nowarn)
{
	assert_child_ok(run_in_child(failure_child, NULL, out, sizeof(out)));
	const char *warn = strstr(out, "-- now one that warns\n");
	cr_assert_not_null(warn, "%s", out);
	cr_assert(strstr(out, "page allocation failure") > warn, "NOWARN callers were reported:\n%s", out);
	cr_assert(strstr(warn, "labyrinth: labtest: page allocation failure: order:2, "
			       "mode:0x203(GFP_ATOMIC|ZERO), zone:rep free:0 min:8 low:10 high:12"),
		  "%s", out);
}

/* ---- gfp names -------------------------------------------------------------- */

Test(report, gfp_names_like_the_kernel)
{
	char buf[160];
	const struct { lab_gfp_t gfp; const char *name; } cases[] = {
		{ 0, "0" },
		{ LAB_GFP_KERNEL, "GFP_KERNEL" },
		{ LAB_GFP_ATOMIC, "GFP_ATOMIC" },
		{ LAB_GFP_NOWAIT, "GFP_NOWAIT" },
		{ LAB_GFP_KERNEL | LAB_GFP_ZERO | LAB_GFP_NOFAIL, "GFP_KERNEL|ZERO|NOFAIL" },
		{ LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC, "GFP_ATOMIC|MEMALLOC" },
		{ LAB_GFP_HIGH | LAB_GFP_DIRECT_RECLAIM, "HIGH|DIRECT_RECLAIM" },
		{ LAB_GFP_COMP | LAB_GFP_EXCLUSIVE | LAB_GFP_NORETRY | LAB_GFP_RETRY_MAYFAIL,
		  "NORETRY|RETRY_MAYFAIL|COMP|EXCLUSIVE" },
		{ LAB_GFP_NOWARN | 0x800 | 0x80000000u, "NOWARN|0x800|0x80000000" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_str_eq(lab_gfp_name(cases[i].gfp, buf, sizeof(buf)), cases[i].name);
	/* Short buffers: a NUL-terminated prefix; length 0: untouched. */
	cr_assert_str_eq(lab_gfp_name(LAB_GFP_KERNEL | LAB_GFP_ZERO, buf, 8), "GFP_KER");
	cr_assert_str_eq(lab_gfp_name(LAB_GFP_KERNEL | LAB_GFP_ZERO, buf, 13), "GFP_KERNEL|Z");
	buf[0] = 'x';
	lab_gfp_name(LAB_GFP_KERNEL, buf, 0);
	cr_assert_eq(buf[0], 'x');
}

/* ---- LABYRINTH_* variables: a bad value is refused the same way ---------- */

struct bad_env {
	const char *var, *value;
	const char *line;   /* the one line on stderr */
};

static const struct bad_env bad_envs[] = {
	{ "LABYRINTH_PCP", "fast", "labyrinth: LABYRINTH_PCP: bad value 'fast': expected lock or "
	  "off; the per-CPU lists keep their default mode (rseq where the kernel has it, else "
	  "lock)\n" },
	{ "LABYRINTH_POISON", "yes", "labyrinth: LABYRINTH_POISON: bad value 'yes': expected 0 or "
	  "1; poisoning stays off\n" },
	{ "LABYRINTH_PAGE_OWNER", "on", "labyrinth: LABYRINTH_PAGE_OWNER: bad value 'on': expected "
	  "0, 1 or exit; page owner stays off\n" },
	{ "LABYRINTH_EXPORT", "true", "labyrinth: LABYRINTH_EXPORT: bad value 'true': expected 0 "
	  "or 1; the export stays off\n" },
	{ "LABYRINTH_FAIL_PAGE_ALLOC", "probability=50,times=lots", "labyrinth: "
	  "LABYRINTH_FAIL_PAGE_ALLOC: bad value 'lots' for key 'times': expected a count >= 0, or "
	  "-1 for no limit; fault injection stays off\n" },
	{ "LABYRINTH_DEBUG", "banana", "labyrinth: LABYRINTH_DEBUG: bad value 'banana': expected a "
	  "comma-separated list of 1, on, yes, all, atomic_sleep (the atomic-sleep check on) or 0, "
	  "off, no, none, -atomic_sleep (off); the atomic-sleep check stays " },
	{ "LABYRINTH_DEBUG", "on,banana", "labyrinth: LABYRINTH_DEBUG: bad value 'on,banana': "
	  "expected a comma-separated list of " },
};

#define ALL_VARS "-u LABYRINTH_PCP -u LABYRINTH_POISON -u LABYRINTH_PAGE_OWNER " \
	"-u LABYRINTH_EXPORT -u LABYRINTH_FAIL_PAGE_ALLOC -u LABYRINTH_DEBUG"

/* The child's settings with no variable set, then with one bad value: the
 * same settings (each feature at its default), and exactly one line more,
 * printed at load time, before anything the program prints. */
Test(report, every_labyrinth_variable_refuses_a_bad_value_and_keeps_the_default)
{
	hold_export_lock();  /* LABYRINTH_EXPORT=1 below sweeps stale files */
	char want[4096], got[8192], cmd[1024];
	snprintf(cmd, sizeof(cmd), "env " ALL_VARS " %s settings", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, want, sizeof(want)), 0, "%s", want);
	cr_assert(strstr(want, "LABYRINTH_POISON: off\n") &&
		  strstr(want, "LABYRINTH_EXPORT: off\n"), "%s", want);
	for (size_t i = 0; i < sizeof(bad_envs) / sizeof(bad_envs[0]); i++) {
		const struct bad_env *b = &bad_envs[i];
		snprintf(cmd, sizeof(cmd), "env " ALL_VARS " %s='%s' %s settings", b->var, b->value,
			 test_path("CHILD"));
		cr_assert_eq(run_shell(cmd, got, sizeof(got)), 0, "%s=%s: %s", b->var, b->value,
			     got);
		cr_assert(!strncmp(got, b->line, strlen(b->line)), "%s=%s: expected\n%s\ngot\n%s",
			  b->var, b->value, b->line, got);
		const char *rest = strchr(got, '\n') + 1;
		cr_assert_str_eq(rest, want, "%s=%s changed a setting:\n%s", b->var, b->value, got);
	}
	/* And good values do take effect (the test sees what it claims to). */
	snprintf(cmd, sizeof(cmd), "env " ALL_VARS " LABYRINTH_PCP=off LABYRINTH_POISON=1 "
		 "LABYRINTH_PAGE_OWNER=1 LABYRINTH_EXPORT=1 "
		 "LABYRINTH_FAIL_PAGE_ALLOC=probability=0 LABYRINTH_DEBUG=on %s settings",
		 test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, got, sizeof(got)), 0, "%s", got);
	cr_assert_str_eq(got, "LABYRINTH_PCP: off\nLABYRINTH_POISON: on\nLABYRINTH_PAGE_OWNER: on\n"
			      "LABYRINTH_EXPORT: on\nLABYRINTH_FAIL_PAGE_ALLOC: probability 0\n"
			      "LABYRINTH_DEBUG: atomic-sleep check on\n");
}
