/*
 * malloc.c - `labyrinth bench --malloc`: liblabyrinth-malloc.so against
 * glibc, jemalloc, tcmalloc and mimalloc on allocation-heavy work, every
 * allocator preloaded the same way (LD_PRELOAD; glibc's own libc.so.6, so
 * that a program linked with another malloc, redis-server with jemalloc,
 * gets glibc's), interleaved round by round so that the machine's moods
 * fall on all alike, with ratios from the same run.
 *
 * Workloads: programs (python3, sqlite3, git, perl, gcc, stress-ng,
 * redis-server under redis-benchmark) and synthetic ones run by this binary
 * itself as a worker (`labyrinth bench-worker malloc NAME`): a larson-style
 * server simulation (threads replace random objects, and hand their arrays
 * on to other threads, so most frees are of objects another thread made),
 * producer/consumer (every free remote), realloc growth, and small pairs.
 * Each (workload, allocator) is timed by wall clock; a program that is not
 * installed is left out with a note.  Peak resident memory is the largest
 * RSS of the run's process tree (getrusage RUSAGE_CHILDREN in a fresh
 * process that waits for it).
 *
 * Printed: per workload the median time of each allocator and its ratio to
 * the best peer (the fastest of glibc, jemalloc, tcmalloc, mimalloc), peak
 * RSS and its ratio to glibc's; then the geometric mean of Labyrinth's
 * ratios, its worst one, and its worst RSS ratio, against the targets of
 * issue 14 (1.1x, 1.5x, 1.25x).  --json for machines.
 *
 * Exports bench_malloc_run and bench_malloc_worker (bench_malloc.h).
 */
#include "bench_malloc.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the synthetic workloads (run in a worker, under LD_PRELOAD) ---------- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* larson: the threads of a server, each replacing random objects of its
 * array; after every round the arrays move on to the next thread, so the
 * objects a thread frees were mostly made by others. */
#define LARSON_THREADS 4
#define LARSON_SLOTS 4096
#define LARSON_ROUNDS 40
#define LARSON_OPS 25000
static void *larson_arrays[LARSON_THREADS][LARSON_SLOTS];
static pthread_barrier_t larson_barrier;

static void *larson_thread(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (t + 1);
	for (unsigned int r = 0; r < LARSON_ROUNDS; r++) {
		void **a = larson_arrays[(t + r) % LARSON_THREADS];
		for (unsigned int i = 0; i < LARSON_OPS; i++) {
			uint64_t x = rnd(&s);
			unsigned int k = (unsigned int)(x % LARSON_SLOTS);
			free(a[k]);
			size_t n = 16 + (x >> 20) % 496;
			a[k] = malloc(n);
			((char *)a[k])[0] = (char)n;
		}
		pthread_barrier_wait(&larson_barrier);
	}
	return NULL;
}

static int work_larson(void)
{
	pthread_t th[LARSON_THREADS];
	pthread_barrier_init(&larson_barrier, NULL, LARSON_THREADS);
	for (unsigned int t = 0; t < LARSON_THREADS; t++)
		pthread_create(&th[t], NULL, larson_thread, (void *)(uintptr_t)t);
	for (unsigned int t = 0; t < LARSON_THREADS; t++)
		pthread_join(th[t], NULL);
	for (unsigned int t = 0; t < LARSON_THREADS; t++)
		for (unsigned int k = 0; k < LARSON_SLOTS; k++)
			free(larson_arrays[t][k]);
	return 0;
}

/* Producer/consumer: every object is freed by another thread. */
#define RING 1024
#define XFER_OBJECTS 3000000
static _Atomic(void *) ring[RING];

static void *producer(void *arg)
{
	uint64_t s = 12345;
	for (unsigned long i = 0; i < XFER_OBJECTS; i++) {
		size_t n = 16 + rnd(&s) % 240;
		void *p = malloc(n);
		*(volatile char *)p = 1;
		unsigned int k = (unsigned int)(i % RING);
		while (atomic_load_explicit(&ring[k], memory_order_acquire))
			;
		atomic_store_explicit(&ring[k], p, memory_order_release);
	}
	return arg;
}

static int work_xfree(void)
{
	pthread_t th;
	pthread_create(&th, NULL, producer, NULL);
	for (unsigned long i = 0; i < XFER_OBJECTS; i++) {
		unsigned int k = (unsigned int)(i % RING);
		void *p;
		while (!(p = atomic_exchange_explicit(&ring[k], NULL, memory_order_acquire)))
			;
		free(p);
	}
	pthread_join(th, NULL);
	return 0;
}

/* realloc growth: many buffers grown by small appends, as strings and
 * vectors are, some to a few MiB; then freed. */
static int work_realloc(void)
{
	uint64_t s = 777;
	for (int round = 0; round < 20; round++) {
		enum { N = 500 };
		static char *buf[N];
		static size_t len[N];
		for (int step = 0; step < 400; step++) {
			for (int i = 0; i < N; i++) {
				size_t add = 8 + rnd(&s) % (i % 50 == 0 ? 16384 : 256);
				char *q = realloc(buf[i], len[i] + add);
				if (!q)
					return 1;
				memset(q + len[i], (char)i, add);
				buf[i] = q;
				len[i] += add;
			}
		}
		for (int i = 0; i < N; i++) {
			free(buf[i]);
			buf[i] = NULL;
			len[i] = 0;
		}
	}
	return 0;
}

/* Small pairs: malloc+free of 16..256 bytes, 64 live at a time. */
static int work_pairs(void)
{
	uint64_t s = 99;
	void *live[64] = { 0 };
	for (unsigned long i = 0; i < 20000000; i++) {
		unsigned int k = (unsigned int)(i & 63);
		free(live[k]);
		live[k] = malloc(16 + rnd(&s) % 241);
	}
	for (int k = 0; k < 64; k++)
		free(live[k]);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} synthetic[] = {
	{ "larson", work_larson },
	{ "xfree", work_xfree },
	{ "realloc", work_realloc },
	{ "pairs", work_pairs },
};

/* ---- the workloads ------------------------------------------------------------ */

struct workload {
	const char *name;
	const char *what;
	const char *need;      /* a program that must be installed, or NULL */
	const char *setup;     /* shell run once before (not timed) in the scratch dir */
	const char *cmd;       /* shell, timed; NULL: a synthetic worker of that name */
	bool redis;            /* throughput from redis-benchmark instead of time */
};

static const char py_work[] =
	"import random\n"
	"random.seed(1)\n"
	"for r in range(4):\n"
	"    lists = [[i] * (i % 300) for i in range(120000)]\n"
	"    strs = ['x' * (i % 3000) for i in range(100000)]\n"
	"    d = {i: str(i) * (i % 90) for i in range(150000)}\n"
	"    b = [bytes(i % 4000) for i in range(60000)]\n"
	"    grow = []\n"
	"    for i in range(300000): grow.append(i)\n"
	"    s = ''.join(strs[::7])\n"
	"    del lists, strs, d, b, grow\n"
	"print(len(s))\n";

static const char sql_work[] =
	"create table t(id integer primary key, name text, grp int, val real);\n"
	"with recursive n(i) as (select 1 union all select i + 1 from n where i < 300000)\n"
	"insert into t(name, grp, val) select printf('name-%08d-%x', i, i * 31), i % 97,"
	" (i * 7919) % 10007 / 3.0 from n;\n"
	"create index t_grp on t(grp, val);\n"
	"select grp, count(*), sum(val) from t group by grp order by grp limit 3;\n"
	"update t set val = val * 2 where grp < 30;\n"
	"delete from t where id % 5 = 0;\n"
	"select count(*), sum(val) from t;\n";

static const char perl_work[] =
	"my %h; my @a;\n"
	"for my $i (1 .. 400000) { $h{\"key$i\"} = [ map { $_ * $i } 1 .. ($i % 13) ];"
	" push @a, 'v' x ($i % 50); }\n"
	"my @s = sort { $a cmp $b } map { scalar reverse $_ } keys %h;\n"
	"my $t = join(',', map { sprintf('%x', $_) } 1 .. 300000); my @m = ($t =~ /(a[0-9a-f]+)/g);\n"
	"print scalar(@s), ' ', scalar(@m), \"\\n\";\n";

static const struct workload workloads[] = {
	{ "python3", "lists, strings, dicts, bytes over 512 B (malloc, not pymalloc)", "python3", NULL,
	  "python3 work.py", false },
	{ "sqlite3", "300k rows: insert, index, aggregate, update, delete (in memory)", "sqlite3",
	  NULL, "sqlite3 :memory: '.read work.sql'", false },
	{ "git", "init, add, commit, gc, log on 300 files", "git",
	  "mkdir -p tree && cd tree && for i in $(seq 1 300); do d=d$((i % 17)); mkdir -p $d;"
	  " seq $i $((i * 4)) > $d/f$i.txt; done",
	  "rm -rf g && cp -r tree g && cd g && git init -q -b main . && git add . &&"
	  " git -c user.name=b -c user.email=b@b commit -qm x && git gc -q && git log --stat >/dev/null",
	  false },
	{ "perl", "hashes of arrays, sort, regex", "perl", NULL, "perl work.pl", false },
	{ "gcc", "gcc -O2 of a generated 1500-function C file", "gcc",
	  "for i in $(seq 1 1500); do echo \"int f$i(int *a, int n) { int s = $i; for (int k = 0;"
	  " k < n; k++) s += a[k] * (k ^ $i); return s; }\"; done > big.c",
	  "gcc -O2 -c big.c -o big.o", false },
	{ "stress-ng", "stress-ng --malloc 2 --malloc-ops 400000", "stress-ng", NULL,
	  "stress-ng --malloc 2 --malloc-ops 400000 -q", false },
	{ "redis", "redis-server under redis-benchmark (8 tests, 50k requests each)",
	  "redis-server", NULL, NULL, true },
	{ "larson", "larson-style server: 4 threads replace objects, arrays move on", NULL, NULL,
	  NULL, false },
	{ "xfree", "producer/consumer: 3M objects each freed by another thread", NULL, NULL, NULL,
	  false },
	{ "realloc", "realloc growth of 500 buffers by small appends, 20 rounds", NULL, NULL, NULL,
	  false },
	{ "pairs", "20M malloc+free of 16..256 bytes, 64 live", NULL, NULL, NULL, false },
};
#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

struct allocator {
	const char *name;
	const char *lib;       /* preloaded */
	bool peer;
};

static struct allocator allocators[] = {
	{ "glibc", "/lib/x86_64-linux-gnu/libc.so.6", true },
	{ "jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", true },
	{ "tcmalloc", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", true },
	{ "mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", true },
	{ "labyrinth", NULL, false },
};
#define NR_ALLOCATORS (sizeof(allocators) / sizeof(allocators[0]))

/* ---- running one ------------------------------------------------------------------ */

static bool have(const char *prog)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* Run sh -c cmd in dir with preload; wall seconds and peak RSS (KiB) of
 * its whole tree.  A fresh process waits for it, so that RUSAGE_CHILDREN is
 * this run's alone.  Returns 0 when it exited 0. */
static int measure(const char *dir, const char *preload, const char *const argv[],
		   double *secs, long *rss_kb)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		double t0 = now_s();
		pid_t w = fork();
		if (w == 0) {
			if (chdir(dir))
				_exit(126);
			int null = open("/dev/null", 1);
			if (null >= 0) {
				dup2(null, 1);
				dup2(null, 2);
			}
			setenv("LD_PRELOAD", preload, 1);
			execvp(argv[0], (char *const *)(uintptr_t)argv);
			_exit(127);
		}
		int st;
		waitpid(w, &st, 0);
		double t = now_s() - t0;
		struct rusage ru;
		getrusage(RUSAGE_CHILDREN, &ru);
		char line[64];
		int n = snprintf(line, sizeof(line), "%.6f %ld %d\n", t, ru.ru_maxrss,
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		ssize_t wr = write(fds[1], line, (size_t)n);
		(void)wr;
		_exit(0);
	}
	close(fds[1]);
	char buf[64] = "";
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	int rc = 1;
	if (n <= 0 || sscanf(buf, "%lf %ld %d", secs, rss_kb, &rc) != 3)
		return -1;
	return rc;
}

/* redis: a server under the allocator, redis-benchmark (glibc) against it;
 * the "time" is the benchmark's total time (requests / their rate). */
static int measure_redis(const char *dir, const char *preload, int port, double *secs,
			 long *rss_kb)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && (LD_PRELOAD=%s exec redis-server --port %d --bind 127.0.0.1 --save '' "
		 "--appendonly no >/dev/null 2>&1 & echo $! > redis.pid) && "
		 "for i in $(seq 100); do redis-cli -p %d ping >/dev/null 2>&1 && break; sleep 0.05; done && "
		 "redis-benchmark -p %d -n 50000 -r 100000 -d 64 -q "
		 "-t set,get,incr,lpush,rpop,sadd,hset,lrange_100 > redis.out 2>&1; "
		 "grep VmHWM /proc/$(cat redis.pid)/status | tr -dc 0-9 > redis.rss; "
		 "redis-cli -p %d shutdown nosave >/dev/null 2>&1; sleep 0.2",
		 dir, preload, port, port, port, port);
	if (system(cmd))
		return -1;
	char path[512];
	snprintf(path, sizeof(path), "%s/redis.out", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	double total = 0;
	int tests = 0;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		/* lines end with \r-separated progress; the last piece has the result */
		char *p = strrchr(line, '\r');
		p = p ? p + 1 : line;
		double rps;
		char *r = strstr(p, ": ");
		if (r && sscanf(r + 2, "%lf requests per second", &rps) == 1 && rps > 0) {
			total += 50000.0 / rps;
			tests++;
		}
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/redis.rss", dir);
	f = fopen(path, "r");
	*rss_kb = 0;
	if (f) {
		if (fscanf(f, "%ld", rss_kb) != 1)
			*rss_kb = 0;
		fclose(f);
	}
	*secs = total;
	return tests >= 8 ? 0 : -1;  /* 9 with the LPUSH that LRANGE needs */
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* ---- the parent ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}


int bench_malloc_worker(const char *name)
{
	for (size_t i = 0; i < sizeof(synthetic) / sizeof(synthetic[0]); i++)
		if (!strcmp(name, synthetic[i].name))
			return synthetic[i].fn();
	return 2;
}

int bench_malloc_run(bool json, int rounds, const char *only)
{
	char self[512];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = 0;
	allocators[NR_ALLOCATORS - 1].lib = lab_tool_malloc_lib();
	if (!allocators[NR_ALLOCATORS - 1].lib) {
		fprintf(stderr, "bench --malloc: liblabyrinth-malloc.so not found (a sanitizer "
			"build makes none; see labyrinth run --help)\n");
		return 1;
	}
	bool use_alloc[NR_ALLOCATORS], use_work[NR_WORKLOADS];
	for (size_t a = 0; a < NR_ALLOCATORS; a++) {
		use_alloc[a] = access(allocators[a].lib, R_OK) == 0;
		if (!use_alloc[a])
			fprintf(stderr, "bench --malloc: %s left out: %s not installed\n",
				allocators[a].name, allocators[a].lib);
	}
	char dir[] = "/tmp/labyrinth-bench-malloc-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	write_file(dir, "work.py", py_work);
	write_file(dir, "work.sql", sql_work);
	write_file(dir, "work.pl", perl_work);
	for (size_t w = 0; w < NR_WORKLOADS; w++) {
		const struct workload *wl = &workloads[w];
		use_work[w] = !only || strstr(only, wl->name);
		if (use_work[w] && wl->need && !have(wl->need)) {
			fprintf(stderr, "bench --malloc: %s left out: %s not installed\n", wl->name,
				wl->need);
			use_work[w] = false;
		}
		if (use_work[w] && wl->setup) {
			char cmd[4096];
			snprintf(cmd, sizeof(cmd), "cd %s && %s", dir, wl->setup);
			if (system(cmd)) {
				fprintf(stderr, "bench --malloc: %s left out: its set-up failed\n", wl->name);
				use_work[w] = false;
			}
		}
	}

	static double t[NR_WORKLOADS][NR_ALLOCATORS][BENCH_MALLOC_MAX_ROUNDS];
	static long rss[NR_WORKLOADS][NR_ALLOCATORS];
	static bool ok[NR_WORKLOADS][NR_ALLOCATORS];
	for (size_t w = 0; w < NR_WORKLOADS; w++)
		for (size_t a = 0; a < NR_ALLOCATORS; a++)
			ok[w][a] = use_work[w] && use_alloc[a];
	int port = 30000 + getpid() % 20000;
	for (int r = 0; r < rounds; r++) {
		for (size_t w = 0; w < NR_WORKLOADS; w++) {
			if (!use_work[w])
				continue;
			if (!json)
				fprintf(stderr, "bench --malloc: round %d/%d: %s\n", r + 1, rounds,
					workloads[w].name);
			/* The order of allocators rotates from round to round. */
			for (size_t k = 0; k < NR_ALLOCATORS; k++) {
				size_t a = (k + (size_t)r) % NR_ALLOCATORS;
				if (!ok[w][a])
					continue;
				double secs = 0;
				long kb = 0;
				int rc;
				if (workloads[w].redis) {
					rc = measure_redis(dir, allocators[a].lib, port, &secs, &kb);
				} else if (workloads[w].cmd) {
					const char *argv2[] = { "sh", "-c", workloads[w].cmd, NULL };
					rc = measure(dir, allocators[a].lib, argv2, &secs, &kb);
				} else {
					const char *argv2[] = { self, "bench-worker", "malloc",
								workloads[w].name, NULL };
					rc = measure(dir, allocators[a].lib, argv2, &secs, &kb);
				}
				if (rc) {
					fprintf(stderr, "bench --malloc: %s under %s failed (%d): left out\n",
						workloads[w].name, allocators[a].name, rc);
					ok[w][a] = false;
					continue;
				}
				t[w][a][r] = secs;
				if (kb > rss[w][a])
					rss[w][a] = kb;
			}
		}
	}
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "bench --malloc: could not remove %s\n", dir);

	/* Medians, ratios, the summary. */
	double med[NR_WORKLOADS][NR_ALLOCATORS];
	size_t lab = NR_ALLOCATORS - 1, glibc = 0;
	double logsum = 0, worst = 0, worst_rss = 0;
	const char *worst_name = "", *worst_rss_name = "";
	int counted = 0;
	if (json)
		printf("{\"malloc\": {\"rounds\": %d, \"workloads\": {", rounds);
	else
		printf("\nmalloc: median wall time of %d round%s (ratio to the best peer), peak RSS "
		       "(ratio to glibc)\n\n%-10s", rounds, rounds > 1 ? "s" : "", "");
	for (size_t a = 0; a < NR_ALLOCATORS && !json; a++)
		if (use_alloc[a])
			printf(" %21s", allocators[a].name);
	if (!json)
		printf("\n");
	bool first = true;
	for (size_t w = 0; w < NR_WORKLOADS; w++) {
		if (!use_work[w])
			continue;
		double best = 0;
		for (size_t a = 0; a < NR_ALLOCATORS; a++) {
			med[w][a] = ok[w][a] ? median(t[w][a], rounds) : 0;
			if (ok[w][a] && allocators[a].peer && (!best || med[w][a] < best))
				best = med[w][a];
		}
		if (json) {
			printf("%s\"%s\": {", first ? "" : ", ", workloads[w].name);
			bool f2 = true;
			for (size_t a = 0; a < NR_ALLOCATORS; a++) {
				if (!ok[w][a])
					continue;
				printf("%s\"%s\": {\"seconds\": %.4f, \"peak_rss_kb\": %ld}", f2 ? "" : ", ",
				       allocators[a].name, med[w][a], rss[w][a]);
				f2 = false;
			}
			printf("}");
			first = false;
		} else {
			printf("%-10s", workloads[w].name);
			for (size_t a = 0; a < NR_ALLOCATORS; a++) {
				if (!use_alloc[a])
					continue;
				char cell[40];
				if (ok[w][a])
					snprintf(cell, sizeof(cell), "%.3fs (%.2fx)", med[w][a],
						 best ? med[w][a] / best : 0);
				else
					snprintf(cell, sizeof(cell), "-");
				printf(" %21s", cell);
			}
			printf("\n%-10s", "  rss");
			for (size_t a = 0; a < NR_ALLOCATORS; a++) {
				if (!use_alloc[a])
					continue;
				char cell[40];
				if (ok[w][a] && rss[w][a])
					snprintf(cell, sizeof(cell), "%.1fM (%.2fx)", rss[w][a] / 1024.0,
						 ok[w][glibc] && rss[w][glibc] ? (double)rss[w][a] /
						 (double)rss[w][glibc] : 0);
				else
					snprintf(cell, sizeof(cell), "-");
				printf(" %21s", cell);
			}
			printf("\n");
		}
		if (ok[w][lab] && best > 0) {
			double ratio = med[w][lab] / best;
			logsum += log(ratio);
			counted++;
			if (ratio > worst) {
				worst = ratio;
				worst_name = workloads[w].name;
			}
		}
		if (ok[w][lab] && ok[w][glibc] && rss[w][glibc] && rss[w][lab]) {
			double rr = (double)rss[w][lab] / (double)rss[w][glibc];
			if (rr > worst_rss) {
				worst_rss = rr;
				worst_rss_name = workloads[w].name;
			}
		}
	}
	double geo = counted ? exp(logsum / counted) : 0;
	if (json) {
		printf("}, \"geomean_ratio_to_best_peer\": %.3f, \"worst_ratio\": %.3f, "
		       "\"worst_rss_ratio_to_glibc\": %.3f}}\n", geo, worst, worst_rss);
	} else {
		printf("\nlabyrinth over %d workloads: geometric mean %.2fx the best peer (target "
		       "1.10x), worst %.2fx (%s; target 1.50x); peak RSS at most %.2fx glibc's (%s; "
		       "target 1.25x)\n", counted, geo, worst, worst_name, worst_rss, worst_rss_name);
	}
	return 0;
}
