/*
 * printk.c - the report writer: lab__printk() formats into a stack buffer
 * and write(2)s it to stderr, no malloc, no stdio locks, so it is safe where
 * the allocator itself is (signal handlers), or gathers it into the one
 * report buffer between lab__report_begin() and _end(); and the rate limits
 * (lab__ratelimit) that count what they hold back and say so in one line
 * when the next interval opens, or at exit.  Also the failure of an
 * assertion (base/assert.h).
 */
#include "base/fmt.h"
#include "base/assert.h"
#include "base/ratelimit.h"
#include "os/cpu.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/stack.h"
#include "os/thread.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The report buffer: one at a time, its holder's thread gathering. */
static char report_buf[16384];
static size_t report_len;
static _Atomic int report_lock;
/* 0: this thread's lines go out as they come; 1: into report_buf (held). */
static _Thread_local volatile int report_mode __attribute__((tls_model("initial-exec")));
/* In the middle of adding a line: a signal handler's lines go out directly. */
static _Thread_local volatile bool report_adding __attribute__((tls_model("initial-exec")));

/* How long begin waits for another thread's report: it spins, then yields
 * (a report is writing anyway), and gives up after this, so that a report
 * never ended (a signal handler that jumped out of one) stops nobody. */
#define REPORT_WAIT_NS (1000ull * 1000 * 1000)

int lab__report_begin(void)
{
	int was = report_mode;
	report_mode = 0;  /* a report inside a report (a signal handler): direct */
	if (was)
		return was;
	uint64_t until = 0;
	for (unsigned int spins = 0;; spins++) {
		int free_word = 0;
		if (atomic_compare_exchange_weak_explicit(&report_lock, &free_word, 1,
							  memory_order_acquire,
							  memory_order_relaxed)) {
			report_len = 0;
			report_mode = 1;
			break;
		}
		if (spins < 1024) {
			lab__os_cpu_relax();
			continue;
		}
		uint64_t now = lab__os_now_ns();
		if (!until)
			until = now + REPORT_WAIT_NS;
		else if (now > until)
			break;
		lab__os_yield();
	}
	return was;
}

void lab__report_end(int begun)
{
	if (report_mode) {
		report_mode = 0;  /* first: a signal from here on writes directly */
		lab__os_write_stderr(report_buf, report_len);
		atomic_store_explicit(&report_lock, 0, memory_order_release);
	}
	report_mode = begun;
}

static void report_add(const char *s, size_t n)
{
	if (report_len + n > sizeof(report_buf)) {  /* a long one: in pieces */
		lab__os_write_stderr(report_buf, report_len);
		report_len = 0;
	}
	if (n > sizeof(report_buf)) {
		lab__os_write_stderr(s, n);
		return;
	}
	memcpy(report_buf + report_len, s, n);
	report_len += n;
}

void lab__printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = lab__vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	if (report_mode && !report_adding) {
		report_adding = true;
		report_add(buf, len);
		report_adding = false;
	} else {
		lab__os_write_stderr(buf, len);
	}
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

/* A fork child starts with nothing held back: the parent shows its counts;
 * and with the report buffer free (another thread's report stays behind). */
static void forget_suppressed(void)
{
	for (struct lab__ratelimit *rs = lab__ratelimit_held(); rs; rs = atomic_load(&rs->next))
		atomic_store(&rs->missed, 0);
	if (!report_mode)
		atomic_store(&report_lock, 0);
}

__attribute__((constructor)) static void ratelimit_init(void)
{
	lab__os_atfork(NULL, NULL, forget_suppressed);
}
