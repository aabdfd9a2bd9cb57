/*
 * linux/rcupdate.h - RCU over liburcu-bp (lab_kernel.h): rcu_read_lock and
 * rcu_read_unlock (a read-side section is atomic context, as without
 * preemptible RCU: sleeping inside is reported), synchronize_rcu, call_rcu,
 * kfree_rcu, rcu_barrier, and the pointer accessors (rcu_dereference with
 * consume ordering, rcu_assign_pointer with release).  The _bh and _sched
 * flavours share the one grace period, as in the kernel since 4.20.
 * Threads need no registration.  Read-side calls never sleep;
 * synchronize_rcu, rcu_barrier and the one-argument kfree_rcu do.
 */
#ifndef LAB_KERNEL_LINUX_RCUPDATE_H
#define LAB_KERNEL_LINUX_RCUPDATE_H

#include <lab_kernel.h>
#include <linux/compiler.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/preempt.h>
#include <linux/types.h>

#define rcu_read_lock()			lab_kernel_rcu_read_lock()
#define rcu_read_unlock()		lab_kernel_rcu_read_unlock()
#define rcu_read_lock_bh()		lab_kernel_rcu_read_lock()
#define rcu_read_unlock_bh()		lab_kernel_rcu_read_unlock()
#define rcu_read_lock_sched()		lab_kernel_rcu_read_lock()
#define rcu_read_unlock_sched()		lab_kernel_rcu_read_unlock()
#define rcu_read_lock_held()		lab_kernel_rcu_read_lock_held()
#define rcu_read_lock_bh_held()		lab_kernel_rcu_read_lock_held()
#define rcu_read_lock_sched_held()	lab_kernel_rcu_read_lock_held()
#define rcu_read_lock_any_held()	lab_kernel_rcu_read_lock_held()
#define synchronize_rcu()		lab_kernel_synchronize_rcu()
#define synchronize_rcu_expedited()	lab_kernel_synchronize_rcu()
#define synchronize_net()		lab_kernel_synchronize_rcu()
#define rcu_barrier()			lab_kernel_rcu_barrier()
#define call_rcu(head, func)		lab_kernel_call_rcu(head, func)
#define call_rcu_hurry(head, func)	lab_kernel_call_rcu(head, func)
#define rcu_head_init(head)		do { (void)(head); } while (0)
#define rcu_sleep_check()		do { } while (0)
#define RCU_LOCKDEP_WARN(c, s)		do { (void)(c); } while (0)

/* Pointers published to readers. */
#define RCU_INITIALIZER(v)		(v)
#define RCU_INIT_POINTER(p, v)		WRITE_ONCE(p, v)
#define rcu_access_pointer(p)		READ_ONCE(p)
#define rcu_dereference_raw(p)		__atomic_load_n(&(p), __ATOMIC_CONSUME)
#define rcu_dereference(p)		rcu_dereference_raw(p)
#define rcu_dereference_bh(p)		rcu_dereference_raw(p)
#define rcu_dereference_sched(p)	rcu_dereference_raw(p)
#define rcu_dereference_check(p, c)	((void)(c), rcu_dereference_raw(p))
#define rcu_dereference_bh_check(p, c)	rcu_dereference_check(p, c)
#define rcu_dereference_protected(p, c)	((void)(c), (p))
#define rcu_assign_pointer(p, v) \
	do { __typeof__(p) __lab_rcu_v = (v); __atomic_store_n(&(p), __lab_rcu_v, __ATOMIC_RELEASE); } while (0)
#define rcu_replace_pointer(rcu_ptr, ptr, c) ({ \
	__typeof__(ptr) __lab_rcu_tmp = rcu_dereference_protected((rcu_ptr), (c)); \
	rcu_assign_pointer((rcu_ptr), (ptr)); \
	__lab_rcu_tmp; })

/*
 * kfree_rcu(ptr, rhf): kfree(ptr) after a grace period, through the struct
 * rcu_head ptr->rhf (never sleeps).  kfree_rcu(ptr) without one waits for
 * the grace period here (kfree_rcu_mightsleep).
 */
#define __lab_kfree_rcu2(ptr, rhf) \
	do { \
		__typeof__(ptr) __lab_rcu_p = (ptr); \
		BUILD_BUG_ON(offsetof(__typeof__(*(ptr)), rhf) >= 4096); \
		if (__lab_rcu_p) \
			lab_kernel_kfree_rcu(&__lab_rcu_p->rhf, __lab_rcu_p); \
	} while (0)
#define kfree_rcu_mightsleep(ptr)	lab_kernel_kfree_rcu_mightsleep(ptr)
#define __lab_kfree_rcu1(ptr)		kfree_rcu_mightsleep(ptr)
#define __lab_kfree_rcu_pick(_1, _2, name, ...) name
#define kfree_rcu(...) \
	__lab_kfree_rcu_pick(__VA_ARGS__, __lab_kfree_rcu2, __lab_kfree_rcu1, unused)(__VA_ARGS__)
#define kvfree_rcu(...)			kfree_rcu(__VA_ARGS__)
#define kvfree_rcu_mightsleep(ptr)	kfree_rcu_mightsleep(ptr)

#endif /* LAB_KERNEL_LINUX_RCUPDATE_H */
