/*
 * mtest.h - the malloc tests' common ground.  Each test program builds two
 * ways from one source:
 *
 *   white-box (MTEST_WHITEBOX): linked with the test library, the malloc
 *     layer under lab__test_* names beside the process's own malloc (so it
 *     also runs under ASan), with the heap's internals at hand for checks;
 *   plain: calls malloc() itself, for LD_PRELOAD=liblabyrinth-malloc.so
 *     (and, to show what the library is for, without it: glibc).
 *
 * M(malloc) names the function under test either way.
 */
#ifndef LAB_MTEST_H
#define LAB_MTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <malloc.h>

#ifdef MTEST_WHITEBOX
#define LAB_MALLOC_TEST_NAMES 1
#include "malloc/malloc.h"
#define M(name) lab__test_##name
#else
#define M(name) name
#endif

/* A small, async-signal-safe PRNG (xorshift64*). */
static inline uint64_t mt_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* The byte a block of tag holds at offset i. */
static inline unsigned char mt_byte(uint32_t tag, size_t i)
{
	return (unsigned char)(tag * 131u + (unsigned int)(i * 7u) + (unsigned int)(i >> 12));
}

/* Fill (and check) a block where it matters: the first and last 16 bytes and
 * one byte in every 4 KiB, so that every page is touched. */
static inline void mt_fill(void *p, size_t n, uint32_t tag)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n && i < 16; i++)
		b[i] = mt_byte(tag, i);
	for (size_t i = n > 16 ? n - 16 : 0; i < n; i++)
		b[i] = mt_byte(tag, i);
	for (size_t i = 4096; i < n; i += 4096)
		b[i] = mt_byte(tag, i);
}

/* The first offset that does not hold the pattern (only offsets < upto are
 * looked at), or (size_t)-1 when all do. */
static inline size_t mt_check(const void *p, size_t n, uint32_t tag, size_t upto)
{
	const unsigned char *b = p;
	if (upto > n)
		upto = n;
	for (size_t i = 0; i < upto && i < 16; i++)
		if (b[i] != mt_byte(tag, i))
			return i;
	for (size_t i = n > 16 ? n - 16 : 0; i < upto; i++)
		if (b[i] != mt_byte(tag, i))
			return i;
	for (size_t i = 4096; i < upto; i += 4096)
		if (b[i] != mt_byte(tag, i))
			return i;
	return (size_t)-1;
}

#endif
