/*
 * mempool.c - the kernel's mempool_t (linux/mempool.h) over any allocator
 * kernel code passes it (pages, a kmem_cache, kmalloc, its own): a reserve
 * of min_nr elements that guarantees forward progress.  The algorithm and
 * its order of attempts are mm/mempool.c's (lab_kernel.h says them); the
 * reserve sits under a lab_spinlock_t and sleepers wait on a futex word.
 *
 * Exports lab_kernel_mempool_init/create/exit/destroy/resize/alloc/
 * alloc_preallocated/free.
 */
#include "kernel.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void add_element(mempool_t *pool, void *element)
{
	pool->elements[pool->curr_nr++] = element;
}

static void *remove_element(mempool_t *pool)
{
	return pool->elements[--pool->curr_nr];
}

/* An element went back: wake the sleepers, with a system call only if one
 * sleeps. */
static void wake_waiters(mempool_t *pool)
{
	__atomic_fetch_add(&pool->lab_wait, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&pool->lab_waiters, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &pool->lab_wait, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void lab_kernel_mempool_exit(mempool_t *pool)
{
	if (!pool->elements)
		return;
	while (pool->curr_nr)
		pool->free(remove_element(pool), pool->pool_data);
	lab_kfree(pool->elements);
	pool->elements = NULL;
}

int lab_kernel_mempool_init(mempool_t *pool, int min_nr, mempool_alloc_t *alloc_fn,
			    mempool_free_t *free_fn, void *pool_data, lab_gfp_t gfp)
{
	if (min_nr < 0 || !alloc_fn || !free_fn)
		return -EINVAL;
	memset(pool, 0, sizeof(*pool));
	lab_spin_lock_init(&pool->lock);
	pool->min_nr = min_nr;
	pool->pool_data = pool_data;
	pool->alloc = alloc_fn;
	pool->free = free_fn;
	/* One slot at least: a pool of 0 still hands a freed element to a waiter. */
	pool->elements = lab_kmalloc((size_t)(min_nr ? min_nr : 1) * sizeof(void *),
				     gfp & ~LAB_GFP_ZERO);
	if (!pool->elements)
		return -ENOMEM;
	while (pool->curr_nr < pool->min_nr) {
		void *element = pool->alloc(gfp, pool->pool_data);
		if (!element) {
			lab_kernel_mempool_exit(pool);
			return -ENOMEM;
		}
		add_element(pool, element);
	}
	return 0;
}

mempool_t *lab_kernel_mempool_create(int min_nr, mempool_alloc_t *alloc_fn,
				     mempool_free_t *free_fn, void *pool_data, lab_gfp_t gfp)
{
	mempool_t *pool = lab_kzalloc(sizeof(*pool), gfp);
	if (!pool)
		return NULL;
	if (lab_kernel_mempool_init(pool, min_nr, alloc_fn, free_fn, pool_data, gfp)) {
		lab_kfree(pool);
		return NULL;
	}
	return pool;
}

void lab_kernel_mempool_destroy(mempool_t *pool)
{
	if (!pool)
		return;
	lab_kernel_mempool_exit(pool);
	lab_kfree(pool);
}

/* Grow or shrink the reserve to new_min_nr.  May sleep. */
int lab_kernel_mempool_resize(mempool_t *pool, int new_min_nr)
{
	lab_might_sleep_at("mempool_resize");
	if (new_min_nr <= 0)
		return -EINVAL;
	lab_spin_lock(&pool->lock);
	if (new_min_nr <= pool->min_nr) {
		while (new_min_nr < pool->curr_nr) {
			void *element = remove_element(pool);
			lab_spin_unlock(&pool->lock);
			pool->free(element, pool->pool_data);
			lab_spin_lock(&pool->lock);
		}
		pool->min_nr = new_min_nr;
		lab_spin_unlock(&pool->lock);
		return 0;
	}
	lab_spin_unlock(&pool->lock);

	void **elements = lab_kmalloc((size_t)new_min_nr * sizeof(void *), LAB_GFP_KERNEL);
	if (!elements)
		return -ENOMEM;
	lab_spin_lock(&pool->lock);
	if (new_min_nr <= pool->min_nr) {
		/* Raced with another resize that shrank it. */
		lab_spin_unlock(&pool->lock);
		lab_kfree(elements);
		return 0;
	}
	memcpy(elements, pool->elements, (size_t)pool->curr_nr * sizeof(void *));
	void **old = pool->elements;
	pool->elements = elements;
	pool->min_nr = new_min_nr;
	lab_spin_unlock(&pool->lock);
	lab_kfree(old);

	while (__atomic_load_n(&pool->curr_nr, __ATOMIC_RELAXED) < pool->min_nr) {
		void *element = pool->alloc(LAB_GFP_KERNEL, pool->pool_data);
		if (!element)
			return 0;	/* the kernel's too: the reserve fills on frees */
		lab_spin_lock(&pool->lock);
		if (pool->curr_nr < pool->min_nr) {
			add_element(pool, element);
			element = NULL;
		}
		lab_spin_unlock(&pool->lock);
		if (element) {
			pool->free(element, pool->pool_data);
			break;
		}
	}
	return 0;
}

void *lab_kernel_mempool_alloc(mempool_t *pool, lab_gfp_t gfp)
{
	if (gfp & LAB_GFP_DIRECT_RECLAIM)
		lab_might_sleep_at("mempool_alloc");
	/* No warnings and no long retries: the reserve is the fallback. */
	gfp |= LAB_GFP_NORETRY | LAB_GFP_NOWARN;
	gfp &= ~LAB_GFP_ZERO;	/* elements of the reserve are not zeroed either */
	lab_gfp_t gfp_temp = gfp & ~LAB_GFP_DIRECT_RECLAIM;
	for (;;) {
		void *element = pool->alloc(gfp_temp, pool->pool_data);
		if (element)
			return element;

		lab_spin_lock(&pool->lock);
		if (pool->curr_nr) {
			element = remove_element(pool);
			lab_spin_unlock(&pool->lock);
			return element;
		}
		/* Before sleeping, the allocator once more, with reclaim. */
		if (gfp_temp != gfp) {
			lab_spin_unlock(&pool->lock);
			gfp_temp = gfp;
			continue;
		}
		if (!(gfp & LAB_GFP_DIRECT_RECLAIM)) {
			lab_spin_unlock(&pool->lock);
			return NULL;
		}
		/* Sleep until an element comes back (or 5 s, as the kernel's
		 * io_schedule_timeout), then start over. */
		unsigned int seen = __atomic_load_n(&pool->lab_wait, __ATOMIC_ACQUIRE);
		__atomic_fetch_add(&pool->lab_waiters, 1, __ATOMIC_ACQ_REL);
		lab_spin_unlock(&pool->lock);
		struct timespec timeout = { .tv_sec = 5 };
		syscall(SYS_futex, &pool->lab_wait, FUTEX_WAIT_PRIVATE, seen, &timeout, NULL, 0);
		__atomic_fetch_sub(&pool->lab_waiters, 1, __ATOMIC_RELEASE);
	}
}

void *lab_kernel_mempool_alloc_preallocated(mempool_t *pool)
{
	void *element = NULL;
	lab_spin_lock(&pool->lock);
	if (pool->curr_nr)
		element = remove_element(pool);
	lab_spin_unlock(&pool->lock);
	return element;
}

void lab_kernel_mempool_free(void *element, mempool_t *pool)
{
	if (!element)
		return;
	if (__atomic_load_n(&pool->curr_nr, __ATOMIC_RELAXED) < pool->min_nr ||
	    (pool->min_nr == 0 && __atomic_load_n(&pool->curr_nr, __ATOMIC_RELAXED) == 0)) {
		lab_spin_lock(&pool->lock);
		if (pool->curr_nr < pool->min_nr || (pool->min_nr == 0 && pool->curr_nr == 0)) {
			add_element(pool, element);
			lab_spin_unlock(&pool->lock);
			wake_waiters(pool);
			return;
		}
		lab_spin_unlock(&pool->lock);
	}
	pool->free(element, pool->pool_data);
}
