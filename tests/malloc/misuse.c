/*
 * misuse.c - a pointer malloc did not hand out, given to free, realloc or
 * malloc_usable_size, is reported ("BUG labyrinth-malloc: ...: invalid
 * pointer: <why>") and the process aborts: never silent corruption.  Each
 * misuse runs in a child whose stderr is checked for the report and whose
 * end must be SIGABRT.  Memalign'd and over-aligned pointers are the tricky
 * ones: the genuine pointers (classes aligned enough, page blocks, aligned
 * mappings) must free quietly, and pointers inside them must be refused.
 *
 * Exit status: 0 pass, 1 fail.
 */
#include "mtest.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

/* Hide where a pointer comes from, so that the compiler neither warns about
 * nor reasons from the misuse we commit on purpose. */
static __attribute__((noinline)) void *launder(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

/* Run fn in a child; it must abort with a report containing want. */
static void expect_report(const char *name, void (*fn)(void), const char *want)
{
	int fds[2];
	if (pipe(fds))
		exit(2);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0);  /* not reached if the misuse is caught */
	}
	close(fds[1]);
	static char out[16384];
	size_t len = 0;
	ssize_t r;
	while ((r = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = 0;
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
	bool aborted = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
	bool reported = strstr(out, "BUG labyrinth-malloc") && strstr(out, want);
	if (aborted && reported) {
		printf("misuse: %-48s reported and aborted\n", name);
		return;
	}
	printf("misuse: FAILED: %s: %s%s\n--- its stderr:\n%s---\n", name,
	       aborted ? "" : "did not abort; ", reported ? "" : "no report saying what was wanted",
	       out);
	failures++;
}

static char on_stack[64];

static void free_stack(void)
{
	char local[32];
	M(free)(launder(local));
	(void)on_stack;
}

static void free_static(void)
{
	M(free)(launder(on_stack + 16));
}

static void free_inside_object(void)
{
	char *p = M(malloc)(64);
	M(free)(launder(p + 8));
}

static void free_inside_memalign(void)
{
	char *p = M(memalign)(64, 100);
	M(free)(launder(p + 16));
}

static void free_inside_page_block(void)
{
	char *p = M(memalign)(4096, 10000);
	M(free)(launder(p + 4096));
}

static void free_inside_mapping(void)
{
	void *p = NULL;
	if (M(posix_memalign)(&p, 8u << 20, 100))
		_exit(3);
	M(free)(launder((char *)p + 64));
}

static void double_free_object(void)
{
	void *p = M(malloc)(64), *again = launder(p);
	M(free)(p);
	M(free)(again);
}

static void double_free_page_block(void)
{
	void *p = M(malloc)(100000), *again = launder(p);
	M(free)(p);
	M(free)(again);
}

static void double_free_mapping(void)
{
	void *p = M(malloc)(8u << 20), *again = launder(p);
	M(free)(p);
	M(free)(again);
}

static void realloc_foreign(void)
{
	char local[16];
	void *q = M(realloc)(launder(local), 100);
	(void)q;
}

static void realloc_inside(void)
{
	char *p = M(malloc)(300);
	void *q = M(realloc)(launder(p + 16), 1000);
	(void)q;
}

static void usable_size_foreign(void)
{
	size_t n = M(malloc_usable_size)(launder(on_stack));
	(void)n;
}

static void free_small_integer(void)
{
	M(free)(launder((void *)(uintptr_t)0x1000));
}

/* Genuine pointers of every kind, aligned as asked, free quietly. */
static void genuine(void)
{
	static const size_t aligns[] = { 16, 32, 64, 128, 256, 512, 1024, 4096, 8192, 65536,
					 2u << 20, 4u << 20, 8u << 20 };
	static const size_t sizes[] = { 1, 24, 100, 4000, 9000, 70000, 3u << 20, 9u << 20 };
	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			void *p = NULL;
			if (M(posix_memalign)(&p, aligns[a], sizes[s]) || !p) {
				printf("misuse: FAILED: posix_memalign(%zu, %zu) failed\n", aligns[a],
				       sizes[s]);
				failures++;
				continue;
			}
			if ((uintptr_t)p & (aligns[a] - 1)) {
				printf("misuse: FAILED: posix_memalign(%zu, %zu) = %p, misaligned\n",
				       aligns[a], sizes[s], p);
				failures++;
			}
			if (M(malloc_usable_size)(p) < sizes[s]) {
				printf("misuse: FAILED: posix_memalign(%zu, %zu): usable size %zu\n",
				       aligns[a], sizes[s], M(malloc_usable_size)(p));
				failures++;
			}
			memset(p, 0x5a, sizes[s]);
			M(free)(p);
		}
	}
	void *p = M(aligned_alloc)(4096, 4096);
	void *q = M(valloc)(100);
	void *r = M(pvalloc)(5000);
	if (!p || !q || !r || ((uintptr_t)p | (uintptr_t)q | (uintptr_t)r) & 4095 ||
	    M(malloc_usable_size)(r) < 8192) {
		printf("misuse: FAILED: aligned_alloc/valloc/pvalloc\n");
		failures++;
	}
	M(free)(p);
	M(free)(q);
	M(free)(r);
	printf("misuse: %-48s freed quietly\n", "genuine aligned pointers of every kind");
}

int main(void)
{
#ifdef MTEST_WHITEBOX
	lab__test_malloc_up();
#endif
	genuine();
	expect_report("free() of a stack address", free_stack, "not a pointer malloc handed out");
	expect_report("free() inside static data", free_static, "not a pointer malloc handed out");
	expect_report("free() inside an object", free_inside_object, "not at its start");
	expect_report("free() inside a memalign'd object", free_inside_memalign, "not at its start");
	expect_report("free() inside an aligned page block", free_inside_page_block,
		      "not at its start");
	expect_report("free() inside an over-aligned mapping", free_inside_mapping,
		      "not a pointer malloc handed out");
	expect_report("double free() of an object", double_free_object, "double free");
	expect_report("double free() of a page block", double_free_page_block, "freed twice");
	expect_report("double free() of a mapping", double_free_mapping,
		      "not a pointer malloc handed out");
	expect_report("realloc() of a stack address", realloc_foreign, "realloc(");
	expect_report("realloc() inside an object", realloc_inside, "not at its start");
	expect_report("malloc_usable_size() of static data", usable_size_foreign,
		      "malloc_usable_size(");
	expect_report("free() of a small integer", free_small_integer,
		      "not a pointer malloc handed out");
	return failures ? 1 : 0;
}
