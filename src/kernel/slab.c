/*
 * slab.c - the kernel's struct kmem_cache over a Labyrinth cache
 * (<labyrinth/slab.h>) on the kernel zone, with what the kernel's flags
 * and boot parameters ask of it:
 *   - init_on_alloc / init_on_free, decided per cache as the kernel's
 *     slab_want_init_on_alloc/free() decide (not for caches with a
 *     constructor, SLAB_TYPESAFE_BY_RCU or SLAB_POISON);
 *   - SLAB_TYPESAFE_BY_RCU is the slab layer's LAB_SLAB_TYPESAFE_BY_RCU: a
 *     freed object may be handed out again at once, for the same type, and
 *     a slab's pages go back to the zone after an RCU grace period (rcu.c
 *     gives the slab layer liburcu's);
 *   - __GFP_ZERO on a cache with a constructor: the kernel's WARN, then the
 *     object zeroed (the slab layer refuses the flag there);
 *   - kmem_cache_destroy() waits for kfree_rcu() callbacks in flight, which
 *     may hold objects of the cache, as the kernel's kvfree_rcu_barrier().
 * Every live cache is on a list the module runner reads for its leak check.
 *
 * Exports lab_kernel_kmem_cache_* and lab__kernel_caches_left.
 * Allocations and frees never sleep unless gfp
 * has LAB_GFP_DIRECT_RECLAIM, make no system call of their own and are as
 * async-signal-safe as the slab layer's; create and destroy may sleep.
 */
#include "kernel.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct kmem_cache {
	struct lab_kmem_cache *cache;
	unsigned int flags;		/* SLAB_* as asked */
	void (*ctor)(void *obj);
	unsigned int object_size;
	bool zero_on_alloc;		/* slab_want_init_on_alloc() without __GFP_ZERO */
	bool wipe_on_free;		/* slab_want_init_on_free() */
	bool destroyed;			/* destroyed with objects in use (kept, as the kernel) */
	struct kmem_cache *next;	/* caches, under caches_lock */
	char name[32];
};

static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmem_cache *caches;

struct kmem_cache *lab_kernel_kmem_cache_create(const char *name, unsigned int size,
						const struct kmem_cache_args *args,
						unsigned int flags)
{
	lab_might_sleep_at("kmem_cache_create");
	size_t align = args ? args->align : 0;
	void (*ctor)(void *) = args ? args->ctor : NULL;
	/* The kernel's calculate_alignment(): at least ARCH_SLAB_MINALIGN (8);
	 * the slab layer wants a power of two. */
	if (align < 8)
		align = 8;
	if (align & (align - 1))
		align = (size_t)1 << (64 - __builtin_clzl(align));
	struct kmem_cache *s = lab_kzalloc(sizeof(*s), LAB_GFP_KERNEL);
	if (!s)
		return NULL;
	s->flags = flags;
	s->ctor = ctor;
	s->object_size = size;
	/* What a reader under rcu_read_lock() may still look at, and what a
	 * constructor built, is never initialised over. */
	bool special = ctor || (flags & (LAB_SLAB_TYPESAFE_BY_RCU | LAB_SLAB_POISON));
	s->zero_on_alloc = (lab_kernel_init_on_alloc || lab_kernel_init_on_free) && !special;
	s->wipe_on_free = lab_kernel_init_on_free && !special;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "(null)");
	/* TYPESAFE_BY_RCU takes the grace period rcu.c gave the slab layer when
	 * the kernel zone was made (lab_kernel_zone(), called first). */
	struct lab_zone *zone = lab_kernel_zone();
	s->cache = lab_kmem_cache_create(zone, name, size, align, flags, ctor);
	if (!s->cache) {
		int err = errno;
		lab__kernel_log(3, "kmem_cache_create(%s) failed with error %d\n", s->name, -err);
		lab_kfree(s);
		errno = err;
		return NULL;
	}
	pthread_mutex_lock(&caches_lock);
	s->next = caches;
	caches = s;
	pthread_mutex_unlock(&caches_lock);
	return s;
}

void lab_kernel_kmem_cache_destroy(struct kmem_cache *s)
{
	if (!s)
		return;
	lab_might_sleep_at("kmem_cache_destroy");
	/* As the kernel's kvfree_rcu_barrier(): objects given to kfree_rcu()
	 * before the destroy may still wait for their grace period.  The slabs
	 * of a TYPESAFE_BY_RCU cache wait for theirs after it: the slab layer
	 * gives the cache's memory back with the last of them. */
	if (lab__kernel_kfree_rcu_pending())
		lab_kernel_rcu_barrier();
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(s->cache, &st);
	/* With objects left the slab layer reports them and keeps the cache (its
	 * objects stay valid); so does this one, on its list, for the runner. */
	lab_kmem_cache_destroy(s->cache);
	if (st.active_objs) {
		s->destroyed = true;
		return;
	}
	pthread_mutex_lock(&caches_lock);
	for (struct kmem_cache **pp = &caches; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&caches_lock);
	lab_kfree(s);
}

int lab_kernel_kmem_cache_shrink(struct kmem_cache *s)
{
	int pages = lab_kmem_cache_shrink(s ? s->cache : NULL);
	return pages < 0 ? pages : 0;
}

const char *lab_kernel_kmem_cache_name(const struct kmem_cache *s)
{
	return s ? s->name : NULL;
}

struct lab_kmem_cache *lab_kernel_kmem_cache_native(const struct kmem_cache *s)
{
	return s ? s->cache : NULL;
}

static void ctor_zero_warning(const struct kmem_cache *s)
{
	static bool warned;
	if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		lab_kernel_warn(__FILE__, __LINE__, "kmem_cache_alloc",
				"__GFP_ZERO on cache %s, which has a constructor\n", s->name);
}

/* The gfp for the slab layer; *zero: clear the object here instead (the
 * slab layer refuses LAB_GFP_ZERO on a cache with a constructor). */
static lab_gfp_t cache_gfp(const struct kmem_cache *s, lab_gfp_t gfp, bool *zero)
{
	*zero = false;
	if (s->zero_on_alloc)
		gfp |= LAB_GFP_ZERO;
	if (s->ctor && (gfp & LAB_GFP_ZERO)) {
		ctor_zero_warning(s);
		*zero = true;
		return gfp & ~LAB_GFP_ZERO;
	}
	return gfp;
}

void *lab_kernel_kmem_cache_alloc(struct kmem_cache *s, lab_gfp_t gfp)
{
	bool zero;
	gfp = cache_gfp(s, gfp, &zero);
	void *obj = lab_kmem_cache_alloc(s->cache, gfp);
	if (obj && zero)
		memset(obj, 0, s->object_size);
	return obj;
}

int lab_kernel_kmem_cache_alloc_bulk(struct kmem_cache *s, lab_gfp_t gfp, size_t nr, void **objs)
{
	bool zero;
	gfp = cache_gfp(s, gfp, &zero);
	size_t got = lab_kmem_cache_alloc_bulk(s->cache, gfp, nr, objs);
	for (size_t i = 0; zero && i < got; i++)
		memset(objs[i], 0, s->object_size);
	return (int)got;
}

void lab_kernel_kmem_cache_free(struct kmem_cache *s, void *obj)
{
	if (!obj)
		return;
	if (!s) {
		lab_kfree(obj);
		return;
	}
	if (s->wipe_on_free)
		memset(obj, 0, s->object_size);
	lab_kmem_cache_free(s->cache, obj);
}

void lab_kernel_kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **objs)
{
	if (!s) {
		for (size_t i = 0; i < nr; i++)
			lab_kfree(objs[i]);
		return;
	}
	if (s->wipe_on_free) {
		for (size_t i = 0; i < nr; i++)
			lab_kernel_kmem_cache_free(s, objs[i]);
		return;
	}
	lab_kmem_cache_free_bulk(s->cache, nr, objs);
}

size_t lab__kernel_caches_left(struct lab__kernel_cache_left *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&caches_lock);
	for (struct kmem_cache *s = caches; s; s = s->next, n++) {
		if (n >= max)
			continue;
		struct lab_kmem_cache_stats st;
		lab_kmem_cache_get_stats(s->cache, &st);
		memcpy(out[n].name, s->name, sizeof(out[n].name));
		out[n].destroyed = s->destroyed;
		out[n].active = st.active_objs;
	}
	pthread_mutex_unlock(&caches_lock);
	return n;
}
