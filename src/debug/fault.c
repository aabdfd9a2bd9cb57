/*
 * fault.c - fault injection, the kernel's fail_page_alloc: the same knobs
 * (probability, interval, times, space, verbose, ignore-gfp-wait, min-order,
 * per-thread fail-nth), the same defaults and the same order of checks as
 * __should_fail_alloc_page() followed by should_fail_ex().
 *
 * The same engine serves failslab, the kernel's fault injection for object
 * allocations, with its own attributes and its cache filter: one struct
 * fault_attr per kind, as the kernel's, and one per-thread fail-nth for both.
 *
 * Exports lab_fault_set/get/configure, lab_failslab_set/get/configure,
 * lab_fail_nth_set/get; to alloc.c lab__fault_armed (the one flag the
 * allocation path tests) and lab__should_fail_alloc(); to the slab layer
 * lab__failslab_armed and lab__should_failslab().  LABYRINTH_FAIL_PAGE_ALLOC
 * and LABYRINTH_FAILSLAB are parsed once, in a constructor, with the same
 * parser as the configure calls.
 *
 * Everything here is lock-free and never sleeps: it runs inside atomic
 * allocations.  Not mirrored: the kernel's task and stack-trace filters.
 */
#include "base/fmt.h"
#include "base/ratelimit.h"
#include "os/env.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/stack.h"
#include "page/gfp.h"
#include "page/zone.h"
#include "debug/fault.h"
#include "debug/page_owner.h"
#include "debug/trace.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Bits of lab__fault_armed and lab__failslab_armed. */
enum {
	ARMED_ATTR = 1u << 0,   /* probability > 0 */
	ARMED_NTH  = 1u << 1,   /* some thread used fail-nth (stays set) */
};
_Atomic unsigned int lab__fault_armed;
_Atomic unsigned int lab__failslab_armed;

/* One kind of fault injection: its attributes, each one atomic, as in the
 * kernel's struct fault_attr. */
struct fault_attr {
	const char *name;               /* "fail_page_alloc", "failslab" */
	_Atomic unsigned int *armed;    /* the flag its allocation path tests */
	_Atomic unsigned int probability;
	_Atomic unsigned long interval;
	_Atomic long times;
	_Atomic long space;
	_Atomic unsigned int verbose;
	_Atomic bool ignore_gfp_wait;
	_Atomic unsigned int min_order;
	_Atomic bool cache_filter;      /* failslab: only caches marked LAB_SLAB_FAILSLAB */
	_Atomic unsigned long count;    /* eligible calls that reached the interval test */
	struct lab__ratelimit dump_limit;  /* the message's rate limit */
};

/* FAULT_ATTR_INITIALIZER plus fail_page_alloc's and failslab's own defaults. */
static struct fault_attr page_attr = {
	.name = "fail_page_alloc", .armed = &lab__fault_armed,
	.interval = 1, .times = 1, .verbose = 2, .ignore_gfp_wait = true, .min_order = 1,
	.dump_limit = LAB_RATELIMIT_INIT("FAULT_INJECTION: forcing a failure"),
};
static struct fault_attr slab_attr = {
	.name = "failslab", .armed = &lab__failslab_armed,
	.interval = 1, .times = 1, .verbose = 2, .ignore_gfp_wait = true, .min_order = 0,
	.dump_limit = LAB_RATELIMIT_INIT("FAULT_INJECTION (failslab): forcing a failure"),
};

static _Thread_local unsigned int fail_nth;
static _Thread_local uint64_t rand_state;

#define LOAD(f) atomic_load_explicit(&fa->f, memory_order_relaxed)
#define STORE(f, v) atomic_store_explicit(&fa->f, (v), memory_order_relaxed)

static void update_armed(struct fault_attr *fa)
{
	if (LOAD(probability))
		atomic_fetch_or(fa->armed, ARMED_ATTR);
	else
		atomic_fetch_and(fa->armed, ~(unsigned int)ARMED_ATTR);
}

static const struct lab_fault_attr page_defaults = {
	.probability = 0, .interval = 1, .times = 1, .space = 0, .verbose = 2,
	.ignore_gfp_wait = true, .min_order = 1,
};
static const struct lab_fault_attr slab_defaults = {
	.probability = 0, .interval = 1, .times = 1, .space = 0, .verbose = 2,
	.ignore_gfp_wait = true, .min_order = 0,
};

static int check_attr(const struct lab_fault_attr *a)
{
	if (a->probability > 100 || a->times < -1 || a->space < 0 || a->verbose > 2 ||
	    a->min_order > LAB_MAX_ORDER + 1)
		return -EINVAL;
	return 0;
}

static int attr_set(struct fault_attr *fa, const struct lab_fault_attr *a, bool cache_filter)
{
	if (!a || check_attr(a))
		return -EINVAL;
	STORE(cache_filter, cache_filter);
	STORE(interval, a->interval);
	STORE(times, a->times);
	STORE(space, a->space);
	STORE(verbose, a->verbose);
	STORE(ignore_gfp_wait, a->ignore_gfp_wait);
	STORE(min_order, a->min_order);
	STORE(count, 0);
	/* Last: a racing allocation sees the new knobs before it can fail. */
	STORE(probability, a->probability);
	update_armed(fa);
	return 0;
}

static void attr_get(struct fault_attr *fa, struct lab_fault_attr *out)
{
	if (!out)
		return;
	out->probability = LOAD(probability);
	out->interval = LOAD(interval);
	out->times = LOAD(times);
	out->space = LOAD(space);
	out->verbose = LOAD(verbose);
	out->ignore_gfp_wait = LOAD(ignore_gfp_wait);
	out->min_order = LOAD(min_order);
}

int lab_fault_set(const struct lab_fault_attr *a)
{
	return attr_set(&page_attr, a, false);
}

void lab_fault_get(struct lab_fault_attr *out)
{
	attr_get(&page_attr, out);
}

int lab_failslab_set(const struct lab_fault_attr *a, bool cache_filter)
{
	return attr_set(&slab_attr, a, cache_filter);
}

void lab_failslab_get(struct lab_fault_attr *out, bool *cache_filter)
{
	struct fault_attr *fa = &slab_attr;
	attr_get(fa, out);
	if (cache_filter)
		*cache_filter = LOAD(cache_filter);
}

void lab_fail_nth_set(unsigned int n)
{
	fail_nth = n;
	if (n) {
		atomic_fetch_or(&lab__fault_armed, ARMED_NTH);
		atomic_fetch_or(&lab__failslab_armed, ARMED_NTH);
	}
}

unsigned int lab_fail_nth_get(void)
{
	return fail_nth;
}

/* ---- the parser ------------------------------------------------------- */

static bool parse_long(const char *s, size_t len, long lo, long hi, long *out)
{
	char buf[32];
	if (!len || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end;
	errno = 0;
	long v = strtol(buf, &end, 0);
	if (errno || *end || end == buf || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Keys as the debugfs files are named; '_' and '-' both accepted. */
static bool key_is(const char *k, size_t len, const char *name)
{
	if (strlen(name) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = k[i] == '-' ? '_' : k[i];
		if (c != name[i])
			return false;
	}
	return true;
}

/* Parse spec over the defaults d into *a (and *cache_filter, the key being
 * accepted only when cache_filter is not NULL); nothing is applied. */
static int parse_spec(const char *spec, const struct lab_fault_attr *d, struct lab_fault_attr *out,
		      bool *cache_filter, char *err, size_t errlen)
{
	struct lab_fault_attr a = *d;
	char dummy[1];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (!spec) {
		lab__snprintf(err, errlen, "no settings given");
		return -EINVAL;
	}
	for (const char *p = spec; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (!n) {
			lab__snprintf(err, errlen, "empty setting");
			return -EINVAL;
		}
		if (!eq) {
			lab__snprintf(err, errlen, "'%.*s' is not key=value", (int)n, p);
			return -EINVAL;
		}
		size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
		const char *v = eq + 1;
		long x;
		const char *expect = NULL;
		if (key_is(p, klen, "probability")) {
			if (parse_long(v, vlen, 0, 100, &x))
				a.probability = (unsigned int)x;
			else
				expect = "a percentage 0..100";
		} else if (key_is(p, klen, "interval")) {
			if (parse_long(v, vlen, 0, LONG_MAX, &x))
				a.interval = (unsigned long)x;
			else
				expect = "a count >= 0";
		} else if (key_is(p, klen, "times")) {
			if (parse_long(v, vlen, -1, LONG_MAX, &x))
				a.times = x;
			else
				expect = "a count >= 0, or -1 for no limit";
		} else if (key_is(p, klen, "space")) {
			if (parse_long(v, vlen, 0, LONG_MAX, &x))
				a.space = x;
			else
				expect = "a number of pages >= 0";
		} else if (key_is(p, klen, "verbose")) {
			if (parse_long(v, vlen, 0, 2, &x))
				a.verbose = (unsigned int)x;
			else
				expect = "0, 1 or 2";
		} else if (key_is(p, klen, "ignore_gfp_wait")) {
			if (parse_long(v, vlen, 0, 1, &x))
				a.ignore_gfp_wait = x;
			else
				expect = "0 or 1";
		} else if (key_is(p, klen, "min_order")) {
			if (parse_long(v, vlen, 0, LAB_MAX_ORDER + 1, &x))
				a.min_order = (unsigned int)x;
			else
				expect = "an order 0..11";
		} else if (cache_filter && key_is(p, klen, "cache_filter")) {
			if (parse_long(v, vlen, 0, 1, &x))
				*cache_filter = x;
			else
				expect = "0 or 1";
		} else {
			lab__snprintf(err, errlen, "unknown key '%.*s' (known: probability, interval, "
				 "times, space, verbose, ignore_gfp_wait, min_order%s)", (int)klen, p,
				 cache_filter ? ", cache_filter" : "");
			return -EINVAL;
		}
		if (expect) {
			lab__snprintf(err, errlen, "bad value '%.*s' for key '%.*s': expected %s",
				 (int)vlen, v, (int)klen, p, expect);
			return -EINVAL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	*out = a;
	return 0;
}

int lab_fault_configure(const char *spec, char *err, size_t errlen)
{
	struct lab_fault_attr a;
	int rc = parse_spec(spec, &page_defaults, &a, NULL, err, errlen);
	return rc ? rc : lab_fault_set(&a);
}

int lab_failslab_configure(const char *spec, char *err, size_t errlen)
{
	struct lab_fault_attr a;
	bool cache_filter = false;
	int rc = parse_spec(spec, &slab_defaults, &a, &cache_filter, err, errlen);
	return rc ? rc : lab_failslab_set(&a, cache_filter);
}

/* Parse LABYRINTH_FAIL_PAGE_ALLOC and LABYRINTH_FAILSLAB once, before main(). */
__attribute__((constructor)) static void fault_from_environment(void)
{
	char err[192];
	const char *spec = lab__option_string(LAB_OPT_FAIL_PAGE_ALLOC);
	if (spec && lab_fault_configure(spec, err, sizeof(err)))
		lab__option_report(LAB_OPT_FAIL_PAGE_ALLOC, err);
	spec = lab__option_string(LAB_OPT_FAILSLAB);
	if (spec && lab_failslab_configure(spec, err, sizeof(err)))
		lab__option_report(LAB_OPT_FAILSLAB, err);
}

/* ---- the decision ----------------------------------------------------- */

/* xorshift64*, seeded per thread without a syscall. */
static unsigned int random_below_100(void)
{
	uint64_t x = rand_state;
	if (!x)
		x = lab__os_now_ns() ^ ((uint64_t)lab__self_token() << 16) ^ 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rand_state = x;
	return (unsigned int)(((x * 0x2545f4914f6cdd1dull) >> 32) % 100);
}

static void fail_dump(struct fault_attr *fa, lab_gfp_t gfp)
{
	unsigned int verbose = LOAD(verbose);
	if (!verbose || (gfp & LAB_GFP_NOWARN))
		return;
	if (!lab__ratelimit(&fa->dump_limit, 10, 5ull * 1000 * 1000 * 1000))
		return;
	lab__printk("FAULT_INJECTION: forcing a failure.\n"
		    "name %s, interval %lu, probability %u, space %ld, times %ld\n",
		    fa->name, LOAD(interval), LOAD(probability), LOAD(space), LOAD(times));
	if (verbose > 1)
		lab__os_dump_stack();
}

/* should_fail_ex(): fail-nth, then the attributes' checks in the kernel's
 * order; size is what "space" counts (pages, or bytes of objects). */
static bool should_fail_ex(struct fault_attr *fa, lab_gfp_t gfp, long size)
{
	if (fail_nth) {
		if (--fail_nth == 0)
			goto fail;
		return false;
	}
	if (LOAD(probability) == 0)
		return false;
	if (LOAD(times) == 0)
		return false;
	long space = LOAD(space);
	while (space > size) {
		if (atomic_compare_exchange_weak(&fa->space, &space, space - size))
			return false;
	}
	unsigned long interval = LOAD(interval);
	if (interval > 1 && (atomic_fetch_add(&fa->count, 1) + 1) % interval)
		return false;
	if (LOAD(probability) <= random_below_100())
		return false;
fail:
	fail_dump(fa, gfp);
	long times = LOAD(times);
	while (times != -1 && times > 0 &&
	       !atomic_compare_exchange_weak(&fa->times, &times, times - 1))
		;
	return true;
}

/* __should_fail_alloc_page(), then should_fail_ex(). */
bool lab__should_fail_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	struct fault_attr *fa = &page_attr;
	if (order < LOAD(min_order))
		return false;
	if (gfp & LAB_GFP_NOFAIL)
		return false;
	if (LOAD(ignore_gfp_wait) && lab__gfp_may_sleep(gfp))
		return false;
	if (!should_fail_ex(fa, gfp, 1L << order))
		return false;
	zone_stat_inc(z, fail_injected);
	lab_trace(mm_page_alloc_fail, z->name, order, gfp, 1);
	return true;
}

/* should_failslab(): marked says whether the cache has LAB_SLAB_FAILSLAB. */
bool lab__should_failslab(lab_gfp_t gfp, size_t size, bool marked)
{
	struct fault_attr *fa = &slab_attr;
	if (gfp & LAB_GFP_NOFAIL)
		return false;
	if (LOAD(ignore_gfp_wait) && lab__gfp_may_sleep(gfp))
		return false;
	if (LOAD(cache_filter) && !marked)
		return false;
	return should_fail_ex(fa, gfp, (long)size);
}
