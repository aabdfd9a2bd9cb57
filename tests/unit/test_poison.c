/* test_poison.c - page poisoning and the tools people already use.
 * Freed pages are read and written through /proc/self/mem, i.e. by the
 * kernel, not through our own pointers (which ASan would rightly stop). */
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

static struct lab_zone *z;

static void setup(void)
{
	z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_POISON);
}

static void teardown(void)
{
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

TestSuite(poison, .init = setup, .fini = teardown);

static void mem_io(void *addr, void *buf, size_t len, bool write)
{
	int fd = open("/proc/self/mem", write ? O_WRONLY : O_RDONLY);
	cr_assert_geq(fd, 0);
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)(uintptr_t)addr)
			  : pread(fd, buf, len, (off_t)(uintptr_t)addr);
	cr_assert_eq(n, (ssize_t)len, "/proc/self/mem: %s", strerror(errno));
	close(fd);
}

Test(poison, freed_pages_hold_the_poison)
{
	size_t ps = lab_page_size();
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	unsigned char *mem = lab_page_address(p);
	memset(mem, 0x5a, 2 * ps);
	lab_free_pages(p, 1);
	unsigned char *copy = malloc(2 * ps);
	mem_io(mem, copy, 2 * ps, false);
	for (size_t i = 0; i < 2 * ps; i++)
		cr_assert_eq(copy[i], 0xaa, "byte %zu is %#x after free", i, copy[i]);
	/* Free memory never handed out is poisoned too. */
	mem_io((char *)lab_page_address(lab_pfn_to_page(z, 200)), copy, ps, false);
	cr_assert_eq(copy[0], 0xaa);
	cr_assert_eq(copy[ps - 1], 0xaa);
	free(copy);
}

Test(poison, clean_reuse_reports_nothing_and_zero_still_zeroes)
{
	for (int i = 0; i < 50; i++) {
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, (unsigned int)i % 3);
		cr_assert_not_null(p);
		memset(lab_page_address(p), i, lab_page_size());
		lab_free_pages(p, (unsigned int)i % 3);
	}
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_ZERO);
	const unsigned char *c = lab_page_address(p);
	for (size_t i = 0; i < lab_page_size(); i++)
		cr_assert_eq(c[i], 0, "byte %zu", i);
	lab_free_page(p);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	cr_assert_eq(st.poison_corrupt, 0);
}

static void write_after_free(void *arg)
{
	bool one_bit = arg != NULL;
	struct lab_page *a = lab_alloc_page(z, LAB_GFP_KERNEL);
	struct lab_page *b = lab_alloc_page(z, LAB_GFP_KERNEL);  /* keeps a from merging */
	(void)b;
	char *mem = lab_page_address(a);
	lab_free_page(a);
	if (one_bit) {
		unsigned char flipped = 0xaa ^ 0x10;
		mem_io(mem + 0x123, &flipped, 1, true);
	} else {
		char bug[4] = { 'A', 'A', 'A', 'A' };
		mem_io(mem + 0x10, bug, 4, true);  /* the bug: a write after free */
	}
	struct lab_page *again = lab_alloc_page(z, LAB_GFP_KERNEL);
	if (again != a)
		_exit(50);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	if (st.poison_corrupt != 1)
		_exit(51);
}

Test(poison, write_after_free_is_reported_on_the_next_allocation)
{
	char out[16384];
	int status = run_in_child(write_after_free, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "pagealloc: memory corruption in process "), "%s", out);
	cr_assert(strstr(out, " zone:test pfn:00000 order:0\n"
			      "pagealloc: bytes 0x10..0x13 of the block differ from the poison 0xaa "
			      "(written after free)\n"
			      "00000010: 41 41 41 41\n"), "%s", out);
}

Test(poison, single_bit_flip_is_named)
{
	char out[16384];
	int status = run_in_child(write_after_free, (void *)1, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	cr_assert(strstr(out, "pagealloc: single bit error in process "), "%s", out);
	cr_assert(strstr(out, "bytes 0x123..0x123 of the block differ from the poison 0xaa "
			      "(written after free)\n00000123: ba\n"), "%s", out);
}

Test(poison, environment_turns_it_on_for_every_zone)
{
	char out[4096], cmd[1024];
	snprintf(cmd, sizeof(cmd), "LABYRINTH_POISON=1 %s poison-after-free", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "after free: 0xaa\n");
	snprintf(cmd, sizeof(cmd), "%s poison-after-free", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "after free: 0x11\n", "off by default");
	snprintf(cmd, sizeof(cmd), "LABYRINTH_POISON=yes %s poison-after-free", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "labyrinth: LABYRINTH_POISON: bad value 'yes': expected 0 or 1; "
			      "poisoning stays off\n"), "%s", out);
}

static void read_after_free(void *arg)
{
	(void)arg;
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	volatile char *mem = lab_page_address(p);
	mem[7] = 1;
	lab_free_page(p);
	fprintf(stderr, "read %d\n", mem[7]);  /* ASan must stop this */
}

Test(poison, asan_reports_a_read_after_free)
{
#ifdef TEST_ASAN
	char out[65536];
	int status = run_in_child(read_after_free, NULL, out, sizeof(out));
	cr_assert_not(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the read went through:\n%s",
		      out);
	cr_assert(strstr(out, "ERROR: AddressSanitizer: use-after-poison"), "%s", out);
	cr_assert(strstr(out, "read_after_free"), "the report names the reader:\n%s", out);
	cr_assert_eq(strstr(out, "read 1"), NULL);
#else
	(void)read_after_free;
	cr_skip_test("not built with AddressSanitizer: scripts/test.sh runs this in build/asan");
#endif
}

Test(poison, valgrind_reports_a_read_after_free)
{
#if defined(TEST_ASAN) || !defined(LAB_HAVE_VALGRIND)
	cr_skip_test("needs a build without ASan and with <valgrind/memcheck.h> (the clang "
		     "release build of scripts/test.sh)");
#else
	if (running_on_valgrind())
		cr_skip_test("already under Valgrind (it runs Valgrind on a child itself)");
	char out[65536], cmd[1024];
	if (system("command -v valgrind >/dev/null 2>&1") != 0)
		cr_skip_test("valgrind is not installed (scripts/deps.sh installs it)");
	snprintf(cmd, sizeof(cmd), "valgrind -q --error-exitcode=99 %s uaf-read",
		 test_path("CHILD"));
	int status = run_shell(cmd, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 99, "status %#x:\n%s", status, out);
	cr_assert(strstr(out, "Invalid read of size 1"), "%s", out);
	cr_assert(strstr(out, "main ("), "%s", out);
#endif
}
