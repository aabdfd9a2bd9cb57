/* test_slab_preload.c - the default zone under a malloc built on it: this
 * program's own malloc family (which the whole process, libc and the loader
 * included, calls instead of libc's) serves from lab_kmalloc() once a test
 * turns it on, as a preloaded malloc on Labyrinth (issue 14's) would.  Its
 * first call makes the default zone; anything that making the zone does
 * which calls malloc again (a thread's TLS, the unwinder's dlopen) must find
 * the zone made, not a creation in progress (lab_kmalloc: NULL, EAGAIN).
 *
 * Not under ASan, TSan or Valgrind: they own malloc themselves. */
#include "helpers.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_SANITIZER 1
#endif
#endif

/* Under a sanitizer its own interceptors allocate: this program must not
 * define the malloc family at all. */
#ifndef TEST_SANITIZER
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static _Atomic int route;            /* serve from lab_kmalloc */
static _Atomic long routed;          /* calls served so */
static _Atomic long refused;         /* calls lab_kmalloc refused (the zone in the making) */
static void *refused_from[16];       /* their callers */

static bool ours(const void *p)
{
	return p && lab_virt_to_page(p);
}

static void *from_lab(size_t size, bool zero, void *caller)
{
	if (!atomic_load_explicit(&route, memory_order_relaxed))
		return NULL;
	void *p = zero ? lab_kzalloc(size ? size : 1, LAB_GFP_KERNEL)
		       : lab_kmalloc(size ? size : 1, LAB_GFP_KERNEL);
	if (p) {
		atomic_fetch_add(&routed, 1);
	} else {
		long n = atomic_fetch_add(&refused, 1);
		if (n < 16)
			refused_from[n] = caller;
	}
	return p;
}

void *malloc(size_t size)
{
	void *p = from_lab(size, false, __builtin_return_address(0));
	return p ? p : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = from_lab(n * size, true, __builtin_return_address(0));
	return p ? p : __libc_calloc(n, size);
}

void *realloc(void *old, size_t size)
{
	if (!ours(old)) {
		if (old || !atomic_load(&route))
			return __libc_realloc(old, size);
		return malloc(size);
	}
	return lab_krealloc(old, size ? size : 1, LAB_GFP_KERNEL);
}

void free(void *p)
{
	if (ours(p))
		lab_kfree(p);
	else
		__libc_free(p);
}

static void *thread_main(void *arg)
{
	char *p = malloc(100);
	memset(p, 1, 100);
	free(p);
	return arg;
}

static void first_malloc_child(void *arg)
{
	(void)arg;
	atomic_store(&route, 1);
	char *p = malloc(64);  /* the first: makes the default zone */
	int rc = 0;
	if (!ours(p))
		rc = 2;
	free(p);
	/* A thread (its TLS from this malloc) and the exclusive zone as well. */
	pthread_t t;
	if (!rc && (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL)))
		rc = 3;
	if (!rc && !lab_default_exclusive_zone())
		rc = 4;
	atomic_store(&route, 0);
	long n = atomic_load(&refused);
	for (long i = 0; i < n && i < 16; i++) {
		Dl_info info;
		if (dladdr(refused_from[i], &info) && info.dli_sname)
			fprintf(stderr, "refused a malloc from %s+%#lx (%s)\n", info.dli_sname,
				(unsigned long)((char *)refused_from[i] - (char *)info.dli_saddr),
				info.dli_fname);
		else
			fprintf(stderr, "refused a malloc from %p (%s)\n", refused_from[i],
				info.dli_fname ? info.dli_fname : "?");
	}
	fprintf(stderr, "routed %ld, refused %ld\n", atomic_load(&routed), n);
	_exit(rc ? rc : n ? 5 : 0);
}
#endif /* !TEST_SANITIZER */

Test(slab_preload, making_the_default_zone_never_recurses_into_a_creation)
{
#ifdef TEST_SANITIZER
	cr_skip_test("a sanitizer owns malloc: this program's own malloc cannot stand in");
#else
	if (running_on_valgrind())
		cr_skip_test("Valgrind owns malloc: this program's own malloc cannot stand in");
	static char out[8192];
	int status = run_in_child(first_malloc_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status), "killed by signal %d\n%s",
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0, out);
	cr_assert_eq(WEXITSTATUS(status), 0, "child exit %d (5: some malloc found the zone "
		     "in the making)\n%s", WEXITSTATUS(status), out);
	cr_log_info("%s", out);
#endif
}
