/*
 * linux/mm.h - pages: page_address, virt_to_page, references (get_page,
 * put_page, page_count), pfns, sizes and alignment, init_on_alloc and
 * init_on_free, totalram_pages; with the page allocator (linux/gfp.h) and
 * the page lock (linux/pagemap.h).
 *
 * Every call here is O(1), thread-safe and never sleeps, except
 * lock_page().  A put that drops the last reference frees the block
 * (lab_put_page()).
 */
#ifndef LAB_KERNEL_LINUX_MM_H
#define LAB_KERNEL_LINUX_MM_H

#include <lab_kernel.h>
#include <linux/kernel.h>
#include <linux/gfp.h>
#include <linux/mm_types.h>
#include <linux/mmzone.h>
#include <linux/pagemap.h>
#include <linux/err.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <asm/page.h>

#define PAGE_ALIGN(addr)	ALIGN(addr, PAGE_SIZE)
#define PAGE_ALIGN_DOWN(addr)	ALIGN_DOWN(addr, PAGE_SIZE)
#define PAGE_ALIGNED(addr)	IS_ALIGNED((unsigned long)(addr), PAGE_SIZE)
#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)

static inline void *page_address(const struct page *page)
{
	return lab_page_address(lab_kernel_page(page));
}
#define lowmem_page_address(page)	page_address(page)
/* The page of any address inside a zone's memory; NULL outside every zone. */
static inline struct page *virt_to_page(const void *addr)
{
	return lab_kernel_kpage(lab_virt_to_page(addr));
}
#define virt_to_head_page(addr)	virt_to_page(addr)
#define virt_addr_valid(addr)	(lab_virt_to_page((const void *)(addr)) != NULL)
#define page_to_virt(page)	page_address(page)

static inline unsigned long page_to_pfn(const struct page *page)
{
	return virt_to_pfn(page_address(page));
}
static inline struct page *pfn_to_page(unsigned long pfn)
{
	return virt_to_page(pfn_to_virt(pfn));
}
#define pfn_valid(pfn)		(pfn_to_page(pfn) != NULL)
#define page_to_phys(page)	PFN_PHYS(page_to_pfn(page))
#define phys_to_page(phys)	pfn_to_page(PHYS_PFN(phys))
/* The n-th page after page, in the same zone. */
#define nth_page(page, n)	pfn_to_page(page_to_pfn(page) + (n))

static inline void get_page(struct page *page)
{
	lab_get_page(lab_kernel_page(page));
}
/* init_on_free: see lab_kernel_wipe() (linux/gfp.h). */
static inline void put_page(struct page *page)
{
	lab_kernel_wipe(page);
	lab_put_page(lab_kernel_page(page));
}
static inline int page_count(const struct page *page)
{
	return lab_page_count(lab_kernel_page(page));
}
#define page_ref_count(page)	page_count(page)

/*
 * init_on_alloc / init_on_free: the boot parameters, from
 * LABYRINTH_KERNEL_CMDLINE="init_on_alloc=1 init_on_free=1" (lab_kernel.h).
 */
static inline bool want_init_on_alloc(gfp_t flags)
{
	if (lab_kernel_init_on_alloc)
		return true;
	return flags & __GFP_ZERO;
}
static inline bool want_init_on_free(void)
{
	return lab_kernel_init_on_free;
}

/* Pages the kernel zone manages now (it grows under sleeping callers). */
static inline unsigned long totalram_pages(void)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(lab_kernel_zone(), &st);
	return st.managed;
}

static inline void clear_page(void *page)
{
	memset(page, 0, PAGE_SIZE);
}
static inline void copy_page(void *to, void *from)
{
	memcpy(to, from, PAGE_SIZE);
}

#endif /* LAB_KERNEL_LINUX_MM_H */
