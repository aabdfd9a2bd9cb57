/*
 * asm/page.h - page size and the address/pfn conversions (x86-64).
 *
 * PAGE_SIZE is a constant, as kernel code needs it in constant expressions;
 * the runtime library checks at load time that the system's page size is
 * the same.  Physical addresses are the virtual ones (there is no other
 * mapping in userspace) and a pfn is an address >> PAGE_SHIFT, so pfns of
 * every Labyrinth zone live in one space, as in the kernel.
 */
#ifndef LAB_KERNEL_ASM_PAGE_H
#define LAB_KERNEL_ASM_PAGE_H

#include <linux/types.h>

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#define __pa(x)			((unsigned long)(x))
#define __va(x)			((void *)(unsigned long)(x))
#define virt_to_phys(x)		((phys_addr_t)(unsigned long)(x))
#define phys_to_virt(x)		((void *)(unsigned long)(x))
#define PFN_PHYS(x)		((phys_addr_t)(x) << PAGE_SHIFT)
#define PHYS_PFN(x)		((unsigned long)((x) >> PAGE_SHIFT))
#define PFN_UP(x)		(((x) + PAGE_SIZE - 1) >> PAGE_SHIFT)
#define PFN_DOWN(x)		((x) >> PAGE_SHIFT)
#define virt_to_pfn(kaddr)	(__pa(kaddr) >> PAGE_SHIFT)
#define pfn_to_virt(pfn)	__va((unsigned long)(pfn) << PAGE_SHIFT)

/* The smallest order whose block holds size bytes (size > 0). */
static inline int get_order(unsigned long size)
{
	if (size <= PAGE_SIZE)
		return 0;
	return 64 - __builtin_clzl((size - 1) >> PAGE_SHIFT);
}

#endif /* LAB_KERNEL_ASM_PAGE_H */
