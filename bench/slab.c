/*
 * slab.c - the slab section of `labyrinth bench`: objects, not pages.
 *
 *   pair64 b1     64-byte allocate+touch+free, the same object again and again
 *   pair64 b1024  1024 live 64-byte objects, then all freed
 *   mixed         a working set of 1024 objects of random sizes 16..4096, one
 *                 freed and one allocated per operation
 *   excl32        32-byte secret: allocate (zeroed), touch, free (scrubbed)
 *   rss           10^6 live 64-byte objects: resident memory grown / their bytes
 *
 * Labyrinth runs its 64-byte cache (lab_kmem_cache_alloc ATOMIC) and kmalloc
 * (lab_kmalloc: 64 bytes ATOMIC; random sizes KERNEL, as malloc may grow its
 * heap; exclusive objects ATOMIC with LAB_GFP_EXCLUSIVE) against malloc+free of glibc, jemalloc, tcmalloc and
 * mimalloc, each peer preloaded in a child process of its own (as bench.c
 * does), and the exclusive object against libsodium's sodium_malloc and
 * OpenSSL's CRYPTO_secure_zalloc (loaded with dlopen).  Method: every figure
 * is the calling thread's CPU time (waiting for a CPU on a shared machine is
 * left out), per operation, the fastest of several rounds; the rounds
 * interleave the subjects (one child per subject per round), so a slow
 * moment hits them all alike.  Resident memory is measured in a fresh child.
 * Ratios are to the best peer of the same run.  Never fails on a time.
 *
 * Exports bench_slab_run (called by bench.c) and bench_slab_worker (the
 * children, "labyrinth bench-worker slab ...").
 */
#include "bench_int.h"
#include "bench_slab.h"

#include <dlfcn.h>
#include <labyrinth.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1024
#define WORKSET 1024
#define RSS_OBJECTS 1000000
#define RUN_NS 40e6      /* per measured run */

/* ---- clocks ------------------------------------------------------------- */

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- what each subject allocates with ----------------------------------- */

struct ops {
	void *(*alloc64)(void);
	void (*free64)(void *p);
	void *(*alloc)(size_t size);
	void (*free)(void *p);
};

static struct lab_kmem_cache *cache64;

static void *lab_cache_alloc(void)
{
	return lab_kmem_cache_alloc(cache64, LAB_GFP_ATOMIC);
}

static void lab_cache_free(void *p)
{
	lab_kmem_cache_free(cache64, p);
}

static void *lab_kmalloc64(void)
{
	return lab_kmalloc(64, LAB_GFP_ATOMIC);
}

/* Random sizes: KERNEL, as malloc may grow its heap (the default zone grows
 * for sleeping callers only). */
static void *lab_kmalloc_any(size_t size)
{
	return lab_kmalloc(size, LAB_GFP_KERNEL);
}

static void lab_kfree_any(void *p)
{
	lab_kfree(p);
}

static void *malloc64(void)
{
	return malloc(64);
}

static const struct ops lab_cache_ops = { lab_cache_alloc, lab_cache_free, lab_kmalloc_any,
					  lab_kfree_any };
static const struct ops lab_kmalloc_ops = { lab_kmalloc64, lab_kfree_any, lab_kmalloc_any,
					    lab_kfree_any };
static const struct ops malloc_ops = { malloc64, free, malloc, free };

/* ---- workloads ------------------------------------------------------------ */

static inline void touch(void *p)
{
	*(volatile char *)p = 1;
}

static void *must(void *p)
{
	if (!p) {
		fprintf(stderr, "bench slab: an allocation failed\n");
		exit(3);
	}
	return p;
}

static void pairs_b1(const struct ops *o, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		void *p = must(o->alloc64());
		touch(p);
		o->free64(p);
	}
}

static void pairs_b1024(const struct ops *o, unsigned long n)
{
	static void *held[BATCH];
	for (unsigned long done = 0; done < n; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			held[i] = must(o->alloc64());
			touch(held[i]);
		}
		for (int i = 0; i < BATCH; i++)
			o->free64(held[i]);
	}
}

/* Random sizes 16..4096 and slots, fixed by a seed: the same for everyone. */
static uint32_t sizes[1 << 16], slots[1 << 16];

static void mixed_init(const struct ops *o, void **set)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned int i = 0; i < (1u << 16); i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		sizes[i] = 16 + (uint32_t)((x >> 33) % (4096 - 16 + 1));
		slots[i] = (uint32_t)((x >> 17) % WORKSET);
	}
	for (int i = 0; i < WORKSET; i++)
		set[i] = must(o->alloc(sizes[i]));
}

static void mixed(const struct ops *o, unsigned long n, void **set)
{
	for (unsigned long i = 0; i < n; i++) {
		unsigned int k = (unsigned int)i & 0xffff, s = slots[k];
		o->free(set[s]);
		set[s] = must(o->alloc(sizes[k]));
		touch(set[s]);
	}
}

/* Exclusive 32-byte objects and the peers for secrets. */
struct secret_ops {
	void *(*alloc)(void);
	void (*free)(void *p);
};

static void *(*sodium_malloc_fn)(size_t);
static void (*sodium_free_fn)(void *);
static void *(*ossl_zalloc_fn)(size_t, const char *, int);
static void (*ossl_clear_free_fn)(void *, size_t, const char *, int);

static void *sodium_alloc32(void)
{
	return sodium_malloc_fn(32);
}

static void *ossl_alloc32(void)
{
	return ossl_zalloc_fn(32, "bench", 0);
}

static void ossl_free32(void *p)
{
	ossl_clear_free_fn(p, 32, "bench", 0);
}

/* Labyrinth's, called directly as a program would. */
static void lab_secrets(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		void *p = must(lab_kmalloc(32, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE));
		touch(p);
		lab_kfree(p);
	}
}

static void secrets(const struct secret_ops *o, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		void *p = must(o->alloc());
		touch(p);
		o->free(p);
	}
}

/* ns per operation of fn, for a run of about RUN_NS after a calibration. */
#define MEASURE(out, call_n)                                                   \
	do {                                                                   \
		unsigned long n_ = 1000;                                       \
		double t_;                                                     \
		for (;;) {                                                     \
			unsigned long n = n_;                                  \
			double t0_ = cpu_ns();                                 \
			call_n;                                                \
			t_ = cpu_ns() - t0_;                                   \
			if (t_ > RUN_NS / 4 || n_ > (1ul << 30))               \
				break;                                         \
			n_ *= 4;                                               \
		}                                                              \
		unsigned long n = (unsigned long)((double)n_ * RUN_NS / t_) + 1; \
		double t0_ = cpu_ns();                                         \
		call_n;                                                        \
		(out) = (cpu_ns() - t0_) / (double)n;                          \
	} while (0)

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Which malloc this really is: a missing preload would be glibc's. */
static void print_malloc_library(void)
{
	Dl_info info;
	void *m = dlsym(RTLD_DEFAULT, "malloc");  /* the definition, not a PLT stub */
	if (m && dladdr(m, &info) && info.dli_fname)
		printf("#lib %s\n", info.dli_fname);
}

/* The child: one round of every workload of one subject. */
int bench_slab_worker(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *what = argv[2];
	bool lab = !strcmp(argv[3], "labyrinth");
	if (!strcmp(what, "rss")) {
		/* A fresh process: what 10^6 live 64-byte objects cost it. */
		static void *held[RSS_OBJECTS];
		memset(held, 0, sizeof(held));  /* the pointers are not the objects */
		long before = rss_kib();
		for (int i = 0; i < RSS_OBJECTS; i++) {
			held[i] = must(lab ? lab_kmalloc(64, LAB_GFP_KERNEL) : malloc(64));
			memset(held[i], 1, 64);
		}
		long after = rss_kib();
		printf("rss %.4f\n", (double)(after - before) * 1024.0 / (64.0 * RSS_OBJECTS));
		print_malloc_library();
		return 0;
	}
	double v;
	if (lab) {
		cache64 = lab_kmem_cache_create(NULL, "bench-64", 64, 0, 0, NULL);
		if (!cache64)
			return 1;
		pairs_b1(&lab_cache_ops, 100000);
		MEASURE(v, pairs_b1(&lab_cache_ops, n));
		printf("cache64_b1 %.3f\n", v);
		pairs_b1024(&lab_cache_ops, 100000);
		MEASURE(v, pairs_b1024(&lab_cache_ops, n));
		printf("cache64_b1024 %.3f\n", v);
		MEASURE(v, pairs_b1(&lab_kmalloc_ops, n));
		printf("kmalloc64_b1 %.3f\n", v);
		MEASURE(v, pairs_b1024(&lab_kmalloc_ops, n));
		printf("kmalloc64_b1024 %.3f\n", v);
		lab_secrets(10000);
		MEASURE(v, lab_secrets(n));
		printf("excl32 %.3f\n", v);
		static void *set[WORKSET];
		mixed_init(&lab_kmalloc_ops, set);
		MEASURE(v, mixed(&lab_kmalloc_ops, n, set));
		printf("mixed %.3f\n", v);
		/* The peers for secrets, where installed. */
		void *sodium = dlopen("libsodium.so.23", RTLD_NOW | RTLD_LOCAL);
		int (*sodium_init_fn)(void) = sodium ? (int (*)(void))dlsym(sodium, "sodium_init") : NULL;
		if (sodium_init_fn && sodium_init_fn() >= 0) {
			*(void **)&sodium_malloc_fn = dlsym(sodium, "sodium_malloc");
			*(void **)&sodium_free_fn = dlsym(sodium, "sodium_free");
			struct secret_ops so = { sodium_alloc32, sodium_free_fn };
			MEASURE(v, secrets(&so, n));
			printf("sodium32 %.3f\n", v);
		}
		void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
		int (*init)(size_t, size_t) = crypto ? (int (*)(size_t, size_t))dlsym(
			crypto, "CRYPTO_secure_malloc_init") : NULL;
		if (init && init((size_t)16 << 20, 16)) {
			*(void **)&ossl_zalloc_fn = dlsym(crypto, "CRYPTO_secure_zalloc");
			*(void **)&ossl_clear_free_fn = dlsym(crypto, "CRYPTO_secure_clear_free");
			struct secret_ops os = { ossl_alloc32, ossl_free32 };
			MEASURE(v, secrets(&os, n));
			printf("ossl32 %.3f\n", v);
		}
		return 0;
	}
	pairs_b1(&malloc_ops, 100000);
	MEASURE(v, pairs_b1(&malloc_ops, n));
	printf("malloc64_b1 %.3f\n", v);
	pairs_b1024(&malloc_ops, 100000);
	MEASURE(v, pairs_b1024(&malloc_ops, n));
	printf("malloc64_b1024 %.3f\n", v);
	static void *set[WORKSET];
	mixed_init(&malloc_ops, set);
	MEASURE(v, mixed(&malloc_ops, n, set));
	printf("mixed %.3f\n", v);
	print_malloc_library();
	return 0;
}

/* ---- the parent --------------------------------------------------------- */

struct subject {
	const char *name;
	const char *preload;
};

static const struct subject subjects[] = {
	{ "labyrinth", NULL },
	{ "glibc", NULL },
	{ "jemalloc", "libjemalloc.so.2" },
	{ "tcmalloc", "libtcmalloc_minimal.so.4" },
	{ "mimalloc", "libmimalloc.so.2" },
};
#define NR_SUBJECTS (sizeof(subjects) / sizeof(subjects[0]))

enum {
	F_CACHE_B1, F_CACHE_B1024, F_KMALLOC_B1, F_KMALLOC_B1024, F_MALLOC_B1, F_MALLOC_B1024,
	F_MIXED, F_EXCL, F_SODIUM, F_OSSL, F_RSS, NR_FIGURES
};
static const char *const keys[NR_FIGURES] = {
	"cache64_b1", "cache64_b1024", "kmalloc64_b1", "kmalloc64_b1024", "malloc64_b1",
	"malloc64_b1024", "mixed", "excl32", "sodium32", "ossl32", "rss",
};

/* Run one child; fold its figures into v (the fastest so far). */
static int run_child(const char *self, const struct subject *s, const char *what,
		     double v[NR_FIGURES])
{
	int fds[2];
	if (pipe(fds))
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		if (s->preload)
			setenv("LD_PRELOAD", s->preload, 1);
		execl(self, "labyrinth", "bench-worker", "slab", what, s->name, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char key[64], lib[512];
	double val;
	bool right_lib = !s->preload;
	while (f && fscanf(f, "%63s", key) == 1) {
		if (!strcmp(key, "#lib")) {
			if (fscanf(f, " %511s", lib) == 1 && s->preload && strstr(lib, s->preload))
				right_lib = true;
			continue;
		}
		if (fscanf(f, "%lf", &val) != 1)
			break;
		for (int i = 0; i < NR_FIGURES; i++)
			if (!strcmp(key, keys[i]) && (!v[i] || val < v[i]))
				v[i] = val;
	}
	if (f)
		fclose(f);
	int status;
	waitpid(pid, &status, 0);
	if (!right_lib)
		return -2;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static double best_peer(double v[][NR_FIGURES], const bool *ok, int fig, int *who)
{
	double best = 0;
	for (size_t s = 1; s < NR_SUBJECTS; s++)
		if (ok[s] && v[s][fig] > 0 && (!best || v[s][fig] < best)) {
			best = v[s][fig];
			*who = (int)s;
		}
	return best;
}

static void target_line(FILE *out, bool json, bool *first, const char *what, double got,
			double limit, bool at_most)
{
	bool met = got > 0 && (at_most ? got <= limit : got >= limit);
	if (json) {
		fprintf(out, "%s\"%s\": {\"value\": %.3f, \"target\": %.3f, \"met\": %s}",
			*first ? "" : ", ", what, got, limit, met ? "true" : "false");
		*first = false;
		return;
	}
	if (got <= 0) {
		fprintf(out, "  %-62s %s\n", what, "not measured");
		return;
	}
	fprintf(out, "  %-62s %7.2f  (target %s %.1f: %s)\n", what, got, at_most ? "<=" : ">=",
		limit, met ? "met" : "MISSED");
}

void bench_slab_run(FILE *out, bool json, bool quick)
{
	char self[512];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return;
	self[len] = '\0';
	static double v[NR_SUBJECTS][NR_FIGURES];
	bool ok[NR_SUBJECTS];
	for (size_t s = 0; s < NR_SUBJECTS; s++)
		ok[s] = !subjects[s].preload || bench_library_loadable(subjects[s].preload);
	int rounds = quick ? 2 : 5;
	for (int r = 0; r <= rounds; r++) {
		for (size_t s = 0; s < NR_SUBJECTS; s++) {
			const char *what = r < rounds ? "time" : "rss";
			int rc = ok[s] ? run_child(self, &subjects[s], what, v[s]) : 0;
			if (rc) {
				fprintf(stderr, "bench slab: %s (%s) failed%s\n", subjects[s].name, what,
					rc == -2 ? ": the preload did not replace malloc" : "");
				ok[s] = false;
			}
		}
	}

	/* Labyrinth's figures against each peer's malloc(64)/free. */
	int who = 0;
	double b1 = best_peer(v, ok, F_MALLOC_B1, &who);
	double tc_b1 = ok[3] ? v[3][F_MALLOC_B1] : 0, tc_b1024 = ok[3] ? v[3][F_MALLOC_B1024] : 0;
	double je = ok[2] ? v[2][F_MALLOC_B1] : 0, mi = ok[4] ? v[4][F_MALLOC_B1] : 0;
	double je_b1024 = ok[2] ? v[2][F_MALLOC_B1024] : 0, mi_b1024 = ok[4] ? v[4][F_MALLOC_B1024] : 0;
	double jm_b1 = je && mi ? (je < mi ? je : mi) : (je ? je : mi);
	double jm_b1024 = je_b1024 && mi_b1024 ? (je_b1024 < mi_b1024 ? je_b1024 : mi_b1024)
					      : (je_b1024 ? je_b1024 : mi_b1024);
	double mixed_best = best_peer(v, ok, F_MIXED, &who);
	double *l = v[0];
	(void)b1;
	if (json) {
		fprintf(out, "{\"subjects\": {");
		bool first = true;
		for (size_t s = 0; s < NR_SUBJECTS; s++) {
			if (!ok[s])
				continue;
			fprintf(out, "%s\"%s\": {", first ? "" : ", ", subjects[s].name);
			bool f2 = true;
			for (int i = 0; i < NR_FIGURES; i++)
				if (v[s][i] > 0) {
					fprintf(out, "%s\"%s\": %.3f", f2 ? "" : ", ", keys[i], v[s][i]);
					f2 = false;
				}
			fprintf(out, "}");
			first = false;
		}
		fprintf(out, "}, \"targets\": {");
	} else {
		fprintf(out, "ns per operation (thread CPU time, fastest of %d interleaved rounds); "
			"rss: resident memory grown / bytes of 10^6 live 64-byte objects\n\n", rounds);
		fprintf(out, "%-16s %9s %9s %9s %9s %9s %9s %9s %9s %9s %7s\n", "", "64 b1",
			"64 b1024", "kmal b1", "kmal 1024", "mixed", "excl32", "sodium32", "ossl32",
			"", "rss");
		for (size_t s = 0; s < NR_SUBJECTS; s++) {
			if (!ok[s]) {
				fprintf(out, "%-16s skipped (%s not installed or not loaded)\n",
					subjects[s].name, subjects[s].preload);
				continue;
			}
			double *x = v[s];
			bool lab = s == 0;
			fprintf(out, "%-16s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9s %7.3f\n",
				subjects[s].name, lab ? x[F_CACHE_B1] : x[F_MALLOC_B1],
				lab ? x[F_CACHE_B1024] : x[F_MALLOC_B1024], lab ? x[F_KMALLOC_B1] : 0,
				lab ? x[F_KMALLOC_B1024] : 0, x[F_MIXED], x[F_EXCL], x[F_SODIUM],
				x[F_OSSL], "", x[F_RSS]);
		}
		fprintf(out, "(labyrinth: 64 = its 64-byte cache, kmal = lab_kmalloc(64); peers: "
			"malloc(64))\n\ntargets (ratios in this run):\n");
	}
	bool first = true;
	target_line(out, json, &first, "cache64 pair b1 / tcmalloc", tc_b1 ? l[F_CACHE_B1] / tc_b1 : 0,
		    1.0, true);
	target_line(out, json, &first, "cache64 pair b1024 / tcmalloc",
		    tc_b1024 ? l[F_CACHE_B1024] / tc_b1024 : 0, 1.0, true);
	target_line(out, json, &first, "cache64 pair b1 / best of jemalloc, mimalloc",
		    jm_b1 ? l[F_CACHE_B1] / jm_b1 : 0, 1.0, true);
	target_line(out, json, &first, "cache64 pair b1024 / best of jemalloc, mimalloc",
		    jm_b1024 ? l[F_CACHE_B1024] / jm_b1024 : 0, 1.0, true);
	target_line(out, json, &first, "kmalloc random 16..4096 / best peer",
		    mixed_best ? l[F_MIXED] / mixed_best : 0, 1.0, true);
	target_line(out, json, &first, "sodium_malloc(32) pair / exclusive kmalloc(32) pair",
		    l[F_SODIUM] && l[F_EXCL] ? l[F_SODIUM] / l[F_EXCL] : 0, 1000, false);
	target_line(out, json, &first, "CRYPTO_secure_zalloc(32) pair / exclusive kmalloc(32)",
		    l[F_OSSL] && l[F_EXCL] ? l[F_OSSL] / l[F_EXCL] : 0, 20, false);
	target_line(out, json, &first, "rss of 10^6 live 64-byte objects / their bytes", l[F_RSS],
		    1.1, true);
	if (json)
		fprintf(out, "}, \"pcp_mode\": \"%s\"}", lab_pcp_mode_name());
	else
		fprintf(out, "per-CPU arrays: %s\n", lab_pcp_mode_name());
	fflush(out);
}
