/* test_slab_misuse.c - every misuse of the slab layer gets a SLUB-style
 * report ("BUG <cache>: <what>", the object's address, with U who allocated
 * and freed it) in a child process, and loses nothing: the object is never
 * handed out again, the rest of the cache keeps working.  Always caught: a
 * pointer no cache handed out, an object freed to the wrong cache, a pointer
 * into the middle of an object, a double free of the object freed last on
 * this CPU, a slab page freed as a page.  With debugging: any double free
 * (F or any flag), red-zone overwrites (Z), writes after free (P), objects
 * left at destroy (with U their allocation stacks).  ASan and Valgrind see
 * free objects as unaddressable. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

static char out[65536];

static void assert_child_said(int status, const char *needle)
{
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: status %#x\n%s",
		  status, out);
	cr_assert_not_null(strstr(out, needle), "expected \"%s\" in:\n%s", needle, out);
}

/* The deliberate bugs below write through the kernel (/proc/self/mem), as
 * test_poison does: ASan and Valgrind would stop a plain write themselves
 * (their tests are at the end), and the library's own checks are what is
 * tested here. */
static void poke(void *addr, unsigned char byte)
{
	int fd = open("/proc/self/mem", O_WRONLY);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(pwrite(fd, &byte, 1, (off_t)(uintptr_t)addr) == 1);
	close(fd);
}

static struct lab_kmem_cache_stats cstats(const struct lab_kmem_cache *c)
{
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(c, &st);
	return st;
}

static struct lab_zone *quiet_zone(void)
{
	struct lab_zone_config cfg = { .name = "misuse", .pages = 1024, .flags = LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	if (!z)
		_exit(2);
	return z;
}

/* Allocate many objects: none may be `bad` (it must never be reused). */
static void check_never_reused(struct lab_kmem_cache *c, const void *bad, size_t n)
{
	void **o = calloc(n, sizeof(void *));
	CHILD_CHECK(o);
	for (size_t i = 0; i < n; i++) {
		o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
		CHILD_CHECK(o[i]);
		CHILD_CHECK(o[i] != bad);
		for (size_t j = 0; j < i; j++)
			CHILD_CHECK(o[j] != o[i]);  /* never handed out twice */
	}
	for (size_t i = 0; i < n; i++)
		lab_kmem_cache_free(c, o[i]);
	free(o);
}

/* ---- always caught -------------------------------------------------------- */

static void foreign_pointers(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-foreign", 64, 0, 0, NULL);
	long on_stack[8];
	void *heap = malloc(64);
	struct lab_page *page = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_kmem_cache_free(c, on_stack);
	lab_kmem_cache_free(c, heap);
	lab_kfree(on_stack);
	lab_kfree(lab_page_address(page));   /* a page, not an object */
	CHILD_CHECK(lab_ksize(heap) == 0);
	struct lab_kmem_cache_stats st = cstats(c);
	CHILD_CHECK(st.errors == 2 && st.frees == 0 && st.active_objs == 0);
	lab_free_page(page);
	free(heap);
	void *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);  /* the cache still works */
	CHILD_CHECK(o);
	lab_kmem_cache_free(c, o);
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

Test(slab_misuse, a_pointer_no_cache_handed_out_is_reported_and_nothing_freed)
{
	int status = run_in_child(foreign_pointers, NULL, out, sizeof(out));
	assert_child_said(status, "BUG t-foreign (Not tainted): Invalid object pointer: not an "
				  "object of any slab cache");
	cr_assert_not_null(strstr(out, "BUG lab_kfree: Invalid pointer 0x"), "%s", out);
	cr_assert_not_null(strstr(out, "not in any zone"), "%s", out);
	cr_assert_not_null(strstr(out, "on no slab and no kmalloc block"), "%s", out);
	cr_assert_not_null(strstr(out, "BUG lab_ksize: Invalid pointer"), "%s", out);
	cr_assert_not_null(strstr(out, "FIX t-foreign: Nothing freed"), "%s", out);
	cr_assert_geq(count_of(out, "Call Trace:"), 4, "each report has a stack:\n%s", out);
}

static void wrong_cache(void *arg)
{
	unsigned int flags = (unsigned int)(uintptr_t)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *a = lab_kmem_cache_create(z, "t-cache-a", 64, 0, flags, NULL);
	struct lab_kmem_cache *b = lab_kmem_cache_create(z, "t-cache-b", 64, 0, flags, NULL);
	unsigned char *o = lab_kmem_cache_alloc(a, LAB_GFP_KERNEL);
	memset(o, 0x5c, 64);
	lab_kmem_cache_free(b, o);
	CHILD_CHECK(cstats(a).active_objs == 1);  /* still a's, still allocated */
	CHILD_CHECK(cstats(b).errors == 1);
	CHILD_CHECK(o[63] == 0x5c);
	/* Another zone's cache's object, freed to b. */
	struct lab_zone *z2 = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z2, "t-cache-c", 64, 0, flags, NULL);
	void *oc = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	lab_kmem_cache_free(b, oc);
	CHILD_CHECK(cstats(c).active_objs == 1);
	check_never_reused(b, o, 300);
	lab_kmem_cache_free(a, o);  /* the right cache takes it */
	lab_kmem_cache_free(c, oc);
	CHILD_CHECK(cstats(a).active_objs == 0 && cstats(c).active_objs == 0);
}

Test(slab_misuse, a_free_to_the_wrong_cache_is_reported_and_the_object_kept)
{
	int status = run_in_child(wrong_cache, NULL, out, sizeof(out));
	assert_child_said(status, "BUG t-cache-b (Not tainted): Wrong slab cache: object is from "
				  "t-cache-a");
	cr_assert_not_null(strstr(out, "Wrong slab cache: object is from t-cache-c"), "%s", out);
	cr_assert_not_null(strstr(out, "FIX t-cache-b: Object not freed"), "%s", out);
	/* Same with every debugging flag on. */
	status = run_in_child(wrong_cache, (void *)(uintptr_t)(LAB_SLAB_CONSISTENCY_CHECKS |
		LAB_SLAB_RED_ZONE | LAB_SLAB_POISON | LAB_SLAB_STORE_USER), out, sizeof(out));
	assert_child_said(status, "Wrong slab cache: object is from t-cache-a");
}

static void interior_pointer(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-interior", 48, 0, 0, NULL);
	char *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	lab_kmem_cache_free(c, o + 8);
	lab_kfree(o + 16);
	CHILD_CHECK(lab_ksize(o + 1) == 0);
	CHILD_CHECK(cstats(c).active_objs == 1);
	char *big = lab_kmalloc(3 * lab_page_size(), LAB_GFP_KERNEL);
	lab_kfree(big + lab_page_size());  /* a tail page of a kmalloc block */
	lab_kfree(big + 8);
	lab_kfree(big);
	lab_kmem_cache_free(c, o);
	CHILD_CHECK(cstats(c).active_objs == 0);
}

Test(slab_misuse, a_pointer_into_an_object_is_reported_and_nothing_freed)
{
	int status = run_in_child(interior_pointer, NULL, out, sizeof(out));
	assert_child_said(status, "BUG t-interior (Not tainted): Invalid object pointer: not at the "
				  "start of an object");
	cr_assert_geq(count_of(out, "not at the start of an object"), 3, "%s", out);
	cr_assert_not_null(strstr(out, "inside a kmalloc block of pages, not at its start"), "%s",
			   out);
}

static void cheap_double_free(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-double", 64, 0, 0, NULL);
	void *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	lab_kmem_cache_free(c, o);
	lab_kmem_cache_free(c, o);  /* the last object freed on this CPU */
	struct lab_kmem_cache_stats st = cstats(c);
	CHILD_CHECK(st.errors == 1);
	CHILD_CHECK(st.allocs == st.frees);
	check_never_reused(c, NULL, 300);  /* o is on the array once */
	void *k = lab_kmalloc(100, LAB_GFP_ATOMIC);
	lab_kfree(k);
	lab_kfree(k);
}

Test(slab_misuse, freeing_the_last_freed_object_again_is_caught_without_debugging)
{
	int status = run_in_child(cheap_double_free, NULL, out, sizeof(out));
	assert_child_said(status, "BUG t-double (Not tainted): Object already free (double free)");
	cr_assert_not_null(strstr(out, "BUG kmalloc-128 (Not tainted): Object already free"), "%s",
			   out);
	cr_assert_not_null(strstr(out, "FIX t-double: Object not freed again"), "%s", out);
}

static void slab_page_as_page(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-page", 64, 0, 0, NULL);
	unsigned char *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	memset(o, 7, 64);
	struct lab_page *page = lab_virt_to_page(o);
	struct lab_zone_stats before, after;
	lab_zone_get_stats(z, &before);
	lab_free_pages(page, 0);
	lab_zone_get_stats(z, &after);
	CHILD_CHECK(after.bad_page == before.bad_page + 1);
	CHILD_CHECK(o[10] == 7);
	lab_kmem_cache_free(c, o);
	CHILD_CHECK(cstats(c).active_objs == 0);
}

Test(slab_misuse, freeing_a_slab_page_as_a_page_is_a_bad_page_and_the_slab_lives)
{
	int status = run_in_child(slab_page_as_page, NULL, out, sizeof(out));
	assert_child_said(status, "BUG: Bad page state in process");
	cr_assert_not_null(strstr(out, "freeing a page that belongs to a slab cache"), "%s", out);
	cr_assert_not_null(strstr(out, "slab"), "%s", out);
}

/* A kmalloc block of pages goes back whole on lab_kfree (the free's claim
 * takes its slab mark too); a second lab_kfree of it is reported and frees
 * nothing; one freed with its page lock held is reported as a page freed
 * locked is, and leaked. */
static void large_block_frees(void *arg)
{
	(void)arg;
	size_t size = 3 * lab_page_size() + 1;  /* an order-2 block */
	lab_kfree(lab_kmalloc(size, LAB_GFP_KERNEL));  /* the default zone and its lists */
	struct lab_zone *z = lab_default_zone();
	struct lab_zone_stats a, b;
	lab_zone_get_stats(z, &a);
	char *big = lab_kmalloc(size, LAB_GFP_KERNEL);
	CHILD_CHECK(big);
	lab_kfree(big);
	lab_zone_get_stats(z, &b);
	CHILD_CHECK(b.allocated == a.allocated && b.free_calls == a.free_calls + 1);
	CHILD_CHECK(b.bad_page == a.bad_page && lab_zone_check(z) == 0);
	lab_kfree(big);
	lab_zone_get_stats(z, &b);
	CHILD_CHECK(b.allocated == a.allocated && b.free_calls == a.free_calls + 1);
	char *x = lab_kmalloc(size, LAB_GFP_KERNEL), *y = lab_kmalloc(size, LAB_GFP_KERNEL);
	CHILD_CHECK(x && y && x != y);  /* back once, for one owner */
	lab_kfree(y);
	struct lab_page *pg = lab_virt_to_page(x);
	lab_lock_page(pg);
	lab_kfree(x);
	lab_zone_get_stats(z, &b);
	CHILD_CHECK(b.leaked == a.leaked + 4 && b.bad_page == a.bad_page + 1);
	CHILD_CHECK(lab_zone_check(z) == 0);
	fprintf(stderr, "large blocks: back whole, once\n");
}

Test(slab_misuse, a_kmalloc_block_of_pages_goes_back_whole_and_once)
{
	int status = run_in_child(large_block_frees, NULL, out, sizeof(out));
	assert_child_said(status, "large blocks: back whole, once");
	cr_assert_not_null(strstr(out, "in a zone, but on no slab and no kmalloc block"), "%s", out);
	/* Leaked, its slab mark gone as from any kmalloc block freed. */
	cr_assert_not_null(strstr(out, "flags: 0x49(locked|allocated|bad)\npage dumped because: "
				       "freed while the page lock is held"), "%s", out);
}

/* ---- with debugging -------------------------------------------------------- */

/* Public and not inlined, so that U's stacks name them. */
__attribute__((noinline)) void *slab_test_allocator(struct lab_kmem_cache *c);
__attribute__((noinline)) void *slab_test_allocator(struct lab_kmem_cache *c)
{
	void *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	__asm__ __volatile__("" ::: "memory");
	return o;
}

__attribute__((noinline)) void slab_test_freer(struct lab_kmem_cache *c, void *o);
__attribute__((noinline)) void slab_test_freer(struct lab_kmem_cache *c, void *o)
{
	lab_kmem_cache_free(c, o);
	__asm__ __volatile__("" ::: "memory");
}

static void debug_double_free(void *arg)
{
	unsigned int flags = (unsigned int)(uintptr_t)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-dbl", 40, 0, flags, NULL);
	void *o = slab_test_allocator(c);
	void *other = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	slab_test_freer(c, o);
	lab_kmem_cache_free(c, other);  /* o is no longer the last freed */
	lab_kmem_cache_free(c, o);
	struct lab_kmem_cache_stats st = cstats(c);
	CHILD_CHECK(st.errors == 1);
	CHILD_CHECK(st.active_objs == 0 && st.allocs == st.frees);
	check_never_reused(c, NULL, 500);
}

Test(slab_misuse, any_double_free_is_caught_with_debugging_and_u_names_who)
{
	int status = run_in_child(debug_double_free, (void *)(uintptr_t)(LAB_SLAB_CONSISTENCY_CHECKS |
		LAB_SLAB_STORE_USER), out, sizeof(out));
	assert_child_said(status, "BUG t-dbl (Not tainted): Object already free (double free)");
	cr_assert_not_null(strstr(out, "INFO: Object 0x"), "%s", out);
	cr_assert_not_null(strstr(out, "INFO: Allocated age="), "%s", out);
	cr_assert_not_null(strstr(out, "slab_test_allocator"), "U names the allocator:\n%s", out);
	cr_assert_not_null(strstr(out, "INFO: Freed age="), "%s", out);
	cr_assert_not_null(strstr(out, "slab_test_freer"), "U names the first free:\n%s", out);
	cr_assert_not_null(strstr(out, "INFO: Slab 0x"), "%s", out);
	/* The state word alone catches it with any flag, Z say. */
	status = run_in_child(debug_double_free, (void *)(uintptr_t)LAB_SLAB_RED_ZONE, out,
			      sizeof(out));
	assert_child_said(status, "Object already free (double free)");
}

static void redzone_overwrite(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-redzone", 40, 0,
							 LAB_SLAB_RED_ZONE | LAB_SLAB_STORE_USER, NULL);
	unsigned char *o = slab_test_allocator(c);
	poke(o + 40, 0);       /* one byte past the end */
	lab_kmem_cache_free(c, o);
	struct lab_kmem_cache_stats st = cstats(c);
	CHILD_CHECK(st.errors == 1 && st.leaked == 1 && st.active_objs == 1);
	check_never_reused(c, o, 500);
	unsigned char *p = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	poke(p - 1, 0);        /* one byte before the start */
	lab_kmem_cache_free(c, p);
	CHILD_CHECK(cstats(c).leaked == 2);
	check_never_reused(c, p, 500);
}

Test(slab_misuse, a_red_zone_overwrite_is_reported_and_the_object_never_reused)
{
	int status = run_in_child(redzone_overwrite, NULL, out, sizeof(out));
	assert_child_said(status, "BUG t-redzone (Not tainted): Right Redzone overwritten at byte 40 "
				  "of the object (written out of bounds)");
	cr_assert_not_null(strstr(out, "Left Redzone overwritten at byte -"), "%s", out);
	cr_assert_not_null(strstr(out, "FIX t-redzone: Object not freed (never reused)"), "%s", out);
	cr_assert_not_null(strstr(out, "slab_test_allocator"), "%s", out);
	if (!running_on_valgrind())  /* the bytes are not the library's to read there */
		cr_assert_not_null(strstr(out, "Redzone  0x"), "the red zone's bytes:\n%s", out);
}

static void write_after_free(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-poison", 64, 0,
							 LAB_SLAB_POISON | LAB_SLAB_STORE_USER, NULL);
	volatile unsigned char *o = slab_test_allocator(c);
	slab_test_freer(c, (void *)(uintptr_t)o);
	poke((void *)(uintptr_t)(o + 3), 0x11);  /* the bug */
	check_never_reused(c, (const void *)(uintptr_t)o, 500);
	struct lab_kmem_cache_stats st = cstats(c);
	CHILD_CHECK(st.errors == 1 && st.leaked == 1);
}

Test(slab_misuse, a_write_after_free_is_caught_when_the_object_comes_back)
{
	int status = run_in_child(write_after_free, NULL, out, sizeof(out));
	assert_child_said(status, "BUG t-poison (Not tainted): Poison overwritten at byte 3 "
				  "(written after free)");
	cr_assert_not_null(strstr(out, "FIX t-poison: Object never reused"), "%s", out);
	cr_assert_not_null(strstr(out, "slab_test_freer"), "who freed it:\n%s", out);
	if (!running_on_valgrind()) {
		cr_assert_not_null(strstr(out, "Object   0x"), "%s", out);
		cr_assert_not_null(strstr(out, "6b 6b 6b 11 6b"), "the bytes:\n%s", out);
	}
}

static void leak_at_destroy(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-leaky", 64, 0,
							 LAB_SLAB_STORE_USER, NULL);
	void *o[3];
	for (int i = 0; i < 3; i++)
		o[i] = slab_test_allocator(c);
	lab_kmem_cache_free(c, o[1]);
	lab_kmem_cache_destroy(c);
	/* The cache is kept, its objects stay valid and can be freed. */
	memset(o[0], 1, 64);
	lab_kmem_cache_free(c, o[0]);
	lab_kmem_cache_free(c, o[2]);
	CHILD_CHECK(cstats(c).active_objs == 0);
	errno = 0;
	CHILD_CHECK(!lab_kmem_cache_alloc(c, LAB_GFP_KERNEL) && errno == EINVAL);
}

Test(slab_misuse, destroy_names_the_objects_left_and_keeps_the_cache)
{
	int status = run_in_child(leak_at_destroy, NULL, out, sizeof(out));
	assert_child_said(status, "BUG t-leaky (Not tainted): Objects remaining in t-leaky on "
				  "lab_kmem_cache_destroy()");
	cr_assert_eq(count_of(out, "INFO: Object 0x"), 2, "the two objects left:\n%s", out);
	cr_assert_not_null(strstr(out, "INFO: 2 objects remaining"), "%s", out);
	cr_assert_not_null(strstr(out, "slab_test_allocator"), "with U, who allocated them:\n%s",
			   out);
	cr_assert_not_null(strstr(out, "FIX t-leaky: Cache not destroyed (leaked)"), "%s", out);
}

static void trace_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-trace", 64, 0, LAB_SLAB_TRACE, NULL);
	void *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	lab_kmem_cache_free(c, o);
}

Test(slab_misuse, trace_prints_every_alloc_and_free)
{
	int status = run_in_child(trace_child, NULL, out, sizeof(out));
	assert_child_said(status, "TRACE t-trace alloc 0x");
	cr_assert_not_null(strstr(out, "TRACE t-trace free 0x"), "%s", out);
}

static void env_debug(void *arg)
{
	setenv("LABYRINTH_SLAB_DEBUG", arg, 1);
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-env", 40, 0, 0, NULL);
	struct lab_kmem_cache *other = lab_kmem_cache_create(z, "t-other", 40, 0, 0, NULL);
	CHILD_CHECK(cstats(c).size > cstats(other).size);  /* only t-env is debugged */
	unsigned char *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	poke(o + 40, 1);
	lab_kmem_cache_free(c, o);
	CHILD_CHECK(cstats(c).errors == 1);
}

Test(slab_misuse, labyrinth_slab_debug_turns_checks_on_per_cache)
{
	static char spec1[] = "FZ,t-env", spec2[] = "Z,t-e*;-,t-other";
	const char *expect = "BUG t-env (Not tainted): Right Redzone overwritten";
	int status = run_in_child(env_debug, spec1, out, sizeof(out));
	assert_child_said(status, expect);
	status = run_in_child(env_debug, spec2, out, sizeof(out));
	assert_child_said(status, expect);
}

static void env_bad(void *arg)
{
	(void)arg;
	setenv("LABYRINTH_SLAB_DEBUG", "FQ", 1);
	struct lab_zone *z = quiet_zone();
	CHILD_CHECK(lab_kmem_cache_create(z, "t-bad", 40, 0, 0, NULL));
}

Test(slab_misuse, a_bad_labyrinth_slab_debug_is_reported_by_name)
{
	int status = run_in_child(env_bad, NULL, out, sizeof(out));
	assert_child_said(status, "labyrinth: LABYRINTH_SLAB_DEBUG: bad value 'FQ': unknown flag 'Q'");
}

/* ---- the tools ----------------------------------------------------------- */

static void read_after_free(void *arg)
{
	(void)arg;
	struct lab_zone *z = quiet_zone();
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-asan", 64, 0, 0, NULL);
	volatile char *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	o[7] = 1;
	lab_kmem_cache_free(c, (void *)(uintptr_t)o);
	fprintf(stderr, "read %d\n", o[7]);  /* ASan must stop this */
}

Test(slab_misuse, asan_sees_free_objects_as_poisoned)
{
#ifdef TEST_ASAN
	int status = run_in_child(read_after_free, NULL, out, sizeof(out));
	cr_assert_not(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the read went through:\n%s",
		      out);
	cr_assert(strstr(out, "ERROR: AddressSanitizer: use-after-poison"), "%s", out);
	cr_assert(strstr(out, "read_after_free"), "the report names the reader:\n%s", out);
#else
	(void)read_after_free;
	cr_skip_test("not built with AddressSanitizer (the debug build of scripts/test.sh is)");
#endif
}

Test(slab_misuse, valgrind_sees_free_objects_as_unaddressable)
{
#if defined(TEST_ASAN) || !defined(LAB_HAVE_VALGRIND)
	cr_skip_test("needs a build without ASan and with <valgrind/memcheck.h> (the clang "
		     "release build of scripts/test.sh)");
#else
	if (running_on_valgrind())
		cr_skip_test("already under Valgrind (it runs Valgrind on a child itself)");
	if (system("command -v valgrind >/dev/null 2>&1") != 0)
		cr_skip_test("valgrind is not installed (scripts/deps.sh installs it)");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "valgrind -q --error-exitcode=99 %s slab-uaf-read",
		 test_path("CHILD"));
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 99, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "Invalid read of size 1"), "%s", out);
	cr_assert(strstr(out, "main ("), "%s", out);
	/* and a correct program is clean: no false reports from the library's
	 * own reads and writes of free objects */
	snprintf(cmd, sizeof(cmd), "valgrind -q --error-exitcode=99 %s slab-churn", test_path("CHILD"));
	status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
#endif
}
