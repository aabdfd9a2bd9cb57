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

/* The rate limit rs now: true when this message may print; the count the
 * last interval held back is printed first ("<what>: N messages
 * suppressed"), and at exit what no later message showed. */
bool lab__ratelimit(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns);

#endif /* LAB_OS_PRINTK_H */
