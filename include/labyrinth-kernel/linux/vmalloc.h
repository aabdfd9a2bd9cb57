/*
 * linux/vmalloc.h - vmalloc and friends over pages: whole, page-aligned pages
 * from the kernel zone (kmalloc's page-sized classes, which are aligned to
 * their size, and blocks of pages beyond 8 KiB), so vmalloc_to_page() is
 * virt_to_page().  Physically contiguous here, so at most KMALLOC_MAX_SIZE
 * (4 MiB, 2^MAX_PAGE_ORDER pages) where the kernel's maps scattered pages
 * into up to all of memory; larger requests fail (NULL).  vfree and kvfree
 * free either kind, in any context.  vmalloc may sleep (GFP_KERNEL).
 */
#ifndef LAB_KERNEL_LINUX_VMALLOC_H
#define LAB_KERNEL_LINUX_VMALLOC_H

#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

static inline void *__vmalloc_noprof(unsigned long size, gfp_t gfp)
{
	if (size == 0 || size > KMALLOC_MAX_SIZE)
		return NULL;
	return lab_kmalloc(PAGE_ALIGN(size), lab_kernel_kmalloc_gfp(gfp));
}
#define __vmalloc(size, gfp) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); __vmalloc_noprof(size, __lab_gfp); })
#define vmalloc(size)			__vmalloc(size, GFP_KERNEL)
#define vzalloc(size)			__vmalloc(size, GFP_KERNEL | __GFP_ZERO)
#define vmalloc_user(size)		vzalloc(size)
#define vmalloc_node(size, node)	((void)(node), vmalloc(size))
#define vzalloc_node(size, node)	((void)(node), vzalloc(size))
#define vmalloc_32(size)		vmalloc(size)
#define vmalloc_huge(size, gfp)		__vmalloc(size, gfp)
#define vmalloc_array(n, size) \
	({ size_t __lab_bytes; \
	   check_mul_overflow((size_t)(n), (size_t)(size), &__lab_bytes) ? NULL : vmalloc(__lab_bytes); })
#define vcalloc(n, size) \
	({ size_t __lab_bytes; \
	   check_mul_overflow((size_t)(n), (size_t)(size), &__lab_bytes) ? NULL : vzalloc(__lab_bytes); })
static inline void vfree(const void *addr)
{
	kfree(addr);
}
#define vfree_atomic(addr)		vfree(addr)
static inline struct page *vmalloc_to_page(const void *addr)
{
	return virt_to_page(addr);
}
static inline unsigned long vmalloc_to_pfn(const void *addr)
{
	return page_to_pfn(vmalloc_to_page(addr));
}
/* Kernel vmalloc space is apart from the direct map; here it is not. */
#define is_vmalloc_addr(x)		((void)(x), false)

#endif /* LAB_KERNEL_LINUX_VMALLOC_H */
