/*
 * rcu.c - RCU for kernel code over liburcu's "bulletproof" flavour
 * (urcu-bp, Debian's liburcu-dev): threads need no registration, as kernel
 * code never registers its tasks; the first rcu_read_lock() of a thread
 * registers it (that one allocates, so not first in a signal handler).
 *
 * As in a kernel without preemptible RCU and with might_sleep checks, a
 * read-side critical section is atomic context (sleeping there is reported),
 * and callbacks run in atomic context, on liburcu's call_rcu thread (the
 * kernel runs them in softirq context).  That thread is started at boot
 * (lab__kernel_rcu_boot(), when the kernel zone is made), so that a
 * call_rcu() under a spinlock only queues and wakes it.
 *
 * The slab layer's SLAB_TYPESAFE_BY_RCU caches wait on this grace period
 * too: lab_slab_set_grace_period() is given a call_rcu() of liburcu's, so a
 * slab leaving such a cache goes back to the zone once every reader that may
 * have seen it has left rcu_read_lock().
 *
 * Exports lab_kernel_rcu_read_lock/unlock, lab_kernel_rcu_read_lock_held,
 * lab_kernel_synchronize_rcu, lab_kernel_call_rcu, lab_kernel_kfree_rcu,
 * lab_kernel_kfree_rcu_mightsleep, lab_kernel_rcu_barrier, and for the
 * other files lab__kernel_rcu_boot and lab__kernel_kfree_rcu_pending.
 */
#include "kernel.h"

#include <urcu-bp.h>
#include <stddef.h>
#include <stdlib.h>

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

/* The slab layer's head is the kernel's rcu_head, which is liburcu's. */
_Static_assert(sizeof(struct lab_rcu_head) == sizeof(struct rcu_head) &&
	       offsetof(struct lab_rcu_head, func) == offsetof(struct rcu_head, func),
	       "struct lab_rcu_head has liburcu's rcu_head layout");

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

/* kfree_rcu() callbacks queued and not yet run. */
static unsigned long kfree_rcu_pending;

bool lab__kernel_kfree_rcu_pending(void)
{
	return __atomic_load_n(&kfree_rcu_pending, __ATOMIC_ACQUIRE) != 0;
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
	__atomic_fetch_sub(&kfree_rcu_pending, 1, __ATOMIC_RELEASE);
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
	__atomic_fetch_add(&kfree_rcu_pending, 1, __ATOMIC_RELAXED);
	urcu_bp_call_rcu(&h->urcu, free_object);
}

void lab_kernel_rcu_barrier(void)
{
	lab_might_sleep_at("rcu_barrier");
	urcu_bp_barrier();
}

/*
 * The slab layer's grace period.  liburcu's call_rcu() keeps its callback
 * in the head, where the slab layer's fn was: fn is kept here instead.  The
 * slab layer passes one function for every slab (its give-back); another
 * would be a change of contract, reported and refused loudly.
 */
static void (*slab_fn)(struct lab_rcu_head *head);

static void slab_grace_period_over(struct rcu_head *urcu)
{
	void (*fn)(struct lab_rcu_head *) = __atomic_load_n(&slab_fn, __ATOMIC_ACQUIRE);
	lab_atomic_enter();
	fn((struct lab_rcu_head *)(void *)urcu);
	lab_atomic_exit();
}

static void slab_defer(struct lab_rcu_head *head, void (*fn)(struct lab_rcu_head *head))
{
	void (*expected)(struct lab_rcu_head *) = NULL;
	if (!__atomic_compare_exchange_n(&slab_fn, &expected, fn, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE) && expected != fn) {
		lab__kernel_log(0, "BUG: labyrinth-kernel: the slab layer's grace period serves "
				"one callback; it was given a second one\n");
		abort();
	}
	urcu_bp_call_rcu((struct rcu_head *)(void *)head, slab_grace_period_over);
}

void lab__kernel_rcu_boot(void)
{
	/* The callback thread, now: the first call_rcu() would make it (malloc,
	 * pthread_create), maybe under a spinlock or in a free path. */
	(void)urcu_bp_get_default_call_rcu_data();
	lab_slab_set_grace_period(slab_defer);
}
