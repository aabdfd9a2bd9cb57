/* test_slab.c - object caches and kmalloc, the API as users rely on it:
 * objects are distinct, aligned and usable; bad arguments are EINVAL; the
 * constructor runs once per object; ZERO zeroes; bulk allocation is all or
 * nothing; sheaves never fail while they hold objects; shrinking gives every
 * page back; statistics and /proc/slabinfo add up; kmalloc's classes, large
 * sizes, krealloc, ksize, kfree_sensitive and the zero-size pointer; the
 * default zone and LABYRINTH_ZONE. */
#include "helpers.h"

#include "slab/slab.h"  /* the header cache */

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct lab_kmem_cache_stats cstats(const struct lab_kmem_cache *c)
{
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(c, &st);
	return st;
}

/* A zone for one test: no kswapd, so nothing reclaims behind the test's back. */
static struct lab_zone *quiet_zone(size_t pages)
{
	return make_zone(pages, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
}

#define N_OBJS 5000

Test(slab, objects_are_distinct_aligned_and_hold_their_data)
{
	struct lab_zone *z = quiet_zone(2048);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-obj", 40, 8, 0, NULL);
	cr_assert_not_null(c);
	cr_assert_str_eq(lab_kmem_cache_name(c), "t-obj");
	static unsigned char *o[N_OBJS];
	for (int i = 0; i < N_OBJS; i++) {
		o[i] = lab_kmem_cache_alloc(c, i % 2 ? LAB_GFP_ATOMIC : LAB_GFP_KERNEL);
		cr_assert_not_null(o[i], "object %d", i);
		cr_assert_eq((uintptr_t)o[i] % 8, 0);
		cr_assert_eq(lab_page_zone(lab_virt_to_page(o[i])), z, "object outside its zone");
		memset(o[i], i & 0xff, 40);
	}
	for (int i = 0; i < N_OBJS; i++)
		for (int b = 0; b < 40; b++)
			cr_assert_eq(o[i][b], (unsigned char)(i & 0xff), "object %d byte %d", i, b);
	struct lab_kmem_cache_stats st = cstats(c);
	cr_assert_eq(st.object_size, 40);
	cr_assert_eq(st.active_objs, N_OBJS);
	cr_assert_geq(st.total_objs, N_OBJS);
	cr_assert_eq(st.total_objs, st.slabs * st.objs_per_slab);
	cr_assert_eq(st.pages, st.slabs << st.order);
	cr_assert_eq(st.allocs, N_OBJS);
	cr_assert_eq(st.frees, 0);
	for (int i = 0; i < N_OBJS; i++)
		lab_kmem_cache_free(c, o[i]);
	st = cstats(c);
	cr_assert_eq(st.active_objs, 0);
	cr_assert_eq(st.allocs, N_OBJS);
	cr_assert_eq(st.frees, N_OBJS);
	cr_assert_eq(st.errors, 0);
	lab_kmem_cache_destroy(c);
	cr_assert_eq(zone_free_all(z), 2048, "the cache gave every page back");
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

static void ctor_noop(void *obj)
{
	(void)obj;
}

Test(slab, bad_arguments_give_einval)
{
	struct lab_zone *z = quiet_zone(256);
	struct {
		const char *name;
		size_t size, align;
		unsigned int flags;
	} bad[] = {
		{ NULL, 64, 0, 0 },
		{ "zero", 0, 0, 0 },
		{ "align3", 64, 3, 0 },
		{ "align-huge", 64, 2 * lab_page_size(), 0 },
		{ "flags", 64, 0, 0x80000000u },
		{ "huge", (lab_page_size() << LAB_MAX_ORDER) + 1, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		cr_assert_null(lab_kmem_cache_create(z, bad[i].name, bad[i].size, bad[i].align,
						     bad[i].flags, NULL), "case %zu", i);
		cr_assert_eq(errno, EINVAL, "case %zu", i);
	}
	errno = 0;
	cr_assert_null(lab_kmem_cache_create(z, "excl-ctor", 64, 0, LAB_SLAB_EXCLUSIVE, ctor_noop));
	cr_assert_eq(errno, EINVAL, "zeroing on hand-out would undo the constructor");
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-einval", 64, 0, 0, NULL);
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(NULL, LAB_GFP_KERNEL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_KERNEL | 0x80000000u));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC | LAB_GFP_NOFAIL));
	cr_assert_eq(errno, EINVAL, "NOFAIL cannot be honoured without sleeping");
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE));
	cr_assert_eq(errno, EINVAL, "EXCLUSIVE from a cache that is not");
	void *objs[4];
	errno = 0;
	cr_assert_eq(lab_kmem_cache_alloc_bulk(c, 0x80000000u, 4, objs), 0);
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_kmalloc(64, LAB_GFP_KERNEL | 0x80000000u));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(lab_kmalloc((lab_page_size() << LAB_MAX_ORDER) + 1, LAB_GFP_KERNEL));
	cr_assert_eq(errno, EINVAL, "beyond the largest block");
	errno = 0;
	cr_assert_null(lab_kmalloc(SIZE_MAX, LAB_GFP_KERNEL));
	cr_assert_eq(errno, EINVAL, "size overflow");
	struct lab_kmem_cache_stats st = cstats(c);
	cr_assert_eq(st.allocs + st.active_objs + st.slabs, 0, "nothing was taken");
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

/* ---- constructors and zeroing ------------------------------------------- */

static _Atomic int ctor_calls;

static void ctor_mark(void *obj)
{
	atomic_fetch_add(&ctor_calls, 1);
	memset(obj, 0xc7, 24);
}

Test(slab, ctor_runs_once_per_object_and_zero_with_ctor_is_einval)
{
	struct lab_zone *z = quiet_zone(1024);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-ctor", 24, 0, 0, ctor_mark);
	cr_assert_not_null(c);
	static unsigned char *o[1000];
	for (int i = 0; i < 1000; i++) {
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
		cr_assert_not_null(o[i]);
		for (int b = 0; b < 24; b++)
			cr_assert_eq(o[i][b], 0xc7, "object %d not constructed", i);
	}
	struct lab_kmem_cache_stats st = cstats(c);
	cr_assert_eq(atomic_load(&ctor_calls), (int)st.total_objs,
		     "the constructor ran once per object when its slab was made");
	/* Freed in the constructed state, handed out again constructed; the
	 * constructor only runs for slabs made anew (empty slabs beyond a few
	 * go back to the zone, as in the kernel). */
	for (int i = 0; i < 1000; i++)
		lab_kmem_cache_free(c, o[i]);
	for (int i = 0; i < 1000; i++) {
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
		cr_assert_eq(o[i][0], 0xc7);
		cr_assert_eq(o[i][23], 0xc7, "the free pointer must not overlay a constructed object");
	}
	cr_assert_eq(atomic_load(&ctor_calls) % (int)st.objs_per_slab, 0,
		     "whole slabs are constructed at once");
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc(c, LAB_GFP_KERNEL | LAB_GFP_ZERO));
	cr_assert_eq(errno, EINVAL, "ZERO would undo the constructor");
	for (int i = 0; i < 1000; i++)
		lab_kmem_cache_free(c, o[i]);
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

Test(slab, zero_zeroes_and_alignment_is_honoured)
{
	struct lab_zone *z = quiet_zone(1024);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-zero", 100, 0, 0, NULL);
	struct lab_kmem_cache *a = lab_kmem_cache_create(z, "t-align", 100, 256, 0, NULL);
	struct lab_kmem_cache *h = lab_kmem_cache_create(z, "t-hw", 100, 0,
							 LAB_SLAB_HWCACHE_ALIGN, NULL);
	cr_assert(c && a && h);
	static unsigned char *o[300];
	for (int i = 0; i < 300; i++) {
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
		memset(o[i], 0xee, 100);
	}
	for (int i = 0; i < 300; i++)
		lab_kmem_cache_free(c, o[i]);
	for (int i = 0; i < 300; i++) {
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC | LAB_GFP_ZERO);
		for (int b = 0; b < 100; b++)
			cr_assert_eq(o[i][b], 0, "object %d byte %d", i, b);
	}
	for (int i = 0; i < 300; i++) {
		void *p = lab_kmem_cache_alloc(a, LAB_GFP_KERNEL);
		void *q = lab_kmem_cache_alloc(h, LAB_GFP_KERNEL);
		cr_assert_eq((uintptr_t)p % 256, 0);
		cr_assert_eq((uintptr_t)q % 64, 0, "a cache line");
		lab_kmem_cache_free(a, p);
		lab_kmem_cache_free(h, q);
		lab_kmem_cache_free(c, o[i]);
	}
	lab_kmem_cache_destroy(c);
	lab_kmem_cache_destroy(a);
	lab_kmem_cache_destroy(h);
	lab_zone_destroy(z);
}

/* ---- bulk and sheaves --------------------------------------------------- */

/* A cache on a zone with n pages, every page but the slabs' taken by the test. */
struct tight {
	struct lab_zone *z;
	struct lab_kmem_cache *c;
	struct held h;
};

static void tight_init(struct tight *t, size_t pages)
{
	t->z = make_zone(pages, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	t->c = lab_kmem_cache_create(t->z, "t-tight", 64, 0, 0, NULL);
	cr_assert_not_null(t->c);
	held_init(&t->h, pages);
}

/* Take every free page of the zone (as MEMALLOC, past all watermarks). */
static void tight_exhaust(struct tight *t)
{
	struct lab_page *p;
	lab_drain_all_pages(t->z);
	while ((p = lab_alloc_page(t->z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&t->h, p);
}

Test(slab, bulk_is_all_or_nothing)
{
	struct tight t;
	tight_init(&t, 512);
	static void *objs[8192];
	cr_assert_eq(lab_kmem_cache_alloc_bulk(t.c, LAB_GFP_KERNEL, 1000, objs), 1000);
	for (int i = 0; i < 1000; i++) {
		cr_assert_not_null(objs[i]);
		memset(objs[i], 1, 64);
	}
	struct lab_kmem_cache_stats st = cstats(t.c);
	cr_assert_eq(st.active_objs, 1000);
	lab_kmem_cache_free_bulk(t.c, 1000, objs);
	st = cstats(t.c);
	cr_assert_eq(st.active_objs, 0);
	cr_assert_eq(st.allocs, 1000);
	cr_assert_eq(st.frees, 1000);
	lab_kmem_cache_destroy(t.c);
	lab_zone_destroy(t.z);
}

Test(slab, bulk_failure_takes_nothing)
{
	struct tight t;
	tight_init(&t, 256);
	static void *objs[32768];
	/* 256 pages (1 MiB) cannot hold 32768 objects of 64 bytes (2 MiB): the
	 * request fails whole. */
	errno = 0;
	cr_assert_eq(lab_kmem_cache_alloc_bulk(t.c, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, 32768, objs), 0);
	cr_assert_eq(errno, ENOMEM);
	struct lab_kmem_cache_stats st = cstats(t.c);
	cr_assert_eq(st.active_objs, 0, "nothing taken: %zu active", st.active_objs);
	cr_assert_eq(st.allocs, st.frees);
	lab_kmem_cache_shrink(t.c);
	cr_assert_eq(zone_free_all(t.z), 256, "every page back");
	lab_kmem_cache_destroy(t.c);
	lab_zone_destroy(t.z);
}

Test(slab, sheaf_never_fails_while_it_holds_objects)
{
	struct tight t;
	tight_init(&t, 256);
	struct lab_slab_sheaf *sh = lab_kmem_cache_prefill_sheaf(t.c, LAB_GFP_KERNEL, 300);
	cr_assert_not_null(sh);
	cr_assert_eq(lab_kmem_cache_sheaf_size(sh), 300);
	/* Now the zone and the cache are out of memory for everyone else. */
	tight_exhaust(&t);
	lab_kmem_cache_shrink(t.c);
	static void *hold[20000];
	size_t nh = 0;
	void *o;
	while ((o = lab_kmem_cache_alloc(t.c, LAB_GFP_ATOMIC | LAB_GFP_NOWARN)))
		hold[nh++] = o;
	cr_assert_null(lab_kmem_cache_alloc(t.c, LAB_GFP_ATOMIC | LAB_GFP_NOWARN));
	/* Inside the "critical section": 300 allocations that cannot fail. */
	lab_atomic_enter();
	for (int i = 0; i < 300; i++) {
		void *x = lab_kmem_cache_alloc_from_sheaf(t.c, LAB_GFP_ATOMIC | LAB_GFP_ZERO, sh);
		cr_assert_not_null(x, "sheaf allocation %d failed", i);
		for (int b = 0; b < 64; b++)
			cr_assert_eq(((unsigned char *)x)[b], 0);
		hold[nh++] = x;
	}
	lab_atomic_exit();
	errno = 0;
	cr_assert_null(lab_kmem_cache_alloc_from_sheaf(t.c, LAB_GFP_ATOMIC, sh), "empty now");
	cr_assert_eq(errno, ENOMEM);
	lab_kmem_cache_return_sheaf(t.c, LAB_GFP_KERNEL, sh);
	for (size_t i = 0; i < nh; i++)
		lab_kmem_cache_free(t.c, hold[i]);
	/* On the exhausted zone a prefill fails whole. */
	lab_kmem_cache_shrink(t.c);
	tight_exhaust(&t);
	errno = 0;
	cr_assert_null(lab_kmem_cache_prefill_sheaf(t.c, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, 20000));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(cstats(t.c).active_objs, 0);
	held_free_all(&t.h);
	lab_kmem_cache_destroy(t.c);
	cr_assert_eq(zone_free_all(t.z), 256);
	lab_zone_destroy(t.z);
}

Test(slab, sheaf_partial_use_returns_the_rest)
{
	struct tight t;
	tight_init(&t, 256);
	struct lab_slab_sheaf *sh = lab_kmem_cache_prefill_sheaf(t.c, LAB_GFP_KERNEL, 10);
	void *a = lab_kmem_cache_alloc_from_sheaf(t.c, 0, sh);
	cr_assert_not_null(a);
	cr_assert_eq(lab_kmem_cache_sheaf_size(sh), 9);
	cr_assert_eq(cstats(t.c).active_objs, 10, "sheaf objects count as active");
	lab_kmem_cache_return_sheaf(t.c, LAB_GFP_KERNEL, sh);
	cr_assert_eq(cstats(t.c).active_objs, 1);
	lab_kmem_cache_free(t.c, a);
	cr_assert_eq(cstats(t.c).active_objs, 0);
	lab_kmem_cache_destroy(t.c);
	lab_zone_destroy(t.z);
}

/* ---- shrinking and statistics ------------------------------------------- */

Test(slab, shrink_gives_every_empty_slab_back)
{
	struct lab_zone *z = quiet_zone(2048);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-shrink", 128, 0, 0, NULL);
	static void *o[6000];
	for (int i = 0; i < 6000; i++)
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	size_t used = 2048 - zone_free_all(z);
	struct lab_kmem_cache_stats st = cstats(c);
	cr_assert_geq(used, st.pages, "the slabs' pages come from the zone");
	for (int i = 0; i < 6000; i++)
		lab_kmem_cache_free(c, o[i]);
	int pages = lab_kmem_cache_shrink(c);
	st = cstats(c);
	cr_assert_gt(pages, 0);
	cr_assert_eq(st.pages, 0, "%zu pages left after shrinking", st.pages);
	cr_assert_eq(st.slabs, 0);
	cr_assert_eq(st.cpu_cached, 0, "the per-CPU arrays were flushed");
	cr_assert_eq(zone_free_all(z), 2048);
	cr_assert_eq(lab_kmem_cache_shrink(c), 0, "nothing more to give");
	cr_assert_eq(lab_kmem_cache_shrink(NULL) >= 0, 1);
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

/* White-box: the header cache is the library's own (slab/slab.h). */
Test(slab, shrink_null_gives_back_the_slab_headers_too)
{
	struct lab_zone *z = quiet_zone(2048);
	/* Page-sized objects keep their slab's header off the slab. */
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-offslab", 4096, 4096, 0, NULL);
	cr_assert_not_null(c);
	cr_assert(c->off_slab, "a page-sized object's slab keeps its header elsewhere");
	static void *o[300];
	for (int i = 0; i < 300; i++)
		cr_assert_not_null(o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL));
	struct lab_kmem_cache_stats hs = cstats(lab__slab_header_cache);
	cr_assert_geq(hs.active_objs, cstats(c).slabs, "one header per slab");
	for (int i = 0; i < 300; i++)
		lab_kmem_cache_free(c, o[i]);
	cr_assert_gt(lab_kmem_cache_shrink(c), 0);
	cr_assert_eq(cstats(c).slabs, 0);
	hs = cstats(lab__slab_header_cache);
	cr_assert_eq(hs.active_objs, 0, "every header went back to the header cache");
	cr_assert_gt(hs.pages, 0, "which keeps its own slabs until it is shrunk");
	size_t meta_free = zone_free_all(lab_default_zone());
	cr_assert_geq(lab_kmem_cache_shrink(NULL), (int)hs.pages);
	hs = cstats(lab__slab_header_cache);
	cr_assert_eq(hs.pages, 0, "the header cache gave its pages back");
	cr_assert_eq(hs.slabs, 0);
	cr_assert_gt(zone_free_all(lab_default_zone()), meta_free, "to the default zone");
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

Test(slab, slabinfo_has_the_proc_format_and_the_numbers)
{
	struct lab_zone *z = quiet_zone(1024);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-info", 200, 0, 0, NULL);
	static void *o[500];
	for (int i = 0; i < 500; i++)
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	lab_slabinfo(f);
	fclose(f);
	cr_assert(!strncmp(buf, "slabinfo - version: 2.1\n# name ", 31), "%s", buf);
	const char *line = strstr(buf, "\nt-info ");
	cr_assert_not_null(line, "%s", buf);
	unsigned long active, num, objsize, perslab, pages, limit, batch, shared, aslabs, nslabs, avail;
	cr_assert_eq(sscanf(line + 1, "t-info %lu %lu %lu %lu %lu : tunables %lu %lu %lu : slabdata "
			    "%lu %lu %lu", &active, &num, &objsize, &perslab, &pages, &limit, &batch,
			    &shared, &aslabs, &nslabs, &avail), 11, "%s", line);
	struct lab_kmem_cache_stats st = cstats(c);
	cr_assert_eq(active, st.active_objs);
	cr_assert_eq(num, st.total_objs);
	cr_assert_eq(objsize, st.size);
	cr_assert_eq(perslab, st.objs_per_slab);
	cr_assert_eq(pages, 1ul << st.order);
	cr_assert_eq(nslabs, st.slabs);
	cr_assert_leq(active, num);
	free(buf);
	for (int i = 0; i < 500; i++)
		lab_kmem_cache_free(c, o[i]);
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

/* ---- kmalloc ------------------------------------------------------------ */

Test(slab, kmalloc_every_size_fits_and_power_of_two_sizes_are_aligned)
{
	for (size_t size = 1; size <= 3 * LAB_KMALLOC_MAX_CACHE_SIZE; size += size < 512 ? 1 : 61) {
		unsigned char *p = lab_kmalloc(size, LAB_GFP_KERNEL);
		cr_assert_not_null(p, "size %zu", size);
		size_t ks = lab_ksize(p);
		cr_assert_geq(ks, size, "size %zu: ksize %zu", size, ks);
		memset(p, 0x33, ks);
		lab_kfree(p);
	}
	for (size_t size = 8; size <= 4096; size *= 2) {
		void *p = lab_kmalloc(size, LAB_GFP_ATOMIC);
		cr_assert_eq((uintptr_t)p % size, 0, "kmalloc(%zu) at %p", size, p);
		cr_assert_eq(lab_ksize(p), size);
		lab_kfree(p);
	}
	/* Beyond the classes: whole blocks of pages. */
	size_t big = 3 * lab_page_size() + 1;
	void *b = lab_kmalloc(big, LAB_GFP_KERNEL);
	cr_assert_eq((uintptr_t)b % lab_page_size(), 0);
	cr_assert_eq(lab_ksize(b), 4 * lab_page_size());
	lab_kfree(b);
	void *z = lab_kzalloc(100, LAB_GFP_KERNEL);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(((unsigned char *)z)[i], 0);
	lab_kfree(z);
	cr_assert_not_null(lab_default_zone());
	cr_assert_eq(lab_page_zone(lab_virt_to_page(z)), lab_default_zone());
}

Test(slab, kmalloc_zero_size_pointer)
{
	void *p = lab_kmalloc(0, LAB_GFP_KERNEL);
	cr_assert_eq(p, LAB_ZERO_SIZE_PTR);
	cr_assert(LAB_ZERO_OR_NULL_PTR(p));
	cr_assert_eq(lab_ksize(p), 0);
	lab_kfree(p);
	lab_kfree(NULL);
	lab_kfree_sensitive(NULL);
	cr_assert_eq(lab_ksize(NULL), 0);
}

Test(slab, krealloc_keeps_contents_and_follows_the_kernel)
{
	unsigned char *p = lab_krealloc(NULL, 20, LAB_GFP_KERNEL);
	cr_assert_not_null(p);
	memset(p, 0x41, 20);
	cr_assert_eq(lab_krealloc(p, 24, LAB_GFP_KERNEL), p, "fits the same object");
	unsigned char *q = lab_krealloc(p, 3000, LAB_GFP_KERNEL);
	cr_assert_not_null(q);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(q[i], 0x41);
	unsigned char *r = lab_krealloc(q, 100000, LAB_GFP_KERNEL);
	cr_assert_not_null(r);
	cr_assert_eq(r[19], 0x41);
	cr_assert_eq(lab_krealloc(r, 0, LAB_GFP_KERNEL), LAB_ZERO_SIZE_PTR, "size 0 frees");
	/* A failed krealloc leaves the object alone. */
	unsigned char *s = lab_kmalloc(64, LAB_GFP_KERNEL);
	s[0] = 9;
	errno = 0;
	cr_assert_null(lab_krealloc(s, SIZE_MAX / 2, LAB_GFP_KERNEL));
	cr_assert_eq(s[0], 9);
	lab_kfree(s);
}

/* Read len bytes at addr through the kernel: the object is free, and
 * neither ASan nor Valgrind lets the program itself read it. */
static void kernel_read(const void *addr, void *buf, size_t len)
{
	int fd = open("/proc/self/mem", O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, len, (off_t)(uintptr_t)addr), (ssize_t)len);
	close(fd);
}

Test(slab, kfree_sensitive_wipes_the_whole_object)
{
	unsigned char *p = lab_kmalloc(100, LAB_GFP_KERNEL);
	size_t n = lab_ksize(p);
	cr_assert_eq(n, 128);
	memset(p, 0xab, n);
	lab_kfree_sensitive(p);
	unsigned char buf[128];
	kernel_read(p, buf, n);
	/* The first word may hold the free list's link by now. */
	for (size_t i = 8; i < n; i++)
		cr_assert_eq(buf[i], 0, "byte %zu of %zu survived", i, n);
	for (size_t i = 0; i < 8; i++)
		cr_assert_neq(buf[i], 0xab);
}

/* ---- the default zone ----------------------------------------------------- */

Test(slab, default_zone_from_labyrinth_zone)
{
	setenv("LABYRINTH_ZONE", "size=2M,max=64M,nodump", 1);
	struct lab_zone *z = lab_default_zone();
	cr_assert_not_null(z);
	cr_assert_eq(lab_default_zone(), z, "made once");
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.managed, (2u << 20) / lab_page_size());
	cr_assert(st.prot_wanted & LAB_ZONE_NODUMP);
	/* It grows for sleeping callers: 8 MiB of objects in a 2 MiB zone. */
	static void *o[(8u << 20) / 256];
	size_t n = sizeof(o) / sizeof(o[0]);
	for (size_t i = 0; i < n; i++) {
		o[i] = lab_kmalloc(256, LAB_GFP_KERNEL);
		cr_assert_not_null(o[i], "object %zu", i);
	}
	lab_zone_get_stats(z, &st);
	cr_assert_gt(st.managed, (8u << 20) / lab_page_size(), "managed %zu", st.managed);
	cr_assert_gt(st.grow, 0);
	for (size_t i = 0; i < n; i++)
		lab_kfree(o[i]);
}

static void bad_zone_spec(void *arg)
{
	setenv("LABYRINTH_ZONE", arg, 1);
	struct lab_zone *z = lab_default_zone();
	if (!z)
		_exit(3);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (st.managed != (4u << 20) / lab_page_size())  /* the defaults */
		_exit(4);
	void *p = lab_kmalloc(64, LAB_GFP_KERNEL);
	if (!p)
		_exit(5);
	lab_kfree(p);
}

Test(slab, bad_labyrinth_zone_is_reported_by_name_and_the_defaults_used)
{
	static char out[4096];
	static char specs[][16] = { "size=banana", "size=4M,bogus", "pkey", "max=12Q" };
	const char *expect[] = { "LABYRINTH_ZONE: bad value 'banana' for 'size'",
				 "LABYRINTH_ZONE: unknown word 'bogus'",
				 "LABYRINTH_ZONE: 'pkey' is not for this zone",
				 "LABYRINTH_ZONE: bad value '12Q' for 'max'" };
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		int status = run_in_child(bad_zone_spec, specs[i], out, sizeof(out));
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "'%s': status %#x\n%s",
			  specs[i], status, out);
		cr_assert_not_null(strstr(out, expect[i]), "'%s':\n%s", specs[i], out);
		cr_assert_not_null(strstr(out, "using the defaults"), "%s", out);
	}
}
