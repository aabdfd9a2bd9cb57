/*
 * linux/string.h - the C library's <string.h> and the kernel's additions:
 * strscpy, memzero_explicit, memchr_inv, strstarts, sysfs_streq, memset32/64
 * and memset_p; kstrdup, kstrndup, kmemdup and kfree_const come with
 * linux/slab.h (they allocate).
 */
#ifndef LAB_KERNEL_LINUX_STRING_H
#define LAB_KERNEL_LINUX_STRING_H

#include <string.h>
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/errno.h>

/* Copy at most size-1 bytes and terminate; -E2BIG if src was cut. */
static inline ssize_t __lab_strscpy(char *dst, const char *src, size_t size)
{
	if (size == 0)
		return -E2BIG;
	size_t len = strnlen(src, size);
	if (len == size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, len + 1);
	return (ssize_t)len;
}
/* strscpy(dst, src) with an array dst, or strscpy(dst, src, size). */
#define __lab_strscpy2(dst, src)	__lab_strscpy(dst, src, sizeof(dst))
#define __lab_strscpy3(dst, src, size)	__lab_strscpy(dst, src, size)
#define __lab_strscpy_pick(_1, _2, _3, name, ...) name
#define strscpy(...) \
	__lab_strscpy_pick(__VA_ARGS__, __lab_strscpy3, __lab_strscpy2, unused)(__VA_ARGS__)
/* strscpy, then zeroes to the end of dst. */
static inline ssize_t __lab_strscpy_pad(char *dst, const char *src, size_t size)
{
	ssize_t n = __lab_strscpy(dst, src, size);
	if (n >= 0 && (size_t)n + 1 < size)
		memset(dst + n + 1, 0, size - (size_t)n - 1);
	return n;
}
#define __lab_strscpy_pad2(dst, src)		__lab_strscpy_pad(dst, src, sizeof(dst))
#define __lab_strscpy_pad3(dst, src, size)	__lab_strscpy_pad(dst, src, size)
#define strscpy_pad(...) \
	__lab_strscpy_pick(__VA_ARGS__, __lab_strscpy_pad3, __lab_strscpy_pad2, unused)(__VA_ARGS__)

/* A memset the compiler may not remove (a secret's last use). */
static inline void memzero_explicit(void *s, size_t count)
{
	memset(s, 0, count);
	__asm__ __volatile__("" : : "r"(s) : "memory");
}
/* The first byte of [start, start+bytes) that is not c, or NULL. */
static inline void *memchr_inv(const void *start, int c, size_t bytes)
{
	const unsigned char *p = (const unsigned char *)start;
	for (size_t i = 0; i < bytes; i++)
		if (p[i] != (unsigned char)c)
			return (void *)(uintptr_t)(p + i);
	return NULL;
}
static inline bool strstarts(const char *str, const char *prefix)
{
	return strncmp(str, prefix, strlen(prefix)) == 0;
}
/* Equal, ignoring one trailing newline on either (a sysfs write). */
static inline bool sysfs_streq(const char *s1, const char *s2)
{
	while (*s1 && *s1 == *s2) {
		s1++;
		s2++;
	}
	if (*s1 == *s2)
		return true;
	if (!*s1 && *s2 == '\n' && !s2[1])
		return true;
	if (*s1 == '\n' && !s1[1] && !*s2)
		return true;
	return false;
}
static inline void *memset32(uint32_t *s, uint32_t v, size_t count)
{
	for (size_t i = 0; i < count; i++)
		s[i] = v;
	return s;
}
static inline void *memset64(uint64_t *s, uint64_t v, size_t count)
{
	for (size_t i = 0; i < count; i++)
		s[i] = v;
	return s;
}
static inline void *memset_p(void **p, void *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = v;
	return p;
}
#define memset_startat(obj, v, member) \
	memset((char *)(obj) + offsetof(__typeof__(*(obj)), member), v, \
	       sizeof(*(obj)) - offsetof(__typeof__(*(obj)), member))
#define memset_after(obj, v, member) \
	memset((char *)(obj) + offsetofend(__typeof__(*(obj)), member), v, \
	       sizeof(*(obj)) - offsetofend(__typeof__(*(obj)), member))

/* lib/memcat_p.c (kernel source, not provided here): two NULL-terminated
 * pointer arrays joined into a new kmalloc'd one. */
void **__memcat_p(void **a, void **b);
#define memcat_p(a, b) ({ \
	_Static_assert(__same_type(*(a), *(b)), "type mismatch in memcat_p()"); \
	(__typeof__(*(a)) *)__memcat_p((void **)(a), (void **)(b)); })

#endif /* LAB_KERNEL_LINUX_STRING_H */
