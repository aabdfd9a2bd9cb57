/*
 * context.c - interrupt state for kernel code in userspace, per thread:
 * local_irq_save() and friends.  Disabling interrupts enters Labyrinth's
 * atomic context (one level however deeply saves nest), so anything that
 * may sleep meanwhile is reported; signals are not blocked (that would be a
 * system call on every spin_lock_irqsave).
 *
 * Exports lab_kernel_irq_save, lab_kernel_irq_restore, lab_kernel_irqs_disabled.
 * Async-signal-safe; no system calls.
 */
#include "kernel.h"

static _Thread_local bool irqs_off __attribute__((tls_model("initial-exec")));

unsigned long lab_kernel_irq_save(void)
{
	if (irqs_off)
		return 1;
	lab_atomic_enter();
	irqs_off = true;
	return 0;
}

void lab_kernel_irq_restore(unsigned long flags)
{
	if (flags || !irqs_off)
		return;
	irqs_off = false;
	lab_atomic_exit();
}

bool lab_kernel_irqs_disabled(void)
{
	return irqs_off;
}
