/*
 * fuzz_slab.c - fuzz target: bytes become a sequence of calls on up to
 * FUZZ_CACHES caches of one small zone and on kmalloc (format in fuzz.h),
 * checked against a model after every step.
 *
 * The model knows every object the program holds (in which cache, of what
 * size, in a sheaf or not) and the tag it wrote into it.  For each call it
 * predicts the outcome class: EINVAL for bad arguments; for a valid
 * allocation success or ENOMEM (either may happen on the small zone, but
 * injected failures must happen); for a misuse, exactly one report counted
 * in the cache's errors and nothing freed.  After every step it compares its
 * counts with lab_kmem_cache_get_stats() (active objects, allocs - frees,
 * errors, nothing leaked), and regularly every object's tag and
 * lab_zone_check().  A mismatch aborts with a message (a crash for the
 * fuzzer, with the input saved).
 *
 * Reports of misuse go to stderr; run libFuzzer with -close_fd_mask=2 to
 * keep them out of its output (the target's own messages go to a copy of
 * stderr taken at start-up).
 */
#include "fuzz.h"
#define FUZZ_TARGET "fuzz_slab"
#include "reader.h"

#include <errno.h>
#include <labyrinth.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the model ----------------------------------------------------------- */

#define MAX_OBJS 4096
#define CTOR_BYTE 0xc3

struct obj {
	unsigned char *p;
	uint64_t tag;
};

struct mcache {
	struct lab_kmem_cache *c;
	size_t size, align;
	unsigned int flags;
	bool ctor;
	struct obj *objs;            /* live, outside the sheaf */
	size_t nr;
	struct lab_slab_sheaf *sheaf;
	size_t in_sheaf;
	uint64_t errors;
};

struct kobj {
	unsigned char *p;
	size_t size;
	bool excl;
	uint64_t tag;
};

static struct lab_zone *zone;
static struct mcache caches[FUZZ_CACHES];
static struct kobj *kobjs;
static size_t nr_kobjs;
static uint64_t tag_seq;
static bool failslab_on;
static bool trace;

/* The constructed state: CTOR_BYTE first; the rest is never written. */
static void ctor(void *obj)
{
	*(unsigned char *)obj = CTOR_BYTE;
}

/* A live object carries its tag in its first 8 bytes (or fewer), and the
 * tag's low byte in its last byte; a constructed object keeps CTOR_BYTE. */
static void tag_write(unsigned char *p, size_t size, uint64_t tag, bool constructed)
{
	if (constructed)
		return;
	memcpy(p, &tag, size < 8 ? size : 8);
	p[size - 1] = (unsigned char)tag;
}

static void tag_check(const unsigned char *p, size_t size, uint64_t tag, bool constructed,
		      const char *what)
{
	if (constructed) {
		expect(p[0] == CTOR_BYTE, "%s %p lost its constructed state (%#x)", what,
		       (const void *)p, p[0]);
		return;
	}
	unsigned char want[8];
	size_t n = size < 8 ? size : 8;
	memcpy(want, &tag, n);
	if (size <= 8)
		want[size - 1] = (unsigned char)tag;  /* the last byte, written second */
	expect(!memcmp(p, want, n) && p[size - 1] == (unsigned char)tag,
	       "%s %p of %zu bytes lost its tag %#llx", what, (const void *)p, size,
	       (unsigned long long)tag);
}

static struct lab_kmem_cache_stats cstats(const struct mcache *m)
{
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(m->c, &st);
	return st;
}

/* Compare the model with the library's counts. */
static void check_counts(void)
{
	for (int i = 0; i < FUZZ_CACHES; i++) {
		struct mcache *m = &caches[i];
		if (!m->c)
			continue;
		struct lab_kmem_cache_stats st = cstats(m);
		size_t held = m->nr + m->in_sheaf;
		expect(st.active_objs == held, "cache %d: %zu active, model holds %zu", i,
		       st.active_objs, held);
		expect(st.allocs - st.frees == held, "cache %d: allocs %llu - frees %llu != %zu", i,
		       (unsigned long long)st.allocs, (unsigned long long)st.frees, held);
		expect(st.errors == m->errors, "cache %d: %llu errors, model %llu", i,
		       (unsigned long long)st.errors, (unsigned long long)m->errors);
		expect(st.leaked == 0, "cache %d: %zu leaked", i, st.leaked);
		expect(st.total_objs == st.slabs * st.objs_per_slab, "cache %d: total", i);
	}
}

static void check_everything(void)
{
	for (int i = 0; i < FUZZ_CACHES; i++) {
		struct mcache *m = &caches[i];
		for (size_t k = 0; m->c && k < m->nr; k++)
			tag_check(m->objs[k].p, m->size, m->objs[k].tag, m->ctor, "object");
	}
	for (size_t k = 0; k < nr_kobjs; k++)
		tag_check(kobjs[k].p, kobjs[k].size, kobjs[k].tag, false, "kmalloc object");
	expect(lab_zone_check(zone) == 0, "zone invariants broken (see stderr)");
	check_counts();
}

/* ---- operations ------------------------------------------------------------ */

static const lab_gfp_t gfps[8] = {
	LAB_GFP_ATOMIC, LAB_GFP_NOWAIT, LAB_GFP_KERNEL | LAB_GFP_NORETRY,
	LAB_GFP_ATOMIC | LAB_GFP_ZERO, 0x80000000u | LAB_GFP_ATOMIC,
	LAB_GFP_ATOMIC | LAB_GFP_NOFAIL, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE,
	LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_ZERO,
};

static void destroy(struct mcache *m)
{
	while (m->nr)
		lab_kmem_cache_free(m->c, m->objs[--m->nr].p);
	if (m->sheaf)
		lab_kmem_cache_return_sheaf(m->c, LAB_GFP_KERNEL, m->sheaf);
	m->sheaf = NULL;
	m->in_sheaf = 0;
	check_counts();
	struct lab_kmem_cache_stats st = cstats(m);
	expect(st.active_objs == 0, "destroying with %zu active", st.active_objs);
	lab_kmem_cache_destroy(m->c);
	free(m->objs);
	memset(m, 0, sizeof(*m));
}

static void op_create(struct reader *r)
{
	unsigned slot = u8(r) % FUZZ_CACHES;
	size_t size = u16(r) % 4096 + 1;
	unsigned a = u8(r), f = u8(r);
	struct mcache *m = &caches[slot];
	if (m->c)
		destroy(m);
	size_t align = a & 0x80 ? (size_t)1 << (3 + a % 7) : 0;
	unsigned flags = 0;
	if (f & 1)
		flags |= LAB_SLAB_HWCACHE_ALIGN;
	if (f & 2)
		flags |= LAB_SLAB_RED_ZONE;
	if (f & 4)
		flags |= LAB_SLAB_POISON;
	if (f & 8)
		flags |= LAB_SLAB_STORE_USER;
	if (f & 16)
		flags |= LAB_SLAB_CONSISTENCY_CHECKS;
	if (f & 32)
		flags |= LAB_SLAB_EXCLUSIVE;
	bool with_ctor = f & 64;
	if (f & 128) {  /* invalid: an unknown flag, or a bad alignment */
		errno = 0;
		struct lab_kmem_cache *bad = lab_kmem_cache_create(zone, "fz-bad", size,
			(a & 1) ? 3 : 0, (a & 1) ? flags : flags | 0x40000000u, NULL);
		expect(!bad && errno == EINVAL, "invalid cache accepted (errno %d)", errno);
		return;
	}
	errno = 0;
	m->c = lab_kmem_cache_create(zone, "fz-cache", size, align, flags, with_ctor ? ctor : NULL);
	if ((flags & LAB_SLAB_EXCLUSIVE) && with_ctor) {
		expect(!m->c && errno == EINVAL, "an exclusive cache with a constructor was made");
		memset(m, 0, sizeof(*m));
		return;
	}
	expect(m->c, "cache creation failed: errno %d", errno);
	m->size = size;
	m->align = align ? align : 8;
	m->flags = flags;
	m->ctor = with_ctor;
	m->objs = calloc(MAX_OBJS, sizeof(*m->objs));
	expect(m->objs, "out of memory");
}

static void take(struct mcache *m, unsigned char *p, lab_gfp_t gfp)
{
	expect((uintptr_t)p % m->align == 0, "object %p misaligned to %zu", (void *)p, m->align);
	if ((gfp & LAB_GFP_ZERO) || (m->flags & LAB_SLAB_EXCLUSIVE))
		for (size_t i = 0; i < m->size; i++)
			expect(p[i] == 0, "byte %zu of a zeroed object is %#x", i, p[i]);
	if (m->ctor)
		expect(p[0] == CTOR_BYTE, "object handed out unconstructed");
	uint64_t tag = ++tag_seq;
	tag_write(p, m->size, tag, m->ctor);
	m->objs[m->nr++] = (struct obj){ p, tag };
}

/* The outcome of an allocation under gfp: the object, or the failure the
 * model allows (EINVAL for bad gfp, ENOMEM otherwise, always when failslab
 * is on and the caller cannot sleep). */
static bool bad_gfp(const struct mcache *m, lab_gfp_t gfp)
{
	return (gfp & ~LAB_GFP_ALL_BITS) ||
	       ((gfp & LAB_GFP_NOFAIL) && !(gfp & LAB_GFP_DIRECT_RECLAIM)) ||
	       (m && (gfp & LAB_GFP_ZERO) && m->ctor) ||
	       (m && (gfp & LAB_GFP_EXCLUSIVE) && !(m->flags & LAB_SLAB_EXCLUSIVE));
}

static void after_failure(const struct mcache *m, lab_gfp_t gfp, int err)
{
	if (bad_gfp(m, gfp))
		expect(err == EINVAL, "bad gfp %#x: errno %d, not EINVAL", gfp, err);
	else
		expect(err == ENOMEM, "gfp %#x failed with errno %d", gfp, err);
}

static void op_alloc(struct reader *r)
{
	struct mcache *m = &caches[u8(r) % FUZZ_CACHES];
	lab_gfp_t gfp = gfps[u8(r) % 8];
	if (!m->c || m->nr >= MAX_OBJS)
		return;
	errno = 0;
	unsigned char *p = lab_kmem_cache_alloc(m->c, gfp);
	if (!p) {
		after_failure(m, gfp, errno);
		return;
	}
	expect(!bad_gfp(m, gfp), "bad gfp %#x gave an object", gfp);
	expect(!failslab_on || (gfp & LAB_GFP_DIRECT_RECLAIM), "failslab let %#x through", gfp);
	take(m, p, gfp);
}

static void drop(struct mcache *m, size_t k)
{
	tag_check(m->objs[k].p, m->size, m->objs[k].tag, m->ctor, "object");
	lab_kmem_cache_free(m->c, m->objs[k].p);
	m->objs[k] = m->objs[--m->nr];
}

static void op_free(struct reader *r)
{
	struct mcache *m = &caches[u8(r) % FUZZ_CACHES];
	unsigned which = u8(r);
	if (m->c && m->nr)
		drop(m, which % m->nr);
}

static void op_bulk(struct reader *r)
{
	struct mcache *m = &caches[u8(r) % FUZZ_CACHES];
	unsigned n = u8(r), mode = u8(r);
	if (!m->c)
		return;
	if (mode & 1) {  /* free n */
		void *buf[256];
		size_t k = 0;
		while (k < n && m->nr) {
			size_t i = m->nr - 1;
			tag_check(m->objs[i].p, m->size, m->objs[i].tag, m->ctor, "object");
			buf[k++] = m->objs[--m->nr].p;
		}
		lab_kmem_cache_free_bulk(m->c, k, buf);
		return;
	}
	if (m->nr + n > MAX_OBJS)
		return;
	void *buf[256];
	lab_gfp_t gfp = gfps[(mode >> 1) % 8];
	errno = 0;
	size_t got = lab_kmem_cache_alloc_bulk(m->c, gfp, n, buf);
	if (!got) {
		if (n)
			after_failure(m, gfp, errno);
		return;
	}
	expect(got == n, "bulk gave %zu of %u", got, n);
	for (size_t i = 0; i < got; i++)
		take(m, buf[i], gfp);
}

static void op_sheaf(struct reader *r)
{
	struct mcache *m = &caches[u8(r) % FUZZ_CACHES];
	unsigned n = u8(r) % 64 + 1;
	if (!m->c)
		return;
	if (m->sheaf) {
		lab_kmem_cache_return_sheaf(m->c, LAB_GFP_KERNEL, m->sheaf);
		m->sheaf = NULL;
		m->in_sheaf = 0;
		return;
	}
	errno = 0;
	m->sheaf = lab_kmem_cache_prefill_sheaf(m->c, LAB_GFP_KERNEL | LAB_GFP_NORETRY, n);
	if (!m->sheaf) {
		expect(errno == ENOMEM, "prefill failed with errno %d", errno);
		return;
	}
	m->in_sheaf = n;
	expect(lab_kmem_cache_sheaf_size(m->sheaf) == n, "sheaf of %u", n);
}

static void op_sheaf_alloc(struct reader *r)
{
	struct mcache *m = &caches[u8(r) % FUZZ_CACHES];
	if (!m->c || !m->sheaf || m->nr >= MAX_OBJS)
		return;
	lab_gfp_t gfp = m->ctor ? LAB_GFP_ATOMIC : LAB_GFP_ATOMIC | LAB_GFP_ZERO;
	unsigned char *p = lab_kmem_cache_alloc_from_sheaf(m->c, gfp, m->sheaf);
	if (!m->in_sheaf) {
		expect(!p && errno == ENOMEM, "an empty sheaf gave an object");
		return;
	}
	expect(p, "a sheaf holding %zu objects failed", m->in_sheaf);
	m->in_sheaf--;
	take(m, p, gfp);
}

static void op_kmalloc(struct reader *r)
{
	unsigned field = u16(r), g = u8(r);
	size_t size = field & 0x8000 ? (size_t)(field & 0x7fff) * 4 : field % 8192;
	lab_gfp_t gfp = (g & 1) ? LAB_GFP_KERNEL | LAB_GFP_NORETRY : LAB_GFP_ATOMIC;
	bool excl = g & 2;
	if (excl)
		gfp |= LAB_GFP_EXCLUSIVE;
	if (g & 4)
		gfp |= LAB_GFP_ZERO;
	if (nr_kobjs >= MAX_OBJS)
		return;
	errno = 0;
	unsigned char *p = lab_kmalloc(size, gfp);
	if (!size) {
		expect(p == LAB_ZERO_SIZE_PTR, "kmalloc(0) gave %p", (void *)p);
		return;
	}
	bool must_fail = failslab_on && size <= LAB_KMALLOC_MAX_CACHE_SIZE &&
			 !(gfp & LAB_GFP_DIRECT_RECLAIM);
	if (!p) {
		expect(errno == ENOMEM, "kmalloc(%zu, %#x): errno %d", size, gfp, errno);
		return;
	}
	expect(!must_fail, "failslab let kmalloc(%zu, %#x) through", size, gfp);
	expect(lab_ksize(p) >= size, "ksize %zu < %zu", lab_ksize(p), size);
	if (excl || (gfp & LAB_GFP_ZERO))
		for (size_t i = 0; i < size; i++)
			expect(p[i] == 0, "byte %zu of a zeroed kmalloc object is %#x", i, p[i]);
	uint64_t tag = ++tag_seq;
	tag_write(p, size, tag, false);
	kobjs[nr_kobjs++] = (struct kobj){ p, size, excl, tag };
}

static void op_kfree(struct reader *r)
{
	unsigned which = u8(r), how = u8(r);
	if (!nr_kobjs)
		return;
	size_t k = which % nr_kobjs;
	struct kobj *o = &kobjs[k];
	tag_check(o->p, o->size, o->tag, false, "kmalloc object");
	if (how & 1) {  /* krealloc */
		size_t size = (size_t)u16(r) % 10000 + 1;
		unsigned char *p = lab_krealloc(o->p, size, LAB_GFP_KERNEL | LAB_GFP_NORETRY);
		if (!p)
			return;  /* the old object stays */
		if (size >= o->size)
			tag_check(p, o->size, o->tag, false, "reallocated object");
		expect(lab_ksize(p) >= size, "ksize after krealloc");
		o->p = p;
		o->size = size;
		o->tag = ++tag_seq;
		tag_write(p, size, o->tag, false);
		return;
	}
	if (how & 2)
		lab_kfree_sensitive(o->p);
	else
		lab_kfree(o->p);
	kobjs[k] = kobjs[--nr_kobjs];
}

static void op_shrink(struct reader *r)
{
	unsigned slot = u8(r);
	if (slot == 0xff) {
		expect(lab_kmem_cache_shrink(NULL) >= 0, "shrink(NULL)");
		return;
	}
	struct mcache *m = &caches[slot % FUZZ_CACHES];
	if (m->c)
		expect(lab_kmem_cache_shrink(m->c) >= 0, "shrink");
}

/* Misuse: exactly one report, nothing freed, the victim intact. */
static void op_misuse(struct reader *r)
{
	struct mcache *m = &caches[u8(r) % FUZZ_CACHES];
	unsigned kind = u8(r) % 5, which = u8(r);
	if (!m->c)
		return;
	long on_stack[4] = { 0 };
	switch (kind) {
	case 0: {  /* another cache's object */
		struct mcache *o = NULL;
		for (int i = 0; i < FUZZ_CACHES; i++)
			if (caches[i].c && &caches[i] != m && caches[i].nr)
				o = &caches[i];
		if (!o)
			return;
		lab_kmem_cache_free(m->c, o->objs[which % o->nr].p);
		m->errors++;
		break;
	}
	case 1:    /* not an object at all */
		lab_kmem_cache_free(m->c, on_stack);
		m->errors++;
		break;
	case 2:    /* inside an object */
		if (!m->nr || m->size < 2)
			return;
		lab_kmem_cache_free(m->c, m->objs[which % m->nr].p + 1);
		m->errors++;
		break;
	case 3: {  /* a double free: debugged caches catch any */
		if (!(m->flags & (LAB_SLAB_RED_ZONE | LAB_SLAB_POISON | LAB_SLAB_STORE_USER |
				  LAB_SLAB_CONSISTENCY_CHECKS)) || !m->nr)
			return;
		unsigned char *p = m->objs[which % m->nr].p;
		drop(m, which % m->nr);
		lab_kmem_cache_free(m->c, p);
		m->errors++;
		break;
	}
	case 4:    /* kfree of what no cache gave */
		lab_kfree(on_stack);
		lab_kfree(on_stack + 1);
		break;
	}
}

static void op_failslab(struct reader *r)
{
	unsigned v = u8(r);
	struct lab_fault_attr a = { .probability = (v & 1) ? 100 : 0, .interval = 1, .times = -1,
				    .verbose = 0, .ignore_gfp_wait = true };
	expect(lab_failslab_set(&a, false) == 0, "failslab_set");
	failslab_on = v & 1;
}

enum {
	SOP_CREATE, SOP_DESTROY, SOP_ALLOC, SOP_FREE, SOP_BULK, SOP_SHEAF, SOP_SHEAF_ALLOC,
	SOP_KMALLOC, SOP_KFREE, SOP_SHRINK, SOP_MISUSE, SOP_FAILSLAB, SOP_CHECK, SOP_NR
};
static const char *const names[SOP_NR] = {
	"create", "destroy", "alloc", "free", "bulk", "sheaf", "sheaf_alloc", "kmalloc", "kfree",
	"shrink", "misuse", "failslab", "check",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	int fd = dup(STDERR_FILENO);
	if (fd >= 0)
		report_fd = fd;
	trace = getenv("FUZZ_SLAB_TRACE") != NULL;  /* each step, to replay a failure */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = { data, size };
	struct lab_zone_config cfg = { .name = "fz", .pages = 1024, .flags = LAB_ZONE_NO_KSWAPD };
	zone = lab_zone_create(&cfg);
	expect(zone, "zone creation failed");
	kobjs = calloc(MAX_OBJS, sizeof(*kobjs));
	expect(kobjs, "out of memory");
	step_no = 0;
	while (r.n) {
		unsigned op = u8(&r) % SOP_NR;
		op_name = names[op];
		step_no++;
		if (trace)
			dprintf(report_fd, "step %llu %s\n", (unsigned long long)step_no, op_name);
		switch (op) {
		case SOP_CREATE: op_create(&r); break;
		case SOP_DESTROY: {
			struct mcache *m = &caches[u8(&r) % FUZZ_CACHES];
			if (m->c)
				destroy(m);
			break;
		}
		case SOP_ALLOC: op_alloc(&r); break;
		case SOP_FREE: op_free(&r); break;
		case SOP_BULK: op_bulk(&r); break;
		case SOP_SHEAF: op_sheaf(&r); break;
		case SOP_SHEAF_ALLOC: op_sheaf_alloc(&r); break;
		case SOP_KMALLOC: op_kmalloc(&r); break;
		case SOP_KFREE: op_kfree(&r); break;
		case SOP_SHRINK: op_shrink(&r); break;
		case SOP_MISUSE: op_misuse(&r); break;
		case SOP_FAILSLAB: op_failslab(&r); break;
		case SOP_CHECK: check_everything(); break;
		}
		check_counts();
		if (step_no % 16 == 0)
			check_everything();
	}
	op_name = "end";
	check_everything();
	struct lab_fault_attr off = { .interval = 1, .times = 1, .verbose = 2, .ignore_gfp_wait = true };
	lab_failslab_set(&off, false);
	failslab_on = false;
	for (int i = 0; i < FUZZ_CACHES; i++)
		if (caches[i].c)
			destroy(&caches[i]);
	while (nr_kobjs)
		lab_kfree(kobjs[--nr_kobjs].p);
	free(kobjs);
	kobjs = NULL;
	lab_kmem_cache_shrink(NULL);
	struct lab_zone_stats st;
	lab_zone_get_stats(zone, &st);
	expect(st.free + st.pcp == st.managed, "pages lost: free %zu + lists %zu != %zu", st.free,
	       st.pcp, st.managed);
	lab_zone_destroy(zone);
	zone = NULL;
	return 0;
}
