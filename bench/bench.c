/*
 * bench.c - `labyrinth bench`: Labyrinth's ATOMIC path against what users
 * pick instead, on 4 KiB blocks, each block touched once.
 *
 * Every allocator ("subject") runs in its own child process so that peers
 * loaded with LD_PRELOAD (jemalloc, tcmalloc, mimalloc) replace glibc's
 * malloc there and nowhere else; the parent collects one line per figure and
 * prints the table, each figure with its ratio to the best peer in the same
 * run.  Nothing here gates CI on a time.
 */
#include "bench.h"
#include "bench_slab.h"
#include "cli.h"

#include <errno.h>
#include <labyrinth.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define BATCH 1024
#define LAT_SAMPLES 200000
#define PRESSURE_BLOCKS 4096

/* ---- clocks ------------------------------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline uint64_t cycles(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
#elif defined(__aarch64__)
	uint64_t v;
	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return (uint64_t)now_ns();
#endif
}

/* Cycle counter ticks per ns, measured against the monotonic clock. */
static double calibrate(void)
{
	double t0 = now_ns();
	uint64_t c0 = cycles();
	while (now_ns() - t0 < 50e6)
		;
	return (double)(cycles() - c0) / (now_ns() - t0);
}

/* ---- subjects ----------------------------------------------------------- */

struct subject {
	const char *name;
	const char *preload;    /* library to LD_PRELOAD, or NULL */
	int (*setup)(void);
	void *(*alloc)(void **addr);
	void (*free)(void *handle);
};

/* Labyrinth: one zone of 1 GiB (batch 63 per-CPU lists, as the kernel sizes
 * them), ATOMIC allocations. */
static struct lab_zone *bench_zone;

static int lab_setup(void)
{
	struct lab_zone_config cfg = { .name = "bench", .pages = (1u << 30) / BLOCK };
	bench_zone = lab_zone_create(&cfg);
	return bench_zone ? 0 : -errno;
}

static void *lab_alloc(void **addr)
{
	struct lab_page *p = lab_alloc_page(bench_zone, LAB_GFP_ATOMIC);
	*addr = p ? lab_page_address(p) : NULL;
	return p;
}

static void lab_free(void *handle)
{
	lab_free_page(handle);
}

/* The physical limit: a thread-local LIFO of pre-faulted pages.  An empty
 * stack maps another pre-faulted chunk; a full one drops the page (only the
 * producer/consumer workload, where pages change threads, does either). */
#define LIFO_PAGES (2 * BATCH + 16)
static _Thread_local void *lifo[LIFO_PAGES];
static _Thread_local int lifo_top;

static int lifo_setup(void)
{
	return 0;
}

static void lifo_fill(void)
{
	char *mem = mmap(NULL, (size_t)BATCH * BLOCK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		abort();
	for (int i = 0; i < BATCH && lifo_top < LIFO_PAGES; i++)
		lifo[lifo_top++] = mem + (size_t)i * BLOCK;
}

static void *lifo_alloc(void **addr)
{
	if (!lifo_top)
		lifo_fill();
	void *p = lifo[--lifo_top];
	*addr = p;
	return p;
}

static void lifo_free(void *handle)
{
	if (lifo_top < LIFO_PAGES)
		lifo[lifo_top++] = handle;
}

/* malloc's aligned_alloc: glibc, or whichever allocator is preloaded. */
static int malloc_setup(void)
{
	return 0;
}

static void *malloc_alloc(void **addr)
{
	void *p = aligned_alloc(BLOCK, BLOCK);
	*addr = p;
	return p;
}

static void malloc_free(void *handle)
{
	free(handle);
}

static int mmap_setup(void)
{
	return 0;
}

static void *mmap_alloc(void **addr)
{
	void *p = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		p = NULL;
	*addr = p;
	return p;
}

static void mmap_free(void *handle)
{
	munmap(handle, BLOCK);
}

static const struct subject subjects[] = {
	{ "labyrinth", NULL, lab_setup, lab_alloc, lab_free },
	{ "lifo-limit", NULL, lifo_setup, lifo_alloc, lifo_free },
	{ "glibc", NULL, malloc_setup, malloc_alloc, malloc_free },
	{ "jemalloc", "libjemalloc.so.2", malloc_setup, malloc_alloc, malloc_free },
	{ "tcmalloc", "libtcmalloc_minimal.so.4", malloc_setup, malloc_alloc, malloc_free },
	{ "mimalloc", "libmimalloc.so.2", malloc_setup, malloc_alloc, malloc_free },
	{ "mmap", NULL, mmap_setup, mmap_alloc, mmap_free },
};
#define NR_SUBJECTS (sizeof(subjects) / sizeof(subjects[0]))

/* Peers are what users pick instead; the LIFO is a limit, not a peer. */
static bool is_peer(const struct subject *s)
{
	return strcmp(s->name, "labyrinth") && strcmp(s->name, "lifo-limit");
}

/* ---- workloads (run in the child) -------------------------------------- */

static const struct subject *me;

static inline void touch(void *addr)
{
	*(volatile char *)addr = 1;
}

/* An atomic allocation may fail (it fails rather than wait on a zone lock
 * whose holder was descheduled); the workloads retry and count it. */
static _Atomic unsigned long alloc_failures;

static inline void *must_alloc(void **addr)
{
	void *h;
	while (!(h = me->alloc(addr)))
		atomic_fetch_add_explicit(&alloc_failures, 1, memory_order_relaxed);
	return h;
}

static double pairs_batch1(unsigned long n)
{
	double t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		void *addr, *h = must_alloc(&addr);
		touch(addr);
		me->free(h);
	}
	return (now_ns() - t0) / (double)n;
}

static double pairs_batch1024(unsigned long n)
{
	static _Thread_local void *held[BATCH];
	double t0 = now_ns();
	for (unsigned long done = 0; done < n; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			void *addr;
			held[i] = must_alloc(&addr);
			touch(addr);
		}
		for (int i = 0; i < BATCH; i++)
			me->free(held[i]);
	}
	return (now_ns() - t0) / (double)n;
}

struct thread_arg {
	unsigned long n;
	double ns;
	pthread_barrier_t *go;
};

static void *pairs_thread(void *arg)
{
	struct thread_arg *a = arg;
	pairs_batch1(a->n / 10);  /* warm this thread's caches */
	pthread_barrier_wait(a->go);
	a->ns = pairs_batch1(a->n);
	return NULL;
}

/* Two threads at batch 1: ns per pair of the pair of threads together. */
static double pairs_two_threads(unsigned long n)
{
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 3);
	struct thread_arg a[2] = { { n, 0, &go }, { n, 0, &go } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, pairs_thread, &a[i]);
	pthread_barrier_wait(&go);
	double t0 = now_ns();
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	double wall = now_ns() - t0;
	pthread_barrier_destroy(&go);
	return wall / (double)(2 * n);
}

/* Producer/consumer: blocks allocated by one thread, freed by another. */
#define RING 4096
static void *_Atomic ring[RING];
static _Atomic unsigned long consumed;

static void *consumer(void *arg)
{
	unsigned long n = *(unsigned long *)arg;
	for (unsigned long i = 0; i < n; i++) {
		void *h;
		while (!(h = atomic_load_explicit(&ring[i % RING], memory_order_acquire)))
			;
		atomic_store_explicit(&ring[i % RING], NULL, memory_order_relaxed);
		atomic_store_explicit(&consumed, i + 1, memory_order_release);
		me->free(h);
	}
	return NULL;
}

static double producer_consumer(unsigned long n)
{
	pthread_t t;
	pthread_create(&t, NULL, consumer, &n);
	double t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		while (i - atomic_load_explicit(&consumed, memory_order_acquire) >= RING / 2)
			;
		void *addr, *h = must_alloc(&addr);
		touch(addr);
		atomic_store_explicit(&ring[i % RING], h, memory_order_release);
	}
	pthread_join(t, NULL);
	return (now_ns() - t0) / (double)n;
}

/* A thread that keeps memory churning around a large working set. */
static _Atomic bool pressure_stop;

static void *pressure_main(void *arg)
{
	(void)arg;
	static void *held[PRESSURE_BLOCKS];
	unsigned int seed = 1;
	for (int i = 0; i < PRESSURE_BLOCKS; i++) {
		void *addr;
		held[i] = me->alloc(&addr);
		if (held[i])
			touch(addr);
	}
	while (!atomic_load_explicit(&pressure_stop, memory_order_relaxed)) {
		int i = rand_r(&seed) % PRESSURE_BLOCKS;
		if (held[i])
			me->free(held[i]);
		void *addr;
		held[i] = me->alloc(&addr);
		if (held[i])
			touch(addr);
	}
	for (int i = 0; i < PRESSURE_BLOCKS; i++)
		if (held[i])
			me->free(held[i]);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Latency of single allocations in ns: p50 p99 p99.9 p99.99 max. */
static void latency(double ticks_per_ns, bool with_pressure, double out[5])
{
	static uint64_t lat[LAT_SAMPLES];
	pthread_t t;
	if (with_pressure) {
		atomic_store(&pressure_stop, false);
		pthread_create(&t, NULL, pressure_main, NULL);
		struct timespec settle = { 0, 20 * 1000 * 1000 };
		nanosleep(&settle, NULL);
	}
	for (int i = 0; i < LAT_SAMPLES; i++) {
		void *addr;
		uint64_t c0 = cycles();
		void *h = me->alloc(&addr);
		uint64_t c1 = cycles();
		lat[i] = c1 - c0;
		if (!h)
			atomic_fetch_add_explicit(&alloc_failures, 1, memory_order_relaxed);
		if (h) {
			touch(addr);
			me->free(h);
		}
	}
	if (with_pressure) {
		atomic_store(&pressure_stop, true);
		pthread_join(t, NULL);
	}
	qsort(lat, LAT_SAMPLES, sizeof(lat[0]), cmp_u64);
	const double q[4] = { 0.50, 0.99, 0.999, 0.9999 };
	for (int i = 0; i < 4; i++)
		out[i] = (double)lat[(size_t)(q[i] * (LAT_SAMPLES - 1))] / ticks_per_ns;
	out[4] = (double)lat[LAT_SAMPLES - 1] / ticks_per_ns;
}

static const char *const figure_names[] = {
	"pair, batch 1 (ns)", "pair, batch 1024 (ns)", "pair, 2 threads (ns/pair)",
	"producer/consumer (ns)", "latency p50 (ns)", "latency p99 (ns)",
	"latency p99.9 (ns)", "latency p99.99 (ns)", "latency max (ns)",
	"pressure p50 (ns)", "pressure p99 (ns)", "pressure p99.9 (ns)",
	"pressure p99.99 (ns)", "pressure max (ns)",
	"failed allocations",
};
#define FIGURE_FAILURES 14
#define NR_FIGURES (sizeof(figure_names) / sizeof(figure_names[0]))

/* The child: run every workload for one subject, print "index value" lines. */
static int run_worker(const char *name, unsigned long pairs)
{
	for (size_t i = 0; i < NR_SUBJECTS; i++)
		if (!strcmp(subjects[i].name, name))
			me = &subjects[i];
	if (!me || me->setup())
		return 1;
	double tpn = calibrate();
	double v[NR_FIGURES];
	pairs_batch1(pairs / 10);
	v[0] = pairs_batch1(pairs);
	pairs_batch1024(pairs / 10);
	v[1] = pairs_batch1024(pairs);
	v[2] = pairs_two_threads(pairs);
	v[3] = producer_consumer(pairs / 2);
	latency(tpn, false, &v[4]);
	latency(tpn, true, &v[9]);
	v[FIGURE_FAILURES] = (double)atomic_load(&alloc_failures);
	for (size_t i = 0; i < NR_FIGURES; i++)
		printf("%zu %.2f\n", i, v[i]);
	fflush(stdout);
	return 0;
}

/* ---- the parent -------------------------------------------------------- */

/* Find a peer library the way the dynamic loader would (a quick probe). */
static bool library_present(const char *lib)
{
	static const char *const dirs[] = { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
					    "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu" };
	char path[512];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], lib);
		if (access(path, R_OK) == 0)
			return true;
	}
	return false;
}

/* Run one subject's worker; fill v[] (NAN-free) and return 0 on success. */
static int run_subject(const char *self, const struct subject *s, unsigned long pairs,
		       double v[NR_FIGURES])
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		if (s->preload)
			setenv("LD_PRELOAD", s->preload, 1);
		char n[32];
		snprintf(n, sizeof(n), "%lu", pairs);
		execl(self, "labyrinth", "bench-worker", s->name, n, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	size_t idx;
	double val;
	size_t got = 0;
	while (f && fscanf(f, "%zu %lf", &idx, &val) == 2)
		if (idx < NR_FIGURES) {
			v[idx] = val;
			got++;
		}
	if (f)
		fclose(f);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == NR_FIGURES ? 0 : -1;
}

static void write_chart(const char *png, double v[][NR_FIGURES], const bool *ok)
{
	char data[] = "/tmp/labyrinth-bench-XXXXXX";
	int fd = mkstemp(data);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "w");
	/* One block per subject: percentile index, latency without and with pressure. */
	for (size_t s = 0; s < NR_SUBJECTS; s++) {
		if (!ok[s] || !strcmp(subjects[s].name, "mmap"))
			continue;
		fprintf(f, "# %s\n", subjects[s].name);
		for (int i = 0; i < 5; i++)
			fprintf(f, "%d %.1f %.1f\n", i, v[s][4 + i], v[s][9 + i]);
		fprintf(f, "\n\n");
	}
	fclose(f);
	char script[2048];
	int n = snprintf(script, sizeof(script),
			 "set terminal pngcairo size 1000,600; set output '%s';"
			 "set title 'Latency of single 4 KiB allocations (same run)';"
			 "set logscale y; set ylabel 'ns'; set key left top;"
			 "set xtics ('p50' 0, 'p99' 1, 'p99.9' 2, 'p99.99' 3, 'max' 4);"
			 "plot ", png);
	int block = 0;
	for (size_t s = 0; s < NR_SUBJECTS; s++) {
		if (!ok[s] || !strcmp(subjects[s].name, "mmap"))
			continue;
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      "%s'%s' index %d using 1:2 with linespoints title '%s',"
			      "'%s' index %d using 1:3 with linespoints dt 2 title '%s + pressure'",
			      block ? "," : "", data, block, subjects[s].name, data, block,
			      subjects[s].name);
		block++;
	}
	char cmd[2200];
	snprintf(cmd, sizeof(cmd), "gnuplot -e \"%s\" 2>/dev/null", script);
	if (system(cmd) == 0)
		printf("chart: %s\n", png);
	else if (system("command -v gnuplot >/dev/null 2>&1") != 0)
		printf("chart: skipped (gnuplot not found)\n");
	else
		printf("chart: not drawn: gnuplot failed (its pngcairo terminal missing, or %s "
		       "not writable)\n", png);
	unlink(data);
}

static void bench_usage(void)
{
	printf("usage: labyrinth bench [--json] [--quick] [--png FILE | --no-png]\n"
	       "  4 KiB allocate+free pairs and single-allocation latency: Labyrinth's ATOMIC\n"
	       "  path, a pre-faulted LIFO, glibc, jemalloc, tcmalloc, mimalloc and mmap\n"
	       "  --json       machine-readable results on stdout (no chart)\n"
	       "  --quick      a tenth of the pairs\n"
	       "  --png FILE   where to draw the latency chart (default labyrinth-bench.png;\n"
	       "               needs gnuplot)\n"
	       "  --no-png     no chart\n");
}

/* The chart is drawn at the end of a long run: find out now whether it can
 * be written where asked (its directory exists and is writable). */
static bool png_writable(const char *png)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", png);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (!*png || png[strlen(png) - 1] == '/') {
		cli_error("bench", "--png '%s': not a file name", png);
		return false;
	}
	if (access(dir, W_OK) != 0) {
		cli_error("bench", "--png '%s': directory '%s': %s", png, dir, strerror(errno));
		return false;
	}
	return true;
}

/* Options of bench: 0 to run, else the exit status (--help: -1). */
static int bench_args(int argc, char **argv, bool *json, const char **png, unsigned long *pairs)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "png", required_argument, NULL, 'p' },
		{ "no-png", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;
	while ((c = cli_getopt("bench", argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'j': *json = true; break;
		case 'q': *pairs = 200000; break;
		case 'p': *png = optarg; break;
		case 'n': *png = NULL; break;
		case 'h': bench_usage(); return -1;
		default: return CLI_EXIT_USAGE;
		}
	}
	if (!cli_no_operands("bench", argc, argv))
		return CLI_EXIT_USAGE;
	if (*png && !*json && !png_writable(*png))
		return CLI_EXIT_USAGE;
	return 0;
}

int bench_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[0], "bench-worker") && !strcmp(argv[1], "slab"))
		return bench_slab_worker(argc, argv);  /* bench/slab.c */
	if (argc >= 2 && !strcmp(argv[0], "bench-worker"))
		return run_worker(argv[1], argc >= 3 ? strtoul(argv[2], NULL, 0) : 1000000);

	bool json = false;
	const char *png = "labyrinth-bench.png";
	unsigned long pairs = 2000000;
	int rc = bench_args(argc, argv, &json, &png, &pairs);
	if (rc)
		return rc < 0 ? 0 : rc;
	char self[512];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';

	static double v[NR_SUBJECTS][NR_FIGURES];
	bool ok[NR_SUBJECTS] = { false };
	for (size_t s = 0; s < NR_SUBJECTS; s++) {
		if (subjects[s].preload && !library_present(subjects[s].preload)) {
			fprintf(stderr, "bench: %s skipped: %s not installed\n", subjects[s].name,
				subjects[s].preload);
			continue;
		}
		if (!json)
			fprintf(stderr, "bench: running %s...\n", subjects[s].name);
		ok[s] = run_subject(self, &subjects[s], pairs, v[s]) == 0;
		if (!ok[s])
			fprintf(stderr, "bench: %s failed\n", subjects[s].name);
	}
	/* The best peer per figure (lower is better everywhere). */
	double best[NR_FIGURES];
	for (size_t i = 0; i < NR_FIGURES; i++) {
		best[i] = 0;
		for (size_t s = 0; s < NR_SUBJECTS; s++)
			if (ok[s] && is_peer(&subjects[s]) && (!best[i] || v[s][i] < best[i]))
				best[i] = v[s][i];
	}
	if (json) {
		printf("{\"allocators\": {\"block\": %d, \"pairs\": %lu, \"pcp_mode\": \"%s\", "
		       "\"results\": {", BLOCK, pairs, lab_pcp_mode_name());
		bool first = true;
		for (size_t s = 0; s < NR_SUBJECTS; s++) {
			if (!ok[s])
				continue;
			printf("%s\"%s\": {", first ? "" : ", ", subjects[s].name);
			for (size_t i = 0; i < NR_FIGURES; i++)
				printf("%s\"%s\": %.2f", i ? ", " : "", figure_names[i], v[s][i]);
			printf("}");
			first = false;
		}
		printf("}}");
	} else {
		printf("4 KiB blocks, each touched once; %lu pairs per figure; per-CPU lists: %s\n"
		       "each cell: value (ratio to the best peer in this run)\n\n", pairs,
		       lab_pcp_mode_name());
		printf("%-28s", "");
		for (size_t s = 0; s < NR_SUBJECTS; s++)
			if (ok[s])
				printf(" %18s", subjects[s].name);
		printf("\n");
		for (size_t i = 0; i < NR_FIGURES; i++) {
			printf("%-28s", figure_names[i]);
			for (size_t s = 0; s < NR_SUBJECTS; s++) {
				if (!ok[s])
					continue;
				char cell[40];
				if (i == FIGURE_FAILURES)
					snprintf(cell, sizeof(cell), "%.0f", v[s][i]);
				else
					snprintf(cell, sizeof(cell), "%.1f (%.2fx)", v[s][i],
						 best[i] > 0 ? v[s][i] / best[i] : 0.0);
				printf(" %18s", cell);
			}
			printf("\n");
		}
		size_t lab = 0;
		if (ok[lab]) {
			printf("\nlabyrinth: two threads give %.2fx the pairs per second of one\n",
			       v[lab][0] / v[lab][2]);
		}
	}
	if (png && !json)
		write_chart(png, v, ok);
	bench_extra(json);
	if (json)
		printf("}\n");
	return 0;
}
