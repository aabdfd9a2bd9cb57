/*
 * badpage.h - Bad page reports (badpage.c).
 */
#ifndef LAB_PAGE_BADPAGE_H
#define LAB_PAGE_BADPAGE_H

#include "base/compiler.h"
#include "page/zone.h"

#include <stdint.h>

void lab__bad_page(struct lab_zone *z, const struct lab_page *p, const char *reason);
void lab__bad_page_state(struct lab_zone *z, const struct lab_page *p, uint32_t flags,
			 const char *reason);
void lab__bad_pointer(const void *ptr, const char *reason);
/* The zone of page, a caller's descriptor; NULL for a NULL page, and NULL
 * after a Bad page report by pointer (reason) when it is no descriptor of
 * any live zone. */
static inline struct lab_zone *lab__zone_of_page_checked(const struct lab_page *page,
							 const char *reason)
{
	if (lab_unlikely(!page))
		return NULL;
	struct lab_zone *z = lab__zone_of_desc(page);
	if (lab_unlikely(!z))
		lab__bad_pointer(page, reason);
	return z;
}

/* The Bad page rate limit's quiet period (tests shorten it). */
extern _Atomic uint64_t lab__bad_page_interval_ns;

#endif /* LAB_PAGE_BADPAGE_H */
