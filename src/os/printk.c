/*
 * printk.c - the report writer: lab__printk() formats into a stack buffer
 * and write(2)s it to stderr, no malloc, no stdio locks, so it is safe where
 * the allocator itself is (signal handlers); and the rate limits
 * (lab__ratelimit) that count what they hold back and say so in one line
 * when the next interval opens, or at exit.
 */
#include "base/ratelimit.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/thread.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

void lab__printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	lab__os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* ---- rate limits ------------------------------------------------------ */

/* Limits that held a message back, for the count at exit (pushed once each,
 * never removed: they are static). */
static struct lab__ratelimit *_Atomic limits_held;

static void print_suppressed(struct lab__ratelimit *rs)
{
	uint64_t missed = atomic_exchange(&rs->missed, 0);
	if (missed)
		lab__printk("%s: %llu messages suppressed\n", rs->what, (unsigned long long)missed);
}

/*
 * ___ratelimit(): the first call after the interval opens a new one and
 * shows what the last one held back, before its own message.
 */
bool lab__ratelimit(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns)
{
	uint64_t now = lab__os_now_ns();
	uint64_t start = atomic_load(&rs->begin);
	if (now - start >= interval_ns && atomic_compare_exchange_strong(&rs->begin, &start, now)) {
		atomic_store(&rs->printed, 0);
		print_suppressed(rs);
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

/* At exit: the counts no later message showed.  exit() runs this, _exit()
 * and a crash do not.  Another thread still reporting only adds a count. */
__attribute__((destructor)) static void print_suppressed_at_exit(void)
{
	for (struct lab__ratelimit *rs = atomic_load(&limits_held); rs; rs = atomic_load(&rs->next))
		print_suppressed(rs);
}

/* A fork child starts with nothing held back: the parent shows its counts. */
static void forget_suppressed(void)
{
	for (struct lab__ratelimit *rs = atomic_load(&limits_held); rs; rs = atomic_load(&rs->next))
		atomic_store(&rs->missed, 0);
}

__attribute__((constructor)) static void ratelimit_init(void)
{
	lab__os_atfork(NULL, NULL, forget_suppressed);
}
