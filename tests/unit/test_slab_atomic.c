/* test_slab_atomic.c - the properties of ATOMIC and NOWAIT object allocation
 * and of every free, each proven as the page layer's are (test_atomic_path.c):
 * (a) a million pairs of cache objects, kmalloc objects and exclusive objects
 *     make no system call but a futex wake (seccomp kills anything else),
 *     across refills, drains, new slabs and slabs given back, and watermark
 *     crossings;
 * (b) no page fault (the thread's minor-fault count stays put);
 * (c) a signal storm whose handler allocates and frees objects of the very
 *     cache two threads are churning, a watchdog, and exact accounting at
 *     the end;
 * and a multi-thread cross-free test with exact accounting: every object
 * allocated on one CPU and freed on another is a remote free. */
#include "helpers.h"

#include "page/atomic.h"  /* lab__sleep_check: the might_sleep switch */

#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAIRS 1000000
#define LIVE 300

static struct lab_kmem_cache_stats cstats(const struct lab_kmem_cache *c)
{
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(c, &st);
	return st;
}

/* A zone small enough that LIVE objects of 2 KiB keep it near its marks, so
 * that slabs are made, emptied and given back all the time. */
static struct lab_zone *tight_zone(size_t pages)
{
	struct lab_zone_config cfg = { .name = "slab-atomic", .pages = pages, .pcp_batch = 8,
				       .pcp_high = 32 };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	return z;
}

/* One object of what kind i picks: the cache, a kmalloc size, an exclusive one. */
struct mix {
	struct lab_kmem_cache *c;
	void *obj[LIVE];
	unsigned char kind[LIVE];
};

static void *mix_alloc(struct mix *m, unsigned int r, lab_gfp_t gfp, unsigned char *kind)
{
	*kind = (unsigned char)(r % 8);
	if (*kind < 5)
		return lab_kmem_cache_alloc(m->c, gfp);
	if (*kind < 7)
		return lab_kmalloc(16u + (r >> 4) % 2000, gfp);
	return lab_kmalloc(32, gfp | LAB_GFP_EXCLUSIVE);
}

static void mix_free(struct mix *m, void *o, unsigned char kind)
{
	if (kind < 5)
		lab_kmem_cache_free(m->c, o);
	else
		lab_kfree(o);
}

/* A deterministic mix: grow a set of up to LIVE objects, then shrink it;
 * returns how many allocations failed. */
static unsigned long churn(struct mix *m, lab_gfp_t gfp, unsigned long pairs, unsigned long seed)
{
	unsigned long fails = 0, n = 0;
	for (unsigned long i = 0; i < pairs; i++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		unsigned int r = (unsigned int)(seed >> 33);
		bool grow = ((i / 4096) % 2 == 0) ? (r % 8 != 0) : (r % 8 == 0);
		if ((grow && n < LIVE) || n == 0) {
			void *o = mix_alloc(m, r, gfp | LAB_GFP_NOWARN, &m->kind[n]);
			if (!o) {
				fails++;
				continue;
			}
			*(volatile char *)o = 1;
			m->obj[n++] = o;
		} else {
			n--;
			mix_free(m, m->obj[n], m->kind[n]);
		}
	}
	while (n) {
		n--;
		mix_free(m, m->obj[n], m->kind[n]);
	}
	return fails;
}

/* Everything the first use makes (zones, kmalloc classes, the header
 * cache) exists before the sandbox. */
static void make_everything(struct mix *m, struct lab_zone *z)
{
	m->c = lab_kmem_cache_create(z, "atomic-2k", 2048, 0, 0, NULL);
	cr_assert_not_null(m->c);
	churn(m, LAB_GFP_KERNEL, 20000, 7);
}

/* ---- (a) no system call ---------------------------------------------- */

struct sandboxed {
	struct mix m;
	_Atomic uint32_t done;
	unsigned long fails;
};

static int install_futex_wake_only_filter(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, FUTEX_CMD_MASK),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAKE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void *sandboxed_main(void *arg)
{
	struct sandboxed *s = arg;
	if (install_futex_wake_only_filter())
		syscall(SYS_exit, 2);
	/* ATOMIC for the first half, NOWAIT for the second. */
	s->fails = churn(&s->m, LAB_GFP_ATOMIC, PAIRS / 2, 1);
	s->fails += churn(&s->m, LAB_GFP_NOWAIT, PAIRS / 2, 2);
	atomic_store(&s->done, 1);
	syscall(SYS_futex, &s->done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	syscall(SYS_exit, 0);  /* glibc's thread exit unmaps and madvises */
	return NULL;
}

static void seccomp_child(void *arg)
{
	(void)arg;
	static struct sandboxed s;
	struct lab_zone *z = tight_zone(100);  /* LIVE objects overflow it */
	make_everything(&s.m, z);
	pthread_t t;
	pthread_create(&t, NULL, sandboxed_main, &s);
	while (!atomic_load(&s.done))
		syscall(SYS_futex, &s.done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	struct lab_kmem_cache_stats st = cstats(s.m.c);
	struct lab_zone_stats zs;
	lab_zone_get_stats(z, &zs);
	fprintf(stderr, "pairs %d fails %lu refills %llu drains %llu slabs %zu zone frees %llu\n",
		PAIRS, s.fails, (unsigned long long)st.refills, (unsigned long long)st.drains,
		st.slabs, (unsigned long long)zs.free_calls);
	if (lab_zone_check(z))
		_exit(3);
	/* It must have crossed the watermarks, refilled, drained and given slabs back. */
	if (!s.fails || !st.refills || !st.drains || !zs.free_calls)
		_exit(4);
	if (st.active_objs || st.allocs != st.frees)
		_exit(5);
	_exit(0);
}

Test(slab_atomic, a_million_atomic_object_pairs_make_no_system_call_but_a_futex_wake,
     .timeout = 240)
{
	static char out[4096];
	int status = run_in_child(seccomp_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status), "killed by signal %d (a forbidden system call?)\n%s",
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0, out);
	cr_assert_eq(WEXITSTATUS(status), 0, "child exit %d\n%s", WEXITSTATUS(status), out);
	cr_log_info("%s", out);
}

/* ---- (b) no page fault ----------------------------------------------- */

static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

Test(slab_atomic, a_million_atomic_object_operations_take_no_page_fault, .timeout = 240)
{
	static struct mix m;
	struct lab_zone *z = tight_zone(512);
	make_everything(&m, z);
	churn(&m, LAB_GFP_ATOMIC, 20000, 3);  /* warm this thread's stack and TLS */
	warm_stack(64 << 10);  /* and deeper paths' frames (refill, reports) */
	long before = minor_faults();
	churn(&m, LAB_GFP_ATOMIC, PAIRS / 2, 4);
	churn(&m, LAB_GFP_NOWAIT, PAIRS / 2, 5);
	long after = minor_faults();
	cr_assert_eq(after, before, "%ld minor faults in a million atomic operations",
		     after - before);
	lab_kmem_cache_destroy(m.c);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- (c) the signal storm -------------------------------------------- */

struct storm {
	struct mix handler_mix;          /* only the handler's objects */
	struct lab_kmem_cache *c;
	_Atomic bool stop;
	_Atomic unsigned long progress[2];
	_Atomic unsigned long handler_allocs, handler_fails;
};
static struct storm storm;

static void storm_handler(int sig)
{
	(void)sig;
	lab_atomic_enter();
	void *o = lab_kmem_cache_alloc(storm.c, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	void *k = lab_kmalloc(200, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	void *e = lab_kmalloc(32, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE | LAB_GFP_NOWARN);
	if (o && k && e)
		atomic_fetch_add_explicit(&storm.handler_allocs, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&storm.handler_fails, 1, memory_order_relaxed);
	if (o) {
		*(volatile char *)o = 7;
		lab_kmem_cache_free(storm.c, o);
	}
	lab_kfree(k);
	lab_kfree(e);
	lab_atomic_exit();
}

static void *storm_worker(void *arg)
{
	long id = (long)arg;
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	lab_gfp_t gfp = id == 0 ? LAB_GFP_KERNEL | LAB_GFP_NORETRY : LAB_GFP_NOWAIT;
	static struct mix mixes[2];
	struct mix *m = &mixes[id];
	m->c = storm.c;
	unsigned long seed = 11 + (unsigned long)id;
	while (!atomic_load(&storm.stop)) {
		churn(m, gfp, 200, seed++);
		atomic_fetch_add(&storm.progress[id], 1);
	}
	return NULL;
}

Test(slab_atomic, signal_storm_neither_deadlocks_nor_loses_objects, .timeout = 120)
{
	/* Only the workers take the signal: blocked before any other thread
	 * (kswapd) is made, so that none inherits it unblocked. */
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	struct lab_zone *z = tight_zone(160);
	static struct mix warm;
	make_everything(&warm, z);
	storm.c = warm.c;
	signal_storm(storm_handler, storm_worker, storm.progress, &storm.stop);
	cr_assert_gt(atomic_load(&storm.handler_allocs), 0);
	struct lab_kmem_cache_stats st = cstats(storm.c);
	cr_log_info("handler allocations %lu, failures %lu; deferred frees %llu, detached slabs %llu",
		    atomic_load(&storm.handler_allocs), atomic_load(&storm.handler_fails),
		    (unsigned long long)st.deferred_frees, (unsigned long long)st.detached_slabs);
	/* Exact accounting: every object came back. */
	cr_assert_eq(st.active_objs, 0, "%zu objects lost", st.active_objs);
	cr_assert_eq(st.allocs, st.frees);
	cr_assert_eq(st.errors, 0);
	lab_kmem_cache_shrink(NULL);
	lab_kmem_cache_destroy(storm.c);
	assert_zone_ok(z);
	struct lab_zone_stats zs;
	lab_zone_get_stats(z, &zs);
	cr_assert_eq(zs.free + zs.pcp, zs.managed, "pages lost: free %zu + lists %zu != %zu",
		     zs.free, zs.pcp, zs.managed);
	cr_assert_eq(zs.bad_page, 0);
	lab_zone_destroy(z);
}

/* ---- cross-CPU frees, with exact accounting ----------------------------- */

#define RING 1024
#define CROSS 200000

struct cross {
	struct lab_kmem_cache *c;
	void *_Atomic ring[RING];
	_Atomic unsigned long consumed;
	int cpu[2];
};

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof(set), &set), 0);
}

static void *consumer(void *arg)
{
	struct cross *x = arg;
	pin(x->cpu[1]);
	for (unsigned long i = 0; i < CROSS; i++) {
		void *o;
		while (!(o = atomic_load_explicit(&x->ring[i % RING], memory_order_acquire)))
			sched_yield();
		atomic_store_explicit(&x->ring[i % RING], NULL, memory_order_relaxed);
		atomic_store_explicit(&x->consumed, i + 1, memory_order_release);
		lab_kmem_cache_free(x->c, o);
	}
	return NULL;
}

static void *producer(void *arg)
{
	struct cross *x = arg;
	pin(x->cpu[0]);
	for (unsigned long i = 0; i < CROSS; i++) {
		while (i - atomic_load_explicit(&x->consumed, memory_order_acquire) >= RING / 2)
			sched_yield();
		void *o = lab_kmem_cache_alloc(x->c, LAB_GFP_KERNEL);
		cr_assert_not_null(o);
		*(volatile long *)o = (long)i;
		atomic_store_explicit(&x->ring[i % RING], o, memory_order_release);
	}
	return NULL;
}

Test(slab_atomic, objects_freed_on_another_cpu_are_counted_exactly, .timeout = 120)
{
	cpu_set_t allowed;
	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	static struct cross x;
	int n = 0;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &allowed))
			x.cpu[n++] = c;
	if (n < 2)
		cr_skip_test("one CPU only: no frees on another CPU to count");
	struct lab_zone *z = make_zone(8192, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	x.c = lab_kmem_cache_create(z, "t-cross", 96, 0, 0, NULL);
	pthread_t p, q;
	pthread_create(&q, NULL, consumer, &x);
	pthread_create(&p, NULL, producer, &x);
	pthread_join(p, NULL);
	pthread_join(q, NULL);
	lab_kmem_cache_shrink(x.c);  /* every array flushed: every free reached a slab */
	struct lab_kmem_cache_stats st = cstats(x.c);
	cr_assert_eq(st.allocs, CROSS);
	cr_assert_eq(st.frees, CROSS);
	cr_assert_eq(st.active_objs, 0);
	cr_assert_eq(st.remote_frees, CROSS, "every object was taken on CPU %d and freed on %d: "
		     "%llu remote (%llu deferred frees, %llu detached slabs)", x.cpu[0], x.cpu[1],
		     (unsigned long long)st.remote_frees, (unsigned long long)st.deferred_frees,
		     (unsigned long long)st.detached_slabs);
	cr_assert_eq(st.pages, 0);
	cr_assert_eq(st.errors, 0);
	lab_kmem_cache_destroy(x.c);
	cr_assert_eq(zone_free_all(z), 8192);
	lab_zone_destroy(z);
}

/* Four threads, each freeing what the next allocated, unpinned. */
#define PASS 4
#define PER 100000

struct pass {
	struct lab_kmem_cache *c;
	void *_Atomic box[PASS][256];
};
static struct pass pass;

static void *passer(void *arg)
{
	long id = (long)arg;
	long next = (id + 1) % PASS;
	unsigned long sent = 0, got = 0, k = 0;
	while (sent < PER || got < PER) {
		if (sent < PER) {
			void *_Atomic *slot = &pass.box[next][sent % 256];
			if (!atomic_load_explicit(slot, memory_order_acquire)) {
				void *o = lab_kmem_cache_alloc(pass.c, sent % 2 ? LAB_GFP_ATOMIC
									      : LAB_GFP_KERNEL);
				if (o) {
					atomic_store_explicit(slot, o, memory_order_release);
					sent++;
				}
			}
		}
		if (got < PER) {
			void *_Atomic *slot = &pass.box[id][got % 256];
			void *o = atomic_exchange_explicit(slot, NULL, memory_order_acquire);
			if (o) {
				lab_kmem_cache_free(pass.c, o);
				got++;
			}
		}
		if (++k % 64 == 0)
			sched_yield();
	}
	return NULL;
}

Test(slab_atomic, threads_freeing_each_others_objects_lose_nothing, .timeout = 120)
{
	struct lab_zone *z = make_zone(8192, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	pass.c = lab_kmem_cache_create(z, "t-pass", 64, 0, 0, NULL);
	pthread_t t[PASS];
	for (long i = 0; i < PASS; i++)
		pthread_create(&t[i], NULL, passer, (void *)i);
	for (int i = 0; i < PASS; i++)
		pthread_join(t[i], NULL);
	struct lab_kmem_cache_stats st = cstats(pass.c);
	cr_assert_eq(st.allocs, (uint64_t)PASS * PER);
	cr_assert_eq(st.frees, (uint64_t)PASS * PER);
	cr_assert_eq(st.active_objs, 0);
	cr_assert_eq(st.errors, 0);
	lab_kmem_cache_shrink(pass.c);
	cr_assert_eq(cstats(pass.c).pages, 0);
	lab_kmem_cache_destroy(pass.c);
	cr_assert_eq(zone_free_all(z), 8192);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- the default zone comes with its kmalloc caches ------------------ */

/* Every size class and a large block, plain then exclusive. */
static const size_t class_sizes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096,
				      8192, 3 * 4096 };
static _Atomic uint32_t first_done;
static int first_result;

static void *first_kmalloc_main(void *arg)
{
	(void)arg;
	if (install_futex_wake_only_filter())
		syscall(SYS_exit, 2);
	lab_atomic_enter();  /* with the might_sleep check on: a cache creation aborts */
	for (int excl = 0; excl < 2 && !first_result; excl++) {
		for (size_t i = 0; i < sizeof(class_sizes) / sizeof(class_sizes[0]); i++) {
			lab_gfp_t gfp = LAB_GFP_ATOMIC | (excl ? LAB_GFP_EXCLUSIVE : 0);
			char *p = lab_kmalloc(class_sizes[i], gfp);
			if (!p) {
				first_result = 10 + (int)i;
				break;
			}
			p[0] = p[class_sizes[i] - 1] = 1;
			lab_kfree(p);
		}
	}
	lab_atomic_exit();
	atomic_store(&first_done, 1);
	syscall(SYS_futex, &first_done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	syscall(SYS_exit, 0);
	return NULL;
}

static void first_kmalloc_child(void *arg)
{
	(void)arg;
	/* The zones, nothing else: no lab_kmalloc before the sandbox. */
	if (!lab_default_zone() || !lab_default_exclusive_zone())
		_exit(2);
	lab__sleep_check = true;
	pthread_t t;
	if (pthread_create(&t, NULL, first_kmalloc_main, NULL))
		_exit(4);
	while (!atomic_load(&first_done))
		syscall(SYS_futex, &first_done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	_exit(first_result);
}

Test(slab_atomic, the_first_atomic_kmalloc_after_the_default_zone_creates_no_cache,
     .timeout = 60)
{
	static char out[4096];
	int status = run_in_child(first_kmalloc_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status), "killed by signal %d (a system call, or a might_sleep "
		  "report)\n%s", WIFSIGNALED(status) ? WTERMSIG(status) : 0, out);
	cr_assert_eq(WEXITSTATUS(status), 0, "child exit %d\n%s", WEXITSTATUS(status), out);
}
