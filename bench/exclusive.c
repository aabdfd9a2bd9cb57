/*
 * exclusive.c - ns per exclusive 4 KiB page pair (allocate, touch one byte,
 * free) for Labyrinth's LAB_GFP_EXCLUSIVE from a SECRET zone, libsodium's
 * sodium_malloc/sodium_free and OpenSSL's secure heap, with Labyrinth's plain
 * ATOMIC pair plus two 4 KiB memsets as the limit (what zero on hand-out and
 * scrub on return cannot avoid).  Batch 1 = the same block again and again;
 * batch 1024 = 1024 live blocks then all freed; two threads = batch 1 in two
 * threads at once, reported as aggregate ns per pair (wall time) and as the
 * speed-up over one thread.  One-thread figures are the thread's CPU time,
 * so that time spent waiting for a CPU on a shared machine is left out; each
 * figure is the fastest of 7 runs of about 50 ms each after a calibration,
 * the runs of all cells interleaved: other work only ever adds time.  The peers are loaded with dlopen so that the build does not
 * depend on them; a missing one is skipped with a note.  Not a test: targets
 * are reported as met or missed, never failed on.
 */
#include "bench_exclusive.h"

#include <dlfcn.h>
#include <labyrinth.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define BATCH 1024
#define REPS 7
#define MAX_PEERS 8
#define TARGET_NS 50e6  /* per run */

static double clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* The calling thread's CPU time, system time included (page faults and the
 * peers' syscalls count): on a shared machine the time it spends waiting for
 * a CPU does not. */
static double cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* An allocator under test: alloc returns a handle, addr its memory. */
struct peer {
	const char *name;
	void *(*alloc)(void *ctx);
	void *(*addr)(void *ctx, void *handle);
	void (*free)(void *ctx, void *handle);
	void *ctx;
	bool threads;  /* worth running in two threads */
	double ns[4];  /* batch 1, batch 1024, two threads (aggregate), batch 1 wall */
};

enum { B1, B1024, T2, W1 };

/* ---- Labyrinth ---------------------------------------------------------- */

struct lab_ctx {
	struct lab_zone *zone;
	lab_gfp_t gfp;
	bool memsets;  /* the limit: zero after allocating, scrub before freeing */
	bool grant;    /* PKEY zone: the benchmark threads hold a grant */
};

/* An atomic caller fails rather than wait long for the zone lock; with two
 * threads on one zone that happens.  Such failures are retried and counted. */
static _Atomic unsigned long lab_retries;

static void *lab_alloc(void *ctx)
{
	struct lab_ctx *c = ctx;
	struct lab_page *p = lab_alloc_page(c->zone, c->gfp | LAB_GFP_NOWARN);
	for (int tries = 0; !p && tries < 1000; tries++) {
		lab_retries++;
		p = lab_alloc_page(c->zone, c->gfp | LAB_GFP_NOWARN);
	}
	if (p && c->memsets)
		memset(lab_page_address(p), 0, BLOCK);
	return p;
}

static void *lab_addr(void *ctx, void *h)
{
	(void)ctx;
	return lab_page_address(h);
}

static void lab_free(void *ctx, void *h)
{
	struct lab_ctx *c = ctx;
	if (c->memsets) {
		void *a = lab_page_address(h);
		memset(a, 0, BLOCK);
		__asm__ __volatile__("" : : "r"(a) : "memory");  /* as the library's scrub */
	}
	lab_free_page(h);
}

/* ---- libsodium ---------------------------------------------------------- */

struct sodium_ctx {
	void *(*malloc_fn)(size_t);
	void (*free_fn)(void *);
};

static void *sodium_alloc(void *ctx)
{
	return ((struct sodium_ctx *)ctx)->malloc_fn(BLOCK);
}

static void *plain_addr(void *ctx, void *h)
{
	(void)ctx;
	return h;
}

static void sodium_release(void *ctx, void *h)
{
	((struct sodium_ctx *)ctx)->free_fn(h);
}

/* ---- OpenSSL secure heap ------------------------------------------------ */

struct ossl_ctx {
	void *(*zalloc)(size_t, const char *, int);
	void (*clear_free)(void *, size_t, const char *, int);
};

static void *ossl_alloc(void *ctx)
{
	return ((struct ossl_ctx *)ctx)->zalloc(BLOCK, __FILE__, __LINE__);
}

static void ossl_release(void *ctx, void *h)
{
	((struct ossl_ctx *)ctx)->clear_free(h, BLOCK, __FILE__, __LINE__);
}

/* dlsym into a function pointer without a cast between object and function
 * pointers (POSIX guarantees the representation). */
#define LOAD(lib, sym, fp) (*(void **)(&(fp)) = dlsym((lib), (sym)), (fp) != NULL)

/* ---- measuring ---------------------------------------------------------- */

/* pairs allocate+touch+free pairs, batch live at a time; CPU ns in total
 * (wall ns in *wall if not NULL), or a negative value if the allocator failed. */
static double timed(struct peer *p, size_t batch, size_t pairs, double *wall)
{
	void *held[BATCH];
	double w0 = now_ns(), t0 = cpu_ns();
	for (size_t done = 0; done < pairs; done += batch) {
		for (size_t i = 0; i < batch; i++) {
			held[i] = p->alloc(p->ctx);
			if (!held[i]) {
				while (i--)
					p->free(p->ctx, held[i]);
				return -1;
			}
			*(volatile char *)p->addr(p->ctx, held[i]) = 1;
		}
		for (size_t i = 0; i < batch; i++)
			p->free(p->ctx, held[i]);
	}
	double t = cpu_ns() - t0;
	if (wall)
		*wall = now_ns() - w0;
	return t;
}

/* How many pairs take about TARGET_NS at this batch. */
static size_t calibrate(struct peer *p, size_t batch)
{
	size_t pairs = batch;
	for (;;) {
		double t = timed(p, batch, pairs, NULL);
		if (t < 0)
			return 0;
		if (t >= TARGET_NS / 8 || pairs >= ((size_t)1 << 26))
			return (size_t)((double)pairs * TARGET_NS / (t > 1 ? t : 1)) / batch * batch + batch;
		pairs *= 4;
	}
}

struct worker {
	struct peer *p;
	size_t pairs;
	pthread_barrier_t *start;
	double ns, t0, t1;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct lab_ctx *c = w->p->alloc == lab_alloc ? w->p->ctx : NULL;
	if (c && c->grant)
		lab_zone_grant(c->zone);  /* PKRU is per thread */
	pthread_barrier_wait(w->start);
	w->t0 = now_ns();
	w->ns = timed(w->p, 1, w->pairs, NULL);
	w->t1 = now_ns();
	return NULL;
}

/* Two threads at batch 1 at once: wall time / all pairs. */
static double two_threads(struct peer *p, size_t pairs)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 3);
	struct worker w[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		w[i] = (struct worker){ p, pairs, &start, 0, 0, 0 };
		if (pthread_create(&th[i], NULL, worker_main, &w[i]))
			abort();
	}
	pthread_barrier_wait(&start);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	if (w[0].ns < 0 || w[1].ns < 0)
		return -1;
	/* The workers' own clocks: the main thread may not run in between. */
	double t = (w[0].t1 > w[1].t1 ? w[0].t1 : w[1].t1) -
		   (w[0].t0 < w[1].t0 ? w[0].t0 : w[1].t0);
	return t / (double)(2 * pairs);
}

static void keep_min(double *best, double v)
{
	if (v < 0)
		*best = -1;  /* a failure poisons the cell */
	else if (*best != -1 && (*best == 0 || v < *best))
		*best = v;
}

/*
 * Round-robin: every round measures every cell once, so each cell's runs are
 * spread over the whole benchmark and a burst of load elsewhere hits all
 * allocators alike; the fastest run of each cell is kept.
 */
static void measure_all(struct peer *peers, size_t n)
{
	size_t n1[MAX_PEERS], n1024[MAX_PEERS];
	for (size_t i = 0; i < n; i++) {
		n1[i] = calibrate(&peers[i], 1);
		n1024[i] = calibrate(&peers[i], BATCH);
		for (int m = 0; m < 4; m++)
			peers[i].ns[m] = 0;
	}
	for (int round = 0; round < REPS; round++) {
		for (size_t i = 0; i < n; i++) {
			struct peer *p = &peers[i];
			double wall = -1;
			keep_min(&p->ns[B1], n1[i] ? timed(p, 1, n1[i], &wall) / (double)n1[i] : -1);
			keep_min(&p->ns[W1], n1[i] ? wall / (double)n1[i] : -1);
			keep_min(&p->ns[B1024],
				 n1024[i] ? timed(p, BATCH, n1024[i], NULL) / (double)n1024[i] : -1);
			keep_min(&p->ns[T2], p->threads && n1[i] ? two_threads(p, n1[i]) : -1);
		}
	}
}

/* ---- the report --------------------------------------------------------- */

static void machine(char *buf, size_t len)
{
	struct utsname u;
	char model[128] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	snprintf(buf, len, "%s, %ld CPUs, Linux %s %s", model, sysconf(_SC_NPROCESSORS_ONLN),
		 u.release, u.machine);
}

struct target {
	const char *what;
	double value, bound;
	bool at_least;  /* value must be >= bound (else <=) */
};

static void print_json_number(FILE *out, double v)
{
	if (v < 0)
		fputs("null", out);
	else
		fprintf(out, "%.1f", v);
}

static void report(FILE *out, bool json, struct peer *peers, size_t n, const char *notes,
		   const struct target *targets, size_t nt, const char *zone_state)
{
	char mach[256], date[64];
	time_t t = time(NULL);
	machine(mach, sizeof(mach));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (json) {
		fprintf(out, "{\"benchmark\":\"exclusive\",\"machine\":\"%s\",\"date\":\"%s\","
			     "\"unit\":\"ns per pair\",\"zone\":\"%s\",\"results\":[", mach, date,
			zone_state);
		for (size_t i = 0; i < n; i++) {
			fprintf(out, "%s{\"name\":\"%s\",\"batch1\":", i ? "," : "", peers[i].name);
			print_json_number(out, peers[i].ns[B1]);
			fputs(",\"batch1024\":", out);
			print_json_number(out, peers[i].ns[B1024]);
			fputs(",\"two_threads\":", out);
			print_json_number(out, peers[i].ns[T2]);
			fputs(",\"batch1_wall\":", out);
			print_json_number(out, peers[i].ns[W1]);
			fputc('}', out);
		}
		fputs("],\"targets\":[", out);
		for (size_t i = 0; i < nt; i++) {
			fprintf(out, "%s{\"what\":\"%s\",\"value\":", i ? "," : "", targets[i].what);
			print_json_number(out, targets[i].value);
			fprintf(out, ",\"bound\":%.2f,\"met\":%s}", targets[i].bound,
				targets[i].value < 0 ? "null"
				: (targets[i].at_least ? targets[i].value >= targets[i].bound
						       : targets[i].value <= targets[i].bound) ? "true" : "false");
		}
		fprintf(out, "],\"notes\":\"%s\"}\n", notes);
		return;
	}
	fprintf(out, "exclusive pages: ns per 4 KiB pair (allocate, touch, free); best of %d runs;\n"
		     "batch 1 and 1024: CPU time of the thread; 2 threads: wall time\n"
		     "machine: %s\ndate: %s\nzone: %s\n\n", REPS, mach, date, zone_state);
	fprintf(out, "%-44s %10s %11s %13s %8s\n", "allocator", "batch 1", "batch 1024",
		"2 threads*", "speedup");
	for (size_t i = 0; i < n; i++) {
		struct peer *p = &peers[i];
		fprintf(out, "%-44s", p->name);
		for (int m = 0; m < 3; m++) {
			int w = m == B1 ? 10 : m == B1024 ? 11 : 13;
			if (p->ns[m] < 0)
				fprintf(out, " %*s", w, "-");
			else
				fprintf(out, " %*.1f", w, p->ns[m]);
		}
		if (p->ns[T2] > 0 && p->ns[W1] > 0)
			fprintf(out, " %7.2fx", p->ns[W1] / p->ns[T2]);
		fputc('\n', out);
	}
	fprintf(out, "* aggregate: wall time / pairs of both threads; speedup: one thread's wall time\n"
		     "  per pair at batch 1 / that (needs an otherwise idle machine to mean anything)\n\n");
	for (size_t i = 0; i < nt; i++) {
		const struct target *tg = &targets[i];
		if (tg->value < 0) {
			fprintf(out, "target %-52s n/a\n", tg->what);
			continue;
		}
		bool met = tg->at_least ? tg->value >= tg->bound : tg->value <= tg->bound;
		fprintf(out, "target %-52s %8.2f (%s %.2f) %s\n", tg->what, tg->value,
			tg->at_least ? ">=" : "<=", tg->bound, met ? "met" : "MISSED");
	}
	if (*notes)
		fprintf(out, "\nnotes: %s\n", notes);
}

static struct lab_zone *zone(const char *name, unsigned int flags)
{
	/* Room for 1024 live blocks per thread above the watermarks. */
	struct lab_zone_config cfg = { .name = name, .pages = 4096, .flags = flags | LAB_ZONE_NO_KSWAPD };
	return lab_zone_create(&cfg);
}

static double ratio(double a, double b)
{
	return a > 0 && b > 0 ? a / b : -1;
}

int bench_exclusive_run(FILE *out, bool json)
{
	char notes[512] = "";
	struct lab_zone *secret = zone("secret", LAB_ZONE_SECRET);
	struct lab_zone *keyed = zone("secret+pkey", LAB_ZONE_SECRET | LAB_ZONE_PKEY);
	struct lab_zone *plain = zone("plain", 0);
	if (!secret || !plain) {
		fprintf(out, "bench_exclusive: cannot create a zone\n");
		return -1;
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(secret, &st);
	const char *zone_state = (st.prot_in_force & LAB_ZONE_SECRET)
		? "SECRET in force (memfd_secret)"
		: "SECRET fell back to locked anonymous memory (see lab_zone_describe)";

	struct lab_ctx excl = { secret, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE, false, false };
	struct lab_ctx excl_key = { keyed, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE, false, true };
	struct lab_ctx limit = { plain, LAB_GFP_ATOMIC, true, false };
	struct lab_ctx atomic_pair = { plain, LAB_GFP_ATOMIC, false, false };
	struct peer peers[MAX_PEERS];
	size_t n = 0;
	peers[n++] = (struct peer){ "labyrinth EXCLUSIVE, SECRET zone", lab_alloc, lab_addr,
				    lab_free, &excl, true, { 0 } };
	if (keyed) {
		lab_zone_get_stats(keyed, &st);
		if (st.prot_in_force & LAB_ZONE_PKEY)
			peers[n++] = (struct peer){ "labyrinth EXCLUSIVE, SECRET|PKEY (granted)",
						    lab_alloc, lab_addr, lab_free, &excl_key, true,
						    { 0 } };
		else
			strcat(notes, "no protection keys: PKEY row skipped. ");
	}
	size_t limit_at = n;
	peers[n++] = (struct peer){ "limit: labyrinth ATOMIC + 2 memsets", lab_alloc, lab_addr,
				    lab_free, &limit, true, { 0 } };
	peers[n++] = (struct peer){ "labyrinth ATOMIC (plain zone)", lab_alloc, lab_addr, lab_free,
				    &atomic_pair, true, { 0 } };

	struct ossl_ctx ossl;
	int (*ossl_init)(size_t, size_t) = NULL;
	void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
	size_t ossl_at = SIZE_MAX, sodium_at = SIZE_MAX;
	if (crypto && LOAD(crypto, "CRYPTO_secure_malloc_init", ossl_init) &&
	    LOAD(crypto, "CRYPTO_secure_zalloc", ossl.zalloc) &&
	    LOAD(crypto, "CRYPTO_secure_clear_free", ossl.clear_free) &&
	    ossl_init((size_t)16 << 20, 16) != 0) {  /* 16 MiB arena, power of two */
		ossl_at = n;
		peers[n++] = (struct peer){ "OpenSSL CRYPTO_secure_zalloc+clear_free", ossl_alloc,
					    plain_addr, ossl_release, &ossl, true, { 0 } };
	} else {
		strcat(notes, "libcrypto.so.3 (libssl3) not usable: OpenSSL skipped. ");
	}

	struct sodium_ctx sodium;
	int (*sodium_init_fn)(void) = NULL;
	void *sodium_lib = dlopen("libsodium.so.23", RTLD_NOW | RTLD_LOCAL);
	if (sodium_lib && LOAD(sodium_lib, "sodium_init", sodium_init_fn) &&
	    LOAD(sodium_lib, "sodium_malloc", sodium.malloc_fn) &&
	    LOAD(sodium_lib, "sodium_free", sodium.free_fn) && sodium_init_fn() >= 0) {
		sodium_at = n;
		peers[n++] = (struct peer){ "libsodium sodium_malloc+sodium_free", sodium_alloc,
					    plain_addr, sodium_release, &sodium, true, { 0 } };
	} else {
		strcat(notes, "libsodium.so.23 (libsodium23) not usable: libsodium skipped. ");
	}

	/* This thread measures the PKEY row too: it holds the grant throughout. */
	lab_zone_grant(keyed);
	measure_all(peers, n);
	lab_zone_revoke(keyed);
	snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes),
		 "Per-CPU lists: %s; %lu atomic allocations failed and were retried.",
		 lab_pcp_mode_name(), (unsigned long)lab_retries);

	double ex = peers[0].ns[B1], lim = peers[limit_at].ns[B1];
	struct target targets[] = {
		{ "sodium_malloc pair / exclusive pair, batch 1", sodium_at < n ?
		  ratio(peers[sodium_at].ns[B1], ex) : -1, 200, true },
		{ "OpenSSL secure heap pair / exclusive pair, batch 1", ossl_at < n ?
		  ratio(peers[ossl_at].ns[B1], ex) : -1, 10, true },
		{ "exclusive pair / (ATOMIC pair + 2 memsets), batch 1", ratio(ex, lim), 2, false },
		{ "exclusive pair, two threads / one thread (speedup)",
		  ratio(peers[0].ns[W1], peers[0].ns[T2]), 1.8, true },
	};
	report(out, json, peers, n, notes, targets, sizeof(targets) / sizeof(targets[0]), zone_state);

	/* The peers stay loaded: libcrypto may have registered exit handlers. */
	lab_zone_destroy(secret);
	if (keyed)
		lab_zone_destroy(keyed);
	lab_zone_destroy(plain);
	return 0;
}
