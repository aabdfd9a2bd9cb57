/*
 * fork.c - fork() from a multi-threaded program with allocations in flight:
 * worker threads churn malloc/realloc/free of every size (size classes, page
 * blocks, mappings; enough to keep the zone growing and shrinking caches)
 * while the main thread forks again and again.  Each child must allocate
 * and free normally: thousands of operations of every size, enough to grow
 * its zone (no kswapd came along), a thread of its own that allocates, the
 * parent's blocks still intact and freeable in it, and (white-box) the
 * heap's invariants and a clean exit; a child that does not finish within
 * 10 s deadlocked on a lock the fork copied held.
 *
 * Exit status: 0 all children and the parent fine, 1 a failure (printed),
 * 2 bad usage.
 */
#include "mtest.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 128
#define THREADS 3

struct slot {
	unsigned char *p;
	size_t n;
	uint32_t tag;
};

static struct slot slots[THREADS][SLOTS];
/* The slot each worker is changing (-1: none): a child leaves it alone. */
static _Atomic int busy[THREADS];
static _Atomic bool stop;
static _Atomic unsigned long failures;

static size_t pick_size(uint64_t *s)
{
	unsigned int r = (unsigned int)(mt_rand(s) % 100);
	if (r < 70)
		return 1 + mt_rand(s) % 512;
	if (r < 93)
		return 513 + mt_rand(s) % 32768;
	if (r < 99 || mt_rand(s) % 2)
		return 32769 + mt_rand(s) % (1u << 20);
	return (4u << 20) + mt_rand(s) % (1u << 20);  /* beyond the largest block */
}

static void fail(const char *what, size_t at)
{
	fprintf(stderr, "fork: FAILED (pid %d): %s (offset %zu)\n", getpid(), what, at);
	atomic_fetch_add(&failures, 1);
}

/* One step of churn on a table of slots; *mark (if not NULL) says which
 * slot is being changed while it is. */
static void churn_step(struct slot *tab, unsigned int nslots, uint64_t *s, _Atomic int *mark)
{
	unsigned int i = (unsigned int)(mt_rand(s) % nslots);
	struct slot *sl = &tab[i];
	if (mark)
		atomic_store(mark, (int)i);
	if (!sl->p) {
		sl->n = pick_size(s);
		sl->p = M(malloc)(sl->n);
		if (!sl->p) {
			fail("malloc returned NULL", sl->n);
			return;
		}
		sl->tag = (uint32_t)mt_rand(s);
		mt_fill(sl->p, sl->n, sl->tag);
	} else if (mt_rand(s) % 3 == 0) {
		size_t n2 = pick_size(s);
		unsigned char *q = M(realloc)(sl->p, n2);
		if (!q) {
			fail("realloc returned NULL", n2);
			return;
		}
		size_t at = mt_check(q, sl->n, sl->tag, n2);
		if (at != (size_t)-1)
			fail("realloc lost the contents", at);
		sl->p = q;
		sl->n = n2;
		mt_fill(q, n2, sl->tag);
	} else {
		size_t at = mt_check(sl->p, sl->n, sl->tag, sl->n);
		if (at != (size_t)-1)
			fail("block changed", at);
		M(free)(sl->p);
		sl->p = NULL;
	}
	if (mark)
		atomic_store(mark, -1);
}

/* Workers running (past their thread's start-up, whose allocations in a
 * white-box build are the sanitizer's malloc, not the one under test: ASan's
 * is not fork-safe, and a child copied in the middle of one hangs). */
static _Atomic unsigned int running;

static void *worker(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg;
	uint64_t s = (uint64_t)(t + 1) * 0x9e3779b97f4a7c15ull;
	atomic_fetch_add(&running, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		churn_step(slots[t], SLOTS, &s, &busy[t]);
	return NULL;
}

/* ---- the child ------------------------------------------------------------ */

static void *child_thread(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg;
	static struct slot tab[32];
	for (int i = 0; i < 2000; i++)
		churn_step(tab, 32, &s, NULL);
	for (int i = 0; i < 32; i++)
		if (tab[i].p)
			M(free)(tab[i].p);
	return NULL;
}

static void child(unsigned int round)
{
	alarm(10);  /* a child that cannot finish deadlocked: SIGALRM ends it */
	atomic_store(&failures, 0);
	uint64_t s = 0x5eed0000u + round;
	/* The parent's blocks, as the fork copied them: whole, and freeable here
	 * (but for the one each worker was changing). */
	for (unsigned int t = 0; t < THREADS; t++) {
		for (unsigned int i = 0; i < SLOTS; i++) {
			struct slot *sl = &slots[t][i];
			if (!sl->p || (int)i == atomic_load(&busy[t]))
				continue;
			size_t at = mt_check(sl->p, sl->n, sl->tag, sl->n);
			if (at != (size_t)-1)
				fail("child: a block of the parent changed", at);
			if (mt_rand(&s) % 2)
				M(free)(sl->p);
		}
	}
	/* Work of every size, 16 MiB more live at the peak: the zone grows. */
	static struct slot tab[256];
	void *big[16];
	for (int i = 0; i < 16; i++) {
		big[i] = M(malloc)(1u << 20);
		if (!big[i])
			fail("child: 1 MiB malloc returned NULL", 0);
		else
			mt_fill(big[i], 1u << 20, (uint32_t)i);
	}
	pthread_t th;
	if (pthread_create(&th, NULL, child_thread, (void *)(uintptr_t)(round + 1)))
		fail("child: pthread_create", 0);
	for (int i = 0; i < 3000; i++)
		churn_step(tab, 256, &s, NULL);
	pthread_join(th, NULL);
	for (int i = 0; i < 16; i++)
		M(free)(big[i]);
	for (int i = 0; i < 256; i++)
		if (tab[i].p)
			M(free)(tab[i].p);
#ifdef MTEST_WHITEBOX
	int broken = lab_zone_check(lab__malloc_heap.zone);
	if (broken)
		fail("child: lab_zone_check found broken invariants", (size_t)broken);
#endif
	_exit(atomic_load(&failures) ? 1 : 0);
}

int main(int argc, char **argv)
{
	unsigned int forks = 100;
	if (argc == 3 && !strcmp(argv[1], "--forks"))
		forks = (unsigned int)atoi(argv[2]);
	else if (argc != 1) {
		fprintf(stderr, "usage: fork [--forks N]\n");
		return 2;
	}
#ifdef MTEST_WHITEBOX
	lab__test_malloc_up();
#endif
	pthread_t th[THREADS];
	for (unsigned int t = 0; t < THREADS; t++) {
		atomic_store(&busy[t], -1);
		pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t);
	}
	while (atomic_load(&running) < THREADS)
		sched_yield();
	unsigned int ok = 0;
	double slowest = 0, total_ms = 0;
	for (unsigned int r = 0; r < forks; r++) {
		struct timespec ts = { 0, (long)(r % 7) * 1000 * 1000 };
		nanosleep(&ts, NULL);  /* let the workers be anywhere */
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			child(r);
		int status;
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (ms > slowest)
			slowest = ms;
		total_ms += ms;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			ok++;
		} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
			fprintf(stderr, "fork: FAILED: child %u deadlocked (no exit in 10 s)\n", r);
			atomic_fetch_add(&failures, 1);
		} else {
			fprintf(stderr, "fork: FAILED: child %u %s %d\n", r,
				WIFSIGNALED(status) ? "killed by signal" : "exited with",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			atomic_fetch_add(&failures, 1);
		}
	}
	atomic_store(&stop, true);
	for (unsigned int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	for (unsigned int t = 0; t < THREADS; t++)
		for (unsigned int i = 0; i < SLOTS; i++)
			if (slots[t][i].p)
				M(free)(slots[t][i].p);
	printf("fork: %u of %u children allocated and exited cleanly (fork to exit: %.0f ms on "
	       "average, %.0f ms at most)\n", ok, forks, total_ms / forks, slowest);
	return atomic_load(&failures) ? 1 : 0;
}
