/*
 * counters.h - every statistic of a zone, listed once, in the order
 * /proc/vmstat style output shows them.  Expanded for the zone's counters
 * (zone.h: struct zone_counters), their copy into struct lab_zone_stats
 * (stats.c) and the vmstat names (debug/dump.c, and so `labyrinth stat`).
 *
 * LAB_ZONE_STATS(SIZE, EVENT, ORDERS) calls
 *   SIZE(field, "name")    a size the snapshot computes (pages: free, ...)
 *   EVENT(field, "name")   an event counter: zone_stat_inc(z, field) counts it,
 *                          the snapshot copies it to the field of the same
 *                          name; NULL name: not in vmstat
 *   ORDERS(field, "name")  an event counter per order, vmstat "name<order>"
 * Each field must exist in struct lab_zone_stats (the copy does not compile
 * otherwise); that struct's layout is ABI and stays as it is.
 */
#ifndef LAB_PAGE_COUNTERS_H
#define LAB_PAGE_COUNTERS_H

#define LAB_ZONE_STATS(SIZE, EVENT, ORDERS)                     \
	SIZE(free, "nr_free_pages")                             \
	SIZE(managed, "nr_managed_pages")                       \
	SIZE(pcp, "nr_pcp_pages")                               \
	SIZE(allocated, "nr_allocated_pages")                   \
	SIZE(deferred, "nr_deferred_pages")                     \
	SIZE(leaked, "nr_leaked_pages")                         \
	SIZE(reserved_highatomic, "nr_free_highatomic")         \
	EVENT(alloc_success, "pgalloc")                         \
	ORDERS(alloc_order, "pgalloc_order_")                   \
	EVENT(free_calls, "pgfree")                             \
	EVENT(alloc_fail, "pgalloc_fail")                       \
	EVENT(fail_atomic, "pgalloc_fail_atomic")               \
	EVENT(fail_nowait, "pgalloc_fail_nowait")               \
	EVENT(fail_sleeping, "pgalloc_fail_sleeping")           \
	EVENT(fail_injected, "pgalloc_fail_injected")           \
	EVENT(alloc_einval, "pgalloc_einval")                   \
	EVENT(reserve_use, "pgalloc_reserve")                   \
	EVENT(highatomic_use, "pgalloc_highatomic")             \
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
