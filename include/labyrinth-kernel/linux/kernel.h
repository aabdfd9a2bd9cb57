/*
 * linux/kernel.h - the kernel's everyday helpers: ARRAY_SIZE, min/max/clamp,
 * container_of, rounding and alignment, might_sleep and cond_resched,
 * kstrto*, with printk, BUG/WARN and the error numbers.
 *
 * The C library's uapi <linux/kernel.h> comes first (glibc's sys/sysinfo.h
 * includes it).  min() and max() take operands of any types, compared after
 * the usual conversions; the kernel also refuses mixed signedness at compile
 * time, which this header leaves to -Wsign-compare.
 */
#ifndef LAB_KERNEL_LINUX_KERNEL_H
#define LAB_KERNEL_LINUX_KERNEL_H

#include_next <linux/kernel.h>
#include <lab_kernel.h>
#include <linux/compiler.h>
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/stringify.h>
#include <linux/build_bug.h>
#include <linux/limits.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/errno.h>
#include <linux/bits.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/math.h>
#include <linux/container_of.h>
#include <linux/array_size.h>
#include <linux/align.h>
#include <linux/printk.h>
#include <linux/bug.h>
#include <linux/kstrtox.h>
#include <linux/sched.h>
#include <linux/string.h>

#define REPEAT_BYTE(x)		((~0ul / 0xff) * (x))
#define upper_32_bits(n)	((u32)(((n) >> 16) >> 16))
#define lower_32_bits(n)	((u32)((n) & 0xffffffff))
#define upper_16_bits(n)	((u16)((n) >> 16))
#define lower_16_bits(n)	((u16)((n) & 0xffff))
#define u64_to_user_ptr(x)	((void __user *)(uintptr_t)(x))

#define swap(a, b) \
	do { __typeof__(a) __lab_swap_tmp = (a); (a) = (b); (b) = __lab_swap_tmp; } while (0)

/* Sleeping: the kernel's check that nothing sleeps in atomic context.  The
 * report names file:line, as the kernel's does. */
#define might_sleep()		lab_might_sleep_at(FILE_LINE)
#define might_sleep_if(cond)	do { if (cond) might_sleep(); } while (0)
#define might_fault()		might_sleep()
#define might_resched()		do { } while (0)
#define cant_sleep() \
	WARN_ONCE(!lab_in_atomic(), "cant_sleep() outside atomic context")
#define cant_migrate()		do { } while (0)
#define non_block_start()	lab_atomic_enter()
#define non_block_end()		lab_atomic_exit()

#define STACK_MAGIC	0xdeadbeef
#define TAINT_WARN	9

#endif /* LAB_KERNEL_LINUX_KERNEL_H */
