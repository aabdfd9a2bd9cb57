/*
 * stat.c - `labyrinth stat PID` prints another process's zones in the
 * formats of /proc/buddyinfo, /proc/zoneinfo and /proc/vmstat;
 * `labyrinth top PID` refreshes a one-line-per-zone summary with rates.
 * Both only read the process's export file: they never stop or slow it.
 */
#include "stat.h"

#include <errno.h>
#include <labyrinth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int parse_pid(const char *s, int *pid)
{
	char *end;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || *end || end == s || v <= 0 || v > 0x3fffffff)
		return -1;
	*pid = (int)v;
	return 0;
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

static void stat_usage(FILE *out)
{
	fprintf(out, "usage: labyrinth stat PID [--buddyinfo | --zoneinfo | --vmstat]\n");
}

int lab_tool_stat(int argc, char **argv)
{
	int pid = 0;
	int formats = 0;  /* bit per enum lab_stats_format; none = all */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--buddyinfo"))
			formats |= 1 << LAB_STATS_BUDDYINFO;
		else if (!strcmp(argv[i], "--zoneinfo"))
			formats |= 1 << LAB_STATS_ZONEINFO;
		else if (!strcmp(argv[i], "--vmstat"))
			formats |= 1 << LAB_STATS_VMSTAT;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			stat_usage(stdout);
			return 0;
		} else if (pid || parse_pid(argv[i], &pid)) {
			stat_usage(stderr);
			return 2;
		}
	}
	if (!pid) {
		stat_usage(stderr);
		return 2;
	}
	if (!formats)
		formats = 1 << LAB_STATS_BUDDYINFO | 1 << LAB_STATS_ZONEINFO | 1 << LAB_STATS_VMSTAT;

	static struct lab_stats_snapshot snap;
	int rc = lab_stats_read_export(pid, &snap);
	if (rc) {
		explain(pid, rc);
		return 1;
	}
	printf("# labyrinth stat: process %d, %u zones\n", snap.pid, snap.nr_zones);
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
	return 0;
}

static void top_usage(FILE *out)
{
	fprintf(out, "usage: labyrinth top PID [--interval SECONDS] [--count N]\n"
		     "  refreshes every SECONDS (default 1) until the process exits, N\n"
		     "  refreshes were shown, or Ctrl-C; plain lines when not on a terminal\n");
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

static void show_frame(const struct lab_stats_snapshot *now, const struct lab_stats_snapshot *prev,
		       double interval, bool tty)
{
	if (tty)
		fputs("\033[H\033[2J", stdout);
	double dt = prev ? (double)(now->taken_ns - prev->taken_ns) / 1e9 : 0;
	printf("labyrinth top: pid %d, %u zones, refresh %.1f s, export every %u ms\n",
	       now->pid, now->nr_zones, interval, now->interval_ms);
	printf("%-12s %9s %9s %6s %10s %10s %8s %8s %8s %8s %6s\n", "zone", "managed", "free",
	       "used%", "alloc/s", "free/s", "fail/s", "inject", "stall/s", "kswapd/s", "bad");
	for (unsigned int i = 0; i < now->nr_zones; i++) {
		const struct lab_zone_stats *st = &now->zones[i].st;
		const struct lab_zone_stats *was = prev ? find_zone(prev, now->zones[i].name) : NULL;
		double used = st->managed ? 100.0 * (double)(st->managed - st->free) /
						    (double)st->managed : 0;
		if (was && dt > 0)
			printf("%-12.12s %9zu %9zu %6.1f %10.0f %10.0f %8.0f %8llu %8.0f %8.0f %6llu\n",
			       now->zones[i].name, st->managed, st->free, used,
			       rate(st->alloc_success, was->alloc_success, dt),
			       rate(st->free_calls, was->free_calls, dt),
			       rate(st->alloc_fail, was->alloc_fail, dt),
			       (unsigned long long)st->fail_injected,
			       rate(st->alloc_stall, was->alloc_stall, dt),
			       rate(st->kswapd_run, was->kswapd_run, dt),
			       (unsigned long long)st->bad_page);
		else
			printf("%-12.12s %9zu %9zu %6.1f %10s %10s %8s %8llu %8s %8s %6llu\n",
			       now->zones[i].name, st->managed, st->free, used, "-", "-", "-",
			       (unsigned long long)st->fail_injected, "-", "-",
			       (unsigned long long)st->bad_page);
	}
	if (!tty)
		putchar('\n');
	fflush(stdout);
}

int lab_tool_top(int argc, char **argv)
{
	int pid = 0;
	double interval = 1.0;
	long count = -1;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			interval = strtod(argv[++i], &end);
			if (*end || !(interval > 0) || interval > 86400) {
				fprintf(stderr, "labyrinth top: bad --interval '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count <= 0) {
				fprintf(stderr, "labyrinth top: bad --count '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			top_usage(stdout);
			return 0;
		} else if (pid || parse_pid(argv[i], &pid)) {
			top_usage(stderr);
			return 2;
		}
	}
	if (!pid) {
		top_usage(stderr);
		return 2;
	}
	bool tty = isatty(STDOUT_FILENO);
	static struct lab_stats_snapshot snaps[2];
	struct lab_stats_snapshot *now = &snaps[0], *prev = NULL;
	for (long shown = 0; count < 0 || shown < count; shown++) {
		if (shown) {
			struct timespec ts = { (time_t)interval,
					       (long)((interval - (double)(time_t)interval) * 1e9) };
			nanosleep(&ts, NULL);
		}
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
			show_frame(now, NULL, interval, tty);
		else
			show_frame(now, prev, interval, tty);
		prev = now;
		now = now == &snaps[0] ? &snaps[1] : &snaps[0];
	}
	return 0;
}
