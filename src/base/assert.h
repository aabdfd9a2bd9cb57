/*
 * assert.h - the library's assertion tiers.  Each failure is a BUG report
 * ("BUG: labyrinth: assertion failed ...", with the stack) and abort(),
 * written by lab__assert_fail() (os/printk.c) without allocating.
 *
 *   LAB_CHECK(cond)             always on: cheap checks of metadata whose
 *                               corruption would corrupt other memory (a
 *                               block's order and place before it joins the
 *                               free lists); never on the per-CPU fast paths
 *   LAB_ASSERT(cond)            debug builds (LAB_ASSERT_LEVEL >= 1): what
 *                               comments claim, such as "under the zone lock"
 *   LAB_ASSERT_EXPENSIVE(cond)  LAB_ASSERT_LEVEL >= 2 (-DLAB_ASSERT_LEVEL=2):
 *                               walks (every page of a block, ...)
 *
 * Off, a tier's condition is still compiled (so it stays correct C) and
 * then thrown away: it costs nothing.
 */
#ifndef LAB_BASE_ASSERT_H
#define LAB_BASE_ASSERT_H

#include "base/compiler.h"

#ifndef LAB_ASSERT_LEVEL
#if defined(LABYRINTH_DEBUG_BUILD) && LABYRINTH_DEBUG_BUILD
#define LAB_ASSERT_LEVEL 1
#else
#define LAB_ASSERT_LEVEL 0
#endif
#endif

/* Report the failed assertion and abort (os/printk.c). */
void lab__assert_fail(const char *expr, const char *file, int line, const char *func)
	__attribute__((noreturn, cold));

#define LAB_CHECK(cond)                                                         \
	do {                                                                    \
		if (lab_unlikely(!(cond)))                                      \
			lab__assert_fail(#cond, __FILE__, __LINE__, __func__); \
	} while (0)
#define LAB_ASSERT(cond)                                                        \
	do {                                                                    \
		if (LAB_ASSERT_LEVEL >= 1)                                      \
			LAB_CHECK(cond);                                        \
	} while (0)
#define LAB_ASSERT_EXPENSIVE(cond)                                              \
	do {                                                                    \
		if (LAB_ASSERT_LEVEL >= 2)                                      \
			LAB_CHECK(cond);                                        \
	} while (0)

#endif /* LAB_BASE_ASSERT_H */
