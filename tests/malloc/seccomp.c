/*
 * seccomp.c - the fast paths make no system call and take no page fault.
 *
 * A thread (not a forked child, whose first write to each page of the heap
 * would be a copy-on-write fault), kept on one CPU, warms the size classes
 * up (objects on this CPU's arrays), then
 * runs under a seccomp filter that kills the process on any system call
 * but exit (and the test's own getrusage): a million malloc/free pairs of random sizes up to 8 KiB, and
 * calloc, realloc within a class, posix_memalign and malloc_usable_size;
 * its minor-fault count must not move.  A second phase keeps up to 200
 * objects live across the classes, so that arrays refill from and drain to
 * the slabs (the slab layer's locked path): it may wake kswapd with one
 * futex wake and nothing else.  Either phase dying of SIGSYS fails the test.
 *
 * Exit status: 0 pass, 1 fail.
 */
#include "mtest.h"

#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAIRS 1000000

/* AddressSanitizer faults its shadow memory in as the heap's marks touch
 * it: under it only the system calls are checked. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* Kill on anything but exit/exit_group (and, with futex_wake, FUTEX_WAKE). */
static int sandbox(int futex_wake)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrusage, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* AddressSanitizer's runtime asks for the alternate signal stack of
		 * its own accord; never the allocator. */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, UNDER_ASAN ? SYS_sigaltstack : SYS_getrusage, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, FUTEX_CMD_MASK),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAKE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, futex_wake ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* How a phase ended: 0 fine, 3 no filter, 4 NULL, 5 page faults, 6 a
 * forbidden system call (forbidden_nr); set, then the thread exits. */
static _Atomic int result = -1;
static _Atomic long forbidden_nr;

static __attribute__((noreturn)) void finish(int code)
{
	atomic_store(&result, code);
	for (;;)
		syscall(SYS_exit, 0);  /* this thread only: allowed by the filter */
}

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	atomic_store(&forbidden_nr, (long)info->si_syscall);
	finish(6);
}

static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

static size_t sizes[] = { 1, 8, 16, 24, 40, 64, 100, 128, 200, 256, 384, 512, 700, 1024,
			  1500, 2048, 3000, 4096, 6000, 8192 };
#define NR_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Fault in the stack below us: a sequence preempted once too often sends
 * an operation down the slow path (arrays of 256 pointers on the stack), and
 * its first touch of a deeper stack page would count. */
static __attribute__((noinline)) void touch_stack(void)
{
	volatile char deep[64 * 1024];
	for (size_t i = 0; i < sizeof(deep); i += 512)
		deep[i] = 1;
}

/* The mix of phase 1; pass 0 warms up (every page it touches, the child's
 * copies of stack and data included, faulted in before counting). */
static void fast_mix(long pairs)
{
	uint64_t s = 42;
	volatile size_t sink = 0;
	for (long i = 0; i < pairs; i++) {
		size_t n = sizes[mt_rand(&s) % NR_SIZES];
		unsigned char *p;
		switch (i % 8) {
		case 0:
			p = M(calloc)(1, n);
			break;
		case 1: {
			void *q = NULL;
			if (M(posix_memalign)(&q, 16, n))
				q = NULL;
			p = q;
			break;
		}
		default:
			p = M(malloc)(n);
		}
		if (!p)
			finish(4);
		p[0] = (unsigned char)i;
		p[n - 1] = (unsigned char)i;
		if (i % 8 == 2)
			sink += M(malloc_usable_size)(p);
		if (i % 8 == 3)
			p = M(realloc)(p, n);  /* the same class: in place */
		M(free)(p);
	}
	(void)sink;
}

/* Phase 1: every operation served by the fast paths.  On one CPU, and on a
 * pre-faulted heap (LABYRINTH_MALLOC_ZONE=nolazy: the default heap is
 * faulted in lazily, as any malloc's, and a refill that a preempted sequence
 * sends to the slabs may hand out memory never touched: a page fault of the
 * slow path's first touch, not of the fast path). */
static void phase_fast(void)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	fast_mix(PAIRS / 10);
	touch_stack();
	if (sandbox(0))
		finish(3);
	long faults = minor_faults();  /* after the filter's set-up, which has faults of its own */
	fast_mix(PAIRS);
	if (!UNDER_ASAN && minor_faults() != faults)
		finish(5);
}

/* Phase 2: arrays refill and drain through the slabs. */
static void phase_refill(void)
{
	static void *live[200];
	for (size_t i = 0; i < 200; i++)
		live[i] = M(malloc)(sizes[i % NR_SIZES]);
	for (size_t i = 0; i < 200; i++) {
		M(free)(live[i]);
		live[i] = NULL;
	}
	if (sandbox(1))
		finish(3);
	uint64_t s = 7;
	for (long i = 0; i < PAIRS / 4; i++) {
		size_t k = mt_rand(&s) % 200;
		if (live[k]) {
			M(free)(live[k]);
			live[k] = NULL;
		} else if (!(live[k] = M(malloc)(sizes[k % NR_SIZES]))) {
			finish(4);
		}
	}
	for (size_t i = 0; i < 200; i++)
		M(free)(live[i]);
}

static void *phase_thread(void *arg)
{
	void (*phase)(void) = (void (*)(void))(uintptr_t)arg;
	phase();
	finish(0);
}

static int run(const char *name, void (*phase)(void))
{
	atomic_store(&result, -1);
	pthread_t t;
	if (pthread_create(&t, NULL, phase_thread, (void *)(uintptr_t)phase)) {
		printf("seccomp: FAILED: %s: pthread_create\n", name);
		return 1;
	}
	/* The thread leaves with a raw exit (the filter allows nothing else):
	 * wait for its word, not for a join. */
	int st;
	for (int i = 0; (st = atomic_load(&result)) < 0 && i < 120000; i++) {
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	switch (st) {
	case 0:
		printf("seccomp: %s: no system call, as required\n", name);
		return 0;
	case 5:
		printf("seccomp: FAILED: %s took page faults\n", name);
		break;
	case 6:
		printf("seccomp: FAILED: %s made system call %ld\n", name, atomic_load(&forbidden_nr));
		break;
	case 4:
		printf("seccomp: FAILED: %s: malloc returned NULL\n", name);
		break;
	default:
		printf("seccomp: FAILED: %s: %s\n", name, st < 0 ? "did not finish in 120 s" :
		       "no seccomp filter");
	}
	return 1;
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
#ifdef MTEST_WHITEBOX
	setenv("LABYRINTH_MALLOC_ZONE", "nolazy", 0);  /* read when the heap comes up */
	lab__test_malloc_up();
	printf("seccomp: per-CPU arrays owned through %s\n", lab_pcp_mode_name());
#else
	const char *zone = getenv("LABYRINTH_MALLOC_ZONE");
	if (!zone || !strstr(zone, "nolazy"))
		printf("seccomp: (LABYRINTH_MALLOC_ZONE has no 'nolazy': page faults may be first "
		       "touches of a lazy heap)\n");
#endif
	int bad = run(UNDER_ASAN ? "a million fast-path pairs (page faults not checked under ASan)"
			: "a million fast-path pairs (and no page fault)", phase_fast);
	bad += run("refills and drains (a futex wake allowed)", phase_refill);
	return bad ? 1 : 0;
}
