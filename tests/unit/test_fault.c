/* test_fault.c - fault injection: each knob of fail_page_alloc against the
 * kernel's order of checks (min_order, NOFAIL, ignore_gfp_wait, then
 * fail-nth, probability == 0, times == 0, space, interval, probability),
 * the parser and LABYRINTH_FAIL_PAGE_ALLOC read at start-up by a child.
 * Criterion runs each test in its own process, so settings do not leak. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct lab_zone *z;

static void setup(void)
{
	z = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
}

static void teardown(void)
{
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

TestSuite(fault, .init = setup, .fini = teardown);

/* Does one allocation succeed?  A failure must be ENOMEM. */
static bool ok(lab_gfp_t gfp, unsigned int order)
{
	struct lab_page *p = lab_alloc_pages(z, gfp | LAB_GFP_NOWARN, order);
	if (!p) {
		cr_assert_eq(errno, ENOMEM);
		return false;
	}
	lab_free_pages(p, order);
	return true;
}

/* Everything fails where eligible; quiet. */
static struct lab_fault_attr always(void)
{
	return (struct lab_fault_attr){ .probability = 100, .interval = 1, .times = -1,
					.verbose = 0, .ignore_gfp_wait = false, .min_order = 0 };
}

static void set(struct lab_fault_attr a)
{
	cr_assert_eq(lab_fault_set(&a), 0);
}

static uint64_t injected(void)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st.fail_injected;
}

Test(fault, defaults_are_the_kernels_and_fail_nothing)
{
	struct lab_fault_attr a;
	lab_fault_get(&a);
	cr_assert_eq(a.probability, 0);
	cr_assert_eq(a.interval, 1);
	cr_assert_eq(a.times, 1);
	cr_assert_eq(a.space, 0);
	cr_assert_eq(a.verbose, 2);
	cr_assert(a.ignore_gfp_wait);
	cr_assert_eq(a.min_order, 1);
	for (unsigned int o = 0; o < 4; o++)
		cr_assert(ok(LAB_GFP_ATOMIC, o));
	cr_assert_eq(injected(), 0);
}

Test(fault, probability_100_fails_every_eligible_call_and_counts_apart)
{
	set(always());
	size_t before = zone_free(z);
	cr_assert_not(ok(LAB_GFP_ATOMIC, 0));
	cr_assert_not(ok(LAB_GFP_NOWAIT, 3));
	cr_assert_not(ok(LAB_GFP_KERNEL, 0));
	cr_assert_eq(zone_free(z), before, "an injected failure takes nothing");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.fail_injected, 3);
	cr_assert_eq(st.alloc_fail, 0, "injected failures are not real failures");
	cr_assert_eq(st.fail_atomic + st.fail_nowait + st.fail_sleeping, 0);
	cr_assert_eq(st.alloc_success, 0);
}

Test(fault, probability_0_fails_nothing_even_with_times_unlimited)
{
	struct lab_fault_attr a = always();
	a.probability = 0;
	set(a);
	for (int i = 0; i < 100; i++)
		cr_assert(ok(LAB_GFP_ATOMIC, (unsigned int)i % 4));
	cr_assert_eq(injected(), 0);
}

Test(fault, bad_arguments_are_still_einval)
{
	set(always());
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_ATOMIC, LAB_MAX_ORDER + 1));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(injected(), 0, "validation comes before injection");
}

Test(fault, nofail_is_never_failed)
{
	set(always());
	for (int i = 0; i < 20; i++)
		cr_assert(ok(LAB_GFP_KERNEL | LAB_GFP_NOFAIL, (unsigned int)i % 3));
	lab_fail_nth_set(1);
	cr_assert(ok(LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 0), "not even by fail-nth");
	cr_assert_eq(lab_fail_nth_get(), 1, "and the call does not count");
	cr_assert_eq(injected(), 0);
}

Test(fault, times_limits_the_number_of_failures)
{
	struct lab_fault_attr a = always();
	a.times = 3;
	set(a);
	for (int i = 0; i < 3; i++)
		cr_assert_not(ok(LAB_GFP_ATOMIC, 0), "failure %d", i);
	for (int i = 0; i < 10; i++)
		cr_assert(ok(LAB_GFP_ATOMIC, 0));
	lab_fault_get(&a);
	cr_assert_eq(a.times, 0);
	cr_assert_eq(injected(), 3);
}

Test(fault, interval_fails_every_nth_eligible_call)
{
	struct lab_fault_attr a = always();
	a.interval = 3;
	set(a);
	for (int call = 1; call <= 12; call++)
		cr_assert_eq(ok(LAB_GFP_ATOMIC, 0), call % 3 != 0, "call %d", call);
	/* Ineligible calls (sleeping, with ignore_gfp_wait) do not advance the count. */
	a.ignore_gfp_wait = true;
	set(a);
	for (int call = 1; call <= 6; call++) {
		cr_assert(ok(LAB_GFP_KERNEL, 0));
		cr_assert_eq(ok(LAB_GFP_ATOMIC, 0), call % 3 != 0, "call %d", call);
	}
}

Test(fault, min_order_spares_smaller_orders)
{
	struct lab_fault_attr a = always();
	a.min_order = 1;  /* the default */
	set(a);
	cr_assert(ok(LAB_GFP_ATOMIC, 0));
	cr_assert_not(ok(LAB_GFP_ATOMIC, 1));
	a.min_order = 3;
	set(a);
	cr_assert(ok(LAB_GFP_ATOMIC, 2));
	cr_assert_not(ok(LAB_GFP_ATOMIC, 3));
	cr_assert_not(ok(LAB_GFP_ATOMIC, LAB_MAX_ORDER));
}

Test(fault, ignore_gfp_wait_spares_sleeping_callers)
{
	struct lab_fault_attr a = always();
	a.ignore_gfp_wait = true;
	set(a);
	cr_assert(ok(LAB_GFP_KERNEL, 0));
	cr_assert(ok(LAB_GFP_KERNEL | LAB_GFP_HIGH, 2));
	cr_assert_not(ok(LAB_GFP_ATOMIC, 0));
	cr_assert_not(ok(LAB_GFP_NOWAIT, 0));
	a.ignore_gfp_wait = false;
	set(a);
	cr_assert_not(ok(LAB_GFP_KERNEL, 0));
}

/* space: eligible calls pass while space > size, each subtracting its size. */
Test(fault, space_lets_pages_through_before_failing)
{
	struct lab_fault_attr a = always();
	a.space = 5;
	set(a);
	for (int i = 0; i < 4; i++)  /* 5 > 1, 4 > 1, 3 > 1, 2 > 1 */
		cr_assert(ok(LAB_GFP_ATOMIC, 0), "call %d", i);
	cr_assert_not(ok(LAB_GFP_ATOMIC, 0));  /* 1 > 1 is false */
	lab_fault_get(&a);
	cr_assert_eq(a.space, 1);

	a = always();
	a.space = 5;
	set(a);
	cr_assert(ok(LAB_GFP_ATOMIC, 1));      /* 5 > 2 -> 3 */
	cr_assert(ok(LAB_GFP_ATOMIC, 1));      /* 3 > 2 -> 1 */
	cr_assert_not(ok(LAB_GFP_ATOMIC, 1));
}

/* space is consulted before interval: the interval count starts after it. */
Test(fault, space_is_checked_before_interval)
{
	struct lab_fault_attr a = always();
	a.space = 3;
	a.interval = 2;
	set(a);
	bool expect[] = { true, true, true, false, true, false, true, false };
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		cr_assert_eq(ok(LAB_GFP_ATOMIC, 0), expect[i], "call %zu", i + 1);
}

/* times == 0 stops everything before space is consumed. */
Test(fault, times_zero_is_checked_before_space)
{
	struct lab_fault_attr a = always();
	a.times = 0;
	a.space = 10;
	set(a);
	for (int i = 0; i < 20; i++)
		cr_assert(ok(LAB_GFP_ATOMIC, 0));
	lab_fault_get(&a);
	cr_assert_eq(a.space, 10, "space untouched");
}

/* times counts failures only: the interval still paces them. */
Test(fault, times_and_interval_together)
{
	struct lab_fault_attr a = always();
	a.times = 2;
	a.interval = 2;
	set(a);
	bool expect[] = { true, false, true, false, true, true, true, true };
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		cr_assert_eq(ok(LAB_GFP_ATOMIC, 0), expect[i], "call %zu", i + 1);
}

static void *allocate_five(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++)
		if (!ok(LAB_GFP_ATOMIC, 1))
			return (void *)1;
	return NULL;
}

/* fail-nth comes first and works with probability 0; per thread. */
Test(fault, fail_nth_fails_exactly_the_nth_eligible_call_of_this_thread)
{
	cr_assert_eq(lab_fail_nth_get(), 0);
	lab_fail_nth_set(3);
	cr_assert_eq(lab_fail_nth_get(), 3);
	pthread_t t;
	void *other;
	pthread_create(&t, NULL, allocate_five, NULL);
	pthread_join(t, &other);
	cr_assert_null(other, "another thread is not affected");

	cr_assert(ok(LAB_GFP_ATOMIC, 0), "order 0 is below min_order 1: not counted");
	cr_assert(ok(LAB_GFP_KERNEL, 2), "ignore_gfp_wait: not counted");
	cr_assert_eq(lab_fail_nth_get(), 3);
	cr_assert(ok(LAB_GFP_ATOMIC, 1));
	cr_assert_eq(lab_fail_nth_get(), 2);
	cr_assert(ok(LAB_GFP_ATOMIC, 1));
	cr_assert_eq(lab_fail_nth_get(), 1);
	cr_assert_not(ok(LAB_GFP_ATOMIC, 1), "the third eligible call fails");
	cr_assert_eq(lab_fail_nth_get(), 0);
	for (int i = 0; i < 10; i++)
		cr_assert(ok(LAB_GFP_ATOMIC, 1), "disarmed afterwards");
	cr_assert_eq(injected(), 1);
	struct lab_fault_attr a;
	lab_fault_get(&a);
	cr_assert_eq(a.times, 0, "a fail-nth failure uses up one of times (default 1)");
}

Test(fault, set_rejects_bad_values)
{
	struct lab_fault_attr good = always(), a;
	a = good; a.probability = 101;
	cr_assert_eq(lab_fault_set(&a), -EINVAL);
	a = good; a.times = -2;
	cr_assert_eq(lab_fault_set(&a), -EINVAL);
	a = good; a.space = -1;
	cr_assert_eq(lab_fault_set(&a), -EINVAL);
	a = good; a.verbose = 3;
	cr_assert_eq(lab_fault_set(&a), -EINVAL);
	a = good; a.min_order = LAB_MAX_ORDER + 2;
	cr_assert_eq(lab_fault_set(&a), -EINVAL);
	cr_assert_eq(lab_fault_set(NULL), -EINVAL);
	lab_fault_get(&a);
	cr_assert_eq(a.probability, 0, "nothing applied");
}

Test(fault, configure_parses_over_the_defaults)
{
	char err[200];
	cr_assert_eq(lab_fault_configure("probability=10,interval=1,times=-1,min_order=0,"
					 "ignore_gfp_wait=0", err, sizeof(err)), 0, "%s", err);
	struct lab_fault_attr a;
	lab_fault_get(&a);
	cr_assert_eq(a.probability, 10);
	cr_assert_eq(a.times, -1);
	cr_assert_eq(a.min_order, 0);
	cr_assert_not(a.ignore_gfp_wait);
	cr_assert_eq(a.verbose, 2, "unnamed keys take the defaults");
	cr_assert_eq(lab_fault_configure("space=7,verbose=0,ignore-gfp-wait=1,min-order=2", err,
					 sizeof(err)), 0, "%s", err);
	lab_fault_get(&a);
	cr_assert_eq(a.space, 7);
	cr_assert_eq(a.verbose, 0);
	cr_assert(a.ignore_gfp_wait);
	cr_assert_eq(a.min_order, 2);
	cr_assert_eq(a.probability, 0, "back to the default");
}

Test(fault, configure_names_the_bad_key_and_changes_nothing)
{
	char err[200];
	cr_assert_eq(lab_fault_configure("probability=100,times=-1", err, sizeof(err)), 0);
	struct { const char *spec, *says; } bad[] = {
		{ "probability=abc", "bad value 'abc' for key 'probability'" },
		{ "probability=101", "bad value '101' for key 'probability'" },
		{ "times=-5", "bad value '-5' for key 'times'" },
		{ "interval=", "bad value '' for key 'interval'" },
		{ "verbose=9", "bad value '9' for key 'verbose'" },
		{ "min_order=12", "bad value '12' for key 'min_order'" },
		{ "ignore_gfp_wait=yes", "bad value 'yes' for key 'ignore_gfp_wait'" },
		{ "probablity=10", "unknown key 'probablity'" },
		{ "probability", "'probability' is not key=value" },
		{ "times=1,,space=2", "empty setting" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(lab_fault_configure(bad[i].spec, err, sizeof(err)), -EINVAL, "%s",
			     bad[i].spec);
		cr_assert(strstr(err, bad[i].says), "'%s' gave '%s'", bad[i].spec, err);
	}
	struct lab_fault_attr a;
	lab_fault_get(&a);
	cr_assert_eq(a.probability, 100, "the earlier settings stay");
	cr_assert_eq(a.times, -1);
}

/* Public, so the stack dump can name it. */
void fail_verbosely(void *arg);
void fail_verbosely(void *arg)
{
	unsigned int verbose = (unsigned int)(uintptr_t)arg;
	struct lab_fault_attr a = always();
	a.verbose = verbose;
	lab_fault_set(&a);
	lab_alloc_pages(z, LAB_GFP_ATOMIC, 0);
	lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, 0);  /* never prints */
}

Test(fault, verbose_levels)
{
	char out[16384];
	run_in_child(fail_verbosely, (void *)(uintptr_t)0, out, sizeof(out));
	cr_assert_eq(strstr(out, "FAULT_INJECTION"), NULL, "verbose=0 is silent: %s", out);
	run_in_child(fail_verbosely, (void *)(uintptr_t)1, out, sizeof(out));
	cr_assert_eq(count_of(out, "FAULT_INJECTION: forcing a failure.\n"
				   "name fail_page_alloc, interval 1, probability 100, space 0, "
				   "times -1\n"), 1, "%s", out);
	cr_assert_eq(strstr(out, "Call Trace:"), NULL, "%s", out);
	run_in_child(fail_verbosely, (void *)(uintptr_t)2, out, sizeof(out));
	cr_assert_eq(count_of(out, "FAULT_INJECTION: forcing a failure."), 1, "%s", out);
	cr_assert(strstr(out, "Call Trace:\n"), "verbose=2 adds the stack: %s", out);
	cr_assert(strstr(out, "fail_verbosely"), "naming the caller: %s", out);
}

Test(fault, environment_variable_is_read_at_start_up)
{
	char out[8192], cmd[1024];
	snprintf(cmd, sizeof(cmd), "LABYRINTH_FAIL_PAGE_ALLOC=probability=10,interval=1,times=-1,"
		 "min_order=0,ignore_gfp_wait=0 %s fault-config", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "probability=10 interval=1 times=-1 space=0 verbose=2 "
			      "ignore_gfp_wait=0 min_order=0\n");
}

Test(fault, bad_environment_variable_says_which_key_and_stays_off)
{
	char out[8192], cmd[1024];
	snprintf(cmd, sizeof(cmd), "LABYRINTH_FAIL_PAGE_ALLOC=probability=10,times=forever "
		 "%s fault-config", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "labyrinth: LABYRINTH_FAIL_PAGE_ALLOC: bad value 'forever' for key "
			      "'times': expected a count >= 0, or -1 for no limit; fault injection "
			      "stays off\n"), "%s", out);
	cr_assert(strstr(out, "probability=0 "), "not half applied: %s", out);
	snprintf(cmd, sizeof(cmd), "LABYRINTH_FAIL_PAGE_ALLOC=probabilty=10 %s fault-config",
		 test_path("CHILD"));
	run_shell(cmd, out, sizeof(out));
	cr_assert(strstr(out, "LABYRINTH_FAIL_PAGE_ALLOC: unknown key 'probabilty'"), "%s", out);
}
