/*
 * page_owner.h - who allocated each block (page_owner.c).
 */
#ifndef LAB_DEBUG_PAGE_OWNER_H
#define LAB_DEBUG_PAGE_OWNER_H

#include "os/stack.h"
#include "page/zone.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/* One record per pfn; meaningful at the head of a block. */
struct page_owner {
	uint64_t ts_nsec;          /* allocation time, CLOCK_MONOTONIC */
	uint64_t free_ts_nsec;     /* last free time, 0 if never freed */
	lab_gfp_t gfp_mask;
	uint8_t order;
	uint8_t nr_entries, nr_free_entries;
	uint8_t set;               /* an allocation was recorded */
	int32_t pid, tid, free_tid;
	char comm[16];
	void *stack[LAB_STACK_DEPTH];
	void *free_stack[LAB_STACK_DEPTH];
};


/* Compiled in unless built with -DLAB_CONFIG_PAGE_OWNER=0. */
#ifndef LAB_CONFIG_PAGE_OWNER
#define LAB_CONFIG_PAGE_OWNER 1
#endif

/* The hooks' test: page_owner records kept in this zone. */
static inline bool lab__page_owner_on(const struct lab_zone *z)
{
	return LAB_CONFIG_PAGE_OWNER && (z->debug & ZONE_DEBUG_PAGE_OWNER);
}

unsigned int lab__page_owner_zone_debug(unsigned int zone_flags);
int lab__page_owner_zone_init(struct lab_zone *z);
int lab__page_owner_new_range(struct lab_zone *z, size_t first, size_t nr);
void lab__page_owner_zone_fini(struct lab_zone *z);
void lab__page_owner_alloc(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			   unsigned int order);
void lab__page_owner_free(struct lab_zone *z, struct lab_page *page, unsigned int order);
void lab__page_owner_dump_bad(struct lab_zone *z, const struct lab_page *page);
/* lab_page_owner_report_leaks() to stderr (dump.c, the stdio side). */
size_t lab__page_owner_leaks_to_stderr(const struct lab_zone *z);

#endif /* LAB_DEBUG_PAGE_OWNER_H */
