/*
 * badpage.h - what the allocator says when something is wrong (badpage.c):
 * the report writer, Bad page reports, allocation-failure warnings.
 */
#ifndef LAB_PAGE_BADPAGE_H
#define LAB_PAGE_BADPAGE_H

#include "page/zone.h"

#include <stdint.h>

/* printk: format and write(2) to stderr, no malloc, no stdio locks. */
void lab__printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lab__bad_page(struct lab_zone *z, const struct lab_page *p, const char *reason);
void lab__bad_page_state(struct lab_zone *z, const struct lab_page *p, uint32_t flags,
			 const char *reason);
void lab__bad_pointer(const void *ptr, const char *reason);
void lab__warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order);
void lab__flush_warnings(struct lab_zone *z);
/* The Bad page rate limit's quiet period (tests shorten it). */
extern _Atomic uint64_t lab__bad_page_interval_ns;

#endif /* LAB_PAGE_BADPAGE_H */
