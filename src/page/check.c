/*
 * check.c - lab_zone_check(): every invariant of a zone, walked with the
 * zone lock and every per-CPU set held, exact beside running threads
 * (docs/DESIGN.md, "Invariants").  What it finds is reported after it lets
 * the locks go (check.h).
 */
#include "base/fmt.h"
#include "os/os.h"
#include "os/printk.h"
#include "page/buddy.h"
#include "page/check.h"
#include "page/page.h"
#include "page/pcp.h"
#include "page/zone.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#define BROKEN(...) \
	(errors++, lab__check_broken(log, "labyrinth: zone %s: invariant broken: " __VA_ARGS__))

void lab__check_broken(struct lab__check_log *log, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = lab__vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (log->used + len > sizeof(log->buf)) {
		log->dropped++;
		return;
	}
	memcpy(log->buf + log->used, line, len);
	log->used += len;
}

/* Written once the locks are free: the lines, then how many did not fit. */
static void flush_log(const struct lab_zone *z, const struct lab__check_log *log)
{
	lab__os_write_stderr(log->buf, log->used);
	if (log->dropped)
		lab__printk("labyrinth: zone %s: invariant broken: %d more such lines not shown\n",
			    z->name, log->dropped);
}

/* Walk the free lists: each block a free head of its order and list, aligned. */
static int check_free_lists(const struct lab_zone *z, size_t managed, size_t *listed,
			    struct lab__check_log *log)
{
	int errors = 0;
	*listed = 0;
	for (unsigned int o = 0; o <= LAB_MAX_ORDER; o++) {
		for (unsigned int mt = 0; mt < MT_NR; mt++) {
			size_t n = 0;
			uint32_t prev = LAB_NO_PFN;
			for (uint32_t pfn = z->area[o].head[mt]; pfn != LAB_NO_PFN;
			     pfn = pfn_to_page(z, pfn)->next) {
				const struct lab_page *p = pfn_to_page(z, pfn);
				if (pfn >= managed || n > managed) {
					BROKEN("free_list_link order %u: pfn %u out of the zone\n", z->name, o, pfn);
					break;
				}
				if (!(page_flags(p) & PG_buddy) || p->order != o || p->list_mt != mt)
					BROKEN("free_list_membership pfn %u on list %u/%u: flags %#x order %u\n",
					       z->name, pfn, o, mt, page_flags(p), p->order);
				if (pfn & ((1u << o) - 1))
					BROKEN("free_block_aligned pfn %u order %u\n", z->name, pfn, o);
				if (p->prev != prev)
					BROKEN("free_list_link pfn %u prev %u, expected %u\n", z->name, pfn, p->prev, prev);
				prev = pfn;
				n++;
				*listed += (size_t)1 << o;
			}
			if (n != z->area[o].nr_free[mt])
				BROKEN("free_list_count order %u type %u: %zu blocks listed, %zu counted\n",
				       z->name, o, mt, n, z->area[o].nr_free[mt]);
		}
	}
	return errors;
}

/* Flags that make a page the head of a block. */
#define HEAD_FLAGS (PG_buddy | PG_allocated | PG_bad | PG_deferred | PG_pcp | PG_guard | \
		    PG_split | PG_pooled)

/*
 * Walk pfn order: blocks tile the zone without overlapping.  Lock-free
 * paths run meanwhile, and all but one leave the tiling alone: they change a
 * whole block's flags (allocated, per-CPU, deferred, bad), each state counted
 * below.  The exception is a free splitting a shared block (alloc.c
 * split_block): the tails become blocks of their own (PG_split) inside the
 * head, which then shrinks to order 0, and only then do the tails move on.
 * So a head whose interior is not clean is read again: a changed order means
 * the split went on, and the block is walked again; an unchanged one means
 * what was seen is real, PG_split tails under a PG_splitting head being a
 * split in flight and anything else a break.  Every page is counted once.
 */
static int check_tiling(const struct lab_zone *z, size_t managed, size_t *free_seen,
			size_t *used_seen, size_t *pcp_seen, struct lab__check_log *log)
{
	int errors = 0;
	unsigned int rewalks = 0;
	*free_seen = *used_seen = *pcp_seen = 0;
	for (size_t pfn = 0; pfn < managed;) {
		const struct lab_page *p = pfn_to_page(z, pfn);
		uint32_t f = atomic_load_explicit(&p->flags, memory_order_acquire);
		if (!(f & HEAD_FLAGS)) {
			BROKEN("block_tiling pfn %zu belongs to no block (flags %#x)\n", z->name, pfn, f);
			pfn++;
			continue;
		}
		unsigned int order = __atomic_load_n(&p->order, __ATOMIC_ACQUIRE);
		size_t n = (size_t)1 << order;
		if (order > LAB_MAX_ORDER || pfn & (n - 1) || pfn + n > managed) {
			BROKEN("block_aligned pfn %zu order %u\n", z->name, pfn, order);
			pfn++;
			continue;
		}
		size_t split_tails = 0, foreign = 0, first_split = 0, first = 0;
		uint32_t first_flags = 0;
		for (size_t t = pfn + 1; t < pfn + n; t++) {
			uint32_t tf = page_flags(pfn_to_page(z, t));
			if (tf == PG_split && !split_tails++)
				first_split = t;
			else if ((tf & HEAD_FLAGS) && tf != PG_split && !foreign++) {
				first = t;
				first_flags = tf;
			}
		}
		if (split_tails || foreign) {
			atomic_thread_fence(memory_order_acquire);
			uint32_t f2 = atomic_load_explicit(&p->flags, memory_order_acquire);
			if (__atomic_load_n(&p->order, __ATOMIC_ACQUIRE) != order && ++rewalks < 4)
				continue;  /* split meanwhile: walk it again from its head */
			if (!(f2 & PG_splitting) && split_tails) {
				if (!foreign) {
					first = first_split;
					first_flags = PG_split;
				}
				foreign += split_tails;
			}
			if (foreign)
				BROKEN("blocks_disjoint pfn %zu (flags %#x) inside block %zu "
				       "order %u (%zu such pages)\n", z->name, first, first_flags,
				       pfn, order, foreign);
		}
		rewalks = 0;
		if (f & PG_buddy)
			*free_seen += n;
		else if (f & PG_pcp)
			*pcp_seen += n;
		else
			*used_seen += n;
		pfn += n;
	}
	return errors;
}

int lab_zone_check(const struct lab_zone *cz)
{
	struct lab_zone *z = zone_mut(cz);
	int errors = 0;
	if (!z)
		return 1;
	struct lab__check_log *log = &(struct lab__check_log){ .used = 0 };
	/* Own every per-CPU set first (the lock order is set, then zone). */
	lab__pcp_own_all(z);
	lab__zone_lock(z);
	lab__drain_deferred(z);
	size_t managed = atomic_load(&z->managed);
	size_t listed, free_seen, used_seen, pcp_seen, pcp_listed;
	errors += check_free_lists(z, managed, &listed, log);
	errors += check_tiling(z, managed, &free_seen, &used_seen, &pcp_seen, log);
	errors += lab__pcp_check(z, &pcp_listed, log);
	/* A page between a list and its user (popped, not yet handed out; or
	 * claimed, not yet pushed) is marked but on no list: in transit, fine.
	 * A listed page that is not marked is not. */
	if (pcp_listed > pcp_seen)
		BROKEN("pcp_pages: %zu pages on per-CPU lists, only %zu marked so walking the zone\n",
		       z->name, pcp_listed, pcp_seen);
	if (listed != z->nr_free)
		BROKEN("nr_free: lists hold %zu pages, counter says %zu\n", z->name, listed, z->nr_free);
	if (free_seen != z->nr_free)
		BROKEN("nr_free: %zu free pages found walking the zone, counter says %zu\n",
		       z->name, free_seen, z->nr_free);
	if (used_seen + pcp_seen != z->nr_allocated)
		BROKEN("nr_allocated: %zu pages in use and %zu on per-CPU lists found walking the "
		       "zone, counter says %zu\n", z->name, used_seen, pcp_seen, z->nr_allocated);
	if (z->nr_free + z->nr_allocated != managed)
		BROKEN("conservation: free %zu + allocated %zu != managed %zu\n",
		       z->name, z->nr_free, z->nr_allocated, managed);
	size_t ha = 0, pb_pages = (size_t)1 << z->pageblock_order;
	for (size_t pb = 0; pb <= (managed - 1) >> z->pageblock_order; pb++)
		ha += z->pageblock_mt[pb] == MT_HIGHATOMIC ? pb_pages : 0;
	if (ha != z->nr_reserved_highatomic)
		BROKEN("highatomic_reserve: %zu pages in highatomic pageblocks, counter says %zu\n",
		       z->name, ha, z->nr_reserved_highatomic);
	lab__zone_unlock(z);
	lab__pcp_release_all(z);
	size_t min = atomic_load(&z->wmark[WMARK_MIN]), low = atomic_load(&z->wmark[WMARK_LOW]);
	size_t high = atomic_load(&z->wmark[WMARK_HIGH]);
	if (min > low || low > high)
		BROKEN("watermark_order: min %zu low %zu high %zu\n", z->name, min, low, high);
	flush_log(z, log);
	return errors;
}
