/* linux/align.h - ALIGN, ALIGN_DOWN, PTR_ALIGN, IS_ALIGNED (a: a power of 2). */
#ifndef LAB_KERNEL_LINUX_ALIGN_H
#define LAB_KERNEL_LINUX_ALIGN_H

#define __LAB_ALIGN_MASK(x, mask)	(((x) + (mask)) & ~(mask))
#define ALIGN(x, a)		__LAB_ALIGN_MASK(x, (__typeof__(x))(a) - 1)
#define ALIGN_DOWN(x, a)	ALIGN((x) - ((a) - 1), (a))
#define __ALIGN_MASK(x, mask)	__LAB_ALIGN_MASK((x), (mask))
#define PTR_ALIGN(p, a)		((__typeof__(p))ALIGN((unsigned long)(p), (a)))
#define PTR_ALIGN_DOWN(p, a)	((__typeof__(p))ALIGN_DOWN((unsigned long)(p), (a)))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)

#endif /* LAB_KERNEL_LINUX_ALIGN_H */
