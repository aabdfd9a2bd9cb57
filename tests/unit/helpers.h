/* helpers.h - shared by the unit tests: zones with fixed watermarks, filling
 * a zone to an exact free count, running code in a child process with its
 * stderr captured (for reports that must be seen, and for crashes), and a
 * seccomp filter that takes a system call away (to test fallbacks on any
 * machine). */
#ifndef LAB_TEST_HELPERS_H
#define LAB_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <labyrinth.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

struct lab_zone *make_zone(size_t pages, size_t min, size_t low, size_t high, unsigned int flags);
void assert_zone_ok(const struct lab_zone *z);
size_t zone_free(const struct lab_zone *z);
/* Free pages wherever they are: buddy lists plus per-CPU lists. */
size_t zone_free_all(const struct lab_zone *z);

/* A stack of order-0 pages held by a test. */
struct held {
	struct lab_page **pages;
	size_t nr, cap;
};
void held_init(struct held *h, size_t cap);
void held_push(struct held *h, struct lab_page *p);
void held_free_all(struct held *h);

/* Allocate or free order-0 MEMALLOC pages until the zone has exactly target free. */
void set_free(struct lab_zone *z, struct held *h, size_t target);

/* Run fn(arg) in a forked child; its stderr goes into out (NUL-terminated).
 * Returns the child's wait status. */
int run_in_child(void (*fn)(void *), void *arg, char *out, size_t len);
/* Fork; the child runs fn(arg) and exits with what it returns.  Returns the
 * child's wait status.  SIGSEGV is reset in the child so that a fault kills
 * it even under AddressSanitizer, which would otherwise catch it. */
int in_child(int (*fn)(void *), void *arg);

/* Run a shell command; its stdout and stderr go into out (NUL-terminated).
 * Returns the wait status. */
int run_shell(const char *cmd, char *out, size_t len);
/* $LAB_TEST_<name> as meson sets it for the tests (a path); fails the test if unset. */
const char *test_path(const char *name);
/* Count the occurrences of needle in haystack. */
int count_of(const char *haystack, const char *needle);

/* From now on the system call nr fails with errno err in this process, as on
 * a kernel or CPU without the feature behind it: a seccomp filter (with
 * no_new_privs), kept by threads created later and by children, and never
 * lifted.  For forked children only (run_in_child).  Returns 0, or -errno. */
int fail_syscall(long nr, int err);

/* Touch the next `bytes` of this thread's stack below the caller, so that a
 * later deeper call (a refill, a report) does not take the stack's own
 * first-touch page fault inside a "no page fault" measurement: the
 * library's contract covers its memory, not the caller's stack. */
void warm_stack(size_t bytes);

/* Tests that start an export sweep /dev/shm of stale export files (those of
 * dead processes), so a test that leaves one behind on purpose and checks it
 * must not run beside them (meson runs test programs in parallel): each
 * takes this lock, held until its process ends (a POSIX record lock: its
 * forked children do not hold it; an orphaned test dies with its runner).
 * A test that waits for it 120 s fails, naming the holder. */
void hold_export_lock(void);

/* Start `debug_child MODE` with LABYRINTH_EXPORT=1 ("export", "export-pcp":
 * see debug_child.c); returns its pid once it has said it exports, and in
 * *to_child the pipe that ends it when closed. */
pid_t start_exporter(const char *mode, int *to_child);

/* In a forked child a failed cr_assert cannot report: exit with a code. */
#define CHILD_CHECK(cond)                                                          \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "child check failed: %s (line %d)\n", #cond, __LINE__); \
			_exit(3);                                                  \
		}                                                                  \
	} while (0)

/* True under Valgrind, which emulates the CPU and the system calls: tests of
 * what the real kernel path does (seccomp, page faults, rseq) skip there. */
bool running_on_valgrind(void);

/*
 * A signal storm: handler installed for SIGALRM, which arrives every 100 us
 * for LAB_STORM_SECONDS seconds (default 20) and only in the two threads
 * running worker((void *)0) and worker((void *)1), which unblock it (it is
 * blocked before they start; a caller that makes other threads first blocks
 * it before them); a worker whose progress[i]
 * stands still 5 s in a row fails the test.  Sets *stop and joins them.
 */
void signal_storm(void (*handler)(int), void *(*worker)(void *),
		  _Atomic unsigned long *progress, _Atomic bool *stop);

/* The same signal, every interval_us, in the same two workers, which here
 * bound their own work: returns when both have returned. */
void signal_burst(void (*handler)(int), void *(*worker)(void *), long interval_us);

#endif
