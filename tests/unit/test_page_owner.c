/* test_page_owner.c - who allocated what: the dump in the page_owner format
 * naming the allocating functions, gfp, order, pid and thread; the free
 * stack in Bad page reports; leak reports at zone destroy and at exit;
 * LABYRINTH_PAGE_OWNER; capture from a signal handler (atomic context). */
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct lab_zone *z;

static void setup(void)
{
	z = make_zone(512, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_PAGE_OWNER);
}

static void teardown(void)
{
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

TestSuite(page_owner, .init = setup, .fini = teardown);

/* Public, not inlined and not tail calls (the barrier after the call): the
 * stacks must be able to name them. */
struct lab_page *page_owner_alloc_here(lab_gfp_t gfp, unsigned int order);
__attribute__((noinline)) struct lab_page *page_owner_alloc_here(lab_gfp_t gfp,
								  unsigned int order)
{
	struct lab_page *p = lab_alloc_pages(z, gfp, order);
	__asm__ __volatile__("" ::: "memory");
	return p;
}

void page_owner_free_here(struct lab_page *p);
__attribute__((noinline)) void page_owner_free_here(struct lab_page *p)
{
	lab_free_page(p);
	__asm__ __volatile__("" ::: "memory");
}

static size_t dump(char **text)
{
	size_t len;
	FILE *f = open_memstream(text, &len);
	size_t n = lab_dump_page_owner(z, f);
	fclose(f);
	return n;
}

Test(page_owner, dump_names_the_allocating_functions)
{
	struct lab_page *p = page_owner_alloc_here(LAB_GFP_ATOMIC, 2);
	cr_assert_not_null(p);
	char *text;
	cr_assert_eq(dump(&text), 1);
	char head[256];
	snprintf(head, sizeof(head),
		 "Page allocated via order 2, mask 0x201(GFP_ATOMIC), pid %d, tid %d (",
		 (int)getpid(), (int)syscall(SYS_gettid));
	cr_assert(strncmp(text, head, strlen(head)) == 0, "expected '%s' in:\n%s", head, text);
	char pfn[64];
	snprintf(pfn, sizeof(pfn), "\nPFN 0x%zx zone test Block ", lab_page_to_pfn(p));
	cr_assert(strstr(text, pfn), "%s", text);
	cr_assert(strstr(text, " Flags 0x8(allocated)\n"), "%s", text);
	cr_assert(strstr(text, " page_owner_alloc_here+0x"), "%s", text);
	/* lab_alloc_pages() itself may not appear: it tail-calls its out-of-line
	 * general path, whose frame the library's unnamed offsets show. */
	cr_assert(strstr(text, " page_owner_dump_names_the_allocating_functions_impl+0x"),
		  "the test function itself:\n%s", text);
	cr_assert(strstr(text, "+0x"), "%s", text);
	free(text);
	lab_free_pages(p, 2);
	cr_assert_eq(dump(&text), 0, "freed blocks are not listed:\n%s", text);
	free(text);
}

Test(page_owner, every_live_block_is_listed_once)
{
	struct lab_page *p[10];
	for (unsigned int i = 0; i < 10; i++)
		p[i] = page_owner_alloc_here(LAB_GFP_KERNEL, i % 4);
	char *text;
	cr_assert_eq(dump(&text), 10);
	cr_assert_eq(count_of(text, "Page allocated via order "), 10);
	cr_assert_eq(count_of(text, "Page allocated via order 3, mask 0x300(GFP_KERNEL)"), 2);
	free(text);
	for (unsigned int i = 0; i < 10; i += 2)
		lab_free_pages(p[i], i % 4);
	cr_assert_eq(dump(&text), 5);
	free(text);
	for (unsigned int i = 1; i < 10; i += 2)
		lab_free_pages(p[i], i % 4);
}

static void double_free_with_owner(void *arg)
{
	(void)arg;
	struct lab_page *a = page_owner_alloc_here(LAB_GFP_KERNEL, 0);
	struct lab_page *b = page_owner_alloc_here(LAB_GFP_KERNEL, 0);
	(void)b;
	page_owner_free_here(a);
	lab_free_page(a);
}

Test(page_owner, bad_page_report_shows_who_allocated_and_who_freed)
{
	char out[32768];
	run_in_child(double_free_with_owner, NULL, out, sizeof(out));
	cr_assert(strstr(out, "BUG: Bad page state in process "), "%s", out);
	const char *alloc = strstr(out, "page last allocated via order 0, gfp_mask 0x300(GFP_KERNEL)");
	cr_assert(alloc, "%s", out);
	const char *freed = strstr(out, "page last free tid ");
	cr_assert(freed && freed > alloc, "%s", out);
	cr_assert(strstr(alloc, " page_owner_alloc_here+0x"), "%s", out);
	cr_assert(strstr(freed, " page_owner_free_here+0x"), "%s", out);
	cr_assert(strstr(freed, "Call Trace:\n"), "then the stack of the bad free:\n%s", out);
}

void leaky_test_function(void *arg);
void leaky_test_function(void *arg)
{
	(void)arg;
	struct lab_zone_config cfg = { .name = "leaky", .pages = 64,
				       .flags = LAB_ZONE_NO_KSWAPD | LAB_ZONE_PAGE_OWNER };
	struct lab_zone *lz = lab_zone_create(&cfg);
	lab_alloc_pages(lz, LAB_GFP_KERNEL, 2);
	struct lab_page *freed = lab_alloc_pages(lz, LAB_GFP_KERNEL, 0);
	lab_alloc_pages(lz, LAB_GFP_KERNEL, 0);
	lab_free_page(freed);
	lab_zone_destroy(lz);
}

Test(page_owner, zone_destroy_reports_leaks_with_stacks)
{
	char out[32768];
	run_in_child(leaky_test_function, NULL, out, sizeof(out));
	cr_assert(strstr(out, "labyrinth: page_owner: zone leaky: 2 blocks (5 pages) never freed:\n"
			      "Page allocated via order "), "%s", out);
	cr_assert_eq(count_of(out, "Page allocated via order "), 2, "%s", out);
	cr_assert_eq(count_of(out, " leaky_test_function+0x"), 2, "%s", out);
}

Test(page_owner, environment_enables_it_and_reports_at_exit)
{
	char out[16384], cmd[1024];
	snprintf(cmd, sizeof(cmd), "LABYRINTH_PAGE_OWNER=1 %s owner-count", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "page owner blocks: 1\n");
	snprintf(cmd, sizeof(cmd), "%s owner-count", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_str_eq(out, "page owner blocks: 0\n", "off by default");

	snprintf(cmd, sizeof(cmd), "LABYRINTH_PAGE_OWNER=exit %s leak", test_path("CHILD"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "labyrinth: page_owner: zone leaky: 1 blocks (2 pages) never freed:\n"
			      "Page allocated via order 1, mask 0x300(GFP_KERNEL)"), "%s", out);
	cr_assert(strstr(out, " leaky_allocation+0x"), "%s", out);

	snprintf(cmd, sizeof(cmd), "LABYRINTH_PAGE_OWNER=on %s owner-count", test_path("CHILD"));
	run_shell(cmd, out, sizeof(out));
	cr_assert(strstr(out, "labyrinth: LABYRINTH_PAGE_OWNER: bad value 'on': expected 0, 1 or "
			      "exit; page owner stays off\n"), "%s", out);
}

static struct lab_page *from_handler;

void page_owner_signal_handler(int sig);
void page_owner_signal_handler(int sig)
{
	(void)sig;
	from_handler = lab_alloc_page(z, LAB_GFP_ATOMIC);
}

Test(page_owner, records_from_a_signal_handler)
{
	signal(SIGUSR1, page_owner_signal_handler);
	raise(SIGUSR1);
	cr_assert_not_null(from_handler);
	char *text;
	cr_assert_eq(dump(&text), 1);
	cr_assert(strstr(text, " page_owner_signal_handler+0x"), "%s", text);
	free(text);
	lab_free_page(from_handler);
}
