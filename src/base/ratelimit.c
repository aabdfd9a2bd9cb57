/*
 * ratelimit.c - the kernel's ___ratelimit() as arithmetic on a given time:
 * whether a message may print, and the count held back that the caller must
 * show.  Lock-free and async-signal-safe; the clock and the printing are the
 * caller's (os/printk.c, lab__ratelimit).
 */
#include "base/ratelimit.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Limits that held a message back, for the count at exit (pushed once each,
 * never removed: they are static). */
static struct lab__ratelimit *_Atomic limits_held;

struct lab__ratelimit *lab__ratelimit_held(void)
{
	return atomic_load(&limits_held);
}

/*
 * The first call after the interval opens a new one and hands back what the
 * last one held back (*missed), to be shown before its own message.
 */
bool lab__ratelimit_at(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns,
		       uint64_t now, uint64_t *missed)
{
	uint64_t start = atomic_load(&rs->begin);
	*missed = 0;
	if (now - start >= interval_ns && atomic_compare_exchange_strong(&rs->begin, &start, now)) {
		atomic_store(&rs->printed, 0);
		*missed = atomic_exchange(&rs->missed, 0);
	}
	if (atomic_fetch_add(&rs->printed, 1) < burst)
		return true;
	atomic_fetch_add(&rs->missed, 1);
	if (!atomic_exchange(&rs->listed, true)) {
		struct lab__ratelimit *head = atomic_load(&limits_held);
		do
			atomic_store(&rs->next, head);
		while (!atomic_compare_exchange_weak(&limits_held, &head, rs));
	}
	return false;
}
