/* linux/build_bug.h - compile-time assertions. */
#ifndef LAB_KERNEL_LINUX_BUILD_BUG_H
#define LAB_KERNEL_LINUX_BUILD_BUG_H

#include <linux/compiler.h>

/* 0 in an expression, or a compile error (negative bit-field width). */
#define BUILD_BUG_ON_ZERO(e)		((int)(sizeof(struct { int:(-!!(e)); })))
#define BUILD_BUG_ON_MSG(cond, msg)	compiletime_assert(!(cond), msg)
#define BUILD_BUG_ON(condition)		BUILD_BUG_ON_MSG(condition, "BUILD_BUG_ON failed: " #condition)
#define BUILD_BUG_ON_NOT_POWER_OF_2(n)	BUILD_BUG_ON((n) == 0 || (((n) & ((n) - 1)) != 0))
#define BUILD_BUG()			BUILD_BUG_ON_MSG(1, "BUILD_BUG failed")
#define BUILD_BUG_ON_INVALID(e)		((void)(sizeof((long)(e))))
#ifndef static_assert
#define static_assert(expr, ...)	__static_assert(expr, ##__VA_ARGS__, #expr)
#define __static_assert(expr, msg, ...)	_Static_assert(expr, msg)
#endif

#endif /* LAB_KERNEL_LINUX_BUILD_BUG_H */
