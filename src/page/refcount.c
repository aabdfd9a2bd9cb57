/*
 * refcount.c - page references: lab_get_page, lab_put_page, lab_page_count,
 * and the order of an allocated block, lab_page_order.
 *
 * A block is handed out with one reference (get_page_from_freelist); the put
 * that drops the last one frees the block at the order its head records.
 * lab_free_pages() is itself a put (see alloc.c).  The count never wraps:
 * a get at INT32_MAX or a put at zero is a Bad page report, and a block
 * still allocated is then leaked, never reused.
 *
 * Exports: lab_get_page, lab_put_page, lab_page_count, lab_page_order,
 * lab__put_testzero.
 */
#include "base/compiler.h"
#include "page/alloc.h"
#include "page/badpage.h"
#include "page/page.h"
#include "page/refcount.h"
#include "page/zone.h"
#include "secure/hooks.h"

void lab_get_page(struct lab_page *page)
{
	struct lab_zone *z = lab__zone_of_page_checked(page, "lab_get_page: not a page descriptor "
						       "of any zone");
	if (lab_unlikely(!z))
		return;
	if (lab_unlikely(lab__exclusive_refuses(page, "lab_get_page")))
		return;
	int32_t old = atomic_load_explicit(&page->refcount, memory_order_relaxed);
	do {
		if (lab_unlikely(old <= 0)) {
			/* Nothing to leak: the block is free or on its way there. */
			lab__bad_page(z, page, "lab_get_page: no reference held (page not allocated, "
				      "or freed)");
			return;
		}
		if (lab_unlikely(old == INT32_MAX)) {
			lab__leak_block(z, page, "lab_get_page: reference count overflow");
			return;
		}
	} while (!atomic_compare_exchange_weak_explicit(&page->refcount, &old, old + 1,
							memory_order_relaxed,
							memory_order_relaxed));
}

/* put_page_testzero(): acquire-release, so the last putter sees every
 * store other holders made before their puts (the head's order included). */
bool lab__put_testzero(struct lab_zone *z, struct lab_page *page)
{
	int32_t old = atomic_load_explicit(&page->refcount, memory_order_relaxed);
	do {
		if (lab_unlikely(old <= 0)) {
			lab__leak_block(z, page, "reference count underflow: put without a reference");
			return false;
		}
	} while (!atomic_compare_exchange_weak_explicit(&page->refcount, &old, old - 1,
							memory_order_acq_rel,
							memory_order_relaxed));
	return old == 1;
}

void lab_put_page(struct lab_page *page)
{
	struct lab_zone *z = lab__zone_of_page_checked(page, "lab_put_page: not a page descriptor "
						       "of any zone");
	if (lab_unlikely(!z))
		return;
	lab__put_page(z, page);  /* free.c: the checks of a free, the owner's included */
}

int lab_page_count(const struct lab_page *page)
{
	return page ? atomic_load_explicit(&page->refcount, memory_order_relaxed) : 0;
}

/* An allocated head's order; tails carry no flags, free heads no PG_allocated. */
int lab_page_order(const struct lab_page *page)
{
	if (!page || !(page_flags(page) & PG_allocated))
		return -1;
	return (int)page_order(page);
}
