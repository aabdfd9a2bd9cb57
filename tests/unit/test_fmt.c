/* test_fmt.c - base/fmt.c, the library's async-signal-safe snprintf: every
 * directive the library writes gives what glibc's snprintf gives, for the
 * same arguments, whole and truncated. */
#include "helpers.h"

#include "base/fmt.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Format with both and compare the text and the return value, in a buffer
 * large enough and in each shorter one (truncation, terminator). */
#define SAME(...)                                                                      \
	do {                                                                           \
		char want[256], got[256];                                              \
		int nw = snprintf(want, sizeof(want), __VA_ARGS__);                     \
		int ng = lab__snprintf(got, sizeof(got), __VA_ARGS__);                  \
		cr_assert_eq(ng, nw, "%s: returned %d, libc %d", #__VA_ARGS__, ng, nw); \
		cr_assert_str_eq(got, want, "%s", #__VA_ARGS__);                       \
		for (size_t sz = 0; sz <= (size_t)nw + 1 && sz < sizeof(got); sz++) {  \
			memset(got, 'X', sizeof(got));                                 \
			memset(want, 'X', sizeof(want));                               \
			snprintf(want, sz, __VA_ARGS__);                               \
			cr_assert_eq(lab__snprintf(got, sz, __VA_ARGS__), nw);         \
			cr_assert_eq(memcmp(got, want, sz + 1), 0, "%s, size %zu",     \
				     #__VA_ARGS__, sz);                                \
		}                                                                      \
	} while (0)

Test(fmt, strings_and_chars)
{
	SAME("plain text");
	SAME("%s|%s", "a", "");
	SAME("[%10s][%-10s]", "right", "left");
	SAME("'%.*s' and '%.3s'", 4, "truncated", "abcdef");
	SAME("%.8s", "kswapd-zone-with-a-long-name");
	SAME("%c%c%c %5c|%-3c|", 'a', 'b', 'c', 'x', 'y');
	SAME("100%% %s", "sure");
	SAME("%-11s %-10s %s", "protection", "state", "detail");
}

Test(fmt, signed)
{
	SAME("%d %i %d %d", 0, -1, INT_MAX, INT_MIN);
	SAME("%ld %ld %lld %lld", LONG_MAX, LONG_MIN, LLONG_MAX, LLONG_MIN);
	SAME("%hd %hhd %hd", (short)-5, (signed char)-128, (short)SHRT_MAX);
	SAME("[%5d][%-5d][%05d][%05d]", 42, 42, 42, -42);
	SAME("[%.3d][%.0d][%8.3d]", 7, 0, -7);
	SAME("%zd", (size_t)12345);
}

Test(fmt, unsigned_and_hex)
{
	SAME("%u %lu %llu %zu", 0u, ULONG_MAX, ULLONG_MAX, SIZE_MAX);
	SAME("%x %X %#x %#X %#x", 0xabcu, 0xabcu, 0x1fu, 0x1fu, 0u);
	SAME("%05zx %08zx %02x %#lx %#zx", (size_t)0x1a, (size_t)0xdead, 0xfu, 0x123ul,
	     (size_t)0x40);
	SAME("%hx %hhx %hhu", (unsigned short)0xffff, (unsigned char)0xab, (unsigned char)200);
	SAME("[%-8x][%8X][%#10x][%#-10x][%#010x]", 0x12u, 0x12u, 0x12u, 0x12u, 0x12u);
	SAME("%.4x %.0u", 0x3u, 0u);
	SAME("pfn:%05zx order:%u flags: %#x(%s)", (size_t)0x3, 2u, 0x48u, "allocated|bad");
}

Test(fmt, pointers)
{
	int x;
	SAME("%p", (void *)&x);
	SAME("%p", (void *)NULL);
	SAME("[%20p][%-20p]", (void *)&x, (void *)&x);
	SAME("%p %p", (void *)1, (void *)UINTPTR_MAX);
}

/* That it calls nothing of libc but string functions (no stdio, no malloc)
 * is the undefined-symbol test's (tests/undefined.sh). */
