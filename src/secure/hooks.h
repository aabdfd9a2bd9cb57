/*
 * hooks.h - what the page layer calls for exclusive memory (src/secure/):
 * the zone's protections at creation and growth, and per allocation the
 * owner check, zeroing, scrubbing and the write window.
 */
#ifndef LAB_SECURE_HOOKS_H
#define LAB_SECURE_HOOKS_H

#include "base/compiler.h"
#include "page/page.h"
#include "page/zone.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zone protections (creation and growth only). */
int lab__exclusive_check_config(unsigned int flags);
int lab__exclusive_zone_init(struct lab_zone *z);      /* before any section */
void lab__exclusive_zone_fini(struct lab_zone *z);     /* after the memory is gone */
size_t lab__zone_guard_bytes(const struct lab_zone *z);/* kept outside the reservation */
size_t lab__section_guard(struct lab_zone *z, size_t first, size_t *nr);
int lab__exclusive_map_section(struct lab_zone *z, void *mem, size_t len);
/* Undo a section mapped by the call above (a growth that failed later). */
void lab__exclusive_unmap_section(struct lab_zone *z, void *mem, size_t len);
void lab__exclusive_stats(const struct lab_zone *z, struct lab_zone_stats *out);

/* Per allocation.  Every library write to zone memory (zeroing, scrubbing,
 * poisoning) goes between write_begin and write_end, which let the calling
 * thread past the zone's protection key whatever its grants (signal handlers
 * included) and restore its PKRU after; no syscall. */
uint32_t lab__zone_write_begin(const struct lab_zone *z);
void lab__zone_write_end(const struct lab_zone *z, uint32_t saved);
void lab__zone_wipe(const struct lab_zone *z, void *addr, size_t len); /* not elided */
void lab__exclusive_prep(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			 unsigned int order);
void lab__exclusive_scrub(struct lab_zone *z, struct lab_page *page, unsigned int order);
/* Whether the zone wipes every block on free (z->zero_on_free), decided once
 * its debugging features are known. */
void lab__exclusive_zone_debug(struct lab_zone *z);
/* A claimed block on its way back when it is exclusive or its zone wipes on
 * free: scrubbed (and disowned), before any list or owner can see it. */
void lab__free_scrub(struct lab_zone *z, struct lab_page *page, unsigned int order,
		     bool exclusive);
/* May the calling thread free, lock or get (what) this page?  True for a
 * page that is not exclusive; otherwise a non-owner gets a Bad page report
 * and false, and the page is left as it was. */
bool lab__exclusive_may_touch(struct lab_zone *z, const struct lab_page *page, const char *what);

/*
 * THE owner check for lab_lock_page, lab_trylock_page and lab_get_page.
 * Returns true when the calling thread may not lock or reference the page
 * (after reporting it): the caller then does nothing (trylock returns
 * false).  Only exclusive blocks have an owner.
 */
static inline bool lab__exclusive_refuses(const struct lab_page *page, const char *who)
{
	if (lab_likely(!(page_flags(page) & PG_exclusive)))
		return false;
	return !lab__exclusive_may_touch(page->zone, page, who);
}

#endif /* LAB_SECURE_HOOKS_H */
