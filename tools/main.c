/*
 * main.c - the command-line tool, `labyrinth` (its arguments: cli.c).
 *
 *   labyrinth demo      allocate under each GFP class and show the zone
 *   labyrinth info      how this machine runs Labyrinth
 *   labyrinth bench     the ATOMIC path against other allocators (bench/bench.c)
 *   labyrinth stat PID  another process's zones (tools/stat.c)
 *   labyrinth top PID   the same, refreshing
 *   labyrinth stress    torture a zone with threads, signals and fork (stress.c)
 *   labyrinth ktest     compile kernel module source and run it (ktest.c)
 *   labyrinth --help
 *
 * Every command parses its arguments with getopt_long (tools/cli.c): --help
 * exits 0, a bad or extra argument is named and exits 2 before any work.
 */
#include "stress.h"

#include <errno.h>
#include <labyrinth.h>
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ktest.h"
#include "stat.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: labyrinth [COMMAND [OPTIONS]]\n"
		"\n"
		"commands (each takes --help):\n"
		"  demo       allocate under each GFP class until it fails, showing the\n"
		"             zone in /proc/buddyinfo style (the default)\n"
		"  bench [--json] [--quick] [--png FILE | --no-png]\n"
		"             the ATOMIC path against a pre-faulted LIFO, glibc, jemalloc,\n"
		"             tcmalloc, mimalloc and mmap, in one run\n"
		"  info       how this machine runs Labyrinth (per-CPU list mode, page size)\n"
		"  stat PID   print the zones of process PID (which exports them:\n"
		"             LABYRINTH_EXPORT=1) as buddyinfo, zoneinfo and vmstat\n"
		"  top PID    refresh a summary of those zones [--interval S] [--count N]\n"
		"  stress     torture a zone: threads, signal storm, shrinkers, pressure,\n"
		"             fork; checks every invariant (labyrinth stress --help)\n"
		"  ktest FILE.c... [PARAM=VALUE...]\n"
		"             compile kernel module source over Labyrinth and run its\n"
		"             init and exit, checking for leaks (labyrinth ktest --help)\n"
		"  --version  print the version\n"
		"  --help     this text\n"
		"\n"
		"Exit status 2: a bad or extra argument (named on stderr); see labyrinth(1).\n");
}

/* A page cache the demo's shrinker can give back, as a filesystem would. */
struct cache {
	struct lab_shrinker shrinker;
	struct lab_page *pages[1024];
	unsigned long nr;
};

static unsigned long cache_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct cache *c = s->private_data;
	return c->nr ? c->nr : LAB_SHRINK_EMPTY;
}

static unsigned long cache_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct cache *c = s->private_data;
	unsigned long freed = 0;
	while (c->nr && freed < sc->nr_to_scan) {
		lab_free_page(c->pages[--c->nr]);
		freed++;
	}
	return freed;
}

/* The zone's pages as the kernel's zoneinfo counts them: free (buddy lists),
 * per-CPU (parked on the lists, not in free) and allocated add up to managed.
 * Allocated includes deferred pages: freed while another thread (kswapd)
 * held the zone lock, they reach the buddy lists with its next holder. */
static void show(const struct lab_zone *z, const char *when)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	printf("\n-- %s: free %zu + per-CPU %zu + allocated %zu = managed %zu pages\n"
	       "   (min %zu low %zu high %zu, highatomic %zu", when, st.free, st.pcp,
	       st.allocated, st.managed, st.wmark_min, st.wmark_low, st.wmark_high,
	       st.reserved_highatomic);
	if (st.deferred)
		printf("; of the allocated, %zu freed and waiting for the zone lock", st.deferred);
	printf(")\n");
	lab_zone_print_buddyinfo(z, stdout);
}

/* Allocate order-0 pages under gfp until the allocator says no. */
static size_t drain_class(struct lab_zone *z, const char *label, lab_gfp_t gfp,
			  struct lab_page **held, size_t *nheld, size_t cap)
{
	size_t got = 0;
	struct lab_zone_stats st;
	while (*nheld < cap) {
		struct lab_page *p = lab_alloc_page(z, gfp | LAB_GFP_NOWARN);
		if (!p)
			break;
		held[(*nheld)++] = p;
		got++;
	}
	lab_zone_get_stats(z, &st);
	char name[96];
	printf("%-30s got %5zu pages, stopped with %4zu free  (%s)\n", label, got, st.free,
	       lab_gfp_name(gfp, name, sizeof(name)));
	return got;
}

static int demo(void)
{
	struct lab_zone_config cfg = { .name = "Demo", .pages = 4096 };
	struct lab_zone *z = lab_zone_create(&cfg);
	if (!z) {
		fprintf(stderr, "labyrinth: zone creation failed: %s\n", strerror(errno));
		return 1;
	}
	printf("Labyrinth %d.%d.%d demo: a zone of %zu pages of %zu bytes\n", LAB_VERSION_MAJOR,
	       LAB_VERSION_MINOR, LAB_VERSION_PATCH, cfg.pages, lab_page_size());
	show(z, "new zone");

	static struct cache cache;
	cache.shrinker = (struct lab_shrinker){ .count_objects = cache_count,
						.scan_objects = cache_scan,
						.seeks = LAB_DEFAULT_SEEKS,
						.private_data = &cache };
	while (cache.nr < 512)
		cache.pages[cache.nr++] = lab_alloc_page(z, LAB_GFP_KERNEL);

	static struct lab_page *held[4096];
	static unsigned int held_order[4096];
	size_t nheld = 0;
	for (unsigned int order = 1; order <= 4; order++) {
		for (int i = 0; i < 8; i++) {
			held[nheld] = lab_alloc_pages(z, LAB_GFP_KERNEL, order);
			held_order[nheld++] = order;
		}
	}
	show(z, "after a 512-page cache (shrinkable) and blocks of order 1..4");

	printf("\nOrder-0 allocations by class, each until it fails (no reclaim yet):\n");
	size_t base = nheld;
	drain_class(z, "GFP_NOWAIT (no reserve)", LAB_GFP_NOWAIT, held, &nheld, 4096);
	drain_class(z, "GFP_ATOMIC (62.5% of min)", LAB_GFP_ATOMIC, held, &nheld, 4096);
	drain_class(z, "MEMALLOC (no watermarks)", LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC, held, &nheld, 4096);
	for (size_t i = base; i < nheld; i++)
		held_order[i] = 0;
	show(z, "zone exhausted");

	/* Only now may the cache be reclaimed, so the next step shows who does it. */
	lab_register_shrinker(z, &cache.shrinker);
	size_t before = cache.nr;
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	printf("\nGFP_KERNEL on the empty zone: %s; the shrinker gave back %zu cache pages\n",
	       p ? "succeeded after reclaim" : "failed", before - cache.nr);
	if (p) {
		held_order[nheld] = 0;
		held[nheld++] = p;
	}
	show(z, "after reclaim");

	for (size_t i = 0; i < nheld; i++)
		if (held[i])
			lab_free_pages(held[i], held_order[i]);
	lab_unregister_shrinker(z, &cache.shrinker);
	while (cache.nr)
		lab_free_page(cache.pages[--cache.nr]);
	/* Freed pages of order 0..3 wait on the per-CPU lists for the next
	 * allocation; lab_drain_all_pages() gives them back to the buddy lists.
	 * lab_zone_check() takes the zone lock, so frees deferred while kswapd
	 * held it land too: then every page is on the buddy lists. */
	show(z, "everything freed (some of it still on the per-CPU lists)");
	lab_drain_all_pages(z);
	int broken = lab_zone_check(z);
	show(z, "after lab_drain_all_pages() and lab_zone_check()");

	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	printf("\nallocations %llu, frees %llu, failures %llu (atomic %llu, nowait %llu, sleeping %llu),"
	       " below-min allocations %llu, direct reclaim %llu, kswapd wakes %llu\n",
	       (unsigned long long)st.alloc_success, (unsigned long long)st.free_calls,
	       (unsigned long long)st.alloc_fail, (unsigned long long)st.fail_atomic,
	       (unsigned long long)st.fail_nowait, (unsigned long long)st.fail_sleeping,
	       (unsigned long long)st.reserve_use, (unsigned long long)st.direct_reclaim,
	       (unsigned long long)st.kswapd_wake);
	printf("invariants: %s\n", broken ? "BROKEN" : "all hold");
	lab_zone_destroy(z);
	return broken ? 1 : 0;
}

static int info(void)
{
	printf("labyrinth %d.%d.%d\n", LAB_VERSION_MAJOR, LAB_VERSION_MINOR, LAB_VERSION_PATCH);
	printf("page size:        %zu\n", lab_page_size());
	printf("per-CPU lists:    %s\n", lab_pcp_mode_name());
	/* What an exclusive zone gets here: a small SECRET + PKEY zone, described. */
	struct lab_zone_config cfg = {
		.name = "probe", .pages = 16,
		.flags = LAB_ZONE_SECRET | LAB_ZONE_PKEY | LAB_ZONE_GUARD | LAB_ZONE_NO_KSWAPD,
	};
	struct lab_zone *z = lab_zone_create(&cfg);
	if (!z) {
		printf("exclusive zone:   cannot be created: %s\n", strerror(errno));
		return 1;
	}
	printf("exclusive zone (SECRET|PKEY|GUARD, 16 pages):\n");
	lab_zone_describe(z, stdout);
	lab_zone_destroy(z);
	return 0;
}

/* Commands without options of their own: --help or nothing. */
static int simple_command(const char *cmd, const char *help, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;
	while ((c = cli_getopt(cmd, argc, argv, "h", longopts)) != -1) {
		if (c != 'h')
			return CLI_EXIT_USAGE;
		printf("usage: labyrinth %s\n%s", cmd, help);
		return 0;
	}
	return cli_no_operands(cmd, argc, argv) ? -1 : CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "demo";
	int rc;
	if (!strcmp(cmd, "demo")) {
		rc = simple_command("demo", "  allocate under each GFP class until it fails, "
				    "showing the zone after each step\n", argc - 1, argv + 1);
		return rc >= 0 ? rc : demo();
	}
	if (!strcmp(cmd, "info")) {
		rc = simple_command("info", "  the per-CPU list mode, the page size and what an "
				    "exclusive zone gets on this machine\n", argc - 1, argv + 1);
		return rc >= 0 ? rc : info();
	}
	if (!strcmp(cmd, "bench") || !strcmp(cmd, "bench-worker"))
		return bench_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "stat"))
		return lab_tool_stat(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return lab_tool_top(argc - 1, argv + 1);
	if (!strcmp(cmd, "stress"))
		return stress_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "ktest"))
		return lab_tool_ktest(argc - 1, argv + 1);
	bool help = !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help");
	bool version = !strcmp(cmd, "--version");
	if ((help || version) && argc > 2)
		return cli_error(NULL, "unexpected argument '%s' after '%s'", argv[2], cmd);
	if (help) {
		usage(stdout);
		return 0;
	}
	if (version) {
		printf("labyrinth %d.%d.%d\n", LAB_VERSION_MAJOR, LAB_VERSION_MINOR,
		       LAB_VERSION_PATCH);
		return 0;
	}
	if (cmd[0] == '-')
		return cli_error(NULL, "unknown option '%s'", cmd);
	return cli_error(NULL, "unknown command '%s'", cmd);
}
