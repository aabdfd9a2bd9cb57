/*
 * linux/sched.h - what module code asks of the scheduler: cond_resched (a
 * point where it may sleep; the OS preempts threads anyway), schedule,
 * yield, and the in-context tests of linux/preempt.h.
 */
#ifndef LAB_KERNEL_LINUX_SCHED_H
#define LAB_KERNEL_LINUX_SCHED_H

#include <labyrinth.h>
#include <linux/preempt.h>
#include <linux/stringify.h>

#define cond_resched()		({ lab_might_sleep_at(FILE_LINE); 0; })
#define cond_resched_lock(lock)	0
#define need_resched()		0
#define schedule()		lab_might_sleep_at(FILE_LINE)
#define yield()			lab_might_sleep_at(FILE_LINE)
#define TASK_COMM_LEN		16

#endif /* LAB_KERNEL_LINUX_SCHED_H */
