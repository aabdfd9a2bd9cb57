/*
 * fault.h - fault injection (fault.c): the one flag each allocation path
 * tests, and the decisions.
 */
#ifndef LAB_DEBUG_FAULT_H
#define LAB_DEBUG_FAULT_H

#include "page/zone.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Compiled in unless built with -DLAB_CONFIG_FAULT_INJECTION=0. */
#ifndef LAB_CONFIG_FAULT_INJECTION
#define LAB_CONFIG_FAULT_INJECTION 1
#endif

/* The hook's test: nonzero when any allocation might be failed on purpose. */
extern _Atomic unsigned int lab__fault_armed;
static inline bool fault_armed(void)
{
	return LAB_CONFIG_FAULT_INJECTION &&
	       atomic_load_explicit(&lab__fault_armed, memory_order_relaxed) != 0;
}
bool lab__should_fail_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);

/* failslab: the flag the slab layer tests, and the decision for an object of
 * size bytes (marked: the cache has LAB_SLAB_FAILSLAB). */
extern _Atomic unsigned int lab__failslab_armed;
bool lab__should_failslab(lab_gfp_t gfp, size_t size, bool marked);

#endif /* LAB_DEBUG_FAULT_H */
