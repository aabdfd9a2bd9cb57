/*
 * counters.h - every statistic of a zone, listed once, in the order
 * /proc/vmstat style output shows them.  Expanded for the zone's counters
 * (zone.h: struct zone_counters), their copy into struct lab_zone_stats
 * (stats.c) and the vmstat names (debug/dump.c, and so `labyrinth stat`).
 *
 * LAB_ZONE_STATS(SIZE, EVENT, ORDERS, SPLIT) calls
 *   SIZE(field, "name")    a size the snapshot computes (pages: free, ...)
 *   EVENT(field, "name")   an event counter counted in any context, with a
 *                          locked read-modify-write: zone_stat_inc(z, field);
 *                          the snapshot copies it to the field of the same
 *                          name; NULL name: not in vmstat
 *   SPLIT(field, "name")   an event counter counted mostly under the zone
 *                          lock: two cells, one written only by holders of
 *                          the lock (zone_stat_inc_locked: a relaxed load and
 *                          store, exact since every writer of that cell holds
 *                          the lock, and no locked instruction), one by
 *                          anyone (zone_stat_inc, atomic); the snapshot sums
 *                          them
 *   ORDERS(field, "name")  a SPLIT counter per order, vmstat "name<order>"
 * Each field must exist in struct lab_zone_stats (the copy does not compile
 * otherwise); that struct's layout is ABI and stays as it is.  Which cell a
 * call counts in is checked by the compiler: zone_stat_inc_locked of an
 * EVENT counter does not compile (it has no locked cell).
 *
 * The hot ones and why they are what they are:
 *   alloc_success, alloc_order  SPLIT: the buddy path counts under the zone
 *       lock (alloc.c get_page_from_freelist), a per-CPU refill too (pcp.c,
 *       which still uses the atomic cell); per-CPU hits are counted by the
 *       lists themselves (pcp.c) and added by the snapshot
 *   free_calls  SPLIT: a free that takes the zone lock counts under it; a
 *       free deferred because the lock was taken (another thread, or a
 *       signal handler interrupting the holder) counts in the atomic cell
 *   highatomic_use  SPLIT: only lab__rmqueue, under the lock
 *   reserve_use  EVENT: per-CPU hits count it without the lock (rare: only
 *       below the min watermark)
 */
#ifndef LAB_PAGE_COUNTERS_H
#define LAB_PAGE_COUNTERS_H

#define LAB_ZONE_STATS(SIZE, EVENT, ORDERS, SPLIT)              \
	SIZE(free, "nr_free_pages")                             \
	SIZE(managed, "nr_managed_pages")                       \
	SIZE(pcp, "nr_pcp_pages")                               \
	SIZE(allocated, "nr_allocated_pages")                   \
	SIZE(deferred, "nr_deferred_pages")                     \
	SIZE(leaked, "nr_leaked_pages")                         \
	SIZE(reserved_highatomic, "nr_free_highatomic")         \
	SPLIT(alloc_success, "pgalloc")                         \
	ORDERS(alloc_order, "pgalloc_order_")                   \
	SPLIT(free_calls, "pgfree")                             \
	EVENT(alloc_fail, "pgalloc_fail")                       \
	EVENT(fail_atomic, "pgalloc_fail_atomic")               \
	EVENT(fail_nowait, "pgalloc_fail_nowait")               \
	EVENT(fail_sleeping, "pgalloc_fail_sleeping")           \
	EVENT(fail_injected, "pgalloc_fail_injected")           \
	EVENT(alloc_einval, "pgalloc_einval")                   \
	EVENT(reserve_use, "pgalloc_reserve")                   \
	SPLIT(highatomic_use, "pgalloc_highatomic")             \
	EVENT(alloc_stall, "allocstall")                        \
	EVENT(direct_reclaim, "direct_reclaim")                 \
	EVENT(kswapd_wake, "kswapd_wake")                       \
	EVENT(kswapd_run, "pageoutrun")                         \
	EVENT(shrinker_freed, "shrinker_freed")                 \
	EVENT(oom_calls, "oom_calls")                           \
	EVENT(grow, "zone_grow")                                \
	EVENT(bad_page, "bad_page")                             \
	EVENT(lock_fail, "zone_lock_fail")                      \
	EVENT(alloc_lock_fail, "zone_lock_fail_alloc")          \
	EVENT(poison_corrupt, "page_poison_corrupt")            \
	SIZE(pcp_hit, "pcp_hit")                                \
	EVENT(pcp_refill, "pcp_refill")                         \
	EVENT(pcp_drain, "pcp_drain")                           \
	EVENT(exclusive_alloc, NULL)                            \
	EVENT(owner_refused, NULL)

#endif /* LAB_PAGE_COUNTERS_H */
