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

struct pcp_counters {
	uint64_t hit[LAB_PCP_ORDERS];  /* allocations served by a list, per order */
	uint64_t free;                 /* blocks pushed by lab_free_pages */
};

enum {
	PCP_OK = RSEQ_LIST_OK, PCP_EMPTY = RSEQ_LIST_EMPTY, PCP_LOCKED = RSEQ_LIST_LOCKED,
	PCP_ABORTED = RSEQ_LIST_ABORTED,
};

/* Layout known to the assembly (struct rseq_list): keep offsets in sync. */
struct pcp_list {
	uint32_t count;             /* blocks on the list: the commit word */
	uint32_t high;              /* capacity now: a full list drains a batch or adapts
				     * it (pcp.c); slots hold the zone's pcp_high_max */
	struct lab_page **slots;
	uint32_t batch;             /* blocks moved per refill or drain */
	uint32_t spare;
};

struct pcp_set {
	_Atomic uint32_t lock;      /* held by a drainer (rseq) or by any user (lock mode) */
	uint32_t spare;
	struct pcp_list list[LAB_PCP_ORDERS];
	struct pcp_counters stat;
	/* The adaptive high (pcp.c), touched only on the slow paths: the
	 * counters as the last slow-path visit saw them, and the net frees
	 * since allocations last caught up (the kernel's pcp->free_count). */
	uint64_t seen_free, seen_hit;
	uint32_t free_run;
	uint32_t idle_seen;         /* frees + hits (low bits) at kswapd's last decay tick */
} __attribute__((aligned(64)));

#define PCP_SET_STRIDE ((int)sizeof(struct pcp_set))

static_assert(offsetof(struct pcp_set, lock) == 0, "asm: lock at 0");
static_assert(offsetof(struct pcp_list, count) == offsetof(struct rseq_list, count) &&
	      offsetof(struct pcp_list, high) == offsetof(struct rseq_list, high) &&
	      offsetof(struct pcp_list, slots) == offsetof(struct rseq_list, slots) &&
	      sizeof(struct pcp_list) == sizeof(struct rseq_list), "pcp_list is an rseq_list");

/* ---- the restartable sequences (rseq_list.h) on the zone's sets --------- */

#if defined(LAB_HAVE_RSEQ_LIST)
static inline int rseq_pop(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
			   struct lab_page **out)
{
	void *item;
	int st = rseq_list_pop(rs, sets, PCP_SET_STRIDE, loff, &item);
	*out = item;
	return st;
}

static inline int rseq_push(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
			    struct lab_page *item)
{
	return rseq_list_push(rs, sets, PCP_SET_STRIDE, loff, item);
}

/* Pop up to max blocks, newest first, into buf; *nr gets how many. */
static inline int rseq_pop_many(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
				struct lab_page **buf, uint32_t max, uint32_t *nr)
{
	return rseq_list_pop_many(rs, sets, PCP_SET_STRIDE, loff, (void **)buf, max, nr);
}

/* Push up to n blocks from buf while there is room; *nr gets how many. */
static inline int rseq_push_many(struct lab__os_rseq *rs, struct pcp_set *sets, size_t loff,
				 struct lab_page *const *buf, uint32_t n, uint32_t *nr)
{
	return rseq_list_push_many(rs, sets, PCP_SET_STRIDE, loff, (void *const *)buf, n, nr);
}

static inline void rseq_count(struct lab__os_rseq *rs, struct pcp_set *sets, size_t off)
{
	rseq_list_count(rs, sets, PCP_SET_STRIDE, off);
}
#define PCP_COUNT(rs, z, field) rseq_count((rs), (z)->pcp, offsetof(struct pcp_set, stat.field))
#endif /* LAB_HAVE_RSEQ_LIST */

static inline struct pcp_set *set_at(const struct lab_zone *z, unsigned int i)
{
	return (struct pcp_set *)((char *)z->pcp + (size_t)i * PCP_SET_STRIDE);
}

static inline size_t list_offset(unsigned int order)
{
	return offsetof(struct pcp_set, list) + order * sizeof(struct pcp_list);
}

/* Where the inline fast paths start: this thread's rseq area when z's
 * lists are owned through rseq and glibc registered the thread, else NULL
 * (the general path runs instead). */
static inline struct lab__os_rseq *pcp_fast_rseq(const struct lab_zone *z)
{
	if (z->pcp_mode != LAB_PCP_RSEQ)
		return NULL;
	return rseq_self();
}

/* Counters of a set, bumped without atomics by whoever owns the set now
 * (lock mode: under the set's lock, which a signal handler cannot take). */
#define PCP_STAT_INC(set, field) \
	__atomic_store_n(&(set)->stat.field, __atomic_load_n(&(set)->stat.field, __ATOMIC_RELAXED) + 1, \
			 __ATOMIC_RELAXED)

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
void lab__pcp_decay(struct lab_zone *z, bool pressure);
void lab__pcp_high_reset(struct lab_zone *z);
bool lab__pcp_high_raised(const struct lab_zone *z);
uint32_t lab__pcp_high_now(const struct lab_zone *z, unsigned int cpu, unsigned int order);

#endif /* LAB_PAGE_PCP_H */
