/*
 * printk.c - the report writer: lab__printk() formats into a stack buffer
 * and write(2)s it to stderr, no malloc, no stdio locks, so it is safe where
 * the allocator itself is (signal handlers); and the rate limits
 * (lab__ratelimit) that count what they hold back and say so in one line
 * when the next interval opens, or at exit.  Also the failure of an
 * assertion (base/assert.h).
 */
#include "base/fmt.h"
#include "base/assert.h"
#include "base/ratelimit.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/stack.h"
#include "os/thread.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>

void lab__printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = lab__vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	lab__os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void lab__assert_fail(const char *expr, const char *file, int line, const char *func)
{
	lab__printk("BUG: labyrinth: assertion failed at %s:%d (%s): %s\n", file, line, func,
		    expr);
	lab__os_dump_stack();
	abort();
}

/* ---- rate limits ------------------------------------------------------ */

static void print_suppressed(const struct lab__ratelimit *rs, uint64_t missed)
{
	if (missed)
		lab__printk("%s: %llu messages suppressed\n", rs->what, (unsigned long long)missed);
}

/* The rate limit now (base/ratelimit.c); the count the last interval held
 * back is shown before this message. */
bool lab__ratelimit(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns)
{
	uint64_t missed;
	bool ok = lab__ratelimit_at(rs, burst, interval_ns, lab__os_now_ns(), &missed);
	print_suppressed(rs, missed);
	return ok;
}

/* At exit: the counts no later message showed.  exit() runs this, _exit()
 * and a crash do not.  Another thread still reporting only adds a count. */
__attribute__((destructor)) static void print_suppressed_at_exit(void)
{
	for (struct lab__ratelimit *rs = lab__ratelimit_held(); rs; rs = atomic_load(&rs->next))
		print_suppressed(rs, atomic_exchange(&rs->missed, 0));
}

/* A fork child starts with nothing held back: the parent shows its counts. */
static void forget_suppressed(void)
{
	for (struct lab__ratelimit *rs = lab__ratelimit_held(); rs; rs = atomic_load(&rs->next))
		atomic_store(&rs->missed, 0);
}

__attribute__((constructor)) static void ratelimit_init(void)
{
	lab__os_atfork(NULL, NULL, forget_suppressed);
}
