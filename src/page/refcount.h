/*
 * refcount.h - page references (refcount.c).
 */
#ifndef LAB_PAGE_REFCOUNT_H
#define LAB_PAGE_REFCOUNT_H

#include "page/zone.h"

#include <stdbool.h>

/* Drop a reference; true when it was the last one.  A put without a
 * reference is reported (and the block leaked if still allocated). */
bool lab__put_testzero(struct lab_zone *z, struct lab_page *page);

#endif /* LAB_PAGE_REFCOUNT_H */
