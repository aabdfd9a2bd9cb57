/*
 * slab_ops.c - objects as kernel code uses them (suite 'kernel', with the
 * slab layer): kmalloc(GFP_ATOMIC) under a spinlock until it fails;
 * kcalloc's overflow check; krealloc, ksize, ZERO_SIZE_PTR, kstrdup;
 * vzalloc's whole pages; a cache with a constructor (objects come back
 * constructed, one by one and in bulk); a SLAB_TYPESAFE_BY_RCU cache whose
 * freed object is not reused inside the reader's critical section;
 * mempools of pages and of a cache (the reserve handed out and refilled);
 * kfree_rcu (the runner's leak check proves the object was freed after the
 * grace period).  Every check is a WARN_ON: the runner fails on warnings.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>

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

static int check_typesafe_by_rcu(void)
{
	struct kmem_cache *c = KMEM_CACHE(item, SLAB_TYPESAFE_BY_RCU);
	struct item *it, *other[256];
	unsigned int i, n = 0;

	if (!c)
		return -ENOMEM;
	it = kmem_cache_alloc(c, GFP_KERNEL);
	if (!it)
		return -ENOMEM;
	it->magic = ITEM_MAGIC;
	rcu_read_lock();
	WARN_ON(!in_atomic() || !rcu_read_lock_held());
	kmem_cache_free(c, it);
	/* The reader may still look at it: it must not come back yet. */
	for (i = 0; i < ARRAY_SIZE(other); i++) {
		other[i] = kmem_cache_alloc(c, GFP_ATOMIC);
		if (!other[i])
			break;
		WARN_ON(other[i] == it);
		n++;
	}
	WARN_ON(it->magic != ITEM_MAGIC);
	rcu_read_unlock();
	for (i = 0; i < n; i++)
		kmem_cache_free(c, other[i]);
	/* Objects freed before the destroy wait for their grace period in it. */
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

	ret = check_cache_with_ctor();
	if (!ret)
		ret = check_typesafe_by_rcu();
	if (!ret)
		ret = check_mempools();
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
