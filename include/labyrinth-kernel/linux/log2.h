/* linux/log2.h - ilog2, is_power_of_2, roundup_pow_of_two, order_base_2. */
#ifndef LAB_KERNEL_LINUX_LOG2_H
#define LAB_KERNEL_LINUX_LOG2_H

#include <stdbool.h>

static inline __attribute__((const)) int __lab_ilog2_u64(unsigned long long n)
{
	return 63 - __builtin_clzll(n);
}
/* ilog2(0) is undefined, as in the kernel. */
#define ilog2(n)		__lab_ilog2_u64((unsigned long long)(n))
#define roundup_pow_of_two(n)	((n) <= 1 ? 1UL : 1UL << (ilog2((n) - 1) + 1))
#define rounddown_pow_of_two(n)	(1UL << ilog2(n))
#define order_base_2(n)		((n) > 1 ? ilog2((n) - 1) + 1 : 0)

static inline __attribute__((const)) bool is_power_of_2(unsigned long n)
{
	return n != 0 && ((n & (n - 1)) == 0);
}
static inline __attribute__((const)) int fls(unsigned int x)
{
	return x ? 32 - __builtin_clz(x) : 0;
}
static inline __attribute__((const)) int fls64(unsigned long long x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}
static inline __attribute__((const)) unsigned long __ffs(unsigned long word)
{
	return (unsigned long)__builtin_ctzl(word);
}
static inline __attribute__((const)) unsigned long __fls(unsigned long word)
{
	return 63 - (unsigned long)__builtin_clzl(word);
}

#endif /* LAB_KERNEL_LINUX_LOG2_H */
