/*
 * printk.h - the report writer (printk.c): format and write(2) to stderr,
 * no malloc, no stdio locks; async-signal-safe.  And the rate limits
 * (base/ratelimit.h) on the clock, with their "suppressed" lines.
 */
#ifndef LAB_OS_PRINTK_H
#define LAB_OS_PRINTK_H

#include "base/ratelimit.h"

#include <stdbool.h>
#include <stdint.h>

void lab__printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A report of many lines as one write(2): between begin and end, this
 * thread's lab__printk() lines (stacks included) gather in a buffer of the
 * library's, which end writes at once, so that reports of threads (or
 * processes) writing at the same time never interleave line by line.  When
 * the buffer is another thread's for longer than a bounded spin, or this
 * thread is already in a report (a signal handler that interrupted one),
 * the lines go out one by one as without.  end takes what begin returned.
 * Async-signal-safe; no malloc; begin waits for another thread's report
 * (spinning, then yielding), at most a second: a holder that never ended
 * its report (a handler that jumped out of one) costs a second per report.
 */
int lab__report_begin(void);
void lab__report_end(int begun);

/* The rate limit rs now: true when this message may print; the count the
 * last interval held back is printed first ("<what>: N messages
 * suppressed"), and at exit what no later message showed. */
bool lab__ratelimit(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns);

#endif /* LAB_OS_PRINTK_H */
