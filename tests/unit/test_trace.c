/* test_trace.c - the USDT probes in the built shared library, listed from
 * its .note.stapsdt section by readelf, as perf and bpftrace find them. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

Test(trace, probes_are_in_the_shared_library)
{
#ifndef LAB_HAVE_SDT
	cr_skip_test("built without <sys/sdt.h> (install systemtap-sdt-dev): no probes");
#else
	static char out[1 << 16];
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", test_path("SHARED_LIB"));
	cr_assert_eq(run_shell(cmd, out, sizeof(out)), 0, "%s", out);
	const char *names[] = {
		"mm_page_alloc", "mm_page_free", "mm_page_alloc_zone_locked", "mm_page_alloc_fail",
		"mm_vmscan_direct_reclaim_begin", "mm_vmscan_direct_reclaim_end",
		"mm_vmscan_wakeup_kswapd", "mm_vmscan_kswapd_wake", "mm_vmscan_kswapd_sleep",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[128];
		snprintf(want, sizeof(want), "Provider: labyrinth\n    Name: %s\n", names[i]);
		cr_assert(strstr(out, want), "probe %s missing from:\n%s", names[i], out);
	}
	/* Nothing else under our provider.  A probe may have several sites (the
	 * inline fast paths, and whatever the compiler inlines), so count names:
	 * every site must carry one of the names above. */
	size_t known = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[128];
		snprintf(want, sizeof(want), "Provider: labyrinth\n    Name: %s\n", names[i]);
		known += (size_t)count_of(out, want);
	}
	cr_assert_eq((size_t)count_of(out, "Provider: labyrinth"), known, "%s", out);
	/* and mm_page_alloc carries its 4 arguments (page, order, gfp, zone name). */
	const char *alloc = strstr(out, "Name: mm_page_alloc\n");
	const char *args = strstr(alloc, "Arguments: ");
	cr_assert(args);
	int at = 0;
	for (const char *c = args; *c && *c != '\n'; c++)
		at += *c == '@';
	cr_assert_eq(at, 4, "%.80s", args);
#endif
}
