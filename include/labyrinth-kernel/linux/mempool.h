/*
 * linux/mempool.h - mempool_t: a reserve of elements that guarantees
 * forward progress, over any allocator (pages, a kmem_cache, kmalloc or the
 * caller's own), with the kernel's algorithm (lab_kernel.h).  A sleeping
 * mempool_alloc() never returns NULL; an atomic one returns NULL only when
 * the allocator and the reserve are both empty.  mempool_free() never
 * sleeps.  Create, resize and destroy may sleep.
 */
#ifndef LAB_KERNEL_LINUX_MEMPOOL_H
#define LAB_KERNEL_LINUX_MEMPOOL_H

#include <lab_kernel.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>

static inline int mempool_init(mempool_t *pool, int min_nr, mempool_alloc_t *alloc_fn,
			       mempool_free_t *free_fn, void *pool_data)
{
	return lab_kernel_mempool_init(pool, min_nr, alloc_fn, free_fn, pool_data, GFP_KERNEL);
}
#define mempool_init_node(pool, min_nr, alloc_fn, free_fn, pool_data, gfp, nid) \
	((void)(nid), lab_kernel_mempool_init(pool, min_nr, alloc_fn, free_fn, pool_data, gfp))
static inline mempool_t *mempool_create(int min_nr, mempool_alloc_t *alloc_fn,
					mempool_free_t *free_fn, void *pool_data)
{
	return lab_kernel_mempool_create(min_nr, alloc_fn, free_fn, pool_data, GFP_KERNEL);
}
#define mempool_create_node(min_nr, alloc_fn, free_fn, pool_data, gfp, nid) \
	((void)(nid), lab_kernel_mempool_create(min_nr, alloc_fn, free_fn, pool_data, gfp))
static inline void mempool_exit(mempool_t *pool)
{
	lab_kernel_mempool_exit(pool);
}
static inline void mempool_destroy(mempool_t *pool)
{
	lab_kernel_mempool_destroy(pool);
}
static inline int mempool_resize(mempool_t *pool, int new_min_nr)
{
	return lab_kernel_mempool_resize(pool, new_min_nr);
}
static inline bool mempool_initialized(const mempool_t *pool)
{
	return pool->elements != NULL;
}
static inline bool mempool_is_saturated(const mempool_t *pool)
{
	return READ_ONCE(pool->curr_nr) >= pool->min_nr;
}
#define mempool_alloc(pool, gfp) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); lab_kernel_mempool_alloc(pool, __lab_gfp); })
#define mempool_alloc_noprof(pool, gfp)		lab_kernel_mempool_alloc(pool, gfp)
#define mempool_alloc_preallocated(pool)	lab_kernel_mempool_alloc_preallocated(pool)
static inline void mempool_free(void *element, mempool_t *pool)
{
	lab_kernel_mempool_free(element, pool);
}

/* Pools of objects of a kmem_cache (pool_data: the cache). */
static inline void *mempool_alloc_slab(gfp_t gfp_mask, void *pool_data)
{
	return lab_kernel_kmem_cache_alloc((struct kmem_cache *)pool_data, gfp_mask);
}
static inline void mempool_free_slab(void *element, void *pool_data)
{
	kmem_cache_free((struct kmem_cache *)pool_data, element);
}
static inline int mempool_init_slab_pool(mempool_t *pool, int min_nr, struct kmem_cache *kc)
{
	return mempool_init(pool, min_nr, mempool_alloc_slab, mempool_free_slab, (void *)kc);
}
static inline mempool_t *mempool_create_slab_pool(int min_nr, struct kmem_cache *kc)
{
	return mempool_create(min_nr, mempool_alloc_slab, mempool_free_slab, (void *)kc);
}

/* Pools of kmalloc objects (pool_data: the size). */
static inline void *mempool_kmalloc(gfp_t gfp_mask, void *pool_data)
{
	return kmalloc_noprof((size_t)pool_data, gfp_mask);
}
static inline void mempool_kfree(void *element, void *pool_data)
{
	(void)pool_data;
	kfree(element);
}
#define mempool_kvmalloc	mempool_kmalloc
#define mempool_kvfree		mempool_kfree
static inline int mempool_init_kmalloc_pool(mempool_t *pool, int min_nr, size_t size)
{
	return mempool_init(pool, min_nr, mempool_kmalloc, mempool_kfree, (void *)size);
}
static inline mempool_t *mempool_create_kmalloc_pool(int min_nr, size_t size)
{
	return mempool_create(min_nr, mempool_kmalloc, mempool_kfree, (void *)size);
}

/* Pools of blocks of 2^order pages (pool_data: the order). */
static inline void *mempool_alloc_pages(gfp_t gfp_mask, void *pool_data)
{
	return alloc_pages_noprof(gfp_mask, (unsigned int)(uintptr_t)pool_data);
}
static inline void mempool_free_pages(void *element, void *pool_data)
{
	__free_pages((struct page *)element, (unsigned int)(uintptr_t)pool_data);
}
static inline int mempool_init_page_pool(mempool_t *pool, int min_nr, int order)
{
	return mempool_init(pool, min_nr, mempool_alloc_pages, mempool_free_pages,
			    (void *)(uintptr_t)order);
}
static inline mempool_t *mempool_create_page_pool(int min_nr, int order)
{
	return mempool_create(min_nr, mempool_alloc_pages, mempool_free_pages,
			      (void *)(uintptr_t)order);
}

#endif /* LAB_KERNEL_LINUX_MEMPOOL_H */
