/*
 * pagelock.c - ns per page-lock and reference operation: uncontended
 * lock+unlock, trylock+unlock, get+put, spin_lock+unlock, atomic
 * enter+exit, and lock+unlock with 2 and 4 threads on one page (where
 * waiters sleep).  Not a test: it never fails on a time.
 * Usage: bench_pagelock [iterations]
 */
#include <labyrinth.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static struct lab_page *page;
static size_t iters;

static void *contend(void *arg)
{
	size_t n = *(size_t *)arg;
	for (size_t i = 0; i < n; i++) {
		lab_lock_page(page);
		lab_unlock_page(page);
	}
	return NULL;
}

static double contended(int threads)
{
	pthread_t t[8];
	size_t each = iters / 10 / (size_t)threads;
	double t0 = now_ns();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, contend, &each);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (now_ns() - t0) / (double)(each * (size_t)threads);
}

int main(int argc, char **argv)
{
	iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000000;
	struct lab_zone_config cfg = { .name = "bench", .pages = 1024, .flags = LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	if (!z)
		return 1;
	page = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_spinlock_t spin = LAB_SPINLOCK_INIT;
	double t0;

	printf("%-34s %8s   (%zu iterations, 1 thread unless said)\n", "operation", "ns/op", iters);
	t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		lab_lock_page(page);
		lab_unlock_page(page);
	}
	printf("%-34s %8.1f\n", "lock_page + unlock_page", (now_ns() - t0) / iters);
	t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		if (lab_trylock_page(page))
			lab_unlock_page(page);
	}
	printf("%-34s %8.1f\n", "trylock_page + unlock_page", (now_ns() - t0) / iters);
	t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		lab_get_page(page);
		lab_put_page(page);
	}
	printf("%-34s %8.1f\n", "get_page + put_page", (now_ns() - t0) / iters);
	t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		lab_spin_lock(&spin);
		lab_spin_unlock(&spin);
	}
	printf("%-34s %8.1f\n", "spin_lock + spin_unlock", (now_ns() - t0) / iters);
	t0 = now_ns();
	for (size_t i = 0; i < iters; i++) {
		lab_atomic_enter();
		lab_atomic_exit();
	}
	printf("%-34s %8.1f\n", "atomic_enter + atomic_exit", (now_ns() - t0) / iters);
	printf("%-34s %8.1f\n", "lock + unlock, 2 threads, 1 page", contended(2));
	printf("%-34s %8.1f\n", "lock + unlock, 4 threads, 1 page", contended(4));
	lab_free_page(page);
	lab_zone_destroy(z);
	return 0;
}
