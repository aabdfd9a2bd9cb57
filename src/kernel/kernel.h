/*
 * kernel.h - internal to liblabyrinth-kernel (src/kernel/): what its files
 * share beyond the public lab_kernel.h.
 */
#ifndef LAB_SRC_KERNEL_KERNEL_H
#define LAB_SRC_KERNEL_KERNEL_H

#include "lab_kernel.h"
#include <labyrinth/slab.h>

/* PAGE_SIZE of asm/page.h, checked against the system's when loading. */
#define LAB_KERNEL_PAGE_SIZE 4096

extern bool lab__kernel_panic_on_warn;

/* printk.c: print a message of the given level (0..7) without a prefix. */
void lab__kernel_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* printk.c: the kernel's "Call Trace:" lines for the caller's stack. */
void lab__kernel_print_trace(void);

/* slab.c: print the caches still alive; returns how many. */
#include <stdio.h>
size_t lab__kernel_caches_report(FILE *out);
/* slab.c: pages in slabs, and objects in use per cache name. */
#define LAB__KERNEL_CENSUS_MAX 256
struct lab__kernel_census {
	size_t slab_pages;
	size_t nr;
	struct {
		char name[64];
		size_t active;
	} caches[LAB__KERNEL_CENSUS_MAX];
};
void lab__kernel_slab_census(struct lab__kernel_census *out);

/* rcu.c, at boot (the kernel zone's making; may sleep): the grace period of
 * the slab layer's TYPESAFE_BY_RCU caches is liburcu's, and its callback
 * thread runs from now on. */
void lab__kernel_rcu_boot(void);
/* rcu.c: kfree_rcu() callbacks queued and not yet run (kmem_cache_destroy
 * waits for them, as the kernel's kvfree_rcu_barrier()). */
bool lab__kernel_kfree_rcu_pending(void);

#endif /* LAB_SRC_KERNEL_KERNEL_H */
