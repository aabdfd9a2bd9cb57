/*
 * linux/bug.h - BUG, BUG_ON (report and abort), WARN, WARN_ON and their
 * _ONCE forms (report, count, go on; abort with panic_on_warn=1), and the
 * VM_* checks of linux/mmdebug.h, on as in a CONFIG_DEBUG_VM kernel.
 * WARN_ON(cond) returns cond, as in the kernel.
 */
#ifndef LAB_KERNEL_LINUX_BUG_H
#define LAB_KERNEL_LINUX_BUG_H

#include <lab_kernel.h>
#include <linux/compiler.h>
#include <linux/build_bug.h>

#define BUG()		lab_kernel_bug(__FILE__, __LINE__, __func__)
#define BUG_ON(cond)	do { if (unlikely(cond)) BUG(); } while (0)

#define WARN_ON(condition) ({ \
	int __lab_ret_warn_on = !!(condition); \
	if (unlikely(__lab_ret_warn_on)) \
		lab_kernel_warn(__FILE__, __LINE__, __func__, NULL); \
	unlikely(__lab_ret_warn_on); })
#define WARN(condition, format...) ({ \
	int __lab_ret_warn_on = !!(condition); \
	if (unlikely(__lab_ret_warn_on)) \
		lab_kernel_warn(__FILE__, __LINE__, __func__, format); \
	unlikely(__lab_ret_warn_on); })
#define WARN_ON_ONCE(condition) ({ \
	static bool __lab_warned; \
	int __lab_ret_warn_once = !!(condition); \
	if (unlikely(__lab_ret_warn_once) && \
	    !__atomic_exchange_n(&__lab_warned, true, __ATOMIC_RELAXED)) \
		lab_kernel_warn(__FILE__, __LINE__, __func__, NULL); \
	unlikely(__lab_ret_warn_once); })
#define WARN_ONCE(condition, format...) ({ \
	static bool __lab_warned; \
	int __lab_ret_warn_once = !!(condition); \
	if (unlikely(__lab_ret_warn_once) && \
	    !__atomic_exchange_n(&__lab_warned, true, __ATOMIC_RELAXED)) \
		lab_kernel_warn(__FILE__, __LINE__, __func__, format); \
	unlikely(__lab_ret_warn_once); })
#define WARN_TAINT(condition, taint, format...)		WARN(condition, format)
#define WARN_TAINT_ONCE(condition, taint, format...)	WARN_ONCE(condition, format)

#define VM_BUG_ON(cond)			BUG_ON(cond)
#define VM_BUG_ON_PAGE(cond, page)	BUG_ON(cond)
#define VM_BUG_ON_FOLIO(cond, folio)	BUG_ON(cond)
#define VM_WARN_ON(cond)		(void)WARN_ON(cond)
#define VM_WARN_ON_ONCE(cond)		WARN_ON_ONCE(cond)
#define VM_WARN_ONCE(cond, format...)	(void)WARN_ONCE(cond, format)
#define VM_WARN(cond, format...)	(void)WARN(cond, format)
#define VM_WARN_ON_ONCE_PAGE(cond, page) WARN_ON_ONCE(cond)

#endif /* LAB_KERNEL_LINUX_BUG_H */
