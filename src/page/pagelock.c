/*
 * pagelock.c - the page lock: PG_locked in lab_page.flags, taken with one
 * atomic bit operation when free; contended lockers spin briefly, then sleep
 * on a hashed wait table (256 buckets, one futex word per waiter) after
 * setting PG_waiters, so that an unlock wakes only when someone sleeps.
 *
 * Fairness, as the kernel's page_lock_unfairness: a woken waiter competes
 * with newcomers and may lose ("steal"); after PAGE_LOCK_UNFAIRNESS losses it
 * asks for a handoff, and the next unlock passes the lock to it directly
 * without ever clearing PG_locked, so no waiter starves.
 *
 * tests/model/pagelock.pml is a Promela model of this protocol; its steps name the
 * functions here.  Keep them in step.
 *
 * Exports: lab_lock_page, lab_trylock_page, lab_unlock_page,
 * lab_wait_on_page_locked, and the test hooks declared in pagelock.h.
 */
#include "base/compiler.h"
#include "os/cpu.h"
#include "os/os.h"
#include "os/printk.h"
#include "page/atomic.h"
#include "page/badpage.h"
#include "page/page.h"
#include "page/pagelock.h"
#include "page/zone.h"
#include "secure/hooks.h"

#include <stdlib.h>

#define PAGE_WAIT_TABLE_BITS 8
#define PAGE_WAIT_TABLE_SIZE (1u << PAGE_WAIT_TABLE_BITS)
/* Polls of a held lock before sleeping: about a short critical section. */
#define PAGE_LOCK_SPINS 64
/* Losses to newcomers before a waiter is handed the lock (the kernel's 5). */
#define PAGE_LOCK_UNFAIRNESS 5
/* Bucket lock: spin this often before yielding to a descheduled holder. */
#define BUCKET_SPINS 64

enum waiter_state {
	WAIT_QUEUED = 0,  /* on the bucket list, asleep or about to be */
	WAIT_WOKEN = 1,   /* taken off the list by an unlock: the page was released */
	WAIT_HANDED = 2,  /* taken off by an unlock that gave it the lock */
};

/* A sleeping caller, on its own stack while it waits. */
struct page_waiter {
	struct page_waiter *next, *prev;
	const struct lab_page *page;
	_Atomic uint32_t state;   /* enum waiter_state; the futex word */
	bool exclusive;           /* lab_lock_page: wants the lock, not just the unlock */
	bool handoff;             /* lost PAGE_LOCK_UNFAIRNESS times: unlock hands it over */
};

/*
 * A wait-table bucket.  Its lock is a ticket lock: fair, so that no thread
 * can be kept from the queue forever (the handoff would not help it
 * then).  Under the lock:
 *     PG_waiters set on a page  <=>  a waiter for that page is on its bucket
 * except between a waiter's enqueue and its bucket unlock (it sets the bit),
 * and after a deferred release (below) until the holder's bucket unlock.
 */
struct wait_bucket {
	_Atomic uint32_t next_ticket, serving;
	_Atomic uint32_t pending;   /* a signal handler released a page of this bucket */
	struct page_waiter *head, *tail;
} __attribute__((aligned(64)));

/* Buckets this thread holds or queues for, one bit each: a signal handler
 * must not queue behind its own thread (it would wait for itself forever).
 * A handler that interrupts an update leaves the word as it found it. */
static _Thread_local uint64_t buckets_mine[PAGE_WAIT_TABLE_SIZE / 64]
	__attribute__((tls_model("initial-exec")));

static struct wait_bucket wait_table[PAGE_WAIT_TABLE_SIZE];

void (*lab__page_lock_woken_hook)(const struct lab_page *page);

static inline struct wait_bucket *bucket_of(const struct lab_page *page)
{
	uint64_t key = (uint64_t)((uintptr_t)page / sizeof(struct lab_page));
	return &wait_table[(key * 0x9e3779b97f4a7c15ull) >> (64 - PAGE_WAIT_TABLE_BITS)];
}

/* ---- bucket lock and list --------------------------------------------- */

static inline size_t bucket_index(const struct wait_bucket *b)
{
	return (size_t)(b - wait_table);
}

/*
 * Take the bucket lock; false when this thread already holds it or queues
 * for it (we are a signal handler that interrupted it: waiting would never
 * end).
 */
static bool bucket_lock(struct wait_bucket *b)
{
	size_t i = bucket_index(b);
	uint64_t bit = (uint64_t)1 << (i % 64);
	if (lab_unlikely(buckets_mine[i / 64] & bit))
		return false;
	/* Mark before taking a ticket, so a handler can never queue behind us. */
	buckets_mine[i / 64] |= bit;
	atomic_signal_fence(memory_order_seq_cst);
	uint32_t ticket = atomic_fetch_add_explicit(&b->next_ticket, 1, memory_order_relaxed);
	for (unsigned int spins = 0;
	     atomic_load_explicit(&b->serving, memory_order_acquire) != ticket; spins++) {
		if (spins < BUCKET_SPINS)
			lab__os_cpu_relax();
		else
			lab__os_yield();
	}
	return true;
}

static void bucket_release(struct wait_bucket *b)
{
	size_t i = bucket_index(b);
	atomic_store_explicit(&b->serving,
			      atomic_load_explicit(&b->serving, memory_order_relaxed) + 1,
			      memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
	buckets_mine[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* For callers that would sleep: recursion is a caller bug, never a hang. */
static void bucket_lock_sleepable(struct wait_bucket *b, const char *who)
{
	if (lab_unlikely(!bucket_lock(b))) {
		lab__printk("BUG: labyrinth: %s called from a signal handler that interrupted "
			    "page lock work on this thread (mark handlers atomic with "
			    "lab_atomic_enter() and use lab_trylock_page)\n", who);
		abort();
	}
}

static void enqueue(struct wait_bucket *b, struct page_waiter *w, bool at_head)
{
	if (at_head) {
		w->prev = NULL;
		w->next = b->head;
		if (b->head)
			b->head->prev = w;
		else
			b->tail = w;
		b->head = w;
	} else {
		w->next = NULL;
		w->prev = b->tail;
		if (b->tail)
			b->tail->next = w;
		else
			b->head = w;
		b->tail = w;
	}
}

static void dequeue(struct wait_bucket *b, struct page_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		b->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		b->tail = w->prev;
	w->next = w->prev = NULL;
}

static bool page_has_waiters(const struct wait_bucket *b, const struct lab_page *page)
{
	for (const struct page_waiter *w = b->head; w; w = w->next)
		if (w->page == page)
			return true;
	return false;
}

/* Take w off the bucket; its page keeps PG_waiters only while another of
 * its waiters is queued. */
static void dequeue_waiter(struct wait_bucket *b, struct page_waiter *w)
{
	struct lab_page *page = (struct lab_page *)(uintptr_t)w->page;
	dequeue(b, w);
	if (!page_has_waiters(b, page))
		atomic_fetch_and_explicit(&page->flags, ~(uint32_t)PG_waiters, memory_order_relaxed);
}

/* Wake waiters already off the list, linked through next.  Once a waiter
 * sees its new state it may return and its entry vanish: read next first.
 * A late futex wake on a dead entry's address is only a spurious wake-up. */
static void wake_list(struct page_waiter *w, uint32_t state)
{
	while (w) {
		struct page_waiter *next = w->next;
		atomic_store_explicit(&w->state, state, memory_order_release);
		lab__os_futex_wake(&w->state, 1);
		w = next;
	}
}

/* Take off the list every waiter of a page that is not locked now (the
 * handler released it plainly), fixing PG_waiters; returns them linked. */
static struct page_waiter *collect_released(struct wait_bucket *b)
{
	struct page_waiter *woken = NULL, *next;
	for (struct page_waiter *w = b->head; w; w = next) {
		next = w->next;
		struct lab_page *page = (struct lab_page *)(uintptr_t)w->page;
		if (atomic_load_explicit(&page->flags, memory_order_acquire) & PG_locked)
			continue;
		dequeue_waiter(b, w);
		w->next = woken;
		woken = w;
	}
	return woken;
}

static void bucket_unlock(struct wait_bucket *b)
{
	for (;;) {
		bucket_release(b);
		/* Set only by a handler on this thread while we held or queued
		 * for the lock; we deliver its wake-ups. */
		if (lab_likely(!atomic_load_explicit(&b->pending, memory_order_relaxed)))
			return;
		if (!bucket_lock(b))
			return;
		struct page_waiter *woken = NULL;
		if (atomic_exchange_explicit(&b->pending, 0, memory_order_relaxed))
			woken = collect_released(b);
		wake_list(woken, WAIT_WOKEN);
	}
}

/* Tests only: hold a page's bucket as a thread in the slow path does. */
bool lab__page_waitqueue_lock(const struct lab_page *page)
{
	return bucket_lock(bucket_of(page));
}

void lab__page_waitqueue_unlock(const struct lab_page *page)
{
	bucket_unlock(bucket_of(page));
}

/* ---- the lock ---------------------------------------------------------- */

/* test_and_set_bit_lock(PG_locked). */
static inline bool trylock_bit(struct lab_page *page)
{
	return !(atomic_fetch_or_explicit(&page->flags, PG_locked, memory_order_acquire) &
		 PG_locked);
}

static uint32_t wait_for_wake(struct page_waiter *w)
{
	uint32_t s;
	while ((s = atomic_load_explicit(&w->state, memory_order_acquire)) == WAIT_QUEUED)
		lab__os_futex_wait(&w->state, WAIT_QUEUED, -1);
	return s;
}

/*
 * Under the bucket lock: queue w (at the head or the tail) and set
 * PG_waiters, then look again with the bit set, since the holder may have
 * unlocked before it could see it and then nobody would wake us.  A lock
 * waiter takes the lock, an unlock waiter sees it free: true, and w is off
 * the queue again; false: sleep.
 */
static bool queue_and_recheck(struct wait_bucket *b, struct page_waiter *w, bool at_head)
{
	struct lab_page *page = (struct lab_page *)(uintptr_t)w->page;
	enqueue(b, w, at_head);
	atomic_store_explicit(&w->state, WAIT_QUEUED, memory_order_relaxed);
	uint32_t f = atomic_fetch_or_explicit(&page->flags, PG_waiters,
					      w->exclusive ? memory_order_relaxed
							   : memory_order_acquire);
	bool done = w->exclusive ? trylock_bit(page) : !(f & PG_locked);
	if (done)
		dequeue_waiter(b, w);
	return done;
}

/* folio_wait_bit_common() for the lock: queue, recheck, sleep, retry. */
static void lock_page_slow(struct lab_page *page)
{
	struct wait_bucket *b = bucket_of(page);
	struct page_waiter w = { .page = page, .exclusive = true };
	unsigned int lost = 0;

	for (;;) {
		bucket_lock_sleepable(b, "lab_lock_page");
		/* One that lost to a newcomer has waited longest: it goes first. */
		bool locked = queue_and_recheck(b, &w, lost > 0);
		bucket_unlock(b);
		if (locked)
			return;

		if (wait_for_wake(&w) == WAIT_HANDED)
			return;  /* the unlocker kept PG_locked set for us */
		if (lab_unlikely(lab__page_lock_woken_hook))
			lab__page_lock_woken_hook(page);
		if (trylock_bit(page))
			return;
		/* Stolen by a newcomer between the unlock and us. */
		if (++lost >= PAGE_LOCK_UNFAIRNESS)
			w.handoff = true;
	}
}

void lab_lock_page(struct lab_page *page)
{
	lab__might_sleep("lab_lock_page");
	if (lab_unlikely(!page))
		return;
	if (lab_unlikely(lab__exclusive_refuses(page, "lab_lock_page")))
		return;
	if (lab_likely(trylock_bit(page)))
		return;
	for (unsigned int i = 0; i < PAGE_LOCK_SPINS; i++) {
		lab__os_cpu_relax();
		if (!(atomic_load_explicit(&page->flags, memory_order_relaxed) & PG_locked) &&
		    trylock_bit(page))
			return;
	}
	lock_page_slow(page);
}

bool lab_trylock_page(struct lab_page *page)
{
	if (lab_unlikely(!page || lab__exclusive_refuses(page, "lab_trylock_page")))
		return false;
	return trylock_bit(page);
}

/*
 * Under the bucket lock, with the page locked by the caller: hand the lock
 * to the first lock waiter if it asked for a handoff; otherwise release it
 * and wake every unlock waiter and the first lock waiter.
 */
static void unlock_page_and_wake(struct wait_bucket *b, struct lab_page *page)
{
	struct page_waiter *first = NULL, *woken = NULL, **tail = &woken, *next;

	for (struct page_waiter *w = b->head; w; w = w->next) {
		if (w->page == page && w->exclusive) {
			first = w;
			break;
		}
	}
	if (first && first->handoff) {
		dequeue_waiter(b, first);
		/* PG_locked stays set: the lock moves without a window to steal it.
		 * The release store in wake_list orders our critical section. */
		wake_list(first, WAIT_HANDED);
		return;
	}
	for (struct page_waiter *w = b->head; w; w = next) {
		next = w->next;
		if (w->page != page || (w->exclusive && w != first))
			continue;
		dequeue(b, w);
		*tail = w;
		tail = &w->next;
	}
	uint32_t clear = PG_locked | (page_has_waiters(b, page) ? 0 : PG_waiters);
	/* Release before waking, so the woken find the page unlocked. */
	atomic_fetch_and_explicit(&page->flags, ~clear, memory_order_release);
	wake_list(woken, WAIT_WOKEN);
}

void lab_unlock_page(struct lab_page *page)
{
	if (lab_unlikely(!page))
		return;
	uint32_t old = atomic_load_explicit(&page->flags, memory_order_relaxed);
	for (;;) {
		if (lab_unlikely(!(old & PG_locked))) {
			lab__bad_page(page->zone, page, "lab_unlock_page: the page is not locked");
			return;
		}
		if (old & PG_waiters)
			break;
		if (atomic_compare_exchange_weak_explicit(&page->flags, &old, old & ~(uint32_t)PG_locked,
							  memory_order_release,
							  memory_order_relaxed))
			return;
	}

	struct wait_bucket *b = bucket_of(page);
	if (lab_unlikely(!bucket_lock(b))) {
		/* A signal handler (this call) interrupted its own thread while it
		 * held or queued for the bucket: release plainly and leave the
		 * wake-up to that thread's bucket_unlock().  No handoff on this
		 * rare path. */
		atomic_fetch_and_explicit(&page->flags, ~(uint32_t)PG_locked, memory_order_release);
		atomic_store_explicit(&b->pending, 1, memory_order_relaxed);
		return;
	}
	unlock_page_and_wake(b, page);
	bucket_unlock(b);
}

/* folio_wait_locked(): return once the page has been seen unlocked. */
void lab_wait_on_page_locked(struct lab_page *page)
{
	lab__might_sleep("lab_wait_on_page_locked");
	if (!page)
		return;
	for (unsigned int i = 0; i < PAGE_LOCK_SPINS; i++) {
		if (!(atomic_load_explicit(&page->flags, memory_order_acquire) & PG_locked))
			return;
		lab__os_cpu_relax();
	}

	struct wait_bucket *b = bucket_of(page);
	struct page_waiter w = { .page = page, .exclusive = false };
	bucket_lock_sleepable(b, "lab_wait_on_page_locked");
	bool unlocked = queue_and_recheck(b, &w, false);
	bucket_unlock(b);
	if (!unlocked)
		wait_for_wake(&w);
}
