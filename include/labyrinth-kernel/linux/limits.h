/*
 * linux/limits.h - the kernel's limits (U8_MAX ... S64_MIN, SIZE_MAX) beside
 * the uapi <linux/limits.h> (PATH_MAX ...) and the C library's <limits.h>
 * (INT_MAX ...).  The C library reaches this file too (bits/local_lim.h).
 */
#ifndef LAB_KERNEL_LINUX_LIMITS_H
#define LAB_KERNEL_LINUX_LIMITS_H

#include_next <linux/limits.h>
#include <limits.h>
#include <stdint.h>

#define U8_MAX		((unsigned char)~0U)
#define S8_MAX		((signed char)(U8_MAX >> 1))
#define S8_MIN		((signed char)(-S8_MAX - 1))
#define U16_MAX		((unsigned short)~0U)
#define S16_MAX		((short)(U16_MAX >> 1))
#define S16_MIN		((short)(-S16_MAX - 1))
#define U32_MAX		((unsigned int)~0U)
#define U32_MIN		((unsigned int)0)
#define S32_MAX		((int)(U32_MAX >> 1))
#define S32_MIN		((int)(-S32_MAX - 1))
#define U64_MAX		((unsigned long long)~0ULL)
#define S64_MAX		((long long)(U64_MAX >> 1))
#define S64_MIN		((long long)(-S64_MAX - 1))
#define PHYS_ADDR_MAX	(~(phys_addr_t)0)
#define RESOURCE_SIZE_MAX ((resource_size_t)~0)

#endif /* LAB_KERNEL_LINUX_LIMITS_H */
