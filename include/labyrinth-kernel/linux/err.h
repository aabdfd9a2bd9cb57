/*
 * linux/err.h - error codes carried in pointers: the last 4095 addresses
 * (never handed out by any allocator) stand for -1 ... -4095.
 */
#ifndef LAB_KERNEL_LINUX_ERR_H
#define LAB_KERNEL_LINUX_ERR_H

#include <linux/compiler.h>
#include <linux/types.h>
#include <linux/errno.h>

#define MAX_ERRNO	4095
#define IS_ERR_VALUE(x)	unlikely((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)

static inline void *__must_check ERR_PTR(long error)
{
	return (void *)error;
}
static inline long __must_check PTR_ERR(const void *ptr)
{
	return (long)ptr;
}
static inline bool __must_check IS_ERR(const void *ptr)
{
	return IS_ERR_VALUE((unsigned long)ptr);
}
static inline bool __must_check IS_ERR_OR_NULL(const void *ptr)
{
	return unlikely(!ptr) || IS_ERR_VALUE((unsigned long)ptr);
}
/* An error pointer as another pointer type. */
static inline void *__must_check ERR_CAST(const void *ptr)
{
	return (void *)(uintptr_t)ptr;
}
static inline int __must_check PTR_ERR_OR_ZERO(const void *ptr)
{
	return IS_ERR(ptr) ? (int)PTR_ERR(ptr) : 0;
}

#endif /* LAB_KERNEL_LINUX_ERR_H */
