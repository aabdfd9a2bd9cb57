/*
 * threads.c - thread exit: generations of short-lived threads allocate,
 * leave half of their blocks to threads not yet born (freed after their
 * allocator has exited), free blocks in pthread_key destructors that run
 * during their exit, and some are detached; more threads than CPUs at
 * once, so that every CPU's arrays see objects of threads long gone.  At
 * the end everything is freed and (white-box) no object of any class is
 * still active and the zone's invariants hold.
 *
 * Exit status: 0 pass, 1 fail.
 */
#include "mtest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define GENERATIONS 40
#define PER_GEN 6
#define LEFT 512

struct left {
	unsigned char *p;
	size_t n;
	uint32_t tag;
};

/* Blocks left behind, one table per generation parity. */
static struct left left[2][PER_GEN][LEFT];
static pthread_key_t key;
static _Atomic unsigned long failures, key_frees;
static _Atomic int detached_running;

static __thread bool detached;

static void key_destructor(void *p)
{
	/* Runs while the thread exits: a free from inside glibc's exit path. */
	M(free)(p);
	atomic_fetch_add(&key_frees, 1);
	if (detached)
		atomic_fetch_sub(&detached_running, 1);
}

struct job {
	unsigned int gen, idx;
};

static void *thread_main(void *arg)
{
	struct job *j = arg;
	uint64_t s = (uint64_t)(j->gen * 977 + j->idx + 1) * 0x9e3779b97f4a7c15ull;
	/* The previous generation's blocks: check and free them. */
	struct left *prev = left[(j->gen + 1) % 2][j->idx];
	for (unsigned int i = 0; i < LEFT; i++) {
		if (!prev[i].p)
			continue;
		if (mt_check(prev[i].p, prev[i].n, prev[i].tag, prev[i].n) != (size_t)-1)
			atomic_fetch_add(&failures, 1);
		M(free)(prev[i].p);
		prev[i].p = NULL;
	}
	/* Churn, and leave blocks for the next generation. */
	struct left *mine = left[j->gen % 2][j->idx];
	for (unsigned int i = 0; i < 4 * LEFT; i++) {
		size_t n = 1 + mt_rand(&s) % (mt_rand(&s) % 8 ? 512 : 65536);
		unsigned char *p = M(malloc)(n);
		if (!p) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		uint32_t tag = (uint32_t)mt_rand(&s);
		mt_fill(p, n, tag);
		struct left *slot = &mine[i % LEFT];
		if (slot->p)
			M(free)(slot->p);
		*slot = (struct left){ p, n, tag };
	}
	for (unsigned int i = 0; i < LEFT; i += 2) {
		M(free)(mine[i].p);
		mine[i].p = NULL;
	}
	detached = j->idx == PER_GEN - 1;
	pthread_setspecific(key, M(malloc)(100 + j->idx));
	return NULL;
}

int main(void)
{
#ifdef MTEST_WHITEBOX
	lab__test_malloc_up();
#endif
	pthread_key_create(&key, key_destructor);
	static struct job jobs[GENERATIONS][PER_GEN];
	for (unsigned int g = 0; g < GENERATIONS; g++) {
		pthread_t t[PER_GEN];
		for (unsigned int i = 0; i < PER_GEN; i++) {
			jobs[g][i] = (struct job){ g, i };
			if (i == PER_GEN - 1) {
				/* One detached thread a generation, waited for by a flag. */
				atomic_fetch_add(&detached_running, 1);
				pthread_attr_t a;
				pthread_attr_init(&a);
				pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
				if (pthread_create(&t[i], &a, thread_main, &jobs[g][i]))
					return 1;
				pthread_attr_destroy(&a);
			} else if (pthread_create(&t[i], NULL, thread_main, &jobs[g][i])) {
				return 1;
			}
		}
		for (unsigned int i = 0; i + 1 < PER_GEN; i++)
			pthread_join(t[i], NULL);
		while (atomic_load(&detached_running))
			usleep(100);
	}
	for (unsigned int g = 0; g < 2; g++)
		for (unsigned int i = 0; i < PER_GEN; i++)
			for (unsigned int k = 0; k < LEFT; k++)
				M(free)(left[g][i][k].p);
	unsigned long bad = atomic_load(&failures);
#ifdef MTEST_WHITEBOX
	if (lab_zone_check(lab__malloc_heap.zone))
		bad++;
	size_t active = 0;
	for (unsigned int i = 0; i < MALLOC_NR_CLASSES; i++) {
		struct lab_kmem_cache_stats st;
		lab_kmem_cache_get_stats(lab__malloc_heap.cls[i], &st);
		active += st.active_objs;
	}
	if (active) {
		printf("threads: FAILED: %zu objects still active after every free\n", active);
		bad++;
	}
#endif
	printf("threads: %u threads in %u generations, %lu freed by key destructors at exit: %s\n",
	       GENERATIONS * PER_GEN, GENERATIONS, atomic_load(&key_frees),
	       bad ? "FAILED" : "fine");
	return bad ? 1 : 0;
}
