/*
 * page.h - the page descriptor: struct lab_page, its PG_* flags, and the
 * accessors the lock-free paths use.  A leaf header: it needs no zone.
 */
#ifndef LAB_PAGE_PAGE_H
#define LAB_PAGE_PAGE_H

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>

#define LAB_NO_PFN UINT32_MAX

/* Page descriptor flags (lab_page.flags). */
enum {
	PG_locked    = 1u << 0, /* page lock held */
	PG_waiters   = 1u << 1, /* someone sleeps on the page lock */
	PG_buddy     = 1u << 2, /* head of a free block on a buddy list */
	PG_allocated = 1u << 3, /* head of a block handed out */
	PG_head      = 1u << 4, /* allocated with LAB_GFP_COMP */
	PG_exclusive = 1u << 5, /* allocated with LAB_GFP_EXCLUSIVE */
	PG_bad       = 1u << 6, /* reported bad and leaked: never reused */
	PG_deferred  = 1u << 7, /* being freed, or waiting on the deferred stack */
	PG_guard     = 1u << 8, /* inaccessible guard pfn between sections (exclusive.c) */
	PG_splitting = 1u << 9, /* head: a free is splitting the tails off (alloc.c) */
	PG_split     = 1u << 10, /* tail split off a shared block, on its way to be freed */
	PG_slab      = 1u << 11, /* every page of a block the slab layer holds (src/slab/) */
	PG_pcp       = 1u << 13, /* free, on a per-CPU list */
};

struct lab_zone;

/*
 * One descriptor per page, half the kernel's struct page.  A free block is
 * described by its head (PG_buddy, order, list links); an allocated block by
 * its head (PG_allocated, order, refcount).  Tail pages carry no flags.
 */
struct lab_page {
	_Atomic uint32_t flags;
	_Atomic int32_t refcount;
	union {
		struct {
			uint32_t next, prev; /* free-list links as pfns, LAB_NO_PFN ends */
		};
		/* An allocated block's pages: a word for the layer above that holds
		 * the block (the slab layer: its slab, with PG_slab). */
		void *private;
	};
	uint8_t order;          /* free: block order; allocated head: its order */
	uint8_t list_mt;        /* free: which migratetype list holds it */
	uint16_t spare;
	uint32_t owner;         /* owner token of an exclusive block */
	struct lab_zone *zone;
};
static_assert(sizeof(struct lab_page) == 32, "descriptor must stay 32 bytes");

static inline uint32_t page_flags(const struct lab_page *p)
{
	return atomic_load_explicit(&p->flags, memory_order_relaxed);
}
static inline void set_page_flags(struct lab_page *p, uint32_t f)
{
	atomic_store_explicit(&p->flags, f, memory_order_relaxed);
}

/* The head's order, read and written outside the zone lock by the free path. */
static inline unsigned int page_order(const struct lab_page *p)
{
	return __atomic_load_n(&p->order, __ATOMIC_RELAXED);
}

#endif /* LAB_PAGE_PAGE_H */
