/* linux/math.h - rounding and division helpers. */
#ifndef LAB_KERNEL_LINUX_MATH_H
#define LAB_KERNEL_LINUX_MATH_H

#include <linux/compiler.h>

#define __round_mask(x, y)	((__typeof__(x))((y) - 1))
#define round_up(x, y)		((((x) - 1) | __round_mask(x, y)) + 1)
#define round_down(x, y)	((x) & ~__round_mask(x, y))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define DIV_ROUND_DOWN_ULL(ll, d) ({ unsigned long long _lab_tmp = (ll); _lab_tmp / (d); })
#define DIV_ROUND_UP_ULL(ll, d)	DIV_ROUND_DOWN_ULL((unsigned long long)(ll) + (d) - 1, (d))
#define DIV_ROUND_CLOSEST(x, d)	(((x) + ((d) / 2)) / (d))
#define roundup(x, y)		({ __typeof__(y) __lab_y = (y); (((x) + (__lab_y - 1)) / __lab_y) * __lab_y; })
#define rounddown(x, y)		({ __typeof__(x) __lab_x = (x); __lab_x - (__lab_x % (y)); })
#define abs(x) \
	({ __typeof__(x) __lab_abs = (x); __lab_abs < 0 ? -__lab_abs : __lab_abs; })
#define do_div(n, base) \
	({ unsigned int __lab_base = (base); unsigned int __lab_rem = (unsigned int)((n) % __lab_base); \
	   (n) = (n) / __lab_base; __lab_rem; })

static inline unsigned long long div_u64(unsigned long long dividend, unsigned int divisor)
{
	return dividend / divisor;
}
static inline long long div_s64(long long dividend, int divisor)
{
	return dividend / divisor;
}
static inline unsigned long long div64_u64(unsigned long long dividend, unsigned long long divisor)
{
	return dividend / divisor;
}
static inline unsigned long long div_u64_rem(unsigned long long dividend, unsigned int divisor,
					     unsigned int *remainder)
{
	*remainder = (unsigned int)(dividend % divisor);
	return dividend / divisor;
}

#endif /* LAB_KERNEL_LINUX_MATH_H */
