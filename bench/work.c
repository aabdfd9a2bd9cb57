/*
 * work.c - the measuring half of `labyrinth bench`: one process per subject
 * (an allocator), `labyrinth bench-worker SUBJECT RUN_MS`, with the peer
 * preloaded (LD_PRELOAD) where there is one so that it replaces glibc's
 * malloc there and nowhere else.  It answers the parent's requests one at
 * a time (bench_int.h); the parent interleaves the subjects, so each
 * request measures one figure once, for about RUN_MS.
 *
 * Every subject is called through the same two function pointers, and
 * every block is touched once, so the "none" subject (no allocator: one
 * block handed out again and again) is the harness's own cost.  Labyrinth
 * allocates with LAB_GFP_ATOMIC (its fast path) from a zone of 1 GiB; an
 * allocation that fails is counted and retried (the target is none).
 *
 * Exports bench_subjects, bench_worker_main and bench_library_loadable.
 */
#include "bench_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <labyrinth.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define MAX_ORDER 10
#define BATCH 1024
#define MAX_THREADS 1024
#define PRESSURE_BLOCKS 4096
#define LAT_BATCH 32            /* allocations timed together for the median */

/* ---- clocks -------------------------------------------------------------- */

static double clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double wall_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* The thread's CPU time: on a shared machine, time spent waiting for a CPU
 * is left out (the one-thread figures). */
static double cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* A timestamp for single operations: the TSC, after earlier instructions. */
static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;
	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
#elif defined(__aarch64__)
	uint64_t v;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
#else
	return (uint64_t)wall_ns();
#endif
}

static double ticks_per_ns;  /* measured against CLOCK_MONOTONIC */
static double step_ns;       /* the smallest nonzero difference of two reads */
static double overhead_ns;   /* an empty timed region: subtracted */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void clock_setup(void)
{
	double t0 = wall_ns();
	uint64_t c0 = ticks();
	while (wall_ns() - t0 < 20e6)
		;
	ticks_per_ns = (double)(ticks() - c0) / (wall_ns() - t0);
	uint64_t step = UINT64_MAX;
	static double empty[20000];
	for (int i = 0; i < 20000; i++) {
		uint64_t a = ticks(), b = ticks();
		if (b > a && b - a < step)
			step = b - a;
		empty[i] = (double)(b - a);
	}
	qsort(empty, 20000, sizeof(empty[0]), cmp_double);
	step_ns = (double)step / ticks_per_ns;
	overhead_ns = empty[10000] / ticks_per_ns;
}

/* ---- subjects ------------------------------------------------------------ */

struct ops {
	int (*setup)(char *note, size_t len);   /* 0, or a reason in note */
	void (*thread_init)(void);              /* each measuring thread, first */
	void (*thread_exit)(void);              /* each measuring thread, last */
	void *(*alloc)(unsigned int order, void **addr);
	void (*free)(void *handle, unsigned int order);
};

static const struct ops *me;
static _Atomic unsigned long failures;

/*
 * No allocator: each thread gets one pre-faulted page of a region mapped
 * once (threads come and go with every measurement: nothing is mapped or
 * lost on the way), and hands it out again and again.  Only the block's
 * first byte is touched, so one page stands for blocks of every order.
 */
#define NONE_PAGES 1024
static char *none_region;
static _Atomic unsigned int none_next;
static _Thread_local char *none_block;

static int none_setup(char *note, size_t len)
{
	none_region = mmap(NULL, (size_t)NONE_PAGES * BLOCK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (none_region == MAP_FAILED) {
		snprintf(note, len, "mmap: %s", strerror(errno));
		return -1;
	}
	snprintf(note, len, "the harness alone: one page per thread, handed out again and again");
	return 0;
}

static void *none_alloc(unsigned int order, void **addr)
{
	(void)order;
	if (__builtin_expect(!none_block, 0)) {
		unsigned int i = atomic_fetch_add_explicit(&none_next, 1, memory_order_relaxed);
		none_block = none_region + (size_t)(i % NONE_PAGES) * BLOCK;
	}
	*addr = none_block;
	return none_block;
}

static void none_free(void *h, unsigned int order)
{
	(void)h, (void)order;
}

/*
 * The physical limit: a thread-local LIFO of pre-faulted pages, as a per-CPU
 * cache would be at its best.  Between threads (producer/consumer) pages
 * move a batch at a time through one shared pool, and only an empty pool
 * maps more: nothing is lost and nothing is mapped in the steady state.
 */
#define LIFO_CAP (2 * BATCH + 64)
#define LIFO_MOVE 256
#define POOL_CAP (1u << 17)
static _Thread_local void *lifo[LIFO_CAP];
static _Thread_local int lifo_top;
static void *pool[POOL_CAP];
static size_t pool_n;
static atomic_flag pool_lock = ATOMIC_FLAG_INIT;

static void pool_take(void)
{
	while (atomic_flag_test_and_set_explicit(&pool_lock, memory_order_acquire))
		;
	while (pool_n && lifo_top < LIFO_MOVE)
		lifo[lifo_top++] = pool[--pool_n];
	atomic_flag_clear_explicit(&pool_lock, memory_order_release);
	if (lifo_top)
		return;
	char *mem = mmap(NULL, (size_t)LIFO_MOVE * BLOCK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		abort();
	for (int i = 0; i < LIFO_MOVE; i++)
		lifo[lifo_top++] = mem + (size_t)i * BLOCK;
}

static void pool_give(void)
{
	while (atomic_flag_test_and_set_explicit(&pool_lock, memory_order_acquire))
		;
	for (int i = 0; i < LIFO_MOVE && pool_n < POOL_CAP; i++)
		pool[pool_n++] = lifo[--lifo_top];
	atomic_flag_clear_explicit(&pool_lock, memory_order_release);
}

static void *lifo_alloc(unsigned int order, void **addr)
{
	(void)order;
	if (__builtin_expect(!lifo_top, 0))
		pool_take();
	void *p = lifo[--lifo_top];
	*addr = p;
	return p;
}

static void lifo_free(void *h, unsigned int order)
{
	(void)order;
	if (__builtin_expect(lifo_top == LIFO_CAP, 0))
		pool_give();
	lifo[lifo_top++] = h;
}

/* A thread that ends gives its pages back to the pool. */
static void lifo_thread_exit(void)
{
	while (atomic_flag_test_and_set_explicit(&pool_lock, memory_order_acquire))
		;
	while (lifo_top && pool_n < POOL_CAP)
		pool[pool_n++] = lifo[--lifo_top];
	atomic_flag_clear_explicit(&pool_lock, memory_order_release);
}

/* Labyrinth: blocks of a zone, ATOMIC (or EXCLUSIVE, or ATOMIC and two
 * memsets: what zeroing on hand-out and scrubbing on return cannot avoid). */
static struct lab_zone *zone;
static lab_gfp_t lab_gfp = LAB_GFP_ATOMIC;
static bool lab_memsets, lab_grant;

/* An allocation that failed: counted (ATOMIC may fail, the bench reports
 * how often), retried, and the run given up after 10^8 in a row. */
static void lab_failed(unsigned int order, unsigned long *tries)
{
	atomic_fetch_add_explicit(&failures, 1, memory_order_relaxed);
	if (++*tries == 100000000) {
		fprintf(stderr, "bench: %s: allocations of order %u keep failing\n",
			lab_zone_name(zone), order);
		exit(3);
	}
}

static void *lab_alloc(unsigned int order, void **addr)
{
	struct lab_page *p;
	unsigned long tries = 0;
	while (!(p = lab_alloc_pages(zone, lab_gfp | LAB_GFP_NOWARN, order)))
		lab_failed(order, &tries);
	void *a = lab_page_address(p);
	if (lab_memsets)
		memset(a, 0, (size_t)BLOCK << order);
	*addr = a;
	return p;
}

static void lab_free(void *h, unsigned int order)
{
	if (lab_memsets) {
		void *a = lab_page_address(h);
		memset(a, 0, (size_t)BLOCK << order);
		__asm__ __volatile__("" : : "r"(a) : "memory");  /* as the library's scrub */
	}
	lab_free_pages(h, order);
}

/* The same zone by address, the kernel's __get_free_pages()/free_pages()
 * route: the address from the allocation, the zone found from the address
 * on the free. */
static void *lab_addr_alloc(unsigned int order, void **addr)
{
	void *a;
	unsigned long tries = 0;
	while (!(a = lab_get_free_pages(zone, lab_gfp | LAB_GFP_NOWARN, order)))
		lab_failed(order, &tries);
	*addr = a;
	return a;
}

static void lab_addr_free(void *h, unsigned int order)
{
	lab_free_pages_addr(h, order);
}

static void lab_thread_init(void)
{
	if (lab_grant)
		lab_zone_grant(zone);  /* PKRU is per thread */
}

static int zone_setup(const char *name, size_t pages, unsigned int flags, char *note, size_t len)
{
	struct lab_zone_config cfg = { .name = name, .pages = pages, .flags = flags };
	zone = lab_zone_create(&cfg);
	if (!zone) {
		snprintf(note, len, "cannot create the zone: %s", strerror(errno));
		return -1;
	}
	snprintf(note, len, "per-CPU lists: %s", lab_pcp_mode_name());
	return 0;
}

/* 1 GiB: per-CPU lists of batch 63, as the kernel sizes them for a zone that size. */
static int lab_setup(char *note, size_t len)
{
	return zone_setup("bench", (1u << 30) / BLOCK, 0, note, len);
}

/* Exclusive pages come from a zone of 4096 pages (room for 1024 live blocks
 * per thread above the watermarks); kswapd stays out of the way. */
static int secret_setup(const char *name, unsigned int flags, char *note, size_t len)
{
	if (zone_setup(name, 4096, flags | LAB_ZONE_NO_KSWAPD, note, len))
		return -1;
	struct lab_zone_stats st;
	lab_zone_get_stats(zone, &st);
	lab_gfp = LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE;
	if ((flags & LAB_ZONE_PKEY) && !(st.prot_in_force & LAB_ZONE_PKEY)) {
		snprintf(note, len, "no protection keys on this machine");
		return -1;
	}
	lab_grant = flags & LAB_ZONE_PKEY;
	lab_thread_init();
	snprintf(note, len, "%s", (st.prot_in_force & LAB_ZONE_SECRET)
		 ? "SECRET in force (memfd_secret)"
		 : "SECRET fell back to locked anonymous memory (lab_zone_describe says why)");
	return 0;
}

static int excl_setup(char *note, size_t len)
{
	return secret_setup("secret", LAB_ZONE_SECRET, note, len);
}

static int excl_pkey_setup(char *note, size_t len)
{
	return secret_setup("secret+pkey", LAB_ZONE_SECRET | LAB_ZONE_PKEY, note, len);
}

static int limit_setup(char *note, size_t len)
{
	lab_memsets = true;
	return zone_setup("plain", 4096, LAB_ZONE_NO_KSWAPD, note, len);
}

/* malloc's aligned_alloc: glibc's, or the preloaded allocator's. */
static void *malloc_alloc(unsigned int order, void **addr)
{
	size_t size = (size_t)BLOCK << order;
	void *p = aligned_alloc(size, size);
	if (!p)
		abort();
	*addr = p;
	return p;
}

static void malloc_free(void *h, unsigned int order)
{
	(void)order;
	free(h);
}

/* Which malloc this really is: a preload that did not happen is glibc's. */
static int malloc_setup(char *note, size_t len)
{
	Dl_info info;
	void *m = dlsym(RTLD_DEFAULT, "malloc");  /* the definition, not a PLT stub */
	const char *lib = m && dladdr(m, &info) && info.dli_fname ? info.dli_fname : "?";
	const char *want = getenv("LD_PRELOAD");
	if (want && *want && !strstr(lib, want)) {
		snprintf(note, len, "%s was not preloaded (malloc is %s's)", want, lib);
		return -1;
	}
	snprintf(note, len, "malloc from %s", lib);
	return 0;
}

static void *mmap_alloc(unsigned int order, void **addr)
{
	void *p = mmap(NULL, (size_t)BLOCK << order, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		abort();
	*addr = p;
	return p;
}

static void mmap_free(void *h, unsigned int order)
{
	munmap(h, (size_t)BLOCK << order);
}

/* The secure heaps, loaded with dlopen so that the build needs neither. */
#define LOAD(lib, sym, fp) (*(void **)(&(fp)) = dlsym((lib), (sym)), (fp) != NULL)

static void *(*ossl_zalloc)(size_t, const char *, int);
static void (*ossl_clear_free)(void *, size_t, const char *, int);

static int ossl_setup(char *note, size_t len)
{
	int (*init)(size_t, size_t) = NULL;
	void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
	if (!lib || !LOAD(lib, "CRYPTO_secure_malloc_init", init) ||
	    !LOAD(lib, "CRYPTO_secure_zalloc", ossl_zalloc) ||
	    !LOAD(lib, "CRYPTO_secure_clear_free", ossl_clear_free)) {
		snprintf(note, len, "libcrypto.so.3 (libssl3) not usable");
		return -1;
	}
	if (init((size_t)16 << 20, 16) == 0) {  /* a 16 MiB arena, as a program would */
		snprintf(note, len, "CRYPTO_secure_malloc_init failed");
		return -1;
	}
	snprintf(note, len, "OpenSSL's secure heap, a 16 MiB arena");
	return 0;
}

static void *ossl_alloc(unsigned int order, void **addr)
{
	void *p = ossl_zalloc((size_t)BLOCK << order, __FILE__, __LINE__);
	if (!p)
		abort();
	*addr = p;
	return p;
}

static void ossl_free(void *h, unsigned int order)
{
	ossl_clear_free(h, (size_t)BLOCK << order, __FILE__, __LINE__);
}

static void *(*sodium_malloc_fn)(size_t);
static void (*sodium_free_fn)(void *);

static int sodium_setup(char *note, size_t len)
{
	int (*init)(void) = NULL;
	void *lib = dlopen("libsodium.so.23", RTLD_NOW | RTLD_LOCAL);
	if (!lib || !LOAD(lib, "sodium_init", init) || !LOAD(lib, "sodium_malloc", sodium_malloc_fn) ||
	    !LOAD(lib, "sodium_free", sodium_free_fn) || init() < 0) {
		snprintf(note, len, "libsodium.so.23 (libsodium23) not usable");
		return -1;
	}
	snprintf(note, len, "sodium_malloc: guard pages, mlock, canary");
	return 0;
}

static void *sodium_alloc(unsigned int order, void **addr)
{
	void *p = sodium_malloc_fn((size_t)BLOCK << order);
	if (!p)
		abort();
	*addr = p;
	return p;
}

static void sodium_release(void *h, unsigned int order)
{
	(void)order;
	sodium_free_fn(h);
}

static int lifo_setup(char *note, size_t len)
{
	snprintf(note, len, "the limit: a thread-local LIFO of pre-faulted pages");
	return 0;
}

static int mmap_setup(char *note, size_t len)
{
	snprintf(note, len, "mmap and munmap of each block");
	return 0;
}

static void no_thread_init(void)
{
}

static void no_thread_exit(void)
{
}

static const struct bench_subject subject_list[] = {
	{ "none", "no allocator (harness)", NULL, G_PAGES | G_ORDERS | G_SCALING | G_EXCL, false, false },
	{ "lifo", "LIFO limit", NULL, G_PAGES | G_SCALING, false, false },
	{ "labyrinth", "labyrinth ATOMIC", NULL, G_PAGES | G_ORDERS | G_SCALING, true, false },
	{ "lab_addr", "labyrinth ATOMIC, by address", NULL, G_PAGES, false, false },
	{ "glibc", "glibc", NULL, G_PAGES | G_ORDERS | G_SCALING, false, true },
	{ "jemalloc", "jemalloc", "libjemalloc.so.2", G_PAGES | G_ORDERS | G_SCALING, false, true },
	{ "tcmalloc", "tcmalloc", "libtcmalloc_minimal.so.4", G_PAGES | G_ORDERS | G_SCALING, false,
	  true },
	{ "mimalloc", "mimalloc", "libmimalloc.so.2", G_PAGES | G_ORDERS | G_SCALING, false, true },
	{ "mmap", "mmap+munmap", NULL, G_PAGES | G_ORDERS, false, true },
	{ "lab_exclusive", "labyrinth EXCLUSIVE, SECRET zone", NULL, G_EXCL, true, false },
	{ "lab_exclusive_pkey", "labyrinth EXCLUSIVE, SECRET|PKEY", NULL, G_EXCL, false, false },
	{ "lab_limit", "limit: ATOMIC + 2 memsets", NULL, G_EXCL, false, false },
	{ "openssl", "OpenSSL secure heap", NULL, G_EXCL, false, true },
	{ "sodium", "libsodium sodium_malloc", NULL, G_EXCL, false, true },
};
#define NR_SUBJECTS (sizeof(subject_list) / sizeof(subject_list[0]))

static const struct ops subject_ops[NR_SUBJECTS] = {
	{ none_setup, no_thread_init, no_thread_exit, none_alloc, none_free },
	{ lifo_setup, no_thread_init, lifo_thread_exit, lifo_alloc, lifo_free },
	{ lab_setup, lab_thread_init, no_thread_exit, lab_alloc, lab_free },
	{ lab_setup, lab_thread_init, no_thread_exit, lab_addr_alloc, lab_addr_free },
	{ malloc_setup, no_thread_init, no_thread_exit, malloc_alloc, malloc_free },
	{ malloc_setup, no_thread_init, no_thread_exit, malloc_alloc, malloc_free },
	{ malloc_setup, no_thread_init, no_thread_exit, malloc_alloc, malloc_free },
	{ malloc_setup, no_thread_init, no_thread_exit, malloc_alloc, malloc_free },
	{ mmap_setup, no_thread_init, no_thread_exit, mmap_alloc, mmap_free },
	{ excl_setup, lab_thread_init, no_thread_exit, lab_alloc, lab_free },
	{ excl_pkey_setup, lab_thread_init, no_thread_exit, lab_alloc, lab_free },
	{ limit_setup, lab_thread_init, no_thread_exit, lab_alloc, lab_free },
	{ ossl_setup, no_thread_init, no_thread_exit, ossl_alloc, ossl_free },
	{ sodium_setup, no_thread_init, no_thread_exit, sodium_alloc, sodium_release },
};

const struct bench_subject *bench_subjects(size_t *n)
{
	*n = NR_SUBJECTS;
	return subject_list;
}

/* ---- workloads ----------------------------------------------------------- */

static inline void touch(void *addr)
{
	*(volatile char *)addr = 1;
}

/* n pairs, batch live at a time: CPU ns in all. */
static double pairs(unsigned int order, unsigned int batch, unsigned long n)
{
	void *held[BATCH];
	double t0 = cpu_ns();
	if (batch <= 1) {
		for (unsigned long i = 0; i < n; i++) {
			void *addr, *h = me->alloc(order, &addr);
			touch(addr);
			me->free(h, order);
		}
		return cpu_ns() - t0;
	}
	for (unsigned long done = 0; done < n; done += batch) {
		for (unsigned int i = 0; i < batch; i++) {
			void *addr;
			held[i] = me->alloc(order, &addr);
			touch(addr);
		}
		for (unsigned int i = 0; i < batch; i++)
			me->free(held[i], order);
	}
	return cpu_ns() - t0;
}

struct thread_arg {
	unsigned long n;
	pthread_barrier_t *go;
	double t0, t1;
};

static void *pairs_thread(void *arg)
{
	struct thread_arg *a = arg;
	me->thread_init();
	pairs(0, 1, a->n / 16 + 1);  /* this thread's caches warm */
	pthread_barrier_wait(a->go);
	a->t0 = wall_ns();
	pairs(0, 1, a->n);
	a->t1 = wall_ns();
	me->thread_exit();
	return NULL;
}

/* k threads at batch 1 at once: wall ns from the first start to the last
 * end (the threads' own clocks), per pair of all of them. */
static double threads(unsigned int k, unsigned long n)
{
	static struct thread_arg a[MAX_THREADS];
	static pthread_t t[MAX_THREADS];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, k);
	for (unsigned int i = 0; i < k; i++) {
		a[i] = (struct thread_arg){ n, &go, 0, 0 };
		if (pthread_create(&t[i], NULL, pairs_thread, &a[i]))
			abort();
	}
	double first = 0, last = 0;
	for (unsigned int i = 0; i < k; i++) {
		pthread_join(t[i], NULL);
		if (!i || a[i].t0 < first)
			first = a[i].t0;
		if (a[i].t1 > last)
			last = a[i].t1;
	}
	pthread_barrier_destroy(&go);
	return last - first;
}

/* A wait for the other thread: on a machine with fewer free CPUs than
 * threads, spinning would keep the other one from running. */
static void spin(void)
{
	sched_yield();
}

/* Producer/consumer: blocks allocated by one thread, freed by another. */
#define RING 4096
static void *_Atomic ring[RING];
static _Atomic unsigned long consumed;

static void *consumer(void *arg)
{
	unsigned long n = *(unsigned long *)arg;
	me->thread_init();
	for (unsigned long i = 0; i < n; i++) {
		void *h;
		while (!(h = atomic_load_explicit(&ring[i % RING], memory_order_acquire)))
			spin();
		atomic_store_explicit(&ring[i % RING], NULL, memory_order_relaxed);
		atomic_store_explicit(&consumed, i + 1, memory_order_release);
		me->free(h, 0);
	}
	me->thread_exit();
	return NULL;
}

static double producer_consumer(unsigned long n)
{
	pthread_t t;
	atomic_store(&consumed, 0);
	if (pthread_create(&t, NULL, consumer, &n))
		abort();
	double t0 = wall_ns();
	for (unsigned long i = 0; i < n; i++) {
		while (i - atomic_load_explicit(&consumed, memory_order_acquire) >= RING / 2)
			spin();
		void *addr, *h = me->alloc(0, &addr);
		touch(addr);
		atomic_store_explicit(&ring[i % RING], h, memory_order_release);
	}
	pthread_join(t, NULL);
	return wall_ns() - t0;
}

/* A thread that keeps memory churning around a large working set. */
static _Atomic bool pressure_stop;

static void *pressure_main(void *arg)
{
	(void)arg;
	static void *held[PRESSURE_BLOCKS];
	uint64_t x = 88172645463325252ull;
	me->thread_init();
	for (int i = 0; i < PRESSURE_BLOCKS; i++) {
		void *addr;
		held[i] = me->alloc(0, &addr);
		touch(addr);
	}
	while (!atomic_load_explicit(&pressure_stop, memory_order_relaxed)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned int i = (unsigned int)(x % PRESSURE_BLOCKS);
		me->free(held[i], 0);
		void *addr;
		held[i] = me->alloc(0, &addr);
		touch(addr);
	}
	for (int i = 0; i < PRESSURE_BLOCKS; i++)
		me->free(held[i], 0);
	me->thread_exit();
	return NULL;
}

/*
 * Latency of allocations, ns: out[0] the median, from LAT_BATCH allocations
 * timed together (a single one is near the clock's step); out[1..4] p99,
 * p99.9, p99.99 and the maximum of n allocations timed one by one, the
 * median cost of an empty timed region subtracted.
 */
static double latency(bool with_pressure, unsigned long n, double out[LATENCY_VALUES])
{
	static double lat[1 << 20], batches[1 << 16];
	void *held[LAT_BATCH];
	pthread_t t;
	if (n > (1u << 20))
		n = 1u << 20;
	if (with_pressure) {
		atomic_store(&pressure_stop, false);
		if (pthread_create(&t, NULL, pressure_main, NULL))
			abort();
		struct timespec settle = { 0, 20 * 1000 * 1000 };
		nanosleep(&settle, NULL);
	}
	unsigned long nb = n / LAT_BATCH < (1u << 16) ? n / LAT_BATCH : (1u << 16);
	if (!nb)
		nb = 1;
	double t0 = wall_ns();
	for (unsigned long b = 0; b < nb; b++) {
		void *addr[LAT_BATCH];
		uint64_t c0 = ticks();
		for (int i = 0; i < LAT_BATCH; i++)
			held[i] = me->alloc(0, &addr[i]);
		uint64_t c1 = ticks();
		for (int i = 0; i < LAT_BATCH; i++) {
			touch(addr[i]);
			me->free(held[i], 0);
		}
		batches[b] = ((double)(c1 - c0) / ticks_per_ns - overhead_ns) / LAT_BATCH;
	}
	for (unsigned long i = 0; i < n; i++) {
		void *addr;
		uint64_t c0 = ticks();
		void *h = me->alloc(0, &addr);
		uint64_t c1 = ticks();
		touch(addr);
		me->free(h, 0);
		double v = (double)(c1 - c0) / ticks_per_ns - overhead_ns;
		lat[i] = v > 0 ? v : 0;
	}
	double took = wall_ns() - t0;
	if (with_pressure) {
		atomic_store(&pressure_stop, true);
		pthread_join(t, NULL);
	}
	qsort(batches, nb, sizeof(batches[0]), cmp_double);
	qsort(lat, n, sizeof(lat[0]), cmp_double);
	out[0] = batches[nb / 2];
	const double q[3] = { 0.99, 0.999, 0.9999 };
	for (int i = 0; i < 3; i++)
		out[1 + i] = lat[(size_t)(q[i] * (double)(n - 1))];
	out[4] = lat[n - 1];
	return took;
}

/* ---- requests ------------------------------------------------------------ */

/* One request, n operations: its values, each per operation; *took, the
 * time the measured part took (what calibration scales by: thread starts
 * and the pressure thread's settling left out). */
static int measure(int fig, unsigned int a, unsigned int b, unsigned long n,
		   double v[LATENCY_VALUES], double *took)
{
	switch (fig) {
	case FIG_PAIRS:
		if (b > BATCH || a > MAX_ORDER)
			return 0;
		*took = pairs(a, b ? b : 1, n);
		v[0] = *took / (double)n;
		return 1;
	case FIG_THREADS:
		if (!a || a > MAX_THREADS)
			return 0;
		*took = threads(a, n);
		v[0] = *took / ((double)a * (double)n);
		return 1;
	case FIG_PRODCONS:
		*took = producer_consumer(n);
		v[0] = *took / (double)n;
		return 1;
	case FIG_LATENCY:
		*took = latency(a != 0, n, v);
		return LATENCY_VALUES;
	}
	return 0;
}

static double run_target_ns = 20e6;

/* Operations that take about the run time, found once per request kind. */
struct calibration {
	int fig;
	unsigned int a, b;
	unsigned long n;
};
static struct calibration calibrated[256];
static int nr_calibrated;

static unsigned long calibrate(int fig, unsigned int a, unsigned int b)
{
	for (int i = 0; i < nr_calibrated; i++)
		if (calibrated[i].fig == fig && calibrated[i].a == a && calibrated[i].b == b)
			return calibrated[i].n;
	unsigned long unit = fig == FIG_PAIRS && b > 1 ? b : 1, n = unit;
	unsigned long cap = fig == FIG_LATENCY ? (1ul << 20) : (1ul << 34);
	/* Latency tails need samples: p99.99 of 2^16 is the 7th largest. */
	unsigned long floor = fig == FIG_LATENCY ? (1ul << 16) : unit;
	double v[LATENCY_VALUES], t;
	/* A first run warms up (first touches, thread caches) and is not used. */
	if (!measure(fig, a, b, unit, v, &t))
		return 0;
	for (;;) {
		if (!measure(fig, a, b, n, v, &t))
			return 0;
		if (t >= run_target_ns / 8 || n >= cap) {
			double want = (double)n * run_target_ns / (t > 1 ? t : 1);
			n = (unsigned long)want / unit * unit;
			if (n < floor)
				n = floor;
			if (n > cap)
				n = cap;
			break;
		}
		n *= 4;
	}
	if (nr_calibrated < 256)
		calibrated[nr_calibrated++] = (struct calibration){ fig, a, b, n };
	return n;
}

static void reply_values(int k, const double *v)
{
	printf("ok");
	for (int i = 0; i < k; i++)
		printf(" %.4f", v[i]);
	printf("\n");
	fflush(stdout);
}

/* `labyrinth bench-worker SUBJECT RUN_MS`: set up, then answer requests. */
int bench_worker_main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	size_t s = 0;
	while (s < NR_SUBJECTS && strcmp(subject_list[s].name, argv[1]))
		s++;
	if (s == NR_SUBJECTS)
		return 2;
	if (argc >= 3)
		run_target_ns = strtod(argv[2], NULL) * 1e6;
	me = &subject_ops[s];
	char line[256], note[256] = "";
	bool ready = false;
	while (fgets(line, sizeof(line), stdin)) {
		int fig;
		unsigned int a, b;
		unsigned long n;
		double v[LATENCY_VALUES];
		if (!strncmp(line, "hello", 5)) {
			ready = me->setup(note, sizeof(note)) == 0;
			if (ready)
				clock_setup();
			printf("%s %s\n", ready ? "ok" : "no", note);
			fflush(stdout);
		} else if (!ready) {
			printf("no not set up\n");
			fflush(stdout);
		} else if (!strncmp(line, "clock", 5)) {
			double c[3] = { ticks_per_ns, step_ns, overhead_ns };
			reply_values(3, c);
		} else if (!strncmp(line, "failures", 8)) {
			double f = (double)atomic_load(&failures);
			reply_values(1, &f);
		} else if (sscanf(line, "run %d %u %u", &fig, &a, &b) == 3) {
			int k = 0;
			n = calibrate(fig, a, b);
			double t;
			if (n)
				k = measure(fig, a, b, n, v, &t);
			if (k)
				reply_values(k, v);
			else
				printf("no not measured\n"), fflush(stdout);
		} else if (sscanf(line, "count %d %u %u %lu", &fig, &a, &b, &n) == 4) {
			double t;
			int k = measure(fig, a, b, n ? n : 1, v, &t);
			if (k)
				reply_values(k, v);
			else
				printf("no not measured\n"), fflush(stdout);
		} else {
			printf("no unknown request\n");
			fflush(stdout);
		}
	}
	return 0;
}

/* ---- finding the peers ---------------------------------------------------- */

bool bench_library_loadable(const char *lib)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)  /* only the loader's own search: LD_LIBRARY_PATH, its cache, /lib... */
		_exit(dlopen(lib, RTLD_LAZY | RTLD_LOCAL) ? 0 : 1);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
