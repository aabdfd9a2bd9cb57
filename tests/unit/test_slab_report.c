/* test_slab_report.c - how the slab layer's "BUG <cache>:" reports come out:
 * formatted by the library's own async-signal-safe formatter (this program
 * defines libc's printf family and counts any call into it while a report
 * is made), each written whole with one write(2) (this program defines
 * write() too and looks at every piece sent to stderr), also from a signal
 * handler and from threads reporting at the same time. */
#include "helpers.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static _Atomic int armed;
static _Atomic int formatter_calls;  /* libc printf family while armed */
static _Atomic int reports;          /* writes to stderr while armed */
static _Atomic int torn;             /* ... that were not one whole report */

/* A whole report: from its rule line to the end of its FIX line, with one
 * BUG line. */
static bool whole_report(const char *buf, size_t len)
{
	static const char rule[] = "=====";
	if (len < sizeof(rule) || memcmp(buf, rule, sizeof(rule) - 1) || buf[len - 1] != '\n')
		return false;
	int bugs = 0;
	const char *fix = NULL;
	for (size_t i = 0; i + 4 <= len; i++) {
		if (!memcmp(buf + i, "\nBUG ", 5))
			bugs++;
		if (!memcmp(buf + i, "\nFIX ", 5))
			fix = buf + i;
	}
	return bugs == 1 && fix && !memchr(fix + 1, '\n', (size_t)(buf + len - 1 - (fix + 1)));
}

ssize_t write(int fd, const void *buf, size_t len)
{
	if (fd == STDERR_FILENO && atomic_load(&armed)) {
		atomic_fetch_add(&reports, 1);
		if (!whole_report(buf, len))
			atomic_fetch_add(&torn, 1);
	}
	return syscall(SYS_write, fd, buf, len);
}

/* libc's formatters: counted while armed, and passed on to glibc's own
 * (its public aliases). */
#define COUNT() do { if (atomic_load(&armed)) atomic_fetch_add(&formatter_calls, 1); } while (0)
#define FMT(a) __attribute__((format(printf, a, 0)))
extern int __vsnprintf(char *s, size_t n, const char *fmt, va_list ap) FMT(3);
extern int _IO_vsprintf(char *s, const char *fmt, va_list ap) FMT(2);
extern int _IO_vfprintf(FILE *f, const char *fmt, va_list ap) FMT(2);
int __vsnprintf_chk(char *s, size_t n, int flag, size_t len, const char *fmt, va_list ap) FMT(5);
int __snprintf_chk(char *s, size_t n, int flag, size_t len, const char *fmt, ...) FMT(5);
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap) FMT(3);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...) FMT(3);

FMT(3) int vsnprintf(char *s, size_t n, const char *fmt, va_list ap)
{
	COUNT();
	return __vsnprintf(s, n, fmt, ap);
}
FMT(3) int snprintf(char *s, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(s, n, fmt, ap);
	va_end(ap);
	return r;
}
int __vsnprintf_chk(char *s, size_t n, int flag, size_t len, const char *fmt, va_list ap)
{
	(void)flag;
	(void)len;
	return vsnprintf(s, n, fmt, ap);
}
int __snprintf_chk(char *s, size_t n, int flag, size_t len, const char *fmt, ...)
{
	(void)flag;
	(void)len;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(s, n, fmt, ap);
	va_end(ap);
	return r;
}
FMT(2) int vsprintf(char *s, const char *fmt, va_list ap)
{
	COUNT();
	return _IO_vsprintf(s, fmt, ap);
}
FMT(2) int sprintf(char *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsprintf(s, fmt, ap);
	va_end(ap);
	return r;
}
FMT(2) int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	COUNT();
	return _IO_vfprintf(f, fmt, ap);
}
FMT(2) int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(f, fmt, ap);
}
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	(void)flag;
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

static void poke(void *addr, unsigned char byte)
{
	int fd = open("/proc/self/mem", O_WRONLY);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(pwrite(fd, &byte, 1, (off_t)(uintptr_t)addr) == 1);
	close(fd);
}

static struct lab_zone *zone;
static struct lab_kmem_cache *plain, *debugged;

static void setup(void)
{
	struct lab_zone_config cfg = { .name = "report", .pages = 1024, .flags = LAB_ZONE_NO_KSWAPD };
	zone = lab_zone_create(&cfg);
	plain = lab_kmem_cache_create(zone, "t-plain", 48, 0, 0, NULL);
	debugged = lab_kmem_cache_create(zone, "t-debugged", 48, 0, LAB_SLAB_RED_ZONE |
					 LAB_SLAB_POISON | LAB_SLAB_STORE_USER |
					 LAB_SLAB_CONSISTENCY_CHECKS, NULL);
	CHILD_CHECK(zone && plain && debugged);
}

static void double_free(struct lab_kmem_cache *c)
{
	void *o = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	CHILD_CHECK(o);
	lab_kmem_cache_free(c, o);
	lab_kmem_cache_free(c, o);  /* the object freed last on this CPU: caught */
}

static void handler(int sig)
{
	(void)sig;
	lab_atomic_enter();
	double_free(plain);
	lab_atomic_exit();
}

/* Four kinds, one from a signal handler; every one whole, none formatted by
 * libc. */
static void kinds_child(void *arg)
{
	(void)arg;
	setup();
	char *victim = lab_kmem_cache_alloc(debugged, LAB_GFP_KERNEL);
	CHILD_CHECK(victim);
	int on_stack;
	signal(SIGUSR1, handler);
	atomic_store(&armed, 1);
	double_free(plain);
	poke(victim + 48, 0x42);  /* the right red zone */
	lab_kmem_cache_free(debugged, victim);
	lab_kfree(&on_stack);
	raise(SIGUSR1);
	atomic_store(&armed, 0);
	fprintf(stderr, "reports %d torn %d formatter calls %d\n", atomic_load(&reports),
		atomic_load(&torn), atomic_load(&formatter_calls));
	_exit(atomic_load(&reports) == 4 && !atomic_load(&torn) && !atomic_load(&formatter_calls)
	      ? 0 : 3);
}

Test(slab_report, every_report_is_one_write_formatted_by_the_library)
{
	static char out[65536];
	int status = run_in_child(kinds_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x\n%s", status, out);
	cr_assert_eq(count_of(out, "\nBUG "), 4, "%s", out);
	cr_assert_not_null(strstr(out, "BUG t-plain (Not tainted): Object already free"), "%s", out);
	cr_assert_not_null(strstr(out, "BUG t-debugged (Not tainted): Right Redzone overwritten"),
			   "%s", out);
	cr_assert_not_null(strstr(out, "BUG lab_kfree: Invalid pointer"), "%s", out);
	cr_assert_not_null(strstr(out, "INFO: Allocated age="), "U's tracks are in it:\n%s", out);
	if (!running_on_valgrind())  /* there the bytes are not the library's to read */
		cr_assert_not_null(strstr(out, "Redzone  0x"), "and the hex dump:\n%s", out);
}

/* Threads reporting at once: their reports never interleave.  Each thread
 * has caches of its own, so that no object another thread freed twice comes
 * its way (a double free racing with a reuse is the program's bug, not the
 * report's). */
#define THREADS 4
#define EACH 10

static pthread_barrier_t start;

static void *reporter(void *arg)
{
	(void)arg;
	struct lab_kmem_cache *mine[2] = {
		lab_kmem_cache_create(zone, "t-plain", 48, 0, 0, NULL),
		lab_kmem_cache_create(zone, "t-debugged", 48, 0, LAB_SLAB_RED_ZONE |
				      LAB_SLAB_STORE_USER, NULL),
	};
	CHILD_CHECK(mine[0] && mine[1]);
	pthread_barrier_wait(&start);
	for (int i = 0; i < EACH; i++)
		double_free(mine[i % 2]);
	return NULL;
}

static void threads_child(void *arg)
{
	(void)arg;
	setup();
	pthread_t t[THREADS];
	pthread_barrier_init(&start, NULL, THREADS);
	atomic_store(&armed, 1);
	for (int i = 0; i < THREADS; i++)
		CHILD_CHECK(pthread_create(&t[i], NULL, reporter, NULL) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&armed, 0);
	fprintf(stderr, "reports %d torn %d formatter calls %d\n", atomic_load(&reports),
		atomic_load(&torn), atomic_load(&formatter_calls));
	_exit(atomic_load(&reports) == THREADS * EACH && !atomic_load(&torn) ? 0 : 3);
}

Test(slab_report, reports_of_threads_at_the_same_time_never_interleave, .timeout = 60)
{
	static char out[1 << 20];
	int status = run_in_child(threads_child, NULL, out, sizeof(out));
	const char *sum = strstr(out, "reports ");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status,
		  sum ? sum : out);
	cr_assert_eq(count_of(out, "\nBUG "), THREADS * EACH);
}
