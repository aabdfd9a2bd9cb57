/*
 * pcp.h - the per-CPU lists (pcp.c): their layout, the restartable
 * sequences of os/rseq_list.h applied to it (shared by pcp.c and the inline
 * fast paths of alloc.c), and pcp.c's functions.  See pcp.c for the design.
 */
#ifndef LAB_PAGE_PCP_H
#define LAB_PAGE_PCP_H

#include "os/rseq_list.h"
#include "page/zone.h"

#include <stddef.h>

/* How the sets are owned in this process (pcp.c, docs/PCP.md). */
enum { LAB_PCP_OFF = 0, LAB_PCP_RSEQ = 1, LAB_PCP_LOCK = 2 };

/* What a set's lists served, as pcp.c derives it from their words. */
struct pcp_counters {
	uint64_t hit[LAB_PCP_ORDERS];  /* allocations served by a list, per order */
	uint64_t free;                 /* blocks pushed by lab_free_pages */
};

enum {
	PCP_OK = RSEQ_LIST_OK, PCP_EMPTY = RSEQ_LIST_EMPTY, PCP_LOCKED = RSEQ_LIST_LOCKED,
	PCP_ABORTED = RSEQ_LIST_ABORTED,
};

/*
 * One CPU's set, eight cache lines (RSEQ_CLIST8_STRIDE).  The first two hold
 * what the sequences of orders 0..LAB_COSTLY_ORDER read and commit: the lock
 * word and those four lists; the higher orders' one-block caches follow (the
 * same lists, with a capacity of one block or none).  The last lines are
 * written by the slow paths only: the blocks they moved (the frees follow
 * from the words and these, docs/PCP.md: frees = count + hits + moved_out -
 * moved_in over the orders) and the adaptive high's memory.
 */
struct pcp_set {
	_Atomic uint32_t lock;      /* held by a drainer (rseq) or by any user (lock mode) */
	uint32_t spare;
	/* Counted lists (os/rseq_list.h) of struct lab_page pointers, one per
	 * order: the word is the count and, above it, the single pops, which
	 * are the list's hits (accessed at 64 bits only); high is the capacity
	 * now, adapted by pcp.c, the slots are sized for the zone's pcp_high_max. */
	struct rseq_clist list[LAB_PCP_ORDERS];
	/* Blocks pushed by refills and popped by drains, every order (atomic
	 * adds: the refill's and drain's sequences commit on whichever CPU the
	 * thread runs, and tell which). */
	uint64_t moved_in __attribute__((aligned(128)));
	uint64_t moved_out;
	/* The adaptive high (pcp.c), touched only on the slow paths: the
	 * counters as the last slow-path visit saw them, and the net frees
	 * since allocations last caught up (the kernel's pcp->free_count). */
	uint64_t seen_free, seen_hit;
	uint32_t free_run;
	uint32_t idle_seen;         /* frees + hits (low bits) at kswapd's last decay tick */
	/* Exclusive blocks handed out on this CPU, counted by a restartable
	 * sequence of their own (secure/owner.c; the zone's atomic stripes
	 * count the rest). */
	uint64_t exclusive_allocs;
} __attribute__((aligned(RSEQ_CLIST8_STRIDE)));

#define PCP_SET_STRIDE RSEQ_CLIST8_STRIDE

static_assert(sizeof(struct pcp_set) == PCP_SET_STRIDE, "a set is eight cache lines");
static_assert(offsetof(struct pcp_set, lock) == 0, "asm: lock at 0");
static_assert(offsetof(struct pcp_set, list) +
	      (LAB_COSTLY_ORDER + 1) * sizeof(struct rseq_clist) <= 128,
	      "the sequences of orders 0..LAB_COSTLY_ORDER touch the first two lines only");

/* A list's count and hits, from one 64-bit load of its word. */
#define PCP_COUNT_OF(w) RSEQ_CLIST_COUNT(w)
#define PCP_HITS_OF(w) RSEQ_CLIST_POPS(w)

static inline uint64_t pcp_word(const struct rseq_clist *l)
{
	return __atomic_load_n(&l->word, __ATOMIC_RELAXED);
}

static inline uint32_t pcp_count(const struct rseq_clist *l)
{
	return PCP_COUNT_OF(pcp_word(l));
}

/* ---- the restartable sequences (rseq_list.h) on the zone's sets --------- */

#if defined(LAB_HAVE_RSEQ_LIST)
/* Pop one block, counted as a hit in the same commit. */
static inline int rseq_pop(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
			   struct lab_page **out)
{
	void *item;
	int st = rseq_clist8_pop(rs, sets, loff, &item);
	*out = item;
	return st;
}

/* Push one freed block (a free: the pushes that no slow path counts). */
static inline int rseq_push(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
			    struct lab_page *item)
{
	return rseq_clist8_push(rs, sets, loff, item);
}

/* The fast paths' pop and push: NULL / false for any way out but the
 * commit (empty, full, drained, aborted): the caller takes another path. */
static inline struct lab_page *rseq_pop_fast(struct lab__os_rseq *rs, struct pcp_set *sets,
					     size_t loff)
{
	return rseq_clist8_pop_fast(rs, sets, loff);
}

static inline bool rseq_push_fast(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
				  struct lab_page *item)
{
	return rseq_clist8_push_fast(rs, sets, loff, item);
}

/* Pop up to max blocks, newest first, into buf, not counted as hits (a
 * drain); *nr gets how many, *cpu the set's index. */
static inline int rseq_pop_many(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
				struct lab_page **buf, uint32_t max, uint32_t *nr, uint32_t *cpu)
{
	return rseq_clist8_pop_many_on(rs, sets, loff, (void **)buf, max, false, nr, cpu);
}

/* Push up to n blocks from buf while there is room (a refill); *nr gets how
 * many, *cpu the set's index. */
static inline int rseq_push_many(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
				 struct lab_page *const *buf, uint32_t n, uint32_t *nr,
				 uint32_t *cpu)
{
	return rseq_clist8_push_many_on(rs, sets, loff, (void *const *)buf, n, nr, cpu);
}
#endif /* LAB_HAVE_RSEQ_LIST */

/* Whether z keeps blocks of this order on per-CPU lists: every order up to
 * LAB_COSTLY_ORDER, the orders above where the zone is big enough (pcp.c). */
static inline bool pcp_has_list(const struct lab_zone *z, unsigned int order)
{
	return z->pcp && order < LAB_PCP_ORDERS && z->pcp_high_max[order];
}

static inline struct pcp_set *set_at(const struct lab_zone *z, unsigned int i)
{
	return (struct pcp_set *)((char *)z->pcp + (size_t)i * PCP_SET_STRIDE);
}

static inline size_t list_offset(unsigned int order)
{
	return offsetof(struct pcp_set, list) + order * sizeof(struct rseq_clist);
}

/* Where the inline fast paths start: this thread's rseq area when z's
 * lists are owned through rseq and the thread's area was looked up already
 * (rseq_known), else NULL: the general path runs instead, and looks it up. */
static inline struct lab__os_rseq *pcp_fast_rseq(const struct lab_zone *z)
{
	if (z->pcp_mode != LAB_PCP_RSEQ)
		return NULL;
	return rseq_known();
}

/* One more exclusive allocation on this CPU's set: a restartable sequence,
 * no locked instruction.  False when it could not count (no rseq here, or
 * interrupted too often): the caller counts it elsewhere. */
static inline bool pcp_count_exclusive(const struct lab_zone *z)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	struct lab__os_rseq *rs = pcp_fast_rseq(z);
	return rs && rseq_list_count(rs, z->pcp, PCP_SET_STRIDE,
				     offsetof(struct pcp_set, exclusive_allocs));
#else
	(void)z;
	return false;
#endif
}

/* ---- pcp.c ------------------------------------------------------------ */

int lab__pcp_mode(void);
int lab__pcp_init(struct lab_zone *z, const struct lab_zone_config *cfg);
void lab__pcp_destroy(struct lab_zone *z);
struct lab_page *lab__pcp_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
bool lab__pcp_free(struct lab_zone *z, struct lab_page *page, unsigned int order);
bool lab__pcp_drain_local(struct lab_zone *z);
void lab__pcp_drain_all(struct lab_zone *z, bool may_sleep);
void lab__pcp_own_all(struct lab_zone *z);
void lab__pcp_release_all(struct lab_zone *z);
unsigned int lab__pcp_sets_owned(const struct lab_zone *z);
struct lab__check_log;
int lab__pcp_check(const struct lab_zone *z, size_t *pages, struct lab__check_log *log);
size_t lab__pcp_pages(const struct lab_zone *z);
void lab__pcp_sum_counters(const struct lab_zone *z, struct pcp_counters *sum);
uint64_t lab__pcp_exclusive_allocs(const struct lab_zone *z);
void lab__pcp_decay(struct lab_zone *z, bool pressure);
void lab__pcp_high_reset(struct lab_zone *z);
bool lab__pcp_high_raised(const struct lab_zone *z);
uint32_t lab__pcp_high_now(const struct lab_zone *z, unsigned int cpu, unsigned int order);

#endif /* LAB_PAGE_PCP_H */
