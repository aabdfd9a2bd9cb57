/*
 * rseq_list.h - per-CPU LIFO arrays owned through restartable sequences, the
 * one copy of the sequences (their assembly in os/arch/x86_64/rseq_list.h)
 * that both the page layer's per-CPU lists (page/pcp.h, pcp.c, alloc.c,
 * free.c) and the slab layer's per-CPU object arrays (src/slab/) use.  See docs/PCP.md for the design.
 *
 * The memory is an array of per-CPU "sets", 2^shift bytes apart, indexed by
 * the CPU number the kernel keeps in the thread's struct rseq.  A set begins
 * with a 32-bit lock word, nonzero while a drainer (rseq mode) or any user
 * (lock mode) owns it; a set holds one or more lists at offsets `loff`, each
 * laid out as struct rseq_clist.  Items are pointers.
 *
 * The lists are counted: the pops are counted in the commit word itself: its
 * low 16 bits are the count, its high 48 bits the number of single pops, so
 * one 64-bit store commits both and the counter is exact without a second
 * sequence.  Their sets are RSEQ_CLIST_STRIDE (the slab layer's arrays) or
 * RSEQ_CLIST8_STRIDE (the page layer's sets) bytes apart.
 *
 * Also the shared per-thread facts: this thread's rseq area, and the set a
 * lock-mode caller uses when rseq cannot tell it its CPU.
 */
#ifndef LAB_RSEQ_LIST_H
#define LAB_RSEQ_LIST_H

#include "base/compiler.h"
#include "os/os.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The sequences exist on x86-64; ThreadSanitizer cannot see into them. */
#if defined(__x86_64__) && !defined(LAB_TSAN)
#define LAB_HAVE_RSEQ_LIST 1
#endif

/* Restart a sequence at most this often before taking another path. */
#define RSEQ_MAX_RETRIES 8

/* What a sequence reports.  EMPTY means "no item" for a pop and "no room"
 * for a push; LOCKED: a drainer owns the set; ABORTED: start again. */
enum { RSEQ_LIST_OK = 0, RSEQ_LIST_EMPTY = 1, RSEQ_LIST_LOCKED = 2, RSEQ_LIST_ABORTED = 3 };

/* A counted list.  word = count | pops << 16; count <= high <= 65535.  The
 * 48 bits of pops wrap after 2.8e14 pops of one CPU (a month at 10^8/s). */
struct rseq_clist {
	uint64_t word;              /* the commit word */
	void **slots;
	uint32_t high;              /* capacity, at most RSEQ_CLIST_MAX */
	uint32_t batch;
};
#define RSEQ_CLIST_MAX 0xffffu
/* Sets of counted lists are 2^shift bytes apart (a shift in the asm): one
 * cache line (the slab layer's arrays) or eight (the page layer's sets: the
 * lock word and the lists of the orders with real lists in the first two
 * lines, the higher orders' one-block caches after them, what only the slow
 * paths write last).  Each has its family of sequences (rseq_clist_*,
 * rseq_clist8_*). */
#define RSEQ_CLIST_SHIFT 6
#define RSEQ_CLIST_STRIDE (1u << RSEQ_CLIST_SHIFT)
#define RSEQ_CLIST8_SHIFT 9
#define RSEQ_CLIST8_STRIDE (1u << RSEQ_CLIST8_SHIFT)
#define RSEQ_CLIST_COUNT(w) ((uint32_t)((w) & RSEQ_CLIST_MAX))
#define RSEQ_CLIST_POPS(w) ((w) >> 16)
/* Added to the word: one pop (count - 1, pops + 1). */
#define RSEQ_CLIST_ONE_POP 0xffffu

static_assert(offsetof(struct rseq_clist, word) == 0, "asm: word at 0");
static_assert(offsetof(struct rseq_clist, slots) == 8, "asm: slots at 8");
static_assert(offsetof(struct rseq_clist, high) == 16, "asm: high at 16");

/* What a unique push reports for an item equal to the newest one on the
 * list (a double free of the object freed last): nothing pushed. */
enum { RSEQ_LIST_DUP = 4 };

/* ---- the restartable sequences: os/arch/<arch>/rseq_list.h ------------ */

#if defined(LAB_HAVE_RSEQ_LIST)
#include "os/arch/x86_64/rseq_list.h"
#endif

/* ---- plain list operations (lock mode, and drainers owning a set) ------- */

/* Counted lists owned by the caller (lock mode, drainers).  The word is also
 * read without the set's lock (statistics). */
static inline void rseq_clist_set(struct rseq_clist *l, uint64_t word)
{
	__atomic_store_n(&l->word, word, __ATOMIC_RELAXED);
}

static inline bool rseq_clist_pop_owned(struct rseq_clist *l, void **out)
{
	uint64_t w = l->word;
	uint32_t count = RSEQ_CLIST_COUNT(w);
	if (!count)
		return false;
	*out = l->slots[count - 1];
	rseq_clist_set(l, w + RSEQ_CLIST_ONE_POP);
	return true;
}

/* Push one item where the caller made room (slots are sized for the
 * largest high, so a high lowered meanwhile does not matter). */
static inline void rseq_clist_push_owned(struct rseq_clist *l, void *item)
{
	uint64_t w = l->word;
	l->slots[RSEQ_CLIST_COUNT(w)] = item;
	rseq_clist_set(l, w + 1);
}

/* Pops that do not count (a drain). */
static inline uint32_t rseq_clist_pop_many_owned(struct rseq_clist *l, void **buf, uint32_t max)
{
	uint64_t w = l->word;
	uint32_t k = 0, count = RSEQ_CLIST_COUNT(w);
	while (k < max && count)
		buf[k++] = l->slots[--count];
	rseq_clist_set(l, w - k);
	return k;
}

/* high may be written by a slow path that does not own the set (the page
 * layer's adaptive high): one relaxed load. */
static inline uint32_t rseq_clist_push_many_owned(struct rseq_clist *l, void *const *buf,
						  uint32_t n)
{
	uint64_t w = l->word;
	uint32_t k = 0, count = RSEQ_CLIST_COUNT(w), high = __atomic_load_n(&l->high, __ATOMIC_RELAXED);
	while (k < n && count < high)
		l->slots[count++] = buf[k++];
	rseq_clist_set(l, w + k);
	return k;
}

/* ---- per thread ------------------------------------------------------- */

/* This thread's rseq area, looked up once (NULL: not registered). */
extern _Thread_local struct lab__os_rseq *lab__os_rseq_cache __attribute__((tls_model("initial-exec")));
extern _Thread_local bool lab__os_rseq_cache_known __attribute__((tls_model("initial-exec")));

static inline struct lab__os_rseq *rseq_self(void)
{
	if (lab_unlikely(!lab__os_rseq_cache_known)) {
		lab__os_rseq_cache = lab__os_rseq_self();
		lab__os_rseq_cache_known = true;
	}
	return lab__os_rseq_cache;
}

/* This thread's rseq area if it was looked up already, else NULL: for the
 * fast paths of both layers, which stay leaf functions (no call) and send a
 * NULL to their general path, which looks it up (rseq_self()). */
static inline struct lab__os_rseq *rseq_known(void)
{
	return lab__os_rseq_cache;
}

/* A thread without rseq gets a slot round-robin, once (os/linux.c). */
extern _Thread_local unsigned int lab__os_lock_slot __attribute__((tls_model("initial-exec")));
extern _Atomic unsigned int lab__os_lock_slot_next;
static inline unsigned int lab__os_percpu_lock_slot(void)
{
	if (lab_unlikely(!lab__os_lock_slot))
		lab__os_lock_slot = atomic_fetch_add(&lab__os_lock_slot_next, 1) + 1;
	return lab__os_lock_slot;
}

/* The set a lock-mode caller uses among nr: its CPU when rseq tells it, else
 * a slot given to the thread round-robin (no system call either way). */
static inline unsigned int rseq_list_lock_index(unsigned int nr)
{
	struct lab__os_rseq *rs = rseq_self();
	return (rs ? rs->cpu_id_start : lab__os_percpu_lock_slot()) % nr;
}

/* The lock word at the start of a set: try-lock (lock mode users, drainers). */
static inline bool rseq_set_trylock(_Atomic uint32_t *lock)
{
	uint32_t free_word = 0;
	return atomic_compare_exchange_strong_explicit(lock, &free_word, 1, memory_order_acquire,
						       memory_order_relaxed);
}

static inline void rseq_set_unlock(_Atomic uint32_t *lock)
{
	atomic_store_explicit(lock, 0, memory_order_release);
}

#endif /* LAB_RSEQ_LIST_H */
