/* test_stats.c - counters after a scripted sequence, exactly; the dumps in
 * the /proc formats; the live export read back in-process and by
 * `labyrinth stat` / `labyrinth top` from another process. */
#include "helpers.h"
#include "page/zone.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIN 64
#define LOW 80
#define HIGH 96

static void poke(void *addr, const void *buf, size_t len)
{
	int fd = open("/proc/self/mem", O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, buf, len, (off_t)(uintptr_t)addr), (ssize_t)len);
	close(fd);
}

static char *capture(void (*print)(const struct lab_zone *, FILE *), const struct lab_zone *z)
{
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	print(z, f);
	fclose(f);
	return text;
}

/* The value of "name value" in a vmstat dump; fails the test if absent. */
static unsigned long long vm(const char *text, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\n%s ", name);
	char *with_nl;
	cr_assert_neq(asprintf(&with_nl, "\n%s", text), -1);
	const char *at = strstr(with_nl, key);
	cr_assert(at, "no %s in:\n%s", name, text);
	unsigned long long v = strtoull(at + strlen(key), NULL, 10);
	free(with_nl);
	return v;
}

Test(stats, scripted_sequence_gives_exact_counts)
{
	struct lab_zone *z = make_zone(1024, MIN, LOW, HIGH,
				       LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP | LAB_ZONE_POISON);
	struct held h;
	held_init(&h, 1024);

	/* 1. six allocations of three orders, all freed */
	struct lab_page *p[6];
	unsigned int orders[6] = { 0, 0, 0, 1, 1, 3 };
	for (int i = 0; i < 6; i++)
		cr_assert_not_null(p[i] = lab_alloc_pages(z, LAB_GFP_KERNEL, orders[i]));
	for (int i = 0; i < 6; i++)
		lab_free_pages(p[i], orders[i]);
	/* 2. two invalid calls */
	cr_assert_null(lab_alloc_pages(z, LAB_GFP_KERNEL, LAB_MAX_ORDER + 1));
	cr_assert_null(lab_alloc_pages(z, 0x8000u, 0));
	/* 3. one injected failure */
	struct lab_fault_attr fa = { .probability = 100, .interval = 1, .times = 1, .verbose = 0,
				     .ignore_gfp_wait = false, .min_order = 0 };
	cr_assert_eq(lab_fault_set(&fa), 0);
	cr_assert_null(lab_alloc_page(z, LAB_GFP_ATOMIC));
	/* 4. down to min: 960 allocations, none below min */
	set_free(z, &h, MIN);
	/* 5. NOWAIT fails at min */
	cr_assert_null(lab_alloc_page(z, LAB_GFP_NOWAIT));
	/* 6. ATOMIC succeeds at min, from the reserve */
	struct lab_page *a = lab_alloc_page(z, LAB_GFP_ATOMIC);
	cr_assert_not_null(a);
	lab_free_page(a);
	/* 7. a sleeping caller that may not retry: one direct reclaim round, fails */
	cr_assert_null(lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN));
	/* 8. 40 more from the reserve, then ATOMIC fails at 62.5% of min used */
	set_free(z, &h, MIN - MIN / 2 - MIN / 8);
	cr_assert_null(lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN));
	/* 9. a bad free: leaked */
	struct lab_page *bad = h.pages[--h.nr];
	lab_free_pages(bad, 1);
	/* 10. a write after free, caught by the poison on the next allocation */
	struct lab_page *w = h.pages[--h.nr];
	char *mem = lab_page_address(w);
	lab_free_page(w);
	poke(mem + 100, "x", 1);
	struct lab_page *again = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	cr_assert_eq(again, w, "LIFO: the corrupted page comes back");
	held_push(&h, again);

	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, 1024);
	cr_assert_eq(st.free, 24);
	cr_assert_eq(st.allocated, 1000);
	cr_assert_eq(st.leaked, 1);
	cr_assert_eq(st.deferred, 0);
	cr_assert_eq(st.reserved_highatomic, 0);
	cr_assert_eq(st.alloc_success, 6 + 960 + 1 + 40 + 1);
	cr_assert_eq(st.alloc_order[0], 3 + 960 + 1 + 40 + 1);
	cr_assert_eq(st.alloc_order[1], 2);
	cr_assert_eq(st.alloc_order[2], 0);
	cr_assert_eq(st.alloc_order[3], 1);
	for (int o = 4; o <= LAB_MAX_ORDER; o++)
		cr_assert_eq(st.alloc_order[o], 0);
	cr_assert_eq(st.free_calls, 6 + 1 + 1);
	cr_assert_eq(st.alloc_fail, 3);
	cr_assert_eq(st.fail_nowait, 1);
	cr_assert_eq(st.fail_sleeping, 1);
	cr_assert_eq(st.fail_atomic, 1);
	cr_assert_eq(st.fail_injected, 1);
	cr_assert_eq(st.alloc_einval, 2);
	cr_assert_eq(st.reserve_use, 1 + 40 + 1);
	cr_assert_eq(st.highatomic_use, 0);
	cr_assert_eq(st.alloc_stall, 0);
	cr_assert_eq(st.direct_reclaim, 1);
	cr_assert_eq(st.kswapd_wake, 0);
	cr_assert_eq(st.kswapd_run, 0);
	cr_assert_eq(st.shrinker_freed, 0);
	cr_assert_eq(st.oom_calls, 0);
	cr_assert_eq(st.grow, 0);
	cr_assert_eq(st.bad_page, 1);
	cr_assert_eq(st.lock_fail, 0);
	cr_assert_eq(st.poison_corrupt, 1);
	cr_assert_eq(st.pcp_hit, 0);
	cr_assert_eq(st.pcp_refill, 0);
	cr_assert_eq(st.pcp_drain, 0);

	/* The vmstat dump says the same, line by line. */
	char *text = capture(lab_zone_print_vmstat, z);
	struct { const char *name; unsigned long long v; } expect[] = {
		{ "nr_free_pages", 24 }, { "nr_managed_pages", 1024 }, { "nr_pcp_pages", 0 },
		{ "nr_allocated_pages", 1000 }, { "nr_deferred_pages", 0 },
		{ "nr_leaked_pages", 1 }, { "nr_free_highatomic", 0 },
		{ "pgalloc", 1008 }, { "pgalloc_order_0", 1005 }, { "pgalloc_order_1", 2 },
		{ "pgalloc_order_3", 1 }, { "pgalloc_order_10", 0 }, { "pgfree", 8 },
		{ "pgalloc_fail", 3 }, { "pgalloc_fail_atomic", 1 }, { "pgalloc_fail_nowait", 1 },
		{ "pgalloc_fail_sleeping", 1 }, { "pgalloc_fail_injected", 1 },
		{ "pgalloc_einval", 2 }, { "pgalloc_reserve", 42 }, { "pgalloc_highatomic", 0 },
		{ "allocstall", 0 }, { "direct_reclaim", 1 }, { "kswapd_wake", 0 },
		{ "pageoutrun", 0 }, { "shrinker_freed", 0 }, { "oom_calls", 0 },
		{ "zone_grow", 0 }, { "bad_page", 1 }, { "zone_lock_fail", 0 },
		{ "zone_lock_fail_alloc", 0 },
		{ "page_poison_corrupt", 1 }, { "pcp_hit", 0 }, { "pcp_refill", 0 },
		{ "pcp_drain", 0 },
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		cr_assert_eq(vm(text, expect[i].name), expect[i].v, "%s", expect[i].name);
	cr_assert_eq(count_of(text, "\n"), 7 + 1 + 11 + 23, "one line per counter:\n%s", text);
	free(text);

	text = capture(lab_zone_print_zoneinfo, z);
	cr_assert(strncmp(text, "Node 0, zone     test\n  pages free     24\n        boost    0\n"
				"        min      64\n        low      80\n        high     96\n"
				"        spanned  1024\n        present  1024\n        managed  1024\n",
			  strlen("Node 0, zone     test\n")) == 0, "%s", text);
	cr_assert(strstr(text, "  pages free     24\n        boost    0\n        min      64\n"
			       "        low      80\n        high     96\n        spanned  1024\n"
			       "        present  1024\n        managed  1024\n"), "%s", text);
	cr_assert(strstr(text, "      nr_free_pages 24\n"), "%s", text);
	free(text);

	text = capture(lab_zone_print_buddyinfo, z);
	char line[256];
	int n = snprintf(line, sizeof(line), "Node 0, zone %8s ", "test");
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%6zu ", st.nr_free[o]);
	snprintf(line + n, sizeof(line) - (size_t)n, "\n");
	cr_assert_str_eq(text, line);
	free(text);

	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * The counters of the general paths (orders above 3) are SPLIT (counters.h):
 * a cell written under the zone lock without a locked instruction, and an
 * atomic one for a free deferred because the lock was taken.  Two threads
 * pairing orders 4..6 on one zone fight for its lock (some frees may defer):
 * not one count may be lost or doubled.
 */
#define RACE_PAIRS 20000
static struct lab_zone *race_zone;

/* A zone whose per-CPU capacity (8 pages) holds no block above order 3:
 * orders 4 and up take the general path on every machine. */
static struct lab_zone *general_zone(size_t pages)
{
	struct lab_zone_config cfg = { .name = "test", .pages = pages,
				       .flags = LAB_ZONE_NO_KSWAPD, .pcp_high = 8 };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	return z;
}

static void *pair_orders(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	for (int i = 0; i < RACE_PAIRS; i++) {
		unsigned int order = 4 + (seed + (unsigned int)i) % 3;
		struct lab_page *p = lab_alloc_pages(race_zone, LAB_GFP_ATOMIC, order);
		cr_assert_not_null(p);
		lab_free_pages(p, order);
	}
	return NULL;
}

Test(stats, general_path_counts_are_exact_under_a_contended_lock)
{
	struct lab_zone *z = race_zone = general_zone(4096);
	pthread_t t[2];
	for (uintptr_t i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, pair_orders, (void *)i), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_zone_ok(z);  /* drains any deferred free */
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.alloc_success, 2 * RACE_PAIRS);
	cr_assert_eq(st.free_calls, 2 * RACE_PAIRS, "%llu frees counted",
		     (unsigned long long)st.free_calls);
	uint64_t per_order = 0;
	for (int o = 4; o <= 6; o++)
		per_order += st.alloc_order[o];
	cr_assert_eq(per_order, 2 * RACE_PAIRS);
	uint64_t want[3] = { 0 };
	for (unsigned int seed = 0; seed < 2; seed++)
		for (unsigned int i = 0; i < RACE_PAIRS; i++)
			want[(seed + i) % 3]++;
	for (int o = 4; o <= 6; o++)
		cr_assert_eq(st.alloc_order[o], want[o - 4]);
	cr_assert_eq(zone_free(z), 4096);
	lab_zone_destroy(z);
}

/* A free deferred by its own thread's hold of the lock (a signal handler):
 * counted at once, in the atomic cell, and not again when drained. */
static struct lab_page *deferred_page;
static void free_in_handler(int sig)
{
	(void)sig;
	lab_free_pages(deferred_page, 5);
}

Test(stats, a_deferred_free_is_counted_once)
{
	struct lab_zone *z = general_zone(1024);
	deferred_page = lab_alloc_pages(z, LAB_GFP_KERNEL, 5);
	cr_assert_not_null(deferred_page);
	struct lab_page *other = lab_alloc_pages(z, LAB_GFP_KERNEL, 4);
	lab_free_pages(other, 4);  /* a free that takes the lock */
	signal(SIGUSR1, free_in_handler);
	lab__zone_lock(z);
	raise(SIGUSR1);
	size_t deferred = atomic_load(&z->nr_deferred);
	lab__zone_unlock(z);
	signal(SIGUSR1, SIG_DFL);
	cr_assert_eq(deferred, 32, "the order-5 free was deferred");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.free_calls, 2);
	assert_zone_ok(z);  /* drains it */
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.deferred, 0);
	cr_assert_eq(st.free_calls, 2);
	cr_assert_eq(st.alloc_success, 2);
	cr_assert_eq(zone_free(z), 1024);
	lab_zone_destroy(z);
}

Test(stats, reclaimer_wakes_and_runs_are_counted)
{
	struct lab_zone *z = make_zone(1024, MIN, LOW, HIGH, LAB_ZONE_NO_PCP);
	struct held h;
	held_init(&h, 1024);
	set_free(z, &h, LOW);  /* fast path passes while free > low */
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC);  /* slow path: wakes kswapd */
	cr_assert_not_null(p);
	struct lab_zone_stats st;
	for (int i = 0; i < 1000; i++) {  /* wait for the thread, not for a time */
		lab_zone_get_stats(z, &st);
		if (st.kswapd_run)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	cr_assert_geq(st.kswapd_wake, 1);
	cr_assert_geq(st.kswapd_run, 1);
	lab_free_page(p);
	held_free_all(&h);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(stats, export_read_back_in_process)
{
	hold_export_lock();
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	static struct lab_stats_snapshot snap;
	cr_assert_eq(lab_stats_read_export(getpid(), &snap), -ENOENT, "off by default");
	cr_assert_eq(lab_stats_export_enable(10000), 0);
	char path[64];
	snprintf(path, sizeof(path), "/dev/shm/labyrinth.%d", (int)getpid());
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0, "%s", path);
	cr_assert_eq(sb.st_mode & 0777, 0600);

	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 3);
	lab_stats_export_sync();
	cr_assert_eq(lab_stats_read_export(getpid(), &snap), 0);
	cr_assert_eq(snap.pid, getpid());
	cr_assert_eq(snap.interval_ms, 10000);
	cr_assert_eq(snap.nr_zones, 1);
	cr_assert_str_eq(snap.zones[0].name, "test");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(memcmp(&snap.zones[0].st, &st, sizeof(st)), 0);
	cr_assert_eq(snap.zones[0].st.alloc_order[3], 1);

	lab_free_pages(p, 3);
	lab_zone_destroy(z);
	cr_assert_eq(lab_stats_read_export(getpid(), &snap), 0);
	cr_assert_eq(snap.nr_zones, 0, "a destroyed zone leaves the export");
	lab_stats_export_disable();
	cr_assert_neq(stat(path, &sb), 0, "the file is removed");
	cr_assert_eq(lab_stats_read_export(getpid(), &snap), -ENOENT);
}

/* ---- the statistics struct grows without breaking binaries (ABI) ------- */

#define CANARY 0x5a

static bool all_bytes(const void *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != c)
			return false;
	return true;
}

Test(stats, a_smaller_or_larger_stats_struct_is_filled_to_its_size)
{
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
	struct lab_zone_stats full;
	lab_zone_get_stats(z, &full);
	cr_assert_eq(full.allocated, 4);
	static unsigned char buf[sizeof(struct lab_zone_stats) + 256];

	/* An "old" caller, built when the struct had one field less. */
	size_t old = sizeof(struct lab_zone_stats) - 8;
	memset(buf, CANARY, sizeof(buf));
	cr_assert_eq(lab_zone_get_stats2(z, (struct lab_zone_stats *)buf, old), old);
	cr_assert_eq(memcmp(buf, &full, old), 0);
	cr_assert(all_bytes(buf + old, sizeof(buf) - old, CANARY),
		  "written past the caller's size");

	/* A binary built against 0.1.0 calls the old symbol: 0.1.0's size. */
	memset(buf, CANARY, sizeof(buf));
	(lab_zone_get_stats)(z, (struct lab_zone_stats *)buf);
	cr_assert_eq(memcmp(buf, &full, LAB_ZONE_STATS_SIZE_0), 0);
	cr_assert(all_bytes(buf + LAB_ZONE_STATS_SIZE_0, sizeof(buf) - LAB_ZONE_STATS_SIZE_0,
			    CANARY));

	/* A "newer" caller: the fields this library does not know are zero. */
	size_t newer = sizeof(struct lab_zone_stats) + 64;
	memset(buf, CANARY, sizeof(buf));
	cr_assert_eq(lab_zone_get_stats2(z, (struct lab_zone_stats *)buf, newer), sizeof(full));
	cr_assert_eq(memcmp(buf, &full, sizeof(full)), 0);
	cr_assert(all_bytes(buf + sizeof(full), 64, 0));
	cr_assert(all_bytes(buf + newer, sizeof(buf) - newer, CANARY));
	lab_free_pages(p, 2);
	lab_zone_destroy(z);
}

Test(stats, an_export_is_read_into_a_snapshot_of_the_callers_stats_size)
{
	hold_export_lock();
	struct lab_zone *a = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_zone *b = make_zone(128, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	struct lab_page *p = lab_alloc_pages(b, LAB_GFP_KERNEL, 1);
	cr_assert_eq(lab_stats_export_enable(10000), 0);
	lab_stats_export_sync();
	static struct lab_stats_snapshot full;
	cr_assert_eq(lab_stats_read_export(getpid(), &full), 0);
	cr_assert_eq(full.nr_zones, 2);

	/* Entries of an "old" caller: name + one field less of stats each. */
	size_t ss = sizeof(struct lab_zone_stats) - 8, entry = 32 + ss;
	size_t zones = offsetof(struct lab_stats_snapshot, zones);
	size_t used = zones + LAB_EXPORT_MAX_ZONES * entry;
	static unsigned char buf[sizeof(struct lab_stats_snapshot) + 256];
	memset(buf, CANARY, sizeof(buf));
	struct lab_stats_snapshot *old = (struct lab_stats_snapshot *)buf;
	cr_assert_eq(lab_stats_read_export2(getpid(), old, ss), 0);
	cr_assert_eq(old->nr_zones, 2);
	for (unsigned int i = 0; i < 2; i++) {
		const unsigned char *e = buf + zones + i * entry;
		cr_assert_str_eq((const char *)e, full.zones[i].name);
		cr_assert_eq(memcmp(e + 32, &full.zones[i].st, ss), 0, "zone %u", i);
	}
	cr_assert(all_bytes(buf + zones + 2 * entry, sizeof(buf) - zones - 2 * entry, CANARY),
		  "nothing past the zones read");
	cr_assert_lt(used, sizeof(struct lab_stats_snapshot));
	cr_assert_eq(lab_stats_read_export2(getpid(), old, 12), -EINVAL, "not a struct size");
	/* The 0.1.0 symbol reads 0.1.0's layout. */
	memset(buf, CANARY, sizeof(buf));
	cr_assert_eq((lab_stats_read_export)(getpid(), old), 0);
	cr_assert_eq(memcmp(buf + zones + (32 + LAB_ZONE_STATS_SIZE_0) + 32, &full.zones[1].st,
			    LAB_ZONE_STATS_SIZE_0), 0);
	lab_stats_export_disable();
	lab_free_pages(p, 1);
	lab_zone_destroy(b);
	lab_zone_destroy(a);
}

Test(stats, labyrinth_stat_and_top_read_another_process)
{
	hold_export_lock();
	int to_child;
	pid_t pid = start_exporter("export", &to_child);
	static char out[65536];
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s stat %d", test_path("TOOL"), (int)pid);
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert_eq(status, 0, "%s", out);
	char head[128];
	snprintf(head, sizeof(head), "# labyrinth stat: process %d, 1 zones\n", (int)pid);
	cr_assert(strstr(out, head), "%s", out);
	cr_assert(strstr(out, "\n# buddyinfo\nNode 0, zone exported "), "%s", out);
	cr_assert(strstr(out, "\n# zoneinfo\nNode 0, zone exported\n  pages free     506\n"), "%s",
		  out);
	cr_assert(strstr(out, "\n# vmstat zone exported\nnr_free_pages 506\n"), "%s", out);
	cr_assert(strstr(out, "\npgalloc 4\n"), "%s", out);
	cr_assert(strstr(out, "\npgalloc_order_0 3\n"), "%s", out);
	cr_assert(strstr(out, "\npgalloc_order_2 1\n"), "%s", out);
	cr_assert(strstr(out, "\npgfree 1\n"), "%s", out);

	snprintf(cmd, sizeof(cmd), "%s stat %d --vmstat", test_path("TOOL"), (int)pid);
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(strstr(out, "# buddyinfo"), NULL, "%s", out);

	snprintf(cmd, sizeof(cmd), "%s top %d --count 3 --interval 0.05 </dev/null",
		 test_path("TOOL"), (int)pid);
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(count_of(out, "labyrinth top: pid "), 3, "three refreshes:\n%s", out);
	cr_assert_eq(count_of(out, "\nexported "), 3, "%s", out);
	cr_assert_eq(strchr(out, '\033'), NULL, "no terminal codes without a terminal");

	/* The process ends: its file goes with it. */
	close(to_child);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(cmd, sizeof(cmd), "%s stat %d", test_path("TOOL"), (int)pid);
	cr_assert_neq(run_shell(cmd, out, sizeof(out)), 0);
	cr_assert(strstr(out, "exports no statistics"), "%s", out);
}

/* An exporter killed with SIGKILL (no atexit) leaves its file: returns the
 * file's path in path. */
static pid_t killed_exporter(char *path, size_t len)
{
	int to_child;
	pid_t pid = start_exporter("export", &to_child);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	close(to_child);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	snprintf(path, len, "/dev/shm/labyrinth.%d", (int)pid);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0, "the killed exporter left %s", path);
	return pid;
}

Test(stats, a_new_export_removes_the_files_of_killed_processes)
{
	hold_export_lock();
	char dead[64], live[64];
	killed_exporter(dead, sizeof(dead));
	int to_child;
	pid_t alive = start_exporter("export", &to_child);
	snprintf(live, sizeof(live), "/dev/shm/labyrinth.%d", (int)alive);
	cr_assert_eq(lab_stats_export_enable(10000), 0);
	struct stat sb;
	cr_assert_neq(stat(dead, &sb), 0, "%s is stale and should be gone", dead);
	cr_assert_eq(stat(live, &sb), 0, "a live exporter keeps %s", live);
	lab_stats_export_disable();
	close(to_child);
	int status;
	waitpid(alive, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_neq(stat(live, &sb), 0, "an exporter that exits removes its own file");
	/* The call itself: nothing stale left, a live process is not stale. */
	cr_assert_eq(lab_stats_remove_stale(0), 0);
	cr_assert_eq(lab_stats_remove_stale(getpid()), 0);
	cr_assert_eq(lab_stats_remove_stale(-1), -EINVAL);
}

Test(stats, labyrinth_stat_removes_the_file_of_a_killed_process)
{
	hold_export_lock();
	char path[64], cmd[1024], out[4096];
	pid_t pid = killed_exporter(path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s stat %d", test_path("TOOL"), (int)pid);
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
	char want[160];
	snprintf(want, sizeof(want), "labyrinth: process %d is gone; its stale %s is removed\n",
		 (int)pid, path);
	cr_assert_str_eq(out, want);
	struct stat sb;
	cr_assert_neq(stat(path, &sb), 0, "%s is gone", path);
	status = run_shell(cmd, out, sizeof(out));
	cr_assert(strstr(out, "exports no statistics"), "%s", out);
	/* The same through the library call, for one pid. */
	pid = killed_exporter(path, sizeof(path));
	cr_assert_eq(lab_stats_remove_stale((int)pid), 1);
	cr_assert_eq(lab_stats_remove_stale((int)pid), -ENOENT);
}

Test(stats, stat_of_a_process_without_export)
{
	char out[4096], cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s stat 1", test_path("TOOL"));
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s", out);
	cr_assert(strstr(out, "labyrinth: process 1 exports no statistics"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s stat notapid", test_path("TOOL"));
	status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s", out);
	cr_assert(strstr(out, "labyrinth: stat: 'notapid' is not a process id"), "%s", out);
}
