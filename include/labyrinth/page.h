/*
 * labyrinth/page.h - blocks of pages: allocation and free, addresses
 * and page frame numbers, references, and the page lock.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_PAGE_H
#define LABYRINTH_PAGE_H

#include <labyrinth/gfp.h>
#include <labyrinth/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Allocate a block of 2^order pages.  Returns NULL on failure with errno
 * ENOMEM, or EINVAL for a NULL zone, order > LAB_MAX_ORDER or unknown gfp
 * bits.  Sleeps only when gfp has LAB_GFP_DIRECT_RECLAIM.  O(LAB_MAX_ORDER)
 * list operations when it does not sleep.
 */
LAB_API struct lab_page *lab_alloc_pages(struct lab_zone *zone, lab_gfp_t gfp,
					 unsigned int order);
/*
 * Free a block allocated with the same order.  Misuse (wrong order, double
 * free, a descriptor that heads no block) gives a "BUG: Bad page state"
 * report and the page is leaked, never reused.  Never sleeps.  It drops a
 * reference: see lab_get_page() for blocks that have more than one.  The
 * descriptor is checked in O(1) (the descriptor range: LAB_MAX_ZONES in
 * <labyrinth/zone.h>; O(zones) where the range could not be had).
 */
LAB_API void lab_free_pages(struct lab_page *page, unsigned int order);

static inline struct lab_page *lab_alloc_page(struct lab_zone *zone, lab_gfp_t gfp)
{
	return lab_alloc_pages(zone, gfp, 0);
}
static inline void lab_free_page(struct lab_page *page)
{
	lab_free_pages(page, 0);
}

/* Address-based forms, like __get_free_pages() / free_pages(). */
LAB_API void *lab_get_free_pages(struct lab_zone *zone, lab_gfp_t gfp, unsigned int order);
LAB_API void lab_free_pages_addr(void *addr, unsigned int order);

/* The address of a page's memory; the page of an address (NULL if in no zone:
 * a walk of up to four zones, beyond that a map of the address space, O(1)). */
LAB_API void *lab_page_address(const struct lab_page *page);
LAB_API struct lab_page *lab_virt_to_page(const void *addr);
/* Page frame number within its zone, and back. */
LAB_API size_t lab_page_to_pfn(const struct lab_page *page);
LAB_API struct lab_page *lab_pfn_to_page(const struct lab_zone *zone, size_t pfn);
LAB_API struct lab_zone *lab_page_zone(const struct lab_page *page);
/* Size of a page in bytes (the system page size). */
LAB_API size_t lab_page_size(void);

/*
 * References.  A block is handed out with one; lab_get_page adds one,
 * lab_put_page drops one, and the put that drops the last frees the block
 * at the order it was allocated with.  lab_free_pages(page, order) is itself
 * a put, as the kernel's __free_pages(): if others still hold references, a
 * LAB_GFP_COMP block stays whole until the last lab_put_page(); a plain
 * block gives its tail pages back at once and leaves the head page (then an
 * order-0 block) to the last lab_put_page().  So get / free / put leaks
 * nothing.  A get at INT32_MAX, or a get or put on a block without
 * references, is a "BUG: Bad page state" report; a block still allocated is
 * then leaked, never reused, and the count never wraps.  A put is a free of
 * one reference, with a free's checks: of an exclusive block only its owner
 * may get or put a reference (another thread's is refused with a report).
 * `page` must be a block's head.  Thread-safe, never sleep, O(1) plus the
 * free.
 */
LAB_API void lab_get_page(struct lab_page *page);
LAB_API void lab_put_page(struct lab_page *page);
/* The reference count (0 for a free page).  A snapshot; never sleeps. */
LAB_API int lab_page_count(const struct lab_page *page);
/*
 * The order of the allocated block page heads, as the kernel's
 * compound_order() for kernel code that must know a block's size (say, to
 * clear a compound block before freeing it): the order it was allocated
 * with, or 0 once lab_free_pages() of a plain block with other references
 * has given its tails back (its head is then an order-0 block).  -1 for
 * NULL, a free page or a tail page.  A snapshot; never sleeps;
 * async-signal-safe; O(1).
 */
LAB_API int lab_page_order(const struct lab_page *page);

/*
 * The page lock: one bit in the block's head descriptor.  `page` must be a
 * head returned by lab_alloc_pages() and not yet freed; it is not checked
 * (these are the fast primitives), but NULL is (types.h: nothing is done,
 * lab_trylock_page answers false).  A lock is not owned by a thread: any
 * thread, or a signal handler, may unlock it.  Waiters sleep on a hashed
 * table of 256 futex-based wait queues; a waiter that loses the lock to
 * newcomers 5 times is handed it by the next unlock, so nobody starves.
 *
 * lab_lock_page: may sleep (spins briefly first).  O(1) uncontended.
 */
LAB_API void lab_lock_page(struct lab_page *page);
/* Take the lock if it is free; true when taken.  Never sleeps, never waits:
 * one atomic operation.  Safe in atomic context and in signal handlers. */
LAB_API bool lab_trylock_page(struct lab_page *page);
/* Release the lock.  Never sleeps; wakes waiters only when some sleep (then
 * O(waiters in the bucket) under a short spinlock).  Safe in signal
 * handlers.  Unlocking a page that is not locked is a Bad page report. */
LAB_API void lab_unlock_page(struct lab_page *page);
/* Wait until the page is not locked (without taking it).  May sleep. */
LAB_API void lab_wait_on_page_locked(struct lab_page *page);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_PAGE_H */
