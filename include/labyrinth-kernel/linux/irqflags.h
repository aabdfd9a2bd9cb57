/*
 * linux/irqflags.h - interrupt state, per thread: disabling interrupts
 * enters atomic context, as in the kernel (lab_kernel_irq_save()).  Signals
 * are not blocked.
 */
#ifndef LAB_KERNEL_LINUX_IRQFLAGS_H
#define LAB_KERNEL_LINUX_IRQFLAGS_H

#include <lab_kernel.h>
#include <linux/bug.h>

#define local_irq_save(flags)		do { (flags) = lab_kernel_irq_save(); } while (0)
#define local_irq_restore(flags)	lab_kernel_irq_restore(flags)
#define local_irq_disable()		((void)lab_kernel_irq_save())
#define local_irq_enable()		lab_kernel_irq_restore(0)
#define irqs_disabled()			lab_kernel_irqs_disabled()
#define raw_local_irq_save(flags)	local_irq_save(flags)
#define raw_local_irq_restore(flags)	local_irq_restore(flags)
#define lockdep_assert_irqs_disabled()	(void)WARN_ON_ONCE(!irqs_disabled())
#define lockdep_assert_irqs_enabled()	(void)WARN_ON_ONCE(irqs_disabled())

#endif /* LAB_KERNEL_LINUX_IRQFLAGS_H */
