/*
 * linux/preempt.h - preemption and context: preempt_disable() enters
 * Labyrinth's atomic context (lab_atomic_enter), so a sleeping call inside
 * is reported, as in a kernel with CONFIG_DEBUG_ATOMIC_SLEEP; in_atomic()
 * is its nesting.  There are no hard or soft interrupts: in_interrupt() is
 * 0 and in_task() is 1 (a signal handler that marks itself with
 * lab_atomic_enter() is atomic context all the same).
 */
#ifndef LAB_KERNEL_LINUX_PREEMPT_H
#define LAB_KERNEL_LINUX_PREEMPT_H

#include <lab_kernel.h>

#define preempt_disable()		lab_atomic_enter()
#define preempt_enable()		lab_atomic_exit()
#define preempt_enable_no_resched()	lab_atomic_exit()
#define preempt_disable_notrace()	lab_atomic_enter()
#define preempt_enable_notrace()	lab_atomic_exit()
#define migrate_disable()		lab_atomic_enter()
#define migrate_enable()		lab_atomic_exit()
#define pagefault_disable()		lab_atomic_enter()
#define pagefault_enable()		lab_atomic_exit()
#define local_bh_disable()		lab_atomic_enter()
#define local_bh_enable()		lab_atomic_exit()
#define preempt_count()			lab_in_atomic()
#define in_atomic()			(lab_in_atomic() != 0)
#define preemptible()			(lab_in_atomic() == 0 && !lab_kernel_irqs_disabled())
#define in_interrupt()			0
#define in_irq()			0
#define in_hardirq()			0
#define in_softirq()			0
#define in_serving_softirq()		0
#define in_nmi()			0
#define in_task()			1

#endif /* LAB_KERNEL_LINUX_PREEMPT_H */
