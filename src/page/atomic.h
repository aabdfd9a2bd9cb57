/*
 * atomic.h - atomic context and the might_sleep check (atomic.c).
 */
#ifndef LAB_PAGE_ATOMIC_H
#define LAB_PAGE_ATOMIC_H

#include "base/compiler.h"

#include <stdbool.h>

/* The might_sleep check, on when lab__sleep_check (set once at load from
 * the build type and LABYRINTH_DEBUG).  Off, it costs one branch. */
extern bool lab__sleep_check;
void lab__might_sleep_report(const char *where); /* reports and aborts in atomic context */
static inline void lab__might_sleep(const char *where)
{
	if (lab_unlikely(lab__sleep_check))
		lab__might_sleep_report(where);
}

#endif /* LAB_PAGE_ATOMIC_H */
