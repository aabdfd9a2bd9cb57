/* test_tools.c - what the `labyrinth` command shows adds up: in the demo,
 * `labyrinth stat` and `labyrinth top`, a zone's free pages, the pages on
 * its per-CPU lists and its allocated pages make its managed pages, as in
 * the kernel's zoneinfo (per-CPU pages are in neither free nor allocated).
 * The output is parsed as a user would read it. */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct sum {
	size_t free, pcp, allocated, managed, deferred;
};

/* Parse "free F + per-CPU P + allocated A = managed M" at s, and, if this
 * line or the next names them, the deferred frees among the allocated. */
static bool parse_sum(const char *s, struct sum *out)
{
	char two_lines[512];
	size_t len = 0;
	for (int nl = 0; s[len] && len < sizeof(two_lines) - 1 && nl < 2; len++)
		nl += s[len] == '\n';
	memcpy(two_lines, s, len);
	two_lines[len] = '\0';
	out->deferred = 0;
	const char *d = strstr(two_lines, "of the allocated, ");
	if (d)
		sscanf(d, "of the allocated, %zu freed", &out->deferred);
	return sscanf(s, "free %zu + per-CPU %zu + allocated %zu = managed %zu", &out->free,
		      &out->pcp, &out->allocated, &out->managed) == 4;
}

Test(tools, demo_shows_pages_that_add_up_and_all_freed_at_the_end)
{
	static char out[65536];
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s demo", test_path("TOOL"));
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert_eq(status, 0, "%s", out);
	int lines = 0;
	struct sum s = { 0 }, freed = { 0 }, drained = { 0 };
	bool saw_pcp = false;
	for (const char *p = strstr(out, "\n-- "); p; p = strstr(p + 1, "\n-- ")) {
		const char *colon = strstr(p, ": free ");
		cr_assert_not_null(colon, "%.80s", p + 1);
		cr_assert(parse_sum(colon + 2, &s), "unparsed: %.120s", p + 1);
		cr_assert_eq(s.free + s.pcp + s.allocated, s.managed, "%.120s", p + 1);
		cr_assert_eq(s.managed, 4096);
		saw_pcp |= s.pcp > 0;
		if (!strncmp(p, "\n-- everything freed", 20))
			freed = s;
		if (!strncmp(p, "\n-- after lab_drain_all_pages() and lab_zone_check()", 52))
			drained = s;
		lines++;
	}
	cr_assert_eq(lines, 6, "%s", out);
	cr_assert(saw_pcp || !strcmp(lab_pcp_mode_name(), "off"), "no per-CPU pages shown:\n%s",
		  out);
	/* Everything freed: what still counts as allocated is only frees
	 * deferred while kswapd held the zone lock, and the demo says so. */
	cr_assert_leq(freed.allocated, freed.deferred, "everything freed: %zu allocated, %zu of "
		      "them deferred frees", freed.allocated, freed.deferred);
	/* Then the lists drained and the deferred frees landed: all free. */
	cr_assert_eq(drained.free, 4096, "drained: free %zu + per-CPU %zu + allocated %zu",
		     drained.free, drained.pcp, drained.allocated);
	cr_assert(strstr(out, "invariants: all hold"), "%s", out);
}

static void stop_exporter(pid_t pid, int to_child)
{
	int status;
	close(to_child);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exporter status %#x", status);
}

/* The value after "\n<name> " in a /proc-style dump. */
static size_t value_of(const char *text, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *p = strstr(text, key);
	cr_assert_not_null(p, "%s missing in:\n%s", name, text);
	return strtoul(p + strlen(key), NULL, 10);
}

/* The numbers of the slabinfo line of cache name in text. */
struct slabinfo_line {
	unsigned long active, num, objsize, perslab, pages, limit, batch, shared, aslabs, nslabs;
};

static struct slabinfo_line slabinfo_of(const char *text, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *p = strstr(text, key);
	cr_assert_not_null(p, "no %s in:\n%s", name, text);
	struct slabinfo_line l;
	unsigned long avail;
	cr_assert_eq(sscanf(p + strlen(key), "%lu %lu %lu %lu %lu : tunables %lu %lu %lu : "
			    "slabdata %lu %lu %lu", &l.active, &l.num, &l.objsize, &l.perslab,
			    &l.pages, &l.limit, &l.batch, &l.shared, &l.aslabs, &l.nslabs,
			    &avail), 11, "%s", p);
	return l;
}

Test(tools, stat_and_top_show_the_caches_as_slabinfo_and_slabtop)
{
	hold_export_lock();
	int to_child;
	/* dc-objs: 1000 objects of 100 bytes in use; kmalloc-64: 50 at least */
	pid_t pid = start_exporter("export-slab", &to_child);
	static char out[65536];
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s stat %d --slabinfo", test_path("TOOL"), (int)pid);
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\n# slabinfo\nslabinfo - version: 2.1\n"), "%s", out);
	cr_assert_null(strstr(out, "# buddyinfo"), "only what was asked for:\n%s", out);
	struct slabinfo_line l = slabinfo_of(out, "dc-objs");
	cr_assert_eq(l.active, 1000, "%s", out);
	cr_assert_geq(l.num, 1000);
	cr_assert_geq(l.objsize, 100);
	cr_assert_eq(l.nslabs, (l.num + l.perslab - 1) / l.perslab, "%s", out);
	cr_assert_leq(l.aslabs, l.nslabs);
	cr_assert_gt(l.limit, 0);
	cr_assert_geq(slabinfo_of(out, "kmalloc-64").active, 50, "%s", out);

	/* The same numbers through the API, also for a reader built with fewer
	 * (appended) fields of the stats: each entry lands where its struct says. */
	static struct lab_slab_snapshot snap;
	cr_assert_eq(lab_slab_read_export(pid, &snap), 0);
	size_t older = offsetof(struct lab_kmem_cache_stats, cpu_limit);
	static char small[sizeof(struct lab_slab_snapshot)];
	struct lab_slab_snapshot *s2 = (struct lab_slab_snapshot *)(void *)small;
	cr_assert_eq(lab_slab_read_export2(pid, s2, older), 0);
	cr_assert_eq(s2->nr_caches, snap.nr_caches);
	bool found = false;
	for (unsigned int i = 0; i < snap.nr_caches; i++) {
		const char *entry = small + offsetof(struct lab_slab_snapshot, caches) +
				    i * (sizeof(snap.caches[0].name) + older);
		cr_assert_str_eq(entry, snap.caches[i].name);
		struct lab_kmem_cache_stats st;
		memcpy(&st, entry + sizeof(snap.caches[0].name), older);
		cr_assert_eq(st.active_objs, snap.caches[i].st.active_objs, "%s", entry);
		cr_assert_eq(st.allocs, snap.caches[i].st.allocs, "%s", entry);
		if (!strcmp(entry, "dc-objs")) {
			found = true;
			cr_assert_eq(st.active_objs, 1000);
			cr_assert_eq(snap.caches[i].st.cpu_limit, l.limit);
		}
	}
	cr_assert(found);
	cr_assert_eq(lab_slab_read_export2(pid, &snap, 12), -EINVAL, "not a stats size");

	snprintf(cmd, sizeof(cmd), "%s top %d --count 2 --interval 0.05 --caches 3 </dev/null",
		 test_path("TOOL"), (int)pid);
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	const char *head = strstr(out, "\n    objs   active  use%");
	cr_assert_not_null(head, "%s", out);
	const char *row = strstr(head, " dc-objs\n");
	cr_assert_not_null(row, "dc-objs holds the most memory:\n%s", out);
	while (row > head && row[-1] != '\n')
		row--;
	unsigned long objs, active;
	double use;
	cr_assert_eq(sscanf(row, "%lu %lu %lf", &objs, &active, &use), 3, "%s", row);
	cr_assert_eq(active, 1000, "%s", out);
	cr_assert_eq(objs, l.num);
	/* The first frame: its heading and 3 caches, up to the blank line. */
	const char *end = strstr(head + 1, "\n\n");
	cr_assert_not_null(end, "%s", out);
	int rows = 0;
	for (const char *p = head + 1; p < end; p++)
		rows += *p == '\n';
	cr_assert_eq(rows, 3, "the heading and 3 caches:\n%.*s", (int)(end - head), head);

	stop_exporter(pid, to_child);
}

Test(tools, stat_and_top_show_per_cpu_pages_apart_and_the_pages_add_up)
{
	hold_export_lock();  /* the exporter's start sweeps stale export files */
	int to_child;
	/* 1024 pages, 10 allocated, 30 on a per-CPU list */
	pid_t pid = start_exporter("export-pcp", &to_child);
	static char out[65536];
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s stat %d", test_path("TOOL"), (int)pid);
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	const char *line = strstr(out, "\n# zone percpu: ");
	cr_assert_not_null(line, "%s", out);
	struct sum s;
	cr_assert(parse_sum(line + strlen("\n# zone percpu: "), &s), "%s", out);
	cr_assert_eq(s.managed, 1024);
	cr_assert_eq(s.allocated, 10, "%s", out);
	if (strcmp(lab_pcp_mode_name(), "off"))
		cr_assert_gt(s.pcp, 0, "the freed pages wait on a per-CPU list:\n%s", out);
	cr_assert_eq(s.free + s.pcp + s.allocated, s.managed, "%s", out);
	/* zoneinfo and vmstat carry the same three numbers. */
	cr_assert_eq(value_of(out, "      nr_free_pages"), s.free);
	cr_assert_eq(value_of(out, "      nr_pcp_pages"), s.pcp);
	cr_assert_eq(value_of(out, "      nr_allocated"), s.allocated);
	cr_assert_eq(value_of(out, "nr_free_pages"), s.free);
	cr_assert_eq(value_of(out, "nr_pcp_pages"), s.pcp);
	cr_assert_eq(value_of(out, "nr_allocated_pages"), s.allocated);

	snprintf(cmd, sizeof(cmd), "%s top %d --count 1 </dev/null", test_path("TOOL"), (int)pid);
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	const char *head = strstr(out, "\nzone ");
	cr_assert_not_null(head, "%s", out);
	char c1[16], c2[16], c3[16], c4[16], c5[16], c6[16];
	cr_assert_eq(sscanf(head + 1, "%15s %15s %15s %15s %15s %15s", c1, c2, c3, c4, c5, c6), 6);
	cr_assert(!strcmp(c2, "managed") && !strcmp(c3, "free") && !strcmp(c4, "pcp") &&
		  !strcmp(c5, "alloc") && !strcmp(c6, "used%"), "columns: %s", out);
	const char *row = strstr(out, "\npercpu ");
	cr_assert_not_null(row, "%s", out);
	struct sum t;
	double used;
	cr_assert_eq(sscanf(row + 1, "percpu %zu %zu %zu %zu %lf", &t.managed, &t.free, &t.pcp,
			    &t.allocated, &used), 5, "%s", out);
	cr_assert_eq(t.free + t.pcp + t.allocated, t.managed, "%s", out);
	cr_assert_eq(t.allocated, 10);
	cr_assert(used > 0.95 && used < 1.05, "used%% is what is allocated (1.0): %.2f", used);

	stop_exporter(pid, to_child);
}
