/*
 * slab_ops.c - objects as kernel code uses them (suite 'kernel', with the
 * slab layer): kmalloc(GFP_ATOMIC) under a spinlock until it fails;
 * kcalloc's overflow check; krealloc, ksize, ZERO_SIZE_PTR, kstrdup;
 * vzalloc's whole pages; kmem_cache_create's forms (five arguments, NULL
 * args, a struct kmem_cache_args); a cache with a constructor (objects come
 * back constructed, one by one and in bulk); a SLAB_TYPESAFE_BY_RCU cache (a
 * freed object keeps its contents and comes back at once, for the same type;
 * its slabs' pages stay allocated while a reader is inside rcu_read_lock()
 * and go back to the zone after the grace period);
 * mempools of pages and of a cache (the reserve handed out and refilled,
 * resized, and a sleeping allocation that waits for a free); call_rcu,
 * synchronize_rcu and kfree_rcu in both forms (the runner's leak check
 * proves the objects were freed after the grace period).  Every check is a
 * WARN_ON: the runner fails on warnings.  Misuse on request: ctor_zero=1
 * (__GFP_ZERO on a cache with a constructor: the kernel's WARN) and
 * destroy_busy=1 (a cache destroyed with an object in use).
 */
/* The test pins itself to a CPU (sched_setaffinity) to see an object freed
 * and allocated again on one CPU's array. */
#define _GNU_SOURCE
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

static bool ctor_zero, destroy_busy;
module_param(ctor_zero, bool, 0444);
module_param(destroy_busy, bool, 0444);

struct item {
	struct list_head list;
	unsigned int magic;
	struct rcu_head rcu;
	char payload[40];
};

#define ITEM_MAGIC 0x1badcafe

static DEFINE_SPINLOCK(lock);
static LIST_HEAD(items);

static void item_ctor(void *obj)
{
	struct item *it = obj;

	it->magic = ITEM_MAGIC;
}

/* kmalloc(GFP_ATOMIC) under the lock until the zone says no. */
static unsigned long fill_atomic(void)
{
	unsigned long flags, n = 0;
	struct item *it, *next;

	spin_lock_irqsave(&lock, flags);
	for (;;) {
		it = kmalloc(sizeof(*it), GFP_ATOMIC | __GFP_NOWARN);
		if (!it)
			break;
		list_add(&it->list, &items);
		n++;
	}
	list_for_each_entry_safe(it, next, &items, list) {
		list_del(&it->list);
		kfree(it);
	}
	spin_unlock_irqrestore(&lock, flags);
	return n;
}

/* kmem_cache_create()'s two forms: NULL args, and a struct kmem_cache_args. */
static int check_create_forms(void)
{
	struct kmem_cache_args args = { .align = 256, .ctor = item_ctor };
	struct kmem_cache *plain = kmem_cache_create("item_plain", sizeof(struct item), NULL, 0);
	struct kmem_cache *aligned = kmem_cache_create("item_aligned", sizeof(struct item), &args,
						       SLAB_HWCACHE_ALIGN);
	struct item *a, *b;

	if (!plain || !aligned)
		return -ENOMEM;
	a = kmem_cache_alloc(plain, GFP_KERNEL);
	b = kmem_cache_alloc(aligned, GFP_KERNEL);
	WARN_ON(!a || !b);
	WARN_ON(!IS_ALIGNED((unsigned long)b, 256) || b->magic != ITEM_MAGIC);
	kmem_cache_free(plain, a);
	kmem_cache_free(aligned, b);
	kmem_cache_destroy(plain);
	kmem_cache_destroy(aligned);
	return 0;
}

static int check_cache_with_ctor(void)
{
	struct kmem_cache *c = kmem_cache_create("item_ctor", sizeof(struct item), 0,
						 SLAB_HWCACHE_ALIGN, item_ctor);
	void *objs[64];
	struct item *it;
	int i, got;

	if (!c)
		return -ENOMEM;
	it = kmem_cache_alloc(c, GFP_KERNEL);
	WARN_ON(!it || it->magic != ITEM_MAGIC);
	kmem_cache_free(c, it);
	got = kmem_cache_alloc_bulk(c, GFP_KERNEL, ARRAY_SIZE(objs), objs);
	WARN_ON(got != ARRAY_SIZE(objs));
	for (i = 0; i < got; i++)
		WARN_ON(((struct item *)objs[i])->magic != ITEM_MAGIC);
	kmem_cache_free_bulk(c, got, objs);
	kmem_cache_destroy(c);
	return 0;
}

/* A reader in another thread, inside rcu_read_lock() until told to leave. */
static atomic_t reader_state = ATOMIC_INIT(0);	/* 1: inside; 2: leave */

static void *rcu_reader(void *arg)
{
	(void)arg;
	rcu_read_lock();
	atomic_set(&reader_state, 1);
	while (atomic_read(&reader_state) != 2)
		usleep(1000);	/* a reader that takes its time */
	rcu_read_unlock();
	return NULL;
}

/*
 * SLAB_TYPESAFE_BY_RCU, the kernel's rule: a freed object keeps its
 * contents and may be handed out again at once, as an object of the same
 * cache (a reader must check it found the object it wanted); the memory
 * stays this type's until a grace period has passed: the pages of slabs
 * that leave the cache (here by kmem_cache_shrink()) stay allocated while
 * a reader is inside rcu_read_lock() and go back to the zone after.
 */
static int check_typesafe_by_rcu(void)
{
	struct kmem_cache *c = KMEM_CACHE(item, SLAB_TYPESAFE_BY_RCU);
	struct item *it, *again, *objs[256];
	struct page *heads[ARRAY_SIZE(objs)];
	unsigned int i, j, nheads = 0;
	cpu_set_t was, here;
	pthread_t reader;

	if (!c)
		return -ENOMEM;
	/* On one CPU, the object freed last is the next one handed out. */
	if (sched_getaffinity(0, sizeof(was), &was))
		return -EINVAL;
	CPU_ZERO(&here);
	CPU_SET(sched_getcpu(), &here);
	WARN_ON(sched_setaffinity(0, sizeof(here), &here));
	it = kmem_cache_alloc(c, GFP_KERNEL);
	if (!it)
		return -ENOMEM;
	it->magic = ITEM_MAGIC;
	rcu_read_lock();
	kmem_cache_free(c, it);
	WARN_ON(READ_ONCE(it->magic) != ITEM_MAGIC);	/* the reader still finds it whole */
	again = kmem_cache_alloc(c, GFP_ATOMIC);
	WARN_ON(again != it);				/* reused at once, same type */
	rcu_read_unlock();
	sched_setaffinity(0, sizeof(was), &was);
	if (!again)
		return -ENOMEM;
	kmem_cache_free(c, again);

	/* Several slabs; the first page of each (a page with a reference). */
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = kmem_cache_alloc(c, GFP_KERNEL);
		if (!objs[i])
			return -ENOMEM;
		objs[i]->magic = ITEM_MAGIC + i;
		struct page *page = virt_to_page(objs[i]);
		for (j = 0; j < nheads && heads[j] != page; j++)
			;
		if (j == nheads && page_count(page) > 0)
			heads[nheads++] = page;
	}
	WARN_ON(nheads < 2);
	if (pthread_create(&reader, NULL, rcu_reader, NULL))
		return -EAGAIN;
	while (atomic_read(&reader_state) != 1)
		usleep(1000);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		kmem_cache_free(c, objs[i]);
	WARN_ON(kmem_cache_shrink(c));	/* every slab leaves the cache */
	for (j = 0; j < nheads; j++)
		WARN_ON(page_count(heads[j]) == 0);	/* not in the zone yet */
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		WARN_ON(READ_ONCE(objs[i]->magic) != ITEM_MAGIC + i);
	atomic_set(&reader_state, 2);
	pthread_join(reader, NULL);
	synchronize_rcu();
	rcu_barrier();		/* the slabs' callbacks have run */
	for (j = 0; j < nheads; j++)
		WARN_ON(page_count(heads[j]) != 0);	/* back in the zone */
	kmem_cache_destroy(c);
	return 0;
}

/* A pool whose allocator can be told to fail, and a thread that returns an
 * element later: a sleeping mempool_alloc() must wait for it. */
static bool allocator_fails;

static void *failing_alloc(gfp_t gfp, void *pool_data)
{
	return READ_ONCE(allocator_fails) ? NULL : kmalloc((size_t)pool_data, gfp);
}

struct late_free {
	mempool_t *pool;
	void *element;
};

static void *free_later(void *arg)
{
	struct late_free *lf = arg;

	usleep(100000);
	mempool_free(lf->element, lf->pool);
	return NULL;
}

static int check_mempool_wait(void)
{
	mempool_t *pool = mempool_create(2, failing_alloc, mempool_kfree, (void *)64);
	struct late_free lf;
	void *a, *b, *c;
	pthread_t thread;

	if (!pool)
		return -ENOMEM;
	WARN_ON(mempool_resize(pool, 4) || pool->min_nr != 4 || pool->curr_nr != 4);
	WARN_ON(mempool_resize(pool, 2) || pool->curr_nr != 2);
	WRITE_ONCE(allocator_fails, true);
	a = mempool_alloc(pool, GFP_KERNEL);
	b = mempool_alloc(pool, GFP_KERNEL);
	WARN_ON(!a || !b);
	/* The reserve is empty and the allocator fails: atomic gets NULL ... */
	WARN_ON(mempool_alloc(pool, GFP_ATOMIC) != NULL);
	/* ... and a sleeping caller waits for the element freed by the thread. */
	lf.pool = pool;
	lf.element = b;
	if (pthread_create(&thread, NULL, free_later, &lf))
		return -EAGAIN;
	c = mempool_alloc(pool, GFP_KERNEL);
	pthread_join(thread, NULL);
	WARN_ON(c != b);
	WRITE_ONCE(allocator_fails, false);
	mempool_free(a, pool);
	mempool_free(c, pool);
	mempool_destroy(pool);
	return 0;
}

static atomic_t callbacks = ATOMIC_INIT(0);

static void count_callback(struct rcu_head *head)
{
	struct item *it = container_of(head, struct item, rcu);

	WARN_ON(!in_atomic());	/* callbacks run as softirqs do */
	atomic_inc(&callbacks);
	kfree(it);
}

static int check_rcu(void)
{
	struct item *a = kmalloc(sizeof(*a), GFP_KERNEL);
	struct item *b = kmalloc(sizeof(*b), GFP_KERNEL);

	if (!a || !b)
		return -ENOMEM;
	WARN_ON(rcu_read_lock_held());
	call_rcu(&a->rcu, count_callback);
	synchronize_rcu();
	rcu_barrier();
	WARN_ON(atomic_read(&callbacks) != 1);
	kfree_rcu(b);	/* the one-argument form waits for the grace period */
	kfree_rcu((struct item *)NULL, rcu);
	return 0;
}

static int check_misuse(void)
{
	struct kmem_cache *c = kmem_cache_create("item_misuse", sizeof(struct item), 0, 0,
						 ctor_zero ? item_ctor : NULL);
	struct item *it;

	if (!c)
		return -ENOMEM;
	WARN_ON(strcmp(kmem_cache_name(c), "item_misuse"));
	it = kmem_cache_alloc(c, GFP_KERNEL | (ctor_zero ? __GFP_ZERO : 0));
	if (!it)
		return -ENOMEM;
	if (destroy_busy) {
		kmem_cache_destroy(c);	/* reported; the object stays valid */
		return 0;
	}
	kmem_cache_free(c, it);
	WARN_ON(kmem_cache_shrink(c));
	kmem_cache_destroy(c);
	return 0;
}

static int check_mempools(void)
{
	mempool_t *pages = mempool_create_page_pool(4, 0);
	mempool_t *objs;
	struct kmem_cache *c;
	struct page *taken[4];
	void *reserve[4];
	struct item *it;
	int i;

	if (!pages)
		return -ENOMEM;
	/* The reserve hands out its elements and takes them back first. */
	for (i = 0; i < 4; i++)
		taken[i] = mempool_alloc_preallocated(pages);
	WARN_ON(mempool_alloc_preallocated(pages) != NULL);
	for (i = 0; i < 4; i++) {
		WARN_ON(!taken[i]);
		mempool_free(taken[i], pages);
	}
	WARN_ON(!mempool_is_saturated(pages));
	mempool_destroy(pages);

	c = kmem_cache_create("item_pool", sizeof(struct item), 0, 0, NULL);
	objs = c ? mempool_create_slab_pool(4, c) : NULL;
	if (!objs)
		return -ENOMEM;
	it = mempool_alloc(objs, GFP_ATOMIC);
	WARN_ON(!it);
	mempool_free(it, objs);
	for (i = 0; i < 4; i++)
		reserve[i] = mempool_alloc_preallocated(objs);
	for (i = 0; i < 4; i++)
		mempool_free(reserve[i], objs);
	mempool_destroy(objs);
	kmem_cache_destroy(c);
	return 0;
}

static int __init slab_ops_init(void)
{
	struct item *it, **array;
	unsigned long atomic;
	char *s;
	void *v;
	int ret;

	atomic = fill_atomic();
	pr_info("kmalloc(GFP_ATOMIC) under the spinlock: %lu objects before it failed\n", atomic);
	WARN_ON(atomic == 0);

	/* Overflow is refused, not wrapped. */
	WARN_ON(kcalloc(SIZE_MAX / 2, 4, GFP_KERNEL) != NULL);
	array = kcalloc(16, sizeof(*array), GFP_KERNEL);
	if (!array)
		return -ENOMEM;
	WARN_ON(memchr_inv(array, 0, 16 * sizeof(*array)));
	array = krealloc(array, 4096, GFP_KERNEL);
	if (!array)
		return -ENOMEM;
	WARN_ON(ksize(array) < 4096);
	kfree(array);
	WARN_ON(kmalloc(0, GFP_KERNEL) != ZERO_SIZE_PTR);
	kfree(ZERO_SIZE_PTR);

	s = kstrdup("labyrinth", GFP_KERNEL);
	WARN_ON(!s || strcmp(s, "labyrinth"));
	kfree_sensitive(s);

	v = vzalloc(3 * PAGE_SIZE + 1);
	WARN_ON(!v || !PAGE_ALIGNED(v) || memchr_inv(v, 0, 3 * PAGE_SIZE + 1));
	WARN_ON(vmalloc_to_page(v) != virt_to_page(v));
	vfree(v);

	ret = check_create_forms();
	if (!ret)
		ret = check_cache_with_ctor();
	if (!ret)
		ret = check_typesafe_by_rcu();
	if (!ret)
		ret = check_mempools();
	if (!ret)
		ret = check_mempool_wait();
	if (!ret)
		ret = check_rcu();
	if (!ret)
		ret = check_misuse();
	if (ret)
		return ret;

	/* Freed after a grace period; the runner counts what is left. */
	it = kzalloc(sizeof(*it), GFP_KERNEL);
	if (!it)
		return -ENOMEM;
	kfree_rcu(it, rcu);

	pr_info("object operations checked\n");
	return 0;
}

module_init(slab_ops_init);
MODULE_DESCRIPTION("The object-level kernel API over Labyrinth");
MODULE_LICENSE("MIT");
