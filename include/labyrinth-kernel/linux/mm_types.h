/*
 * linux/mm_types.h - struct page.
 *
 * struct page is Labyrinth's page descriptor, struct lab_page, under the
 * kernel's tag.  It stays an incomplete type: code that holds, passes and
 * compares `struct page *` compiles unchanged, and the inline functions of
 * linux/mm.h, gfp.h and pagemap.h convert at the boundary.  Not chosen:
 * `#define page lab_page` would rename every identifier called `page` (a
 * variable, a field, a function) in kernel code; a typedef cannot rename a
 * struct tag.  What does not compile is what depends on the kernel's layout
 * (page->flags, sizeof(struct page), page + 1): use nth_page() and the
 * accessors, as code that works across memory models does.
 */
#ifndef LAB_KERNEL_LINUX_MM_TYPES_H
#define LAB_KERNEL_LINUX_MM_TYPES_H

#include <labyrinth.h>
#include <linux/types.h>

struct page;
struct folio;
struct mm_struct;
struct vm_area_struct;

/* The conversions: the same pointer, seen by Labyrinth and by kernel code. */
static inline struct lab_page *lab_kernel_page(const struct page *page)
{
	return (struct lab_page *)(uintptr_t)page;
}
static inline struct page *lab_kernel_kpage(const struct lab_page *page)
{
	return (struct page *)(uintptr_t)page;
}

#endif /* LAB_KERNEL_LINUX_MM_TYPES_H */
