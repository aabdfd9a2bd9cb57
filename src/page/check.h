/*
 * check.h - the invariant checker's report (check.c).  lab_zone_check()
 * walks the zone holding its lock and every per-CPU set; the lines of the
 * invariants it finds broken are collected here meanwhile and written only
 * after it lets them go, so that no allocation or free ever waits for a
 * report's write(2) (a slow or full stderr once stalled every thread of a
 * 16-core stress run behind the checker).
 */
#ifndef LAB_PAGE_CHECK_H
#define LAB_PAGE_CHECK_H

#include <stddef.h>

struct lab__check_log {
	char buf[8192];    /* the first lines, whole */
	size_t used;
	int dropped;       /* lines that did not fit */
};

/* Add one line (printf-like, ending in a newline) to the report. */
void lab__check_broken(struct lab__check_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* LAB_PAGE_CHECK_H */
