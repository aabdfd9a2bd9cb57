/*
 * labyrinth/types.h - what every part of the API shares: the
 * export marker, the version, the largest order, the opaque zone and page.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_TYPES_H
#define LABYRINTH_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LABYRINTH_BUILD) && defined(__GNUC__)
#define LAB_API __attribute__((visibility("default")))
#else
#define LAB_API
#endif

#define LAB_VERSION_MAJOR 0
#define LAB_VERSION_MINOR 1
#define LAB_VERSION_PATCH 0

/* Largest order, inclusive, like the kernel's MAX_PAGE_ORDER: 1024 pages. */
#define LAB_MAX_ORDER 10
/* Orders above this are "costly": no OOM handler call, fewer retries. */
#define LAB_COSTLY_ORDER 3

struct lab_zone;
struct lab_page;

/*
 * NULL, in every call: a NULL pointer argument is never dereferenced.
 *  - A query answers its empty value: lab_page_address, lab_virt_to_page,
 *    lab_pfn_to_page, lab_page_zone, lab_zone_name: NULL; lab_page_to_pfn,
 *    lab_page_count, lab_mempool_available, the page_owner dumps: 0;
 *    lab_page_owner: LAB_OWNER_NONE; lab_trylock_page: false; lab_zone_check:
 *    nonzero (nothing to check is not a healthy zone); lab_zone_get_stats
 *    with a NULL zone: every field 0.
 *  - A call that frees, puts, unlocks, drains, prints or destroys does
 *    nothing: lab_free_pages, lab_put_page, lab_get_page, the page lock,
 *    lab_mempool_free (either argument), lab_zone_destroy, the print and
 *    describe calls (a NULL zone or FILE).
 *  - A call that creates, allocates, registers or sets fails with EINVAL
 *    (errno, or -EINVAL returned): lab_zone_create, lab_alloc_pages,
 *    lab_get_free_pages, lab_mempool_create, lab_mempool_alloc,
 *    lab_register_shrinker, lab_page_transfer, lab_zone_grant/revoke,
 *    lab_fault_set, lab_fault_configure and their failslab twins,
 *    lab_stats_read_export2.
 *  - One exception: the spinlock calls, where a lock that is not there cannot
 *    be held: "BUG: spinlock: NULL lock" and abort(), as for a recursive one.
 *    (lab_spin_lock_init(NULL) does nothing.)
 */

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_TYPES_H */
