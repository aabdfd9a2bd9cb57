/*
 * module.c - modules in userspace: the registry of initcalls, exitcalls and
 * parameters that linux/init.h and linux/moduleparam.h fill from
 * constructors, and the module runner, lab_ktest_main(): set parameters
 * from NAME=VALUE arguments, run the initcalls (by level, then link order),
 * the exitcalls in reverse, and check that every page came back.
 *
 * Exports lab_kernel_add_initcall, lab_kernel_add_exitcall,
 * lab_kernel_add_param, lab_ktest_main.
 */
#include "kernel.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLS 64
#define MAX_PARAMS 64

static struct initcall {
	int (*fn)(void);
	int level;
	const char *name;
	const char *file;
} initcalls[MAX_CALLS];
static size_t nr_initcalls;

static struct exitcall {
	void (*fn)(void);
	const char *name;
	const char *file;
	bool done;
} exitcalls[MAX_CALLS];
static size_t nr_exitcalls;

static struct param {
	const char *name;
	void *arg;
	const char *type;
} params[MAX_PARAMS];
static size_t nr_params;

/* Constructors run before main: a full table is a build problem, said loudly. */
static void table_full(const char *what, const char *name)
{
	fprintf(stderr, "labyrinth-kernel: more than %d %s; %s not registered\n", MAX_CALLS, what,
		name);
	abort();
}

void lab_kernel_add_initcall(int (*fn)(void), int level, const char *name, const char *file)
{
	if (nr_initcalls == MAX_CALLS)
		table_full("initcalls", name);
	initcalls[nr_initcalls++] = (struct initcall){ fn, level, name, file };
}

void lab_kernel_add_exitcall(void (*fn)(void), const char *name, const char *file)
{
	if (nr_exitcalls == MAX_CALLS)
		table_full("exitcalls", name);
	exitcalls[nr_exitcalls++] = (struct exitcall){ fn, name, file, false };
}

/* Exits of the files whose inits ran, the last loaded first; then the rest
 * (files with an exit and no init), in reverse registration order. */
static void run_exitcalls(const size_t *ran, size_t nr_ran)
{
	for (size_t r = nr_ran; r-- > 0;) {
		const char *file = initcalls[ran[r]].file;
		for (size_t i = nr_exitcalls; i-- > 0;) {
			if (!exitcalls[i].done && !strcmp(exitcalls[i].file, file)) {
				exitcalls[i].done = true;
				exitcalls[i].fn();
			}
		}
	}
	for (size_t i = nr_exitcalls; i-- > 0;) {
		if (!exitcalls[i].done) {
			exitcalls[i].done = true;
			exitcalls[i].fn();
		}
	}
}

void lab_kernel_add_param(const char *name, void *arg, const char *type)
{
	if (nr_params == MAX_PARAMS)
		table_full("parameters", name);
	params[nr_params++] = (struct param){ name, arg, type };
}

/* param_set_*(): 0 or -EINVAL/-ERANGE, the variable unchanged on error. */
static int param_set(const struct param *p, const char *val)
{
	const char *t = p->type;
	if (!strcmp(t, "bool") || !strcmp(t, "invbool")) {
		bool v = true;	/* "name" alone sets a bool, as insmod does */
		if (val && lab_kernel_kstrtobool(val, &v))
			return -EINVAL;
		*(bool *)p->arg = t[0] == 'i' ? !v : v;
		return 0;
	}
	if (!val)
		return -EINVAL;
	if (!strcmp(t, "charp")) {
		*(const char **)p->arg = val;
		return 0;
	}
	bool is_signed = !strcmp(t, "short") || !strcmp(t, "int") || !strcmp(t, "long");
	long long s = 0;
	unsigned long long u = 0;
	int rc = is_signed ? lab_kernel_kstrtoll(val, 0, &s)
			   : lab_kernel_kstrtoull(val, 0, &u);
	if (rc)
		return rc;
#define SET_S(type, lo, hi) do { \
		if (s < (lo) || s > (hi)) \
			return -ERANGE; \
		*(type *)p->arg = (type)s; \
		return 0; \
	} while (0)
#define SET_U(type, hi) do { \
		if (u > (hi)) \
			return -ERANGE; \
		*(type *)p->arg = (type)u; \
		return 0; \
	} while (0)
	if (!strcmp(t, "byte"))
		SET_U(unsigned char, UINT8_MAX);
	if (!strcmp(t, "short"))
		SET_S(short, INT16_MIN, INT16_MAX);
	if (!strcmp(t, "ushort"))
		SET_U(unsigned short, UINT16_MAX);
	if (!strcmp(t, "int"))
		SET_S(int, INT32_MIN, INT32_MAX);
	if (!strcmp(t, "uint") || !strcmp(t, "hexint"))
		SET_U(unsigned int, UINT32_MAX);
	if (!strcmp(t, "long"))
		*(long *)p->arg = (long)s;
	else if (!strcmp(t, "ulong"))
		*(unsigned long *)p->arg = (unsigned long)u;
	else if (!strcmp(t, "ullong"))
		*(unsigned long long *)p->arg = u;
	else
		return -EINVAL;
	return 0;
#undef SET_S
#undef SET_U
}

static int set_params(const char *mod, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		char *eq = strchr(arg, '=');
		size_t klen = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct param *p = NULL;
		for (size_t j = 0; j < nr_params; j++)
			if (strlen(params[j].name) == klen && !strncmp(params[j].name, arg, klen))
				p = &params[j];
		if (!p) {
			fprintf(stderr, "%s: Unknown parameter `%.*s'\n", mod, (int)klen, arg);
			return -ENOENT;
		}
		int rc = param_set(p, eq ? eq + 1 : NULL);
		if (rc) {
			fprintf(stderr, "%s: `%s' invalid for parameter `%s' (%s)\n", mod,
				eq ? eq + 1 : "", p->name, p->type);
			return rc;
		}
	}
	return 0;
}

/*
 * The zone's statistics and the slab layer's census, taken with the
 * kmalloc caches shrunk (free objects and empty slabs back to the zone) and
 * after lab_zone_check(), whose walk also settles frees that were deferred
 * while another thread (kswapd) held the zone lock.  Returns the number of
 * broken zone invariants.
 */
static int census(struct lab_zone *z, struct lab_zone_stats *st, struct lab__kernel_census *slabs)
{
	lab_kmem_cache_shrink(NULL);
	int broken = lab_zone_check(z);
	lab_zone_get_stats(z, st);
	lab__kernel_slab_census(slabs);
	return broken;
}

int lab_ktest_main(int argc, char **argv)
{
	const char *mod = argc > 0 ? strrchr(argv[0], '/') : NULL;
	mod = mod ? mod + 1 : argc > 0 ? argv[0] : "module";
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: %s [PARAM=VALUE]...\nparameters:", mod);
		for (size_t j = 0; j < nr_params; j++)
			printf(" %s (%s)", params[j].name, params[j].type);
		printf("%s\n", nr_params ? "" : " none");
		return 0;
	}
	if (set_params(mod, argc, argv))
		return 2;

	struct lab_zone *z = lab_kernel_zone();
	struct lab_zone_stats before, after;
	static struct lab__kernel_census slabs_before, slabs_after;
	census(z, &before, &slabs_before);
	lab__kernel_log(6, "mem auto-init: heap alloc:%s, heap free:%s\n",
			lab_kernel_init_on_alloc ? "on" : "off",
			lab_kernel_init_on_free ? "on" : "off");

	/* Initcalls by level, registration order within a level; the first
	 * failure stops, and a module whose init failed is not exited. */
	int ret = 0;
	const char *failed = NULL;
	size_t ran[MAX_CALLS], nr_ran = 0;
	for (int level = 0; level <= 7 && !failed; level++) {
		for (size_t i = 0; i < nr_initcalls && !failed; i++) {
			if (initcalls[i].level != level)
				continue;
			ret = initcalls[i].fn();
			ran[nr_ran++] = i;
			if (ret)
				failed = initcalls[i].name;
		}
	}
	if (!failed)
		run_exitcalls(ran, nr_ran);

	/* Callbacks queued by the module (kfree_rcu) run before the count. */
	lab_kernel_rcu_barrier();
	size_t caches_left = lab__kernel_caches_report(stderr);
	int broken = census(z, &after, &slabs_after);
	/* Pages outside slabs (pages, large kmalloc blocks), and objects in use
	 * per cache: what the module took and did not give back. */
	size_t outside_before = before.allocated - slabs_before.slab_pages;
	size_t outside_after = after.allocated - slabs_after.slab_pages;
	size_t leaked = outside_after > outside_before ? outside_after - outside_before : 0;
	size_t objects = 0;
	for (size_t i = 0; i < slabs_after.nr; i++) {
		/* The slab layer's own: the headers of slabs still in use. */
		if (!strcmp(slabs_after.caches[i].name, "slab_header"))
			continue;
		size_t was = 0;
		for (size_t j = 0; j < slabs_before.nr; j++)
			if (!strcmp(slabs_before.caches[j].name, slabs_after.caches[i].name))
				was = slabs_before.caches[j].active;
		if (slabs_after.caches[i].active > was) {
			fprintf(stderr, "ktest: %s: %zu objects of cache %s were not freed\n", mod,
				slabs_after.caches[i].active - was, slabs_after.caches[i].name);
			objects += slabs_after.caches[i].active - was;
		}
	}
	uint64_t bad = after.bad_page - before.bad_page;
	unsigned long warned = lab_kernel_warnings();

	if (failed)
		fprintf(stderr, "ktest: %s: init %s returned %d (%s)\n", mod, failed, ret,
			ret < 0 ? strerror(-ret) : "not an error code");
	if (leaked)
		fprintf(stderr, "ktest: %s: %zu pages were not freed\n", mod, leaked);
	if (leaked || objects) {
		if (!lab_page_owner_report_leaks(z, stderr))
			fprintf(stderr, "ktest: run with LABYRINTH_PAGE_OWNER=1 to see who "
				"allocated them\n");
	}
	if (bad)
		fprintf(stderr, "ktest: %s: %llu Bad page reports\n", mod, (unsigned long long)bad);
	if (broken)
		fprintf(stderr, "ktest: %s: the zone is broken: %d invariants do not hold\n", mod,
			broken);
	bool pass = !failed && !leaked && !objects && !bad && !warned && !caches_left && !broken;
	fprintf(stderr, "ktest: %s: init returned %d, %zu pages leaked, %zu objects leaked, %llu "
		"bad pages, %lu warnings: %s\n", mod, ret, leaked, objects,
		(unsigned long long)bad, warned, pass ? "PASS" : "FAIL");
	return pass ? 0 : 1;
}
