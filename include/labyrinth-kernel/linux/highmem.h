/*
 * linux/highmem.h - kmap and friends.  Every page is mapped (as on 64-bit
 * kernels), so a map is page_address(); kmap_atomic() still enters atomic
 * context until kunmap_atomic(), as it disables preemption in the kernel.
 */
#ifndef LAB_KERNEL_LINUX_HIGHMEM_H
#define LAB_KERNEL_LINUX_HIGHMEM_H

#include <linux/mm.h>
#include <linux/string.h>

static inline void *kmap(struct page *page)
{
	lab_might_sleep_at(FILE_LINE);
	return page_address(page);
}
static inline void kunmap(struct page *page)
{
	(void)page;
}
static inline void *kmap_local_page(struct page *page)
{
	return page_address(page);
}
#define kunmap_local(addr)		((void)(addr))
static inline void *kmap_atomic(struct page *page)
{
	lab_atomic_enter();
	return page_address(page);
}
#define kunmap_atomic(addr)		do { (void)(addr); lab_atomic_exit(); } while (0)

static inline void clear_highpage(struct page *page)
{
	clear_page(page_address(page));
}
static inline void copy_highpage(struct page *to, struct page *from)
{
	copy_page(page_address(to), page_address(from));
}
static inline void memcpy_from_page(char *to, struct page *page, size_t offset, size_t len)
{
	memcpy(to, (char *)page_address(page) + offset, len);
}
static inline void memcpy_to_page(struct page *page, size_t offset, const char *from, size_t len)
{
	memcpy((char *)page_address(page) + offset, from, len);
}
static inline void memzero_page(struct page *page, size_t offset, size_t len)
{
	memset((char *)page_address(page) + offset, 0, len);
}

#endif /* LAB_KERNEL_LINUX_HIGHMEM_H */
