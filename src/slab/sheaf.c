/*
 * sheaf.c - sheaves, as the kernel's (6.18): a caller about to enter a
 * section that must not fail takes `size` objects from a cache beforehand,
 * with whatever gfp it may use there (sleeping, reclaim), and inside the
 * section allocates from the sheaf, which cannot fail while it holds
 * objects.  The sheaf comes from kmalloc; its objects count as allocated.
 *
 * Exports lab_kmem_cache_prefill_sheaf, _alloc_from_sheaf, _return_sheaf,
 * _sheaf_size.
 */
#include "secure/hooks.h"
#include "slab/slab.h"

#include <errno.h>
#include <string.h>

struct lab_slab_sheaf {
	struct lab_kmem_cache *cache;
	unsigned int capacity;
	unsigned int size;          /* objects left */
	void *objects[];
};

struct lab_slab_sheaf *lab_kmem_cache_prefill_sheaf(struct lab_kmem_cache *c, lab_gfp_t gfp,
						    unsigned int size)
{
	if (!c || !size || size > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	struct lab_slab_sheaf *sh = lab_kmalloc(sizeof(*sh) + (size_t)size * sizeof(void *),
						gfp & ~(LAB_GFP_ZERO | LAB_GFP_EXCLUSIVE));
	if (!sh)
		return NULL;
	if (lab_kmem_cache_alloc_bulk(c, gfp, size, sh->objects) != size) {
		int err = errno;
		lab_kfree(sh);
		errno = err;
		return NULL;
	}
	sh->cache = c;
	sh->capacity = sh->size = size;
	return sh;
}

void *lab_kmem_cache_alloc_from_sheaf(struct lab_kmem_cache *c, lab_gfp_t gfp,
				      struct lab_slab_sheaf *sh)
{
	if (!c || !sh || sh->cache != c || ((gfp & LAB_GFP_ZERO) && c->ctor)) {
		errno = EINVAL;
		return NULL;
	}
	if (!sh->size) {
		errno = ENOMEM;
		return NULL;
	}
	void *obj = sh->objects[--sh->size];
	if ((gfp & LAB_GFP_ZERO) && !c->exclusive) {  /* exclusive objects are zero already */
		uint32_t saved = lab__zone_write_begin(c->zone);
		memset(obj, 0, c->object_size);
		lab__zone_write_end(c->zone, saved);
	}
	return obj;
}

unsigned int lab_kmem_cache_sheaf_size(const struct lab_slab_sheaf *sh)
{
	return sh ? sh->size : 0;
}

void lab_kmem_cache_return_sheaf(struct lab_kmem_cache *c, lab_gfp_t gfp, struct lab_slab_sheaf *sh)
{
	(void)gfp;
	if (!sh)
		return;
	if (sh->cache != c) {
		lab__slab_report_pointer("lab_kmem_cache_return_sheaf", sh,
					 "the sheaf belongs to another cache; not returned");
		return;
	}
	lab_kmem_cache_free_bulk(c, sh->size, sh->objects);
	lab_kfree(sh);
}
