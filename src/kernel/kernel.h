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

/* slab.c, for the runner: the kernel caches still alive (never destroyed,
 * or destroyed with objects in use and so kept), up to max of them into
 * out, with their objects in use; returns how many there are. */
struct lab__kernel_cache_left {
	char name[32];
	bool destroyed;
	size_t active;
};
size_t lab__kernel_caches_left(struct lab__kernel_cache_left *out, size_t max);

/* rcu.c, at boot (the kernel zone's making; may sleep): the grace period of
 * the slab layer's TYPESAFE_BY_RCU caches is liburcu's, and its callback
 * thread runs from now on. */
void lab__kernel_rcu_boot(void);
/* rcu.c: kfree_rcu() callbacks queued and not yet run (kmem_cache_destroy
 * waits for them, as the kernel's kvfree_rcu_barrier()). */
bool lab__kernel_kfree_rcu_pending(void);

#endif /* LAB_SRC_KERNEL_KERNEL_H */
