/*
 * linux/kstrtox.h - kstrto*(): a whole string (a trailing newline allowed)
 * to an integer of the given type; 0, -EINVAL (not a number) or -ERANGE.
 */
#ifndef LAB_KERNEL_LINUX_KSTRTOX_H
#define LAB_KERNEL_LINUX_KSTRTOX_H

#include <lab_kernel.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/limits.h>

static inline int __must_check kstrtoull(const char *s, unsigned int base, unsigned long long *res)
{
	return lab_kernel_kstrtoull(s, base, res);
}
static inline int __must_check kstrtoll(const char *s, unsigned int base, long long *res)
{
	return lab_kernel_kstrtoll(s, base, res);
}
static inline int __must_check kstrtobool(const char *s, bool *res)
{
	return lab_kernel_kstrtobool(s, res);
}

/* The narrower types: parse wide, refuse what does not fit. */
#define __LAB_KSTRTO_U(name, type, max) \
static inline int __must_check name(const char *s, unsigned int base, type *res) \
{ \
	unsigned long long v; \
	int rc = lab_kernel_kstrtoull(s, base, &v); \
	if (rc) \
		return rc; \
	if (v > (max)) \
		return -ERANGE; \
	*res = (type)v; \
	return 0; \
}
#define __LAB_KSTRTO_S(name, type, min, max) \
static inline int __must_check name(const char *s, unsigned int base, type *res) \
{ \
	long long v; \
	int rc = lab_kernel_kstrtoll(s, base, &v); \
	if (rc) \
		return rc; \
	if (v < (min) || v > (max)) \
		return -ERANGE; \
	*res = (type)v; \
	return 0; \
}
__LAB_KSTRTO_U(kstrtoul, unsigned long, ULONG_MAX)
__LAB_KSTRTO_U(kstrtouint, unsigned int, UINT_MAX)
__LAB_KSTRTO_U(kstrtou64, unsigned long long, ULLONG_MAX)
__LAB_KSTRTO_U(kstrtou32, unsigned int, UINT_MAX)
__LAB_KSTRTO_U(kstrtou16, unsigned short, USHRT_MAX)
__LAB_KSTRTO_U(kstrtou8, unsigned char, UCHAR_MAX)
__LAB_KSTRTO_S(kstrtol, long, LONG_MIN, LONG_MAX)
__LAB_KSTRTO_S(kstrtoint, int, INT_MIN, INT_MAX)
__LAB_KSTRTO_S(kstrtos64, long long, LLONG_MIN, LLONG_MAX)
__LAB_KSTRTO_S(kstrtos32, int, INT_MIN, INT_MAX)
__LAB_KSTRTO_S(kstrtos16, short, SHRT_MIN, SHRT_MAX)
__LAB_KSTRTO_S(kstrtos8, signed char, SCHAR_MIN, SCHAR_MAX)
#undef __LAB_KSTRTO_U
#undef __LAB_KSTRTO_S

#endif /* LAB_KERNEL_LINUX_KSTRTOX_H */
