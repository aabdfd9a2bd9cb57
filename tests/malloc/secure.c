/*
 * secure.c - LABYRINTH_MALLOC_SECURE=1: every allocation is exclusive.
 * Checked through the OS and the memory itself: blocks of every kind
 * (size classes, page blocks, mappings) come zeroed even when the memory
 * was used before, are scrubbed when freed (read back after free(), which
 * only a test may do: all but the first word of an object, where a free
 * list may link it), and lie in mappings the kernel leaves out of core
 * dumps ("dd" in /proc/self/smaps VmFlags).  The plain build runs under
 * LD_PRELOAD with the variable set; the white-box build sets it itself.
 *
 * Exit status: 0 pass, 1 fail.
 */
#include "mtest.h"

#include <stdio.h>
#include <string.h>

static int failures;

/* The VmFlags line of the mapping that holds p, or "" if none. */
static const char *vmflags_of(uintptr_t p)
{
	static char flags[512];
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool inside = false;
	flags[0] = 0;
	if (!f)
		return flags;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			inside = p >= lo && p < hi;
			continue;
		}
		if (inside && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, sizeof(flags), "%s", line + 8);
			break;
		}
	}
	fclose(f);
	return flags;
}

/* Hide where a pointer comes from: we read freed memory on purpose. */
static const void *volatile laundered;

static const unsigned char *launder(const void *p)
{
	laundered = p;
	return laundered;
}

/* Reads freed memory on purpose, which AddressSanitizer (rightly) reports:
 * the heap poisons free objects for it. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_ASAN __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef NO_ASAN
#define NO_ASAN
#endif

NO_ASAN static bool all_zero(const unsigned char *p, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void check(const char *what, size_t n)
{
	/* Dirty memory of this size, freed: its scrub is checked, and the next
	 * block of the size (often the same memory) must come zeroed. */
	unsigned char *p = M(malloc)(n);
	if (!p) {
		printf("secure: FAILED: %s: malloc(%zu)\n", what, n);
		failures++;
		return;
	}
	const char *fl = vmflags_of((uintptr_t)p);
	bool dd = strstr(fl, " dd") != NULL;
	memset(p, 0xa5, n);
	const unsigned char *after = launder(p);
	M(free)(p);
	bool scrubbed = n > (4u << 20) /* unmapped: gone */ ||
			all_zero(after, n > 16 ? 8 : n, n < 65536 ? n : 65536);
	unsigned char *q = M(malloc)(n);
	/* (the compiler may assume fresh malloc memory holds nothing in particular) */
	bool zeroed = q && all_zero(launder(q), 0, n);
	if (!dd || !scrubbed || !zeroed) {
		printf("secure: FAILED: %s (%zu bytes): %s%s%s(VmFlags:%s)\n", what, n,
		       dd ? "" : "dumpable; ", scrubbed ? "" : "not scrubbed on free; ",
		       zeroed ? "" : "not zeroed on hand-out; ", fl);
		failures++;
	} else {
		printf("secure: %-30s zeroed, scrubbed, out of core dumps%s\n", what,
		       (const unsigned char *)q == after ? " (same memory again)" : "");
	}
	M(free)(q);
}

int main(void)
{
	/* The library reads its options once, at load: the environment says. */
	const char *v = getenv("LABYRINTH_MALLOC_SECURE");
	if (!v || strcmp(v, "1")) {
		printf("secure: run me with LABYRINTH_MALLOC_SECURE=1\n");
		return 1;
	}
#ifdef MTEST_WHITEBOX
	lab__test_malloc_up();
#endif
	check("a small object", 40);
	check("a 1 KiB object", 1000);
	check("an 8 KiB object", 8000);
	check("a page block", 100000);
	check("a 2 MiB page block", 2u << 20);
	check("a mapping (beyond 4 MiB)", 6u << 20);
	/* calloc and realloc keep it so. */
	unsigned char *c = M(calloc)(100, 10);
	unsigned char *r = M(realloc)(c, 5000);
	if (!r || !all_zero(launder(r), 0, 1000) || !strstr(vmflags_of((uintptr_t)r), " dd")) {
		printf("secure: FAILED: calloc/realloc\n");
		failures++;
	}
	M(free)(r);
	return failures ? 1 : 0;
}
