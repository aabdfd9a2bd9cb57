/*
 * linux/slab.h - object caches and kmalloc over Labyrinth's slab layer
 * (<labyrinth/slab.h>): kmalloc, kzalloc, kcalloc, kmalloc_array, krealloc,
 * kfree, kfree_sensitive, ksize, kmem_cache_create (the kernel's five
 * arguments, or name, size, struct kmem_cache_args * and flags), KMEM_CACHE,
 * kmem_cache_alloc/free/destroy/shrink/alloc_bulk/free_bulk, kvmalloc, the
 * string duplicators and the SLAB_* flags.
 *
 * Objects come from the kernel zone (lab_kernel_zone()) under the caller's
 * gfp: an allocation without __GFP_DIRECT_RECLAIM never sleeps, never makes
 * a system call and fails fast; frees never sleep.  struct kmem_cache is
 * liblabyrinth-kernel's (a Labyrinth cache and what the kernel's flags ask
 * of it), opaque as in the kernel.
 *
 * init_on_alloc / init_on_free (LABYRINTH_KERNEL_CMDLINE) follow the
 * kernel's slab_want_init_on_alloc/free: objects of caches without a
 * constructor, SLAB_TYPESAFE_BY_RCU or SLAB_POISON are zeroed when handed
 * out and wiped when freed.  kfree() wipes any object under init_on_free;
 * kmem_cache_free() knows the cache and skips the caches the kernel skips.
 *
 * SLAB_TYPESAFE_BY_RCU is the kernel's, the slab layer's
 * LAB_SLAB_TYPESAFE_BY_RCU: a freed object keeps its contents (the free
 * pointer lives outside it) and may be handed out again at once, for the
 * same type only; a slab's pages go back to the zone only after an RCU grace
 * period (linux/rcupdate.h's), so a reader inside rcu_read_lock() may still
 * read an object it found and must check that it is the one it wanted, as in
 * the kernel.  kfree() of an object of such a cache, or of one with a
 * constructor, wipes it under init_on_free (it cannot tell the cache; the
 * kernel skips those): free them with kmem_cache_free().
 */
#ifndef LAB_KERNEL_LINUX_SLAB_H
#define LAB_KERNEL_LINUX_SLAB_H

#include <labyrinth.h>
#include <labyrinth/slab.h>
#include <lab_kernel.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/types.h>

/* SLAB_* flags: Labyrinth's where the slab layer has them; 0 where they have
 * no meaning here (accounting, merging, DMA zones, KASAN, kfence, kmemleak). */
#define SLAB_HWCACHE_ALIGN	((slab_flags_t)LAB_SLAB_HWCACHE_ALIGN)
#define SLAB_RED_ZONE		((slab_flags_t)LAB_SLAB_RED_ZONE)
#define SLAB_POISON		((slab_flags_t)LAB_SLAB_POISON)
#define SLAB_STORE_USER		((slab_flags_t)LAB_SLAB_STORE_USER)
#define SLAB_PANIC		((slab_flags_t)LAB_SLAB_PANIC)
#define SLAB_CONSISTENCY_CHECKS	((slab_flags_t)LAB_SLAB_CONSISTENCY_CHECKS)
#define SLAB_TRACE		((slab_flags_t)LAB_SLAB_TRACE)
#define SLAB_FAILSLAB		((slab_flags_t)LAB_SLAB_FAILSLAB)
#define SLAB_TYPESAFE_BY_RCU	((slab_flags_t)LAB_SLAB_TYPESAFE_BY_RCU)
#define SLAB_DESTROY_BY_RCU	SLAB_TYPESAFE_BY_RCU
#define SLAB_CACHE_DMA		((slab_flags_t)0)
#define SLAB_CACHE_DMA32	((slab_flags_t)0)
#define SLAB_ACCOUNT		((slab_flags_t)0)
#define SLAB_RECLAIM_ACCOUNT	((slab_flags_t)0)
#define SLAB_TEMPORARY		SLAB_RECLAIM_ACCOUNT
#define SLAB_MEM_SPREAD		((slab_flags_t)0)
#define SLAB_NOLEAKTRACE	((slab_flags_t)0)
#define SLAB_NO_MERGE		((slab_flags_t)0)
#define SLAB_NO_USER_FLAGS	((slab_flags_t)0)
#define SLAB_KASAN		((slab_flags_t)0)
#define SLAB_SKIP_KFENCE	((slab_flags_t)0)
#define SLAB_DEBUG_OBJECTS	((slab_flags_t)0)
#define SLAB_NO_OBJ_EXT		((slab_flags_t)0)

#define ZERO_SIZE_PTR		LAB_ZERO_SIZE_PTR
#define ZERO_OR_NULL_PTR(x)	LAB_ZERO_OR_NULL_PTR(x)
#define ARCH_KMALLOC_MINALIGN	__alignof__(unsigned long long)
#define ARCH_SLAB_MINALIGN	__alignof__(unsigned long long)
#define KMALLOC_MIN_SIZE	8
#define KMALLOC_SHIFT_MAX	(MAX_PAGE_ORDER + PAGE_SHIFT)
#define KMALLOC_MAX_SIZE	(1UL << KMALLOC_SHIFT_MAX)
#define KMALLOC_MAX_ORDER	(KMALLOC_SHIFT_MAX - PAGE_SHIFT)
#define KMALLOC_MAX_CACHE_SIZE	((size_t)LAB_KMALLOC_MAX_CACHE_SIZE)

static inline struct kmem_cache *__kmem_cache_create_args(const char *name,
							  unsigned int object_size,
							  struct kmem_cache_args *args,
							  slab_flags_t flags)
{
	return lab_kernel_kmem_cache_create(name, object_size, args, flags);
}
static inline struct kmem_cache *__kmem_cache_default_args(const char *name, unsigned int size,
							   struct kmem_cache_args *args,
							   slab_flags_t flags)
{
	(void)args;	/* NULL, by the _Generic choice below */
	return lab_kernel_kmem_cache_create(name, size, NULL, flags);
}
static inline struct kmem_cache *__kmem_cache_create(const char *name, unsigned int size,
						     unsigned int align, slab_flags_t flags,
						     void (*ctor)(void *))
{
	struct kmem_cache_args args = { .align = align, .ctor = ctor };
	return lab_kernel_kmem_cache_create(name, size, &args, flags);
}
/*
 * kmem_cache_create(name, size, align, flags, ctor), or
 * kmem_cache_create(name, size, args, flags) with args a struct
 * kmem_cache_args * or NULL: the kernel's two forms, told apart by the
 * third argument's type.  NULL on failure (SLAB_PANIC: a report and abort).
 * May sleep.
 */
#define kmem_cache_create(__name, __object_size, __args, ...) \
	_Generic((__args), \
		struct kmem_cache_args *: __kmem_cache_create_args, \
		void *: __kmem_cache_default_args, \
		default: __kmem_cache_create)(__name, __object_size, __args, __VA_ARGS__)
#define kmem_cache_create_usercopy(name, size, align, flags, useroffset, usersize, ctor) \
	__kmem_cache_create(name, size, align, flags, ctor)
#define KMEM_CACHE(__struct, __flags) \
	__kmem_cache_create_args(#__struct, sizeof(struct __struct), \
		&(struct kmem_cache_args) { .align = __alignof__(struct __struct) }, (__flags))
#define KMEM_CACHE_USERCOPY(__struct, __flags, __field)	KMEM_CACHE(__struct, __flags)

/* Objects still allocated are reported and the cache is left, as the
 * kernel leaves it.  NULL is a no-op.  May sleep. */
static inline void kmem_cache_destroy(struct kmem_cache *s)
{
	lab_kernel_kmem_cache_destroy(s);
}
static inline int kmem_cache_shrink(struct kmem_cache *s)
{
	return lab_kernel_kmem_cache_shrink(s);
}
static inline const char *kmem_cache_name(const struct kmem_cache *s)
{
	return lab_kernel_kmem_cache_name(s);
}

/* The gfp the slab layer gets for kmalloc: ZERO where init_on_alloc or
 * init_on_free wants the object initialised. */
static inline lab_gfp_t lab_kernel_kmalloc_gfp(gfp_t gfp)
{
	if (lab_kernel_init_on_alloc || lab_kernel_init_on_free)
		gfp |= __GFP_ZERO;
	return gfp;
}

/* Allocations are macros, as in the kernel, so that a sleeping one in atomic
 * context is reported at the caller's file:line. */
#define kmem_cache_alloc(s, gfp) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); \
	   lab_kernel_kmem_cache_alloc(s, __lab_gfp); })
#define kmem_cache_alloc_noprof(s, gfp)		lab_kernel_kmem_cache_alloc(s, gfp)
#define kmem_cache_zalloc(s, gfp)		kmem_cache_alloc(s, (gfp) | __GFP_ZERO)
#define kmem_cache_alloc_node(s, gfp, node)	((void)(node), kmem_cache_alloc(s, gfp))
#define kmem_cache_alloc_lru(s, lru, gfp)	((void)(lru), kmem_cache_alloc(s, gfp))
static inline void kmem_cache_free(struct kmem_cache *s, void *obj)
{
	lab_kernel_kmem_cache_free(s, obj);
}
/* All nr objects or none: returns nr, or 0. */
#define kmem_cache_alloc_bulk(s, gfp, nr, objs) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); \
	   lab_kernel_kmem_cache_alloc_bulk(s, __lab_gfp, nr, objs); })
static inline void kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **objs)
{
	lab_kernel_kmem_cache_free_bulk(s, nr, objs);
}

static inline void *kmalloc_noprof(size_t size, gfp_t gfp)
{
	return lab_kmalloc(size, lab_kernel_kmalloc_gfp(gfp));
}
#define kmalloc(size, gfp) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); kmalloc_noprof(size, __lab_gfp); })
#define kzalloc(size, gfp)		kmalloc(size, (gfp) | __GFP_ZERO)
#define kmalloc_node(size, gfp, node)	((void)(node), kmalloc(size, gfp))
#define kzalloc_node(size, gfp, node)	((void)(node), kzalloc(size, gfp))
/* n * size bytes, or NULL if the product overflows. */
#define kmalloc_array(n, size, gfp) \
	({ size_t __lab_bytes; \
	   check_mul_overflow((size_t)(n), (size_t)(size), &__lab_bytes) ? NULL : \
		kmalloc(__lab_bytes, gfp); })
#define kcalloc(n, size, gfp)			kmalloc_array(n, size, (gfp) | __GFP_ZERO)
#define kmalloc_array_node(n, size, gfp, node)	((void)(node), kmalloc_array(n, size, gfp))
#define kcalloc_node(n, size, gfp, node)	((void)(node), kcalloc(n, size, gfp))

/* The object, grown or moved; NULL (p untouched) on failure; new_size 0
 * frees p and returns ZERO_SIZE_PTR. */
static inline void *krealloc_noprof(const void *p, size_t new_size, gfp_t gfp)
{
	return lab_krealloc(p, new_size, lab_kernel_kmalloc_gfp(gfp));
}
#define krealloc(p, new_size, gfp) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); krealloc_noprof(p, new_size, __lab_gfp); })
#define krealloc_array(p, n, size, gfp) \
	({ size_t __lab_bytes; \
	   check_mul_overflow((size_t)(n), (size_t)(size), &__lab_bytes) ? NULL : \
		krealloc(p, __lab_bytes, gfp); })

/* Any kmalloc object (or one of a cache); NULL and ZERO_SIZE_PTR are
 * no-ops.  Never sleeps. */
static inline void kfree(const void *obj)
{
	if (lab_kernel_init_on_free && !ZERO_OR_NULL_PTR(obj))
		lab_kfree_sensitive(obj);
	else
		lab_kfree(obj);
}
static inline void kfree_sensitive(const void *obj)
{
	lab_kfree_sensitive(obj);
}
static inline size_t ksize(const void *obj)
{
	return lab_ksize(obj);
}
static inline size_t __ksize(const void *obj)
{
	return lab_ksize(obj);
}
static inline void kfree_bulk(size_t nr, void **objs)
{
	for (size_t i = 0; i < nr; i++)
		kfree(objs[i]);
}
static inline size_t kmalloc_size_roundup(size_t size)
{
	return size;
}

/*
 * kvmalloc: kmalloc, whose sizes above KMALLOC_MAX_CACHE_SIZE are already
 * whole blocks of pages; up to KMALLOC_MAX_SIZE (4 MiB), where the kernel's
 * falls back to vmalloc for more.
 */
#define kvmalloc(size, gfp)		kmalloc(size, gfp)
#define kvzalloc(size, gfp)		kzalloc(size, gfp)
#define kvmalloc_node(size, gfp, node)	kmalloc_node(size, gfp, node)
#define kvzalloc_node(size, gfp, node)	kzalloc_node(size, gfp, node)
#define kvmalloc_array(n, size, gfp)	kmalloc_array(n, size, gfp)
#define kvcalloc(n, size, gfp)		kcalloc(n, size, gfp)
#define kvrealloc(p, size, gfp)		krealloc(p, size, gfp)
#define kvfree(p)			kfree(p)
#define kvfree_sensitive(p, len)	((void)(len), kfree_sensitive(p))

/* linux/string.h's allocating helpers (mm/util.c in the kernel). */
static inline void *kmemdup_noprof(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc_noprof(len, gfp);
	if (p)
		memcpy(p, src, len);
	return p;
}
#define kmemdup(src, len, gfp) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); kmemdup_noprof(src, len, __lab_gfp); })
static inline char *kmemdup_nul_noprof(const char *s, size_t len, gfp_t gfp)
{
	char *buf;
	if (!s)
		return NULL;
	buf = (char *)kmalloc_noprof(len + 1, gfp);
	if (buf) {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	return buf;
}
#define kmemdup_nul(s, len, gfp) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); kmemdup_nul_noprof(s, len, __lab_gfp); })
#define kstrndup(s, max, gfp) \
	({ const char *__lab_s = (s); \
	   __lab_s ? kmemdup_nul(__lab_s, strnlen(__lab_s, max), gfp) : NULL; })
#define kstrdup(s, gfp) \
	({ const char *__lab_s = (s); __lab_s ? kmemdup_nul(__lab_s, strlen(__lab_s), gfp) : NULL; })
/* Always a copy here (the kernel returns .rodata strings as they are), so
 * kfree_const() frees. */
#define kstrdup_const(s, gfp)		((const char *)kstrdup(s, gfp))
#define kfree_const(p)			kfree(p)

#endif /* LAB_KERNEL_LINUX_SLAB_H */
