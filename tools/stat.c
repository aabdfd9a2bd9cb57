/*
 * stat.c - `labyrinth stat PID` prints another process's zones in the
 * formats of /proc/buddyinfo, /proc/zoneinfo and /proc/vmstat, and its
 * object caches in the format of /proc/slabinfo; `labyrinth top PID`
 * refreshes a one-line-per-zone summary with rates and, below it, the
 * caches that hold the most memory (as slabtop).  Both only read the
 * process's export file: they never stop or slow it.
 */
#include "stat.h"

#include <errno.h>
#include <labyrinth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int parse_pid(const char *s, int *pid)
{
	char *end;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || *end || end == s || v <= 0 || v > 0x3fffffff)
		return -1;
	*pid = (int)v;
	return 0;
}

/* The one operand of stat and top: a process id. */
static bool pid_operand(const char *cmd, int argc, char **argv, int *pid)
{
	if (optind >= argc) {
		cli_error(cmd, "a process id is needed");
		return false;
	}
	if (parse_pid(argv[optind], pid)) {
		cli_error(cmd, "'%s' is not a process id", argv[optind]);
		return false;
	}
	optind++;
	return cli_no_operands(cmd, argc, argv);
}

static void explain(int pid, int rc)
{
	if (rc == -ENOENT)
		fprintf(stderr, "labyrinth: process %d exports no statistics (start it with "
			"LABYRINTH_EXPORT=1 or call lab_stats_export_enable())\n", pid);
	else if (rc == -ESRCH)  /* killed before it could remove its file: we do */
		fprintf(stderr, "labyrinth: process %d is gone; its stale "
			"/dev/shm/labyrinth.%d %s\n", pid, pid,
			lab_stats_remove_stale(pid) == 1 ? "is removed" : "stays");
	else if (rc == -EPROTO)
		fprintf(stderr, "labyrinth: process %d exports another format version "
			"(a different Labyrinth build)\n", pid);
	else
		fprintf(stderr, "labyrinth: cannot read the export of process %d: %s\n", pid,
			strerror(-rc));
}

/* What stat prints besides the zones' sums: a bit per enum lab_stats_format,
 * and this one for the caches. */
#define STAT_SLABINFO (1 << (LAB_STATS_VMSTAT + 1))

static void stat_usage(FILE *out)
{
	fprintf(out, "usage: labyrinth stat PID [--buddyinfo] [--zoneinfo] [--vmstat] [--slabinfo]\n"
		     "  the zones of process PID (which exports them: LABYRINTH_EXPORT=1), each\n"
		     "  with free + per-CPU + allocated = managed, then the formats asked for\n"
		     "  (default all four; --slabinfo: its object caches)\n");
}

/* Options and operand of stat: 0 to go on, else the exit status. */
static int stat_args(int argc, char **argv, int *pid, int *formats)
{
	static const struct option longopts[] = {
		{ "buddyinfo", no_argument, NULL, 'b' },
		{ "zoneinfo", no_argument, NULL, 'z' },
		{ "vmstat", no_argument, NULL, 'v' },
		{ "slabinfo", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;
	while ((c = cli_getopt("stat", argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'b': *formats |= 1 << LAB_STATS_BUDDYINFO; break;
		case 'z': *formats |= 1 << LAB_STATS_ZONEINFO; break;
		case 'v': *formats |= 1 << LAB_STATS_VMSTAT; break;
		case 's': *formats |= STAT_SLABINFO; break;
		case 'h': stat_usage(stdout); return -1;
		default: return CLI_EXIT_USAGE;
		}
	}
	return pid_operand("stat", argc, argv, pid) ? 0 : CLI_EXIT_USAGE;
}

/* One line per zone: where its pages are, adding up as the kernel's
 * zoneinfo does (per-CPU pages are in neither free nor allocated; deferred
 * frees, waiting for the zone lock, are still in allocated). */
static void print_sums(const struct lab_stats_snapshot *snap)
{
	for (unsigned int z = 0; z < snap->nr_zones; z++) {
		const struct lab_zone_stats *st = &snap->zones[z].st;
		printf("# zone %s: free %zu + per-CPU %zu + allocated %zu = managed %zu",
		       snap->zones[z].name, st->free, st->pcp, st->allocated, st->managed);
		if (st->deferred)
			printf(" (of the allocated, %zu freed and waiting for the zone lock)",
			       st->deferred);
		putchar('\n');
	}
}

int lab_tool_stat(int argc, char **argv)
{
	int pid = 0;
	int formats = 0;  /* bit per enum lab_stats_format; none = all */
	int args = stat_args(argc, argv, &pid, &formats);
	if (args)
		return args < 0 ? 0 : args;
	if (!formats)
		formats = 1 << LAB_STATS_BUDDYINFO | 1 << LAB_STATS_ZONEINFO | 1 << LAB_STATS_VMSTAT |
			  STAT_SLABINFO;

	static struct lab_stats_snapshot snap;
	int rc = lab_stats_read_export(pid, &snap);
	if (rc) {
		explain(pid, rc);
		return 1;
	}
	printf("# labyrinth stat: process %d, %u zones\n", snap.pid, snap.nr_zones);
	print_sums(&snap);
	if (formats & 1 << LAB_STATS_BUDDYINFO) {
		printf("\n# buddyinfo\n");
		for (unsigned int z = 0; z < snap.nr_zones; z++)
			lab_stats_print(snap.zones[z].name, &snap.zones[z].st, LAB_STATS_BUDDYINFO,
					stdout);
	}
	if (formats & 1 << LAB_STATS_ZONEINFO) {
		printf("\n# zoneinfo\n");
		for (unsigned int z = 0; z < snap.nr_zones; z++)
			lab_stats_print(snap.zones[z].name, &snap.zones[z].st, LAB_STATS_ZONEINFO,
					stdout);
	}
	if (formats & 1 << LAB_STATS_VMSTAT) {
		for (unsigned int z = 0; z < snap.nr_zones; z++) {
			printf("\n# vmstat zone %s\n", snap.zones[z].name);
			lab_stats_print(snap.zones[z].name, &snap.zones[z].st, LAB_STATS_VMSTAT,
					stdout);
		}
	}
	if (formats & STAT_SLABINFO) {
		static struct lab_slab_snapshot caches;
		printf("\n# slabinfo\n");
		rc = lab_slab_read_export(pid, &caches);
		if (rc == -EPROTO)
			printf("# not exported (a Labyrinth without the slab layer's section)\n");
		else if (rc)
			printf("# cannot read the caches: %s\n", strerror(-rc));
		else
			lab_slabinfo_print(&caches, stdout);
		fflush(stdout);
	}
	return 0;
}

static void top_usage(FILE *out)
{
	fprintf(out, "usage: labyrinth top PID [--interval SECONDS] [--count N] [--caches N]\n"
		     "  refreshes every SECONDS (default 1) until the process exits, N\n"
		     "  refreshes were shown, or Ctrl-C; plain lines when not on a terminal.\n"
		     "  Pages: free + pcp (per-CPU lists) + alloc = managed; used%% is alloc.\n"
		     "  Below, the N object caches holding the most memory (default 10; 0: none),\n"
		     "  as slabtop: objects, active, use%%, object size, slabs, cache size.\n");
}

struct top_opts {
	double interval;
	long count;
	unsigned long caches;
};

/* Options and operand of top: 0 to go on, else the exit status. */
static int top_args(int argc, char **argv, int *pid, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "caches", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	unsigned long n;
	optind = 0;
	while ((c = cli_getopt("top", argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'i':
			if (!cli_double("top", "--interval", optarg, 0.01, 86400, &o->interval))
				return CLI_EXIT_USAGE;
			break;
		case 'c':
			if (!cli_ulong("top", "--count", optarg, 1, 1000000000, &n))
				return CLI_EXIT_USAGE;
			o->count = (long)n;
			break;
		case 'C':
			if (!cli_ulong("top", "--caches", optarg, 0, LAB_EXPORT_MAX_CACHES, &o->caches))
				return CLI_EXIT_USAGE;
			break;
		case 'h': top_usage(stdout); return -1;
		default: return CLI_EXIT_USAGE;
		}
	}
	return pid_operand("top", argc, argv, pid) ? 0 : CLI_EXIT_USAGE;
}

static double rate(uint64_t now, uint64_t before, double seconds)
{
	return seconds > 0 && now >= before ? (double)(now - before) / seconds : 0;
}

static const struct lab_zone_stats *find_zone(const struct lab_stats_snapshot *s,
					      const char *name)
{
	for (unsigned int i = 0; i < s->nr_zones; i++)
		if (!strcmp(s->zones[i].name, name))
			return &s->zones[i].st;
	return NULL;
}

/* A frame's caches: the snapshot, and whether it was read. */
struct top_caches {
	struct lab_slab_snapshot snap;
	bool read;
};

static const struct lab_kmem_cache_stats *find_cache(const struct top_caches *s,
						     const char *name)
{
	for (unsigned int i = 0; s && s->read && i < s->snap.nr_caches; i++)
		if (!strcmp(s->snap.caches[i].name, name))
			return &s->snap.caches[i].st;
	return NULL;
}

static const struct lab_slab_snapshot *sort_snap;

/* Most pages first; then most active objects; then by name. */
static int by_memory(const void *a, const void *b)
{
	const struct lab_kmem_cache_stats *x = &sort_snap->caches[*(const unsigned int *)a].st;
	const struct lab_kmem_cache_stats *y = &sort_snap->caches[*(const unsigned int *)b].st;
	if (x->pages != y->pages)
		return x->pages < y->pages ? 1 : -1;
	if (x->active_objs != y->active_objs)
		return x->active_objs < y->active_objs ? 1 : -1;
	return strcmp(sort_snap->caches[*(const unsigned int *)a].name,
		      sort_snap->caches[*(const unsigned int *)b].name);
}

/* slabtop's columns, the caches holding the most memory first, with rates. */
static void show_caches(const struct top_caches *now, const struct top_caches *prev,
			unsigned long most)
{
	if (!most)
		return;
	if (!now->read) {
		printf("\n(no object caches exported)\n");
		return;
	}
	double dt = prev && prev->read ? (double)(now->snap.taken_ns - prev->snap.taken_ns) / 1e9 : 0;
	static unsigned int order[LAB_EXPORT_MAX_CACHES];
	unsigned int n = now->snap.nr_caches;
	for (unsigned int i = 0; i < n; i++)
		order[i] = i;
	sort_snap = &now->snap;
	qsort(order, n, sizeof(order[0]), by_memory);
	printf("\n%8s %8s %5s %8s %6s %8s %10s %10s %10s %8s  %s\n", "objs", "active", "use%",
	       "obj size", "slabs", "obj/slab", "cache(KiB)", "alloc/s", "free/s", "fail/s",
	       "cache");
	for (unsigned int k = 0; k < n && k < most; k++) {
		const char *name = now->snap.caches[order[k]].name;
		const struct lab_kmem_cache_stats *st = &now->snap.caches[order[k]].st;
		const struct lab_kmem_cache_stats *was = find_cache(prev, name);
		double use = st->total_objs ? 100.0 * (double)st->active_objs /
					      (double)st->total_objs : 0;
		printf("%8zu %8zu %5.1f %8zu %6zu %8zu %10zu ", st->total_objs, st->active_objs,
		       use, st->size, st->slabs, st->objs_per_slab,
		       st->pages * lab_page_size() / 1024);
		if (was && dt > 0)
			printf("%10.0f %10.0f %8.0f  %s\n", rate(st->allocs, was->allocs, dt),
			       rate(st->frees, was->frees, dt), rate(st->alloc_fail, was->alloc_fail, dt),
			       name);
		else
			printf("%10s %10s %8s  %s\n", "-", "-", "-", name);
	}
}

static void show_frame(const struct lab_stats_snapshot *now, const struct lab_stats_snapshot *prev,
		       const struct top_caches *cnow, const struct top_caches *cprev,
		       double interval, unsigned long caches, bool tty)
{
	if (tty)
		fputs("\033[H\033[2J", stdout);
	double dt = prev ? (double)(now->taken_ns - prev->taken_ns) / 1e9 : 0;
	printf("labyrinth top: pid %d, %u zones, refresh %.1f s, export every %u ms\n",
	       now->pid, now->nr_zones, interval, now->interval_ms);
	printf("%-12s %9s %9s %7s %9s %6s %10s %10s %8s %8s %8s %8s %6s\n", "zone", "managed",
	       "free", "pcp", "alloc", "used%", "alloc/s", "free/s", "fail/s", "inject", "stall/s",
	       "kswapd/s", "bad");
	for (unsigned int i = 0; i < now->nr_zones; i++) {
		const struct lab_zone_stats *st = &now->zones[i].st;
		const struct lab_zone_stats *was = prev ? find_zone(prev, now->zones[i].name) : NULL;
		/* Used is what is allocated: pages on the per-CPU lists are free to
		 * the next allocation on their CPU. */
		double used = st->managed ? 100.0 * (double)st->allocated / (double)st->managed : 0;
		printf("%-12.12s %9zu %9zu %7zu %9zu %6.1f ", now->zones[i].name, st->managed,
		       st->free, st->pcp, st->allocated, used);
		if (was && dt > 0)
			printf("%10.0f %10.0f %8.0f %8llu %8.0f %8.0f %6llu\n",
			       rate(st->alloc_success, was->alloc_success, dt),
			       rate(st->free_calls, was->free_calls, dt),
			       rate(st->alloc_fail, was->alloc_fail, dt),
			       (unsigned long long)st->fail_injected,
			       rate(st->alloc_stall, was->alloc_stall, dt),
			       rate(st->kswapd_run, was->kswapd_run, dt),
			       (unsigned long long)st->bad_page);
		else
			printf("%10s %10s %8s %8llu %8s %8s %6llu\n", "-", "-", "-",
			       (unsigned long long)st->fail_injected, "-", "-",
			       (unsigned long long)st->bad_page);
	}
	show_caches(cnow, prev ? cprev : NULL, caches);
	if (!tty)
		putchar('\n');
	fflush(stdout);
}

int lab_tool_top(int argc, char **argv)
{
	int pid = 0;
	struct top_opts o = { 1.0, -1, 10 };
	int args = top_args(argc, argv, &pid, &o);
	if (args)
		return args < 0 ? 0 : args;
	double interval = o.interval;
	long count = o.count;
	bool tty = isatty(STDOUT_FILENO);
	static struct lab_stats_snapshot snaps[2];
	static struct top_caches caches[2];
	struct lab_stats_snapshot *now = &snaps[0], *prev = NULL;
	for (long shown = 0; count < 0 || shown < count; shown++) {
		if (shown) {
			struct timespec ts = { (time_t)interval,
					       (long)((interval - (double)(time_t)interval) * 1e9) };
			nanosleep(&ts, NULL);
		}
		struct top_caches *cnow = &caches[now - snaps], *cprev = &caches[now == snaps];
		cnow->read = o.caches && lab_slab_read_export(pid, &cnow->snap) == 0;
		int rc = lab_stats_read_export(pid, now);
		if (rc) {
			if (shown && (rc == -ENOENT || rc == -ESRCH)) {
				if (rc == -ESRCH)
					lab_stats_remove_stale(pid);  /* it was killed */
				printf("labyrinth top: process %d exited\n", pid);
				return 0;
			}
			explain(pid, rc);
			return 1;
		}
		/* Rates need a newer snapshot than the last one shown. */
		if (prev && now->taken_ns == prev->taken_ns)
			show_frame(now, NULL, cnow, NULL, interval, o.caches, tty);
		else
			show_frame(now, prev, cnow, cprev, interval, o.caches, tty);
		prev = now;
		now = now == &snaps[0] ? &snaps[1] : &snaps[0];
	}
	return 0;
}
