/*
 * linux/gfp.h - the page allocator: alloc_pages, __get_free_pages,
 * __free_pages, free_pages and their one-page and zeroed forms, over
 * lab_alloc_pages() and lab_free_pages() on the kernel zone
 * (lab_kernel_zone()).
 *
 * __free_pages() is the kernel's: a put of the caller's reference.  If
 * others still hold references (get_page), a compound (__GFP_COMP) block
 * stays whole until the last put_page(); a plain block gives its tail pages
 * back at once and leaves the first page to the last put_page().
 * Allocations sleep only with __GFP_DIRECT_RECLAIM; frees never sleep.
 * init_on_alloc=1 or init_on_free=1 (LABYRINTH_KERNEL_CMDLINE) hands out
 * zeroed pages, as the kernel does; init_on_free=1 also wipes pages freed
 * (see lab_kernel_wipe() for the cases it cannot).
 */
#ifndef LAB_KERNEL_LINUX_GFP_H
#define LAB_KERNEL_LINUX_GFP_H

#include <lab_kernel.h>
#include <linux/gfp_types.h>
#include <linux/mm_types.h>
#include <linux/mmzone.h>
#include <linux/stringify.h>
#include <asm/page.h>
#include <string.h>

#define NUMA_NO_NODE	(-1)

static inline bool gfpflags_allow_blocking(const gfp_t gfp_flags)
{
	return !!(gfp_flags & __GFP_DIRECT_RECLAIM);
}
static inline bool gfp_has_io_fs(gfp_t gfp)
{
	return (gfp & (__GFP_IO | __GFP_FS)) == (__GFP_IO | __GFP_FS);
}
static inline bool gfp_compaction_allowed(gfp_t gfp_mask)
{
	return !!(gfp_mask & __GFP_IO);
}
static inline gfp_t current_gfp_context(gfp_t flags)
{
	return flags;
}
/* might_alloc(): a sleeping allocation is a sleep (might_sleep). */
#define might_alloc(gfp_mask) \
	do { if (gfpflags_allow_blocking(gfp_mask)) lab_might_sleep_at(FILE_LINE); } while (0)

/* The gfp Labyrinth gets: the same bits, with ZERO where init_on_alloc or
 * init_on_free wants the page initialised. */
static inline lab_gfp_t lab_kernel_page_gfp(gfp_t gfp)
{
	if (lab_kernel_init_on_alloc || lab_kernel_init_on_free)
		gfp |= __GFP_ZERO;
	return gfp;
}

static inline struct page *alloc_pages_noprof(gfp_t gfp, unsigned int order)
{
	return lab_kernel_kpage(lab_alloc_pages(lab_kernel_zone(), lab_kernel_page_gfp(gfp), order));
}
/* Macros, as in the kernel, so that a sleeping allocation in atomic context
 * is reported at the caller's file:line. */
#define alloc_pages(gfp, order) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); alloc_pages_noprof(__lab_gfp, order); })
#define alloc_page(gfp)			alloc_pages(gfp, 0)
/* One node here: every node is this zone's. */
#define alloc_pages_node(nid, gfp, order) ((void)(nid), alloc_pages(gfp, order))
#define __alloc_pages_node(nid, gfp, order) alloc_pages_node(nid, gfp, order)

static inline unsigned long get_free_pages_noprof(gfp_t gfp, unsigned int order)
{
	return (unsigned long)lab_get_free_pages(lab_kernel_zone(), lab_kernel_page_gfp(gfp), order);
}
#define __get_free_pages(gfp, order) \
	({ gfp_t __lab_gfp = (gfp); might_alloc(__lab_gfp); get_free_pages_noprof(__lab_gfp, order); })
#define __get_free_page(gfp)	__get_free_pages(gfp, 0)
#define get_zeroed_page(gfp)	__get_free_pages((gfp) | __GFP_ZERO, 0)

/*
 * init_on_free: a block is wiped before it goes back, by the free or put
 * that drops its last reference (a count of 1 cannot change under its only
 * holder): the whole block, of the order it was allocated with
 * (lab_page_order(), the kernel's compound_order()), whatever order the
 * caller names.  Not wiped: the tail pages of a plain (not __GFP_COMP) block
 * that __free_pages() gives back while others still hold its first page
 * (the kernel wipes them; a put here cannot tell a plain block from a
 * compound one), and a block whose last two holders put at once.
 * Allocations are zeroed under init_on_free too, so what is handed out
 * reads as zero either way.
 */
static inline void lab_kernel_wipe(struct page *page)
{
	struct lab_page *p = lab_kernel_page(page);
	int order;

	if (lab_kernel_init_on_free && p && lab_page_count(p) == 1 &&
	    (order = lab_page_order(p)) >= 0)
		memset(lab_page_address(p), 0, (size_t)PAGE_SIZE << order);
}

static inline void __free_pages(struct page *page, unsigned int order)
{
	lab_kernel_wipe(page);
	lab_free_pages(lab_kernel_page(page), order);
}
#define __free_page(page)	__free_pages(page, 0)

/* init_on_free: the wipe needs the descriptor, and the free then takes it
 * rather than looking the address up again.  An address that names no
 * page's start goes by address, which reports it. */
static inline void free_pages(unsigned long addr, unsigned int order)
{
	struct lab_page *p;

	if (addr == 0)
		return;
	if (lab_kernel_init_on_free && !(addr & (PAGE_SIZE - 1)) &&
	    (p = lab_virt_to_page((void *)addr))) {
		lab_kernel_wipe(lab_kernel_kpage(p));
		lab_free_pages(p, order);
		return;
	}
	lab_free_pages_addr((void *)addr, order);
}
#define free_page(addr)		free_pages(addr, 0)

/*
 * alloc_pages_exact(): size bytes of contiguous, page-aligned memory.  The
 * kernel splits the block and frees the pages past size at once; here the
 * block stays whole (up to twice size) until free_pages_exact().
 */
static inline void *alloc_pages_exact(size_t size, gfp_t gfp)
{
	return (void *)__get_free_pages(gfp & ~__GFP_COMP, get_order(size));
}
static inline void free_pages_exact(void *virt, size_t size)
{
	free_pages((unsigned long)virt, get_order(size));
}

#endif /* LAB_KERNEL_LINUX_GFP_H */
