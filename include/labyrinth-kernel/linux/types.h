/*
 * linux/types.h - the kernel's fixed-size and kernel-wide types over the
 * uapi <linux/types.h> (__u8 ... __be64): u8 ... s64, gfp_t, phys_addr_t,
 * atomic_t, list and hlist heads, struct callback_head (rcu_head).
 *
 * gfp_t is Labyrinth's lab_gfp_t (linux/gfp_types.h checks it); rcu_head is
 * laid out for liburcu (linux/rcupdate.h).
 */
#ifndef LAB_KERNEL_LINUX_TYPES_H
#define LAB_KERNEL_LINUX_TYPES_H

#include_next <linux/types.h>	/* uapi: __u8 ... __u64, __le16 ... __be64 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>		/* ssize_t, off_t, pid_t */
#include <linux/compiler.h>

typedef __u8  u8;
typedef __s8  s8;
typedef __u16 u16;
typedef __s16 s16;
typedef __u32 u32;
typedef __s32 s32;
typedef __u64 u64;
typedef __s64 s64;

typedef unsigned char	unchar;
typedef unsigned short	ushort;
typedef unsigned int	uint;
typedef unsigned long	ulong;

typedef u64		phys_addr_t;
typedef u64		dma_addr_t;
typedef phys_addr_t	resource_size_t;
typedef unsigned long	pgoff_t;
typedef unsigned short	umode_t;
typedef unsigned int	fmode_t;
typedef u64		sector_t;
typedef unsigned long	irq_hw_number_t;
typedef unsigned int	slab_flags_t;	/* SLAB_* (linux/slab.h) */

/* GFP flags: the same integer type as Labyrinth's lab_gfp_t. */
typedef unsigned int	gfp_t;

typedef struct {
	int counter;
} atomic_t;
typedef struct {
	s64 counter;
} atomic64_t;
typedef struct {
	long counter;
} atomic_long_t;

struct list_head {
	struct list_head *next, *prev;
};
struct hlist_head {
	struct hlist_node *first;
};
struct hlist_node {
	struct hlist_node *next, **pprev;
};

/*
 * A callback queued for after an RCU grace period (call_rcu, kfree_rcu).
 * The first two words are liburcu's own rcu_head (its queue node and
 * callback), which the glue passes to call_rcu(); func is the kernel's
 * callback, or for kfree_rcu() the object to free.  Callers touch none of
 * the fields, as in the kernel.
 */
struct callback_head {
	void *lab_urcu[2];
	union {
		void (*func)(struct callback_head *head);
		void *lab_obj;
	};
};
#define rcu_head callback_head
typedef void (*rcu_callback_t)(struct rcu_head *head);

#endif /* LAB_KERNEL_LINUX_TYPES_H */
