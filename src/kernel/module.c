/*
 * module.c - modules in userspace: the registry of initcalls, exitcalls and
 * parameters that linux/init.h and linux/moduleparam.h fill from
 * constructors, and the module runner, lab_ktest_main(): set parameters
 * from NAME=VALUE arguments, run the initcalls (by level, then link order),
 * the exitcalls in reverse, and check that every page and object came back.
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
 * What the runner counts, before the module and after it: the zone's pages,
 * and the objects in use per cache name (to name what leaked).
 */
#define CENSUS_CACHES 256
struct census {
	struct lab_zone_stats zone;
	size_t nr;
	struct {
		char name[64];
		size_t active;
	} caches[CENSUS_CACHES];
};

/* Objects in use per cache, from lab_slabinfo() (every cache of the slab
 * layer, the kmalloc classes included, which no other call lists). */
static void count_objects(struct census *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	c->nr = 0;
	if (!f)
		return;
	lab_slabinfo(f);
	fclose(f);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		size_t active;
		if (line[0] == '#' || sscanf(line, "%63s %zu", name, &active) != 2)
			continue;
		size_t i = 0;
		while (i < c->nr && strcmp(c->caches[i].name, name))
			i++;
		if (i == c->nr) {
			if (c->nr == CENSUS_CACHES)
				continue;
			memcpy(c->caches[c->nr].name, name, sizeof(name));
			c->caches[c->nr++].active = 0;
		}
		c->caches[i].active += active;
	}
	free(text);
}

/*
 * The count, with nothing of the slab layer kept: lab_kmem_cache_shrink(NULL)
 * gives the kmalloc caches' free objects and empty slabs back to the zone,
 * and then those of its own cache of slab headers, so every page still
 * allocated is one the module holds (a page, a large kmalloc block, the slab
 * of an object in use, a cache's metadata).  lab_zone_check()'s walk also
 * settles frees deferred while another thread (kswapd) held the zone lock.
 * Returns the number of broken zone invariants.
 */
static int census(struct lab_zone *z, struct census *c)
{
	lab_kmem_cache_shrink(NULL);
	int broken = lab_zone_check(z);
	lab_zone_get_stats(z, &c->zone);
	count_objects(c);
	return broken;
}

/* Objects in use now that were not before, per cache, each cache named;
 * the slab layer's own header cache (headers of slabs in use) aside. */
static size_t objects_leaked(const char *mod, const struct census *before,
			     const struct census *after)
{
	size_t objects = 0;
	for (size_t i = 0; i < after->nr; i++) {
		if (!strcmp(after->caches[i].name, "slab_header"))
			continue;
		size_t was = 0;
		for (size_t j = 0; j < before->nr; j++)
			if (!strcmp(before->caches[j].name, after->caches[i].name))
				was = before->caches[j].active;
		if (after->caches[i].active > was) {
			fprintf(stderr, "ktest: %s: %zu objects of cache %s were not freed\n", mod,
				after->caches[i].active - was, after->caches[i].name);
			objects += after->caches[i].active - was;
		}
	}
	return objects;
}

/* The module's caches still alive; returns how many. */
static size_t caches_left(void)
{
	static struct lab__kernel_cache_left left[64];
	size_t n = lab__kernel_caches_left(left, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		fprintf(stderr, "ktest: kmem_cache %s %s (%zu objects in use)\n", left[i].name,
			left[i].destroyed ? "was destroyed with objects in use" : "was not destroyed",
			left[i].active);
	if (n > 64)
		fprintf(stderr, "ktest: and %zu more caches\n", n - 64);
	return n;
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
	static struct census before, after;
	census(z, &before);
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

	/* Callbacks queued by the module (kfree_rcu, the slabs of its
	 * TYPESAFE_BY_RCU caches) run before the count. */
	lab_kernel_rcu_barrier();
	size_t left = caches_left();
	int broken = census(z, &after);
	/* Every page the module kept, and the objects among them. */
	size_t leaked = after.zone.allocated > before.zone.allocated ?
			after.zone.allocated - before.zone.allocated : 0;
	size_t objects = objects_leaked(mod, &before, &after);
	uint64_t bad = after.zone.bad_page - before.zone.bad_page;
	unsigned long warned = lab_kernel_warnings();

	if (failed)
		fprintf(stderr, "ktest: %s: init %s returned %d (%s)\n", mod, failed, ret,
			ret < 0 ? strerror(-ret) : "not an error code");
	if (leaked)
		fprintf(stderr, "ktest: %s: %zu pages were not freed%s\n", mod, leaked,
			objects || left ? " (with the slabs and caches above)" : "");
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
	bool pass = !failed && !leaked && !objects && !bad && !warned && !left && !broken;
	fprintf(stderr, "ktest: %s: init returned %d, %zu pages leaked, %zu objects leaked, %llu "
		"bad pages, %lu warnings: %s\n", mod, ret, leaked, objects,
		(unsigned long long)bad, warned, pass ? "PASS" : "FAIL");
	return pass ? 0 : 1;
}
