/* linux/cache.h - cache line size (x86-64: 64 bytes) and alignment. */
#ifndef LAB_KERNEL_LINUX_CACHE_H
#define LAB_KERNEL_LINUX_CACHE_H

#define L1_CACHE_SHIFT		6
#define L1_CACHE_BYTES		(1 << L1_CACHE_SHIFT)
#define SMP_CACHE_BYTES		L1_CACHE_BYTES
#define L1_CACHE_ALIGN(x)	(((x) + (L1_CACHE_BYTES - 1)) & ~(__typeof__(x))(L1_CACHE_BYTES - 1))
#define ____cacheline_aligned	__attribute__((__aligned__(SMP_CACHE_BYTES)))
#define __cacheline_aligned	____cacheline_aligned
#define ____cacheline_aligned_in_smp	____cacheline_aligned
#define __cacheline_aligned_in_smp	____cacheline_aligned
#define cache_line_size()	L1_CACHE_BYTES

#endif /* LAB_KERNEL_LINUX_CACHE_H */
