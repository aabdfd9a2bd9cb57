/*
 * linux/pagemap.h - the page lock: lock_page (may sleep), trylock_page and
 * unlock_page (never sleep; safe in atomic context), over lab_lock_page()
 * and friends.  page must head an allocated block.
 */
#ifndef LAB_KERNEL_LINUX_PAGEMAP_H
#define LAB_KERNEL_LINUX_PAGEMAP_H

#include <labyrinth.h>
#include <linux/mm_types.h>

static inline void lock_page(struct page *page)
{
	lab_lock_page(lab_kernel_page(page));
}
static inline bool trylock_page(struct page *page)
{
	return lab_trylock_page(lab_kernel_page(page));
}
static inline void unlock_page(struct page *page)
{
	lab_unlock_page(lab_kernel_page(page));
}
static inline void wait_on_page_locked(struct page *page)
{
	lab_wait_on_page_locked(lab_kernel_page(page));
}

#endif /* LAB_KERNEL_LINUX_PAGEMAP_H */
