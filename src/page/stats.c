/*
 * stats.c - lab_zone_get_stats(): a snapshot of a zone's counters and sizes,
 * the per-CPU lists' counters folded in, the exclusive-memory fields from
 * secure/.  The struct is an ABI that grows only at its end.
 */
#include "page/pcp.h"
#include "page/zone.h"
#include "secure/hooks.h"

#include <stddef.h>
#include <string.h>

#define LOAD(f) atomic_load_explicit(&z->stat.f, memory_order_relaxed)

/* The struct grows only at its end: 0.1.0's fields keep their places. */
static_assert(sizeof(struct lab_zone_stats) >= LAB_ZONE_STATS_SIZE_0, "stats shrank");
static_assert(offsetof(struct lab_zone_stats, owner_refused) + sizeof(uint64_t) ==
	      LAB_ZONE_STATS_SIZE_0, "a field of 0.1.0 moved: append new fields after it");

static void get_stats(const struct lab_zone *cz, struct lab_zone_stats *out)
{
	struct lab_zone *z = zone_mut(cz);
	memset(out, 0, sizeof(*out));
	lab__zone_lock(z);
	out->managed = atomic_load(&z->managed);
	out->free = z->nr_free;
	out->pcp = lab__pcp_pages(z);
	out->allocated = z->nr_allocated > out->pcp ? z->nr_allocated - out->pcp : 0;
	out->reserved_highatomic = z->nr_reserved_highatomic;
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		out->nr_free[o] = z->area[o].nr_free[MT_NORMAL] + z->area[o].nr_free[MT_HIGHATOMIC];
	/* Under the lock, which every drain of deferred frees holds: the pages
	 * counted here are still in allocated above (a free deferred meanwhile
	 * only adds to both). */
	out->deferred = atomic_load(&z->nr_deferred);
	/* The lists' counters are derived from their words and the blocks the
	 * slow paths moved, which refills and drains count under this lock:
	 * read here, they are exact (pcp.c, set_counters). */
	struct pcp_counters pcp;
	lab__pcp_sum_counters(z, &pcp);
	lab__zone_unlock(z);
	out->leaked = atomic_load(&z->nr_leaked);
	out->wmark_min = atomic_load(&z->wmark[WMARK_MIN]);
	out->wmark_low = atomic_load(&z->wmark[WMARK_LOW]);
	out->wmark_high = atomic_load(&z->wmark[WMARK_HIGH]);
	/* Every event counter (counters.h), then what the per-CPU lists
	 * counted on their own. */
#define COPY_EVENT(field, name) out->field = LOAD(field);
#define COPY_SPLIT(field, name) out->field = LOAD(field) + LOAD(locked.field);
#define COPY_ORDERS(field, name) \
	for (int o = 0; o <= LAB_MAX_ORDER; o++) \
		out->field[o] = LOAD(field[o]) + LOAD(locked.field[o]);
	LAB_ZONE_STATS(LAB_COUNTER_NONE, COPY_EVENT, COPY_ORDERS, COPY_SPLIT)
	for (int o = 0; o < LAB_PCP_ORDERS; o++) {
		out->alloc_order[o] += pcp.hit[o];
		out->alloc_success += pcp.hit[o];
		out->pcp_hit += pcp.hit[o];
	}
	out->free_calls += pcp.free;
	out->pcp_batch = z->pcp ? z->pcp_batch[0] : 0;
	out->pcp_high = z->pcp ? z->pcp_high[0] : 0;
	out->pcp_high_max = z->pcp ? z->pcp_high_max[0] : 0;
	out->pcp_high_now = 0;
	for (unsigned int i = 0; z->pcp && i < (unsigned int)z->nr_pcp; i++)
		if (lab__pcp_high_now(z, i, 0) > out->pcp_high_now)
			out->pcp_high_now = lab__pcp_high_now(z, i, 0);
	lab__exclusive_stats(z, out);
}

size_t lab_zone_get_stats2(const struct lab_zone *z, struct lab_zone_stats *out, size_t size)
{
	if (!out)
		return 0;
	if (!z) {  /* no zone: nothing in it */
		memset(out, 0, size);
		return 0;
	}
	if (size >= sizeof(*out)) {
		get_stats(z, out);
		memset((char *)out + sizeof(*out), 0, size - sizeof(*out));
		return sizeof(*out);
	}
	struct lab_zone_stats all;
	get_stats(z, &all);
	memcpy(out, &all, size);
	return size;
}

/* 0.1.0's entry point, for binaries built against its header. */
#undef lab_zone_get_stats
void lab_zone_get_stats(const struct lab_zone *z, struct lab_zone_stats *out)
{
	lab_zone_get_stats2(z, out, LAB_ZONE_STATS_SIZE_0);
}
