/* test_atomic_path.c - the properties of ATOMIC and NOWAIT, each proven:
 * (a) no system call but a futex wake, under a seccomp filter that kills
 *     the process on anything else, across refills, drains and watermark
 *     crossings;
 * (b) no page fault: the minor-fault count stays put;
 * (c) a signal storm whose handler allocates and frees ATOMIC while two
 *     threads run KERNEL/NOWAIT loops under pressure, with a watchdog and
 *     conservation checked at the end;
 * (d) no failure because another thread holds the zone lock, even a holder
 *     that is off its CPU for a while;
 * (e) under a signal storm on one CPU, each deliberate double free reported
 *     exactly once, no other report, no block handed out twice;
 * and failure reports of atomic callers are printed by kswapd, not by them. */
#include "helpers.h"
#include "page/zone.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAIRS 1000000

/* A zone small enough that a million operations keep crossing the marks,
 * and per-CPU lists small enough that they refill and drain all the time. */
static struct lab_zone *storm_zone(size_t pages)
{
	struct lab_zone_config cfg = { .name = "atomic", .pages = pages, .pcp_batch = 8,
				       .pcp_high = 32 };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	return z;
}

/* A deterministic mix: grow a stack of up to 300 live pages, then shrink it,
 * with some order-1..3 blocks; returns how many allocations failed. */
static unsigned long churn(struct lab_zone *z, lab_gfp_t gfp, unsigned long pairs,
			   struct lab_page **live, unsigned char *orders)
{
	unsigned long fails = 0, n = 0, seed = 12345;
	for (unsigned long i = 0; i < pairs; i++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		unsigned int r = (unsigned int)(seed >> 33);
		bool grow = ((i / 4096) % 2 == 0) ? (r % 8 != 0) : (r % 8 == 0);
		if ((grow && n < 300) || n == 0) {
			unsigned int order = (r >> 8) % 16 == 0 ? 1 + (r >> 12) % 3 : 0;
			struct lab_page *p = lab_alloc_pages(z, gfp | LAB_GFP_NOWARN, order);
			if (!p) {
				fails++;
				continue;
			}
			*(volatile char *)lab_page_address(p) = 1;
			orders[n] = (unsigned char)order;
			live[n++] = p;
		} else {
			n--;
			lab_free_pages(live[n], orders[n]);
		}
	}
	while (n) {
		n--;
		lab_free_pages(live[n], orders[n]);
	}
	return fails;
}

/* ---- (a) no system call ---------------------------------------------- */

struct sandboxed {
	struct lab_zone *z;
	_Atomic uint32_t done;
	unsigned long fails;
	struct lab_page *live[300];
	unsigned char orders[300];
};

static int install_futex_wake_only_filter(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		/* futex: only FUTEX_WAKE, private or not. */
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
	s->fails = churn(s->z, LAB_GFP_ATOMIC, PAIRS, s->live, s->orders);
	atomic_store(&s->done, 1);
	syscall(SYS_futex, &s->done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	/* Leave without glibc's thread exit, which unmaps and madvises. */
	syscall(SYS_exit, 0);
	return NULL;
}

static void seccomp_child(void *arg)
{
	(void)arg;
	static struct sandboxed s;
	s.z = storm_zone(320);  /* 300 live pages and the lists: below min often */
	pthread_t t;
	pthread_create(&t, NULL, sandboxed_main, &s);
	while (!atomic_load(&s.done))
		syscall(SYS_futex, &s.done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	struct lab_zone_stats st;
	lab_zone_get_stats(s.z, &st);
	fprintf(stderr, "pairs %d fails %lu refills %llu drains %llu kswapd_wakes %llu\n", PAIRS, s.fails,
		(unsigned long long)st.pcp_refill, (unsigned long long)st.pcp_drain,
		(unsigned long long)st.kswapd_wake);
	if (lab_zone_check(s.z))
		_exit(3);
	/* It must have crossed the watermarks, refilled and drained. */
	if (!s.fails || !st.kswapd_wake || (st.pcp_batch && (!st.pcp_refill || !st.pcp_drain)))
		_exit(4);
	_exit(0);
}

Test(atomic_path, a_million_atomic_pairs_make_no_system_call_but_a_futex_wake, .timeout = 240)
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

Test(atomic_path, a_million_atomic_operations_take_no_page_fault, .timeout = 240)
{
	struct lab_zone *z = storm_zone(512);
	static struct lab_page *live[300];
	static unsigned char orders[300];
	/* Warm the thread's own stack and TLS once; the zone needs no warming. */
	churn(z, LAB_GFP_ATOMIC, 20000, live, orders);
	warm_stack(64 << 10);  /* and deeper paths' frames (refill, reports) */
	long before = minor_faults();
	churn(z, LAB_GFP_ATOMIC, PAIRS / 2, live, orders);
	churn(z, LAB_GFP_NOWAIT, PAIRS / 2, live, orders);
	long after = minor_faults();
	cr_assert_eq(after, before, "%ld minor faults in a million atomic operations", after - before);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- (c) the signal storm -------------------------------------------- */

struct storm {
	struct lab_zone *z;
	_Atomic bool stop;
	_Atomic unsigned long progress[3];
	_Atomic unsigned long handler_allocs, handler_fails;
};
static struct storm storm;

static void storm_handler(int sig)
{
	(void)sig;
	struct lab_page *p = lab_alloc_page(storm.z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	if (p) {
		*(volatile char *)lab_page_address(p) = 7;
		lab_free_page(p);
		atomic_fetch_add_explicit(&storm.handler_allocs, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&storm.handler_fails, 1, memory_order_relaxed);
	}
}

static void *storm_worker(void *arg)
{
	long id = (long)arg;
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	lab_gfp_t gfp = id == 0 ? LAB_GFP_KERNEL | LAB_GFP_NORETRY : LAB_GFP_NOWAIT;
	struct lab_page *live[300];
	unsigned char orders[300];
	while (!atomic_load(&storm.stop)) {
		churn(storm.z, gfp, 200, live, orders);
		atomic_fetch_add(&storm.progress[id], 1);
	}
	return NULL;
}

Test(atomic_path, signal_storm_neither_deadlocks_nor_loses_pages, .timeout = 120)
{
	storm.z = storm_zone(400);  /* 300 live pages per thread: constant pressure */
	signal_storm(storm_handler, storm_worker, storm.progress, &storm.stop);
	cr_assert_gt(atomic_load(&storm.handler_allocs), 0);
	cr_log_info("handler allocations %lu, handler failures %lu",
		    atomic_load(&storm.handler_allocs), atomic_load(&storm.handler_fails));
	assert_zone_ok(storm.z);
	struct lab_zone_stats st;
	lab_zone_get_stats(storm.z, &st);
	cr_assert_eq(st.free + st.pcp, st.managed, "pages lost: free %zu + lists %zu != %zu",
		     st.free, st.pcp, st.managed);
	cr_assert_eq(st.bad_page, 0);
	lab_zone_destroy(storm.z);
}

/* ---- reports from atomic context ------------------------------------- */

static void atomic_failure_report(void *arg)
{
	(void)arg;
	struct lab_zone *z = storm_zone(64);
	struct held h;
	held_init(&h, 64);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&h, p);
	if (lab_alloc_page(z, LAB_GFP_ATOMIC))
		_exit(3);
	held_free_all(&h);
	lab_zone_destroy(z);  /* kswapd stops after printing what it was left */
}

Test(atomic_path, atomic_failures_are_reported_by_kswapd)
{
	static char out[4096];
	int status = run_in_child(atomic_failure_report, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x\n%s", status, out);
	cr_assert_not_null(strstr(out, "labyrinth: atomic context: page allocation failure: order:0"),
			   "%s", out);
}

/* (d): a holder of the zone lock that is off its CPU (here: asleep, as a
 * descheduled holder would be) for 5 ms, ten times the old spin's bound.
 * An ATOMIC allocation that needs the lock (order 5: no per-CPU list) waits
 * it out instead of failing; only a watermark may fail it. */
static struct lab_zone *held_zone;
static _Atomic int held, release_it;

/* Take the zone lock and keep it, asleep, for (long)ms milliseconds or
 * until release_it. */
static void *hold_the_zone_lock(void *ms)
{
	lab__zone_lock(held_zone);
	atomic_store(&held, 1);
	struct timespec ts = { 0, 1000 * 1000 };
	for (long i = 0; i < (long)ms && !atomic_load(&release_it); i++)
		nanosleep(&ts, NULL);
	lab__zone_unlock(held_zone);
	return NULL;
}

/* A thread that holds the lock of held_zone for ms: returns once it does. */
static pthread_t start_holder(long ms)
{
	pthread_t t;
	atomic_store(&held, 0);
	atomic_store(&release_it, 0);
	cr_assert_eq(pthread_create(&t, NULL, hold_the_zone_lock, (void *)ms), 0);
	while (!atomic_load(&held))
		;
	return t;
}

static void create_held_zone(void)
{
	struct lab_zone_config cfg = { .name = "held", .pages = 1024, .flags = LAB_ZONE_NO_KSWAPD };
	held_zone = lab_zone_create(&cfg);
	cr_assert_not_null(held_zone);
}

Test(atomic_path, another_threads_hold_of_the_zone_lock_does_not_fail_an_atomic_allocation)
{
	create_held_zone();
	for (int round = 0; round < 5; round++) {
		pthread_t t = start_holder(5);
		struct lab_page *p = lab_alloc_pages(held_zone, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, 5);
		cr_assert_not_null(p, "round %d: an ATOMIC allocation failed on another thread's lock",
				   round);
		pthread_join(t, NULL);
		lab_free_pages(p, 5);
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(held_zone, &st);
	cr_assert_eq(st.lock_fail, 0);
	cr_assert_eq(st.alloc_lock_fail, 0);
	assert_zone_ok(held_zone);
	lab_zone_destroy(held_zone);
}

/* A holder that never lets go while the allocation spins (gone from the
 * library without unlocking, say): the spin is bounded, the allocation
 * fails without a system call, and the failure is counted apart from the
 * watermark's, as alloc_lock_fail (the figure `labyrinth stress` prints). */
Test(atomic_path, an_atomic_allocation_gives_up_on_a_hold_that_never_ends_and_counts_it)
{
	create_held_zone();
	pthread_t t = start_holder(10000);  /* released below, after the call */
	struct lab_page *p = lab_alloc_pages(held_zone, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, 5);
	atomic_store(&release_it, 1);
	pthread_join(t, NULL);
	cr_assert_null(p, "the zone lock was held for the whole call");
	struct lab_zone_stats st;
	lab_zone_get_stats(held_zone, &st);
	cr_assert_geq(st.alloc_lock_fail, 1);
	cr_assert_geq(st.lock_fail, st.alloc_lock_fail);
	cr_assert_eq(st.fail_atomic, 1, "one ATOMIC allocation failed");
	assert_zone_ok(held_zone);
	lab_zone_destroy(held_zone);
}

/* ---- deliberate double frees under a signal storm on one CPU ----------
 *
 * Threads on one CPU (so that they preempt each other inside the per-CPU
 * sequences) allocate and free blocks of orders 0..3, plain and EXCLUSIVE,
 * through the inline fast paths, while a storm of signals lands in them and
 * the handler allocates and frees from the same zone.  Every 16th block is
 * freed twice on purpose.  Each deliberate double free must be reported
 * exactly once (never a report lost, never a false one: an abort between a
 * claim and a sequence's commit must not make a retry see a double free),
 * nothing may leak, and no block may be handed out twice (each holder tags
 * its block and finds its tag intact before the free).  Each thread has a
 * zone of its own, so that no other thread can take the block between the
 * two frees; the handler frees what it takes before it returns. */
#define DF_THREADS 2
static struct {
	struct lab_zone *z[DF_THREADS];
	_Atomic bool stop;
	_Atomic unsigned long deliberate[DF_THREADS], fails, handler_pairs, torn;
} df;
static _Thread_local int df_index = -1;

static void df_handler(int sig)
{
	(void)sig;
	int saved = errno;
	if (df_index >= 0) {
		static _Thread_local unsigned int n;
		unsigned int order = n++ % 4;
		struct lab_page *p = lab_alloc_pages(df.z[df_index], LAB_GFP_ATOMIC | LAB_GFP_NOWARN,
						     order);
		if (p) {
			volatile unsigned long *tag = lab_page_address(p);
			*tag = 0xdeadbeefUL;
			if (*tag != 0xdeadbeefUL)
				atomic_fetch_add(&df.torn, 1);
			lab_free_pages(p, order);
			atomic_fetch_add(&df.handler_pairs, 1);
		}
	}
	errno = saved;
}

static void *df_worker(void *arg)
{
	int me = (int)(long)arg;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);  /* best effort: the test checks counts, not CPUs */
	df_index = me;
	struct lab_zone *z = df.z[me];
	for (unsigned long i = 0; !atomic_load_explicit(&df.stop, memory_order_relaxed); i++) {
		unsigned int order = (unsigned int)(i % 4);
		lab_gfp_t gfp = LAB_GFP_ATOMIC | LAB_GFP_NOWARN | (i % 3 == 0 ? LAB_GFP_EXCLUSIVE : 0);
		struct lab_page *p = lab_alloc_pages(z, gfp, order);
		if (!p) {
			atomic_fetch_add(&df.fails, 1);
			continue;
		}
		volatile unsigned long *tag = lab_page_address(p);
		*tag = ((unsigned long)me << 56) | i;
		for (int k = 0; k < 8; k++)  /* a window for the signals */
			__asm__ __volatile__("" ::: "memory");
		if (*tag != (((unsigned long)me << 56) | i))
			atomic_fetch_add(&df.torn, 1);
		lab_free_pages(p, order);
		if (i % 16 == 15) {
			lab_free_pages(p, order);  /* on purpose */
			atomic_fetch_add(&df.deliberate[me], 1);
		}
	}
	df_index = -1;
	return NULL;
}

Test(atomic_path, deliberate_double_frees_under_a_signal_storm_are_each_reported_once,
     .timeout = 120)
{
	struct lab_zone_config cfg = { .name = "df", .pages = 1024, .flags = LAB_ZONE_NO_KSWAPD,
				       .pcp_batch = 8, .pcp_high = 32 };
	for (int i = 0; i < DF_THREADS; i++) {
		df.z[i] = lab_zone_create(&cfg);
		cr_assert_not_null(df.z[i]);
	}
	struct sigaction sa = { .sa_handler = df_handler, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t t[DF_THREADS];
	for (long i = 0; i < DF_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, df_worker, (void *)i), 0);
	/* About 2 s of signals, to each worker in turn, as fast as they go. */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long sent = 0;
	do {
		for (int i = 0; i < DF_THREADS; i++)
			pthread_kill(t[i], SIGUSR2), sent++;
		if (sent % 64 == 0)
			sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 2000000000L);
	atomic_store(&df.stop, true);
	for (int i = 0; i < DF_THREADS; i++)
		pthread_join(t[i], NULL);
	signal(SIGUSR2, SIG_IGN);
	cr_log_info("signals sent %lu, handler pairs %lu, failed allocations %lu", sent,
		    atomic_load(&df.handler_pairs), atomic_load(&df.fails));
	cr_assert_eq(atomic_load(&df.torn), 0, "a block was handed out twice");
	for (int i = 0; i < DF_THREADS; i++) {
		struct lab_zone_stats st;
		assert_zone_ok(df.z[i]);
		lab_zone_get_stats(df.z[i], &st);
		unsigned long want = atomic_load(&df.deliberate[i]);
		cr_assert_gt(want, 0);
		cr_assert_eq(st.bad_page, want, "zone %d: %llu reports for %lu deliberate double frees",
			     i, (unsigned long long)st.bad_page, want);
		cr_assert_eq(st.leaked, 0);
		cr_assert_eq(st.free + st.pcp, st.managed, "pages lost: free %zu + lists %zu != %zu",
			     st.free, st.pcp, st.managed);
		lab_zone_destroy(df.z[i]);
	}
}
