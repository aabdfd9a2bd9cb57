/*
 * rcu.c - RCU for kernel code over liburcu's "bulletproof" flavour
 * (urcu-bp, Debian's liburcu-dev): threads need no registration, as kernel
 * code never registers its tasks; the first rcu_read_lock() of a thread
 * registers it (that one allocates, so not first in a signal handler).
 *
 * As in a kernel without preemptible RCU and with might_sleep checks, a
 * read-side critical section is atomic context (sleeping there is reported),
 * and callbacks run in atomic context, on liburcu's call_rcu thread (the
 * kernel runs them in softirq context).
 *
 * Exports lab_kernel_rcu_read_lock/unlock, lab_kernel_rcu_read_lock_held,
 * lab_kernel_synchronize_rcu, lab_kernel_call_rcu, lab_kernel_kfree_rcu,
 * lab_kernel_kfree_rcu_mightsleep,
 * lab_kernel_rcu_barrier, and lab__kernel_defer_rcu for slab.c.
 */
#include "kernel.h"

#include <urcu-bp.h>
#include <stddef.h>

/* The kernel headers' struct callback_head (linux/types.h), seen from here:
 * liburcu's rcu_head first, then the callback or the object to free. */
struct kernel_rcu_head {
	struct rcu_head urcu;
	union {
		void (*func)(struct callback_head *head);
		void *obj;
	};
};
_Static_assert(sizeof(struct kernel_rcu_head) == 3 * sizeof(void *) &&
	       offsetof(struct kernel_rcu_head, func) == 2 * sizeof(void *),
	       "struct callback_head of linux/types.h holds liburcu's rcu_head");

static _Thread_local unsigned int read_depth __attribute__((tls_model("initial-exec")));

void lab_kernel_rcu_read_lock(void)
{
	lab_atomic_enter();
	read_depth++;
	urcu_bp_read_lock();
}

void lab_kernel_rcu_read_unlock(void)
{
	urcu_bp_read_unlock();
	read_depth--;
	lab_atomic_exit();
}

bool lab_kernel_rcu_read_lock_held(void)
{
	return read_depth != 0;
}

void lab_kernel_synchronize_rcu(void)
{
	lab_might_sleep_at("synchronize_rcu");
	urcu_bp_synchronize_rcu();
}

static void run_callback(struct rcu_head *urcu)
{
	struct kernel_rcu_head *head = (struct kernel_rcu_head *)urcu;
	lab_atomic_enter();
	head->func((struct callback_head *)head);
	lab_atomic_exit();
}

void lab_kernel_call_rcu(struct callback_head *head, void (*func)(struct callback_head *head))
{
	struct kernel_rcu_head *h = (struct kernel_rcu_head *)head;
	h->func = func;
	urcu_bp_call_rcu(&h->urcu, run_callback);
}

/* kfree() as linux/slab.h's: wiped first under init_on_free. */
static void kfree_object(const void *obj)
{
	if (lab_kernel_init_on_free)
		lab_kfree_sensitive(obj);
	else
		lab_kfree(obj);
}

static void free_object(struct rcu_head *urcu)
{
	kfree_object(((struct kernel_rcu_head *)urcu)->obj);
}

void lab_kernel_kfree_rcu_mightsleep(const void *obj)
{
	if (!obj)
		return;
	lab_kernel_synchronize_rcu();
	kfree_object(obj);
}

void lab_kernel_kfree_rcu(struct callback_head *head, const void *obj)
{
	struct kernel_rcu_head *h = (struct kernel_rcu_head *)head;
	h->obj = (void *)(uintptr_t)obj;
	urcu_bp_call_rcu(&h->urcu, free_object);
}

void lab_kernel_rcu_barrier(void)
{
	lab_might_sleep_at("rcu_barrier");
	urcu_bp_barrier();
}

static void slab_deferred(struct rcu_head *urcu)
{
	lab__kernel_slab_free_deferred(urcu);
}

/* slab.c: lab__kernel_slab_free_deferred(head) after a grace period; head is
 * LAB__KERNEL_RCU_WORDS words of the caller's. */
void lab__kernel_defer_rcu(void *head)
{
	_Static_assert(sizeof(struct rcu_head) <= LAB__KERNEL_RCU_WORDS * sizeof(void *),
		       "room for liburcu's rcu_head");
	urcu_bp_call_rcu((struct rcu_head *)head, slab_deferred);
}
