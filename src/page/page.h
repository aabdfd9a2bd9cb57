/*
 * page.h - the page descriptor: struct lab_page, its PG_* flags, and the
 * accessors the lock-free paths use.  A leaf header: it needs no zone.
 */
#ifndef LAB_PAGE_PAGE_H
#define LAB_PAGE_PAGE_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define LAB_NO_PFN UINT32_MAX

/*
 * Page descriptor flags (lab_page.flags), each once: its name (PG_<name>,
 * and the word reports print), its bit, and what it means.
 */
#define LAB_PAGE_FLAGS(F)                                                                   \
	F(locked,    0, "page lock held")                                                   \
	F(waiters,   1, "someone sleeps on the page lock")                                  \
	F(buddy,     2, "head of a free block on a buddy list")                             \
	F(allocated, 3, "head of a block handed out")                                       \
	F(head,      4, "allocated with LAB_GFP_COMP")                                      \
	F(exclusive, 5, "allocated with LAB_GFP_EXCLUSIVE")                                 \
	F(bad,       6, "reported bad and leaked: never reused")                            \
	F(deferred,  7, "being freed, or waiting on the deferred stack")                    \
	F(guard,     8, "inaccessible guard pfn between sections (secure/protect.c)")       \
	F(splitting, 9, "head: a free is splitting the tails off (free.c)")                 \
	F(split,    10, "tail split off a shared block, on its way to be freed")            \
	F(slab,     11, "every page of a block the slab layer holds (src/slab/)")           \
	F(pooled,   12, "head: taken back into a mempool's reserve (mempool.c)")            \
	F(pcp,      13, "free, on a per-CPU list")

enum {
#define LAB_PG_BIT(name, bit, what) PG_##name = 1u << (bit),
	LAB_PAGE_FLAGS(LAB_PG_BIT)
#undef LAB_PG_BIT
};

/* flags as "locked|allocated", bits without a name as hex, like the
 * kernel's %pGp (page.c); returns buf. */
const char *lab__page_flags_name(uint32_t flags, char *buf, size_t len);

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
	union {
		struct {
			uint8_t order;    /* free: block order; allocated head: its order */
			uint8_t list_mt;  /* free: which migratetype list holds it */
			uint16_t spare;
			uint32_t owner;   /* owner token of an exclusive block */
		};
		/* The first tail page of an allocated block of order >= 1: a second
		 * word for the layer above (its holder clears it before the free). */
		void *private2;
	};
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
