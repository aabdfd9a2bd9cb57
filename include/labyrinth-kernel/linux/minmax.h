/* linux/minmax.h - min, max, clamp and their typed forms; each operand is
 * evaluated once. */
#ifndef LAB_KERNEL_LINUX_MINMAX_H
#define LAB_KERNEL_LINUX_MINMAX_H

#include <linux/compiler.h>

#define __lab_cmp(op, x, y, ux, uy) \
	({ __typeof__(x) ux = (x); __typeof__(y) uy = (y); ux op uy ? ux : uy; })
#define min(x, y)	__lab_cmp(<, x, y, __UNIQUE_ID(x_), __UNIQUE_ID(y_))
#define max(x, y)	__lab_cmp(>, x, y, __UNIQUE_ID(x_), __UNIQUE_ID(y_))
#define umin(x, y)	min((x) + 0u + 0ul + 0ull, (y) + 0u + 0ul + 0ull)
#define umax(x, y)	max((x) + 0u + 0ul + 0ull, (y) + 0u + 0ul + 0ull)
#define min3(x, y, z)	min((__typeof__(x))min(x, y), z)
#define max3(x, y, z)	max((__typeof__(x))max(x, y), z)
#define min_not_zero(x, y) \
	({ __typeof__(x) __lab_x = (x); __typeof__(y) __lab_y = (y); \
	   __lab_x == 0 ? __lab_y : ((__lab_y == 0) ? __lab_x : min(__lab_x, __lab_y)); })
#define min_t(type, x, y)	__lab_cmp(<, (type)(x), (type)(y), __UNIQUE_ID(x_), __UNIQUE_ID(y_))
#define max_t(type, x, y)	__lab_cmp(>, (type)(x), (type)(y), __UNIQUE_ID(x_), __UNIQUE_ID(y_))
#define clamp(val, lo, hi)	min((__typeof__(val))max(val, lo), hi)
#define clamp_t(type, val, lo, hi) min_t(type, max_t(type, val, lo), hi)
#define clamp_val(val, lo, hi)	clamp_t(__typeof__(val), val, lo, hi)
/* For constant expressions (array sizes, initialisers): operands twice. */
#ifndef MIN
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b)		((a) > (b) ? (a) : (b))
#endif
#define MIN_T(type, a, b)	MIN((type)(a), (type)(b))
#define MAX_T(type, a, b)	MAX((type)(a), (type)(b))
#define in_range(val, start, len) ((val) >= (start) && (val) - (start) < (len))

#endif /* LAB_KERNEL_LINUX_MINMAX_H */
