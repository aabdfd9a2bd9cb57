/*
 * owner.c - exclusive blocks and their owners: lazy per-thread ids and
 * tokens, the owner check for free, lock and get, transfer, and the block's
 * zeroing on hand-out and scrubbing on return (through the zone's write
 * window, pkey.c).
 *
 * Exports the "Exclusive pages" owner API (labyrinth.h) and
 * lab__exclusive_may_touch/prep/scrub (secure/hooks.h).
 */
#include "base/assert.h"
#include "base/compiler.h"
#include "base/fmt.h"
#include "os/rseq_list.h"
#include "page/badpage.h"
#include "page/page.h"
#include "page/pcp.h"
#include "page/zone.h"
#include "secure/hooks.h"

#include <errno.h>
#include <stdatomic.h>

/* Thread ids and tokens come from one counter, so they never collide. */
static _Atomic uint32_t owner_seq;
static _Thread_local _Atomic uint32_t thread_id __attribute__((tls_model("initial-exec")));
static _Thread_local _Atomic uint32_t thread_token __attribute__((tls_model("initial-exec")));

static uint32_t owner_next(void)
{
	uint32_t v;
	do
		v = atomic_fetch_add_explicit(&owner_seq, 1, memory_order_relaxed) + 1;
	while (v == LAB_OWNER_NONE);
	return v;
}

lab_owner_t lab_owner_new(void)
{
	return owner_next();
}

lab_owner_t lab_set_owner_token(lab_owner_t token)
{
	return atomic_exchange_explicit(&thread_token, token, memory_order_relaxed);
}

lab_owner_t lab_owner_self(void)
{
	uint32_t token = atomic_load_explicit(&thread_token, memory_order_relaxed);
	if (token)
		return token;
	uint32_t id = atomic_load_explicit(&thread_id, memory_order_relaxed);
	if (lab_likely(id))
		return id;
	/* First use in this thread.  A signal handler may do the same between
	 * our load and store: the compare-exchange makes both keep one id. */
	uint32_t fresh = owner_next(), none = 0;
	if (atomic_compare_exchange_strong_explicit(&thread_id, &none, fresh,
						    memory_order_relaxed, memory_order_relaxed))
		return fresh;
	return none;
}

/* The descriptor's owner field is a plain uint32_t (the layout is fixed):
 * accessed with the compiler's atomic built-ins. */
static lab_owner_t owner_of(const struct lab_page *p)
{
	return __atomic_load_n(&p->owner, __ATOMIC_ACQUIRE);
}

lab_owner_t lab_page_owner(const struct lab_page *page)
{
	if (!page || (page_flags(page) & (PG_allocated | PG_exclusive)) !=
		     (PG_allocated | PG_exclusive))
		return LAB_OWNER_NONE;
	return owner_of(page);
}

static void refuse(struct lab_zone *z, const struct lab_page *page, const char *what,
		   lab_owner_t owner, lab_owner_t me)
{
	char reason[128];
	lab__snprintf(reason, sizeof(reason),
		 "%s of an exclusive page by a non-owner (owner %u, caller %u)", what, owner, me);
	zone_stat_inc(z, owner_refused);
	lab__bad_page(z, page, reason);
}

bool lab__exclusive_may_touch(struct lab_zone *z, const struct lab_page *page, const char *what)
{
	if (!(page_flags(page) & PG_exclusive))
		return true;
	lab_owner_t me = lab_owner_self(), owner = owner_of(page);
	if (lab_likely(owner == me))
		return true;
	refuse(z, page, what, owner, me);
	return false;
}

int lab_page_transfer(struct lab_page *page, lab_owner_t new_owner)
{
	struct lab_zone *z = page ? lab__zone_of_desc(page) : NULL;
	if (!z || new_owner == LAB_OWNER_NONE)
		return -EINVAL;
	if ((page_flags(page) & (PG_allocated | PG_exclusive)) != (PG_allocated | PG_exclusive))
		return -EINVAL;
	lab_owner_t me = lab_owner_self(), seen = me;
	if (__atomic_compare_exchange_n(&page->owner, &seen, new_owner, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	refuse(z, page, "transfer", seen, me);
	return -EPERM;
}

/*
 * init_on_free for exclusive zones: a SECRET zone wipes every block on its
 * way back (exclusive or not: lab__free_scrub on every path to a free list
 * or a mempool's reserve), and its fresh memory is zero, so what it hands
 * out is zero already and ZERO or EXCLUSIVE costs no second wipe.  Not with
 * poisoning, which fills free blocks, nor under ASan or Valgrind.  A block
 * written while free (a use after free) is then handed out dirty, as with
 * the kernel's init_on_free; debug builds check every such hand-out and
 * report it.
 */
void lab__exclusive_zone_debug(struct lab_zone *z)
{
	/* Nor where free pages are marked for ASan or Valgrind: a hand-out marks
	 * its block as new (undefined) memory, which ZERO must then define. */
	z->zero_on_free = (z->flags & LAB_ZONE_SECRET) &&
			  !(z->debug & (ZONE_DEBUG_POISON | ZONE_DEBUG_SANITIZE));
}

static bool all_zero(const struct lab_zone *z, const char *p, size_t len)
{
	uint32_t saved = lab__zone_write_begin(z);  /* a protected zone's memory */
	const uint64_t *w = (const uint64_t *)(const void *)p;
	uint64_t acc = 0;
	for (size_t i = 0; i < len / sizeof(*w); i++)
		acc |= w[i];
	lab__zone_write_end(z, saved);
	return !acc;
}

/* prep_new_page() for LAB_GFP_ZERO or LAB_GFP_EXCLUSIVE: outside the zone
 * lock, no syscall, no fault (the memory is pre-faulted and locked if asked). */
void lab__exclusive_prep(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			 unsigned int order)
{
	if (!z->zero_on_free)
		lab__zone_wipe(z, zone_page_address(z, page), z->page_size << order);
	else if (LAB_ASSERT_LEVEL >= 1 &&
		 !all_zero(z, zone_page_address(z, page), z->page_size << order))
		lab__bad_page(z, page, "handed out without a wipe but not zero: written while "
			      "free, or a free path missed its scrub");
	if (!(gfp & LAB_GFP_EXCLUSIVE))
		return;
	__atomic_store_n(&page->owner, lab_owner_self(), __ATOMIC_RELAXED);
	/* Nobody else knows the block yet; release publishes the owner with the flag. */
	atomic_store_explicit(&page->flags, page_flags(page) | PG_exclusive, memory_order_release);
	if (!pcp_count_exclusive(z))
		atomic_fetch_add_explicit(&z->exclusive_alloc_cpu[rseq_list_lock_index(
						  LAB_EXCLUSIVE_STRIPES)].n, 1, memory_order_relaxed);
}

/* A claimed exclusive block on its way back: wipe it before any list or
 * other owner can see it. */
void lab__exclusive_scrub(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	lab__zone_wipe(z, zone_page_address(z, page), z->page_size << order);
	__atomic_store_n(&page->owner, LAB_OWNER_NONE, __ATOMIC_RELAXED);
}

void lab__free_scrub(struct lab_zone *z, struct lab_page *page, unsigned int order,
		     bool exclusive)
{
	if (exclusive)
		lab__exclusive_scrub(z, page, order);
	else if (z->zero_on_free)
		lab__zone_wipe(z, zone_page_address(z, page), z->page_size << order);
}
