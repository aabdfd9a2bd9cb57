/*
 * ratelimit.h - a rate limit, the kernel's ratelimit_state: at most burst
 * messages per interval.  The messages it holds back are counted and shown
 * as one line, "<what>: N messages suppressed", when the next interval
 * opens and, for a count still unshown, when the process exits.  Static,
 * zero-initialised but for what (LAB_RATELIMIT_INIT).  Lock-free,
 * async-signal-safe.  The arithmetic is here (ratelimit.c), on a time the
 * caller gives; lab__ratelimit() (os/printk.c) reads the clock and prints.
 */
#ifndef LAB_BASE_RATELIMIT_H
#define LAB_BASE_RATELIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lab__ratelimit {
	_Atomic uint64_t begin;                /* start of the interval, ns */
	_Atomic uint32_t printed;              /* messages let through in it */
	_Atomic uint64_t missed;               /* held back, not yet shown */
	_Atomic bool listed;                   /* on the list the exit walks */
	struct lab__ratelimit *_Atomic next;
	const char *what;
};
#define LAB_RATELIMIT_INIT(msg) { .what = (msg) }
/* At time now (ns): true when this message may print.  *missed gets the
 * count the previous interval held back when this call opened a new one,
 * else 0: the caller shows it first. */
bool lab__ratelimit_at(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns,
		       uint64_t now, uint64_t *missed);
/* The limits that have held a message back (linked through next). */
struct lab__ratelimit *lab__ratelimit_held(void);

#endif /* LAB_BASE_RATELIMIT_H */
