/* test_atomic.c - atomic context: nesting, spinlocks, and the "sleeping
 * function called from invalid context" report for every call that may
 * sleep, seen in a child's stderr with the child aborted; silence for
 * ATOMIC/NOWAIT allocations under a spinlock; LABYRINTH_DEBUG in both
 * debug and release builds (the child is exec'd, as the setting is read at
 * load time). */
#include "helpers.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MIGHT_SLEEP_CHILD
#error "MIGHT_SLEEP_CHILD: path of the might_sleep_child program"
#endif
#ifndef LABYRINTH_DEBUG_BUILD
#define LABYRINTH_DEBUG_BUILD 0
#endif

Test(atomic, nesting_is_counted_per_thread)
{
	cr_assert_eq(lab_in_atomic(), 0);
	lab_atomic_enter();
	lab_atomic_enter();
	cr_assert_eq(lab_in_atomic(), 2);
	lab_atomic_exit();
	cr_assert_eq(lab_in_atomic(), 1);
	lab_atomic_exit();
	cr_assert_eq(lab_in_atomic(), 0);
}

static void *depth_elsewhere(void *arg)
{
	*(unsigned int *)arg = lab_in_atomic();
	return NULL;
}

Test(atomic, spinlock_enters_and_leaves_atomic_context)
{
	lab_spinlock_t l = LAB_SPINLOCK_INIT, m;
	lab_spin_lock_init(&m);
	lab_spin_lock(&l);
	cr_assert_eq(lab_in_atomic(), 1);
	unsigned int other = 99;
	pthread_t t;
	pthread_create(&t, NULL, depth_elsewhere, &other);
	pthread_join(t, NULL);
	cr_assert_eq(other, 0, "atomic context leaked to another thread");
	cr_assert_not(lab_spin_trylock(&l), "a held spinlock was taken");
	cr_assert_eq(lab_in_atomic(), 1, "a failed trylock must leave the depth alone");
	cr_assert(lab_spin_trylock(&m));
	cr_assert_eq(lab_in_atomic(), 2);
	lab_spin_unlock(&m);
	lab_spin_unlock(&l);
	cr_assert_eq(lab_in_atomic(), 0);
}

struct spin_count {
	lab_spinlock_t lock;
	unsigned long counter;
	unsigned long in_atomic_misses;
};

static void *spinner(void *arg)
{
	struct spin_count *s = arg;
	for (int i = 0; i < 100000; i++) {
		lab_spin_lock(&s->lock);
		if (lab_in_atomic() != 1)
			s->in_atomic_misses++;
		s->counter++;
		lab_spin_unlock(&s->lock);
	}
	return NULL;
}

Test(atomic, spinlock_excludes, .timeout = 120)
{
	struct spin_count s = { .lock = LAB_SPINLOCK_INIT };
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, spinner, &s);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(s.counter, 300000);
	cr_assert_eq(s.in_atomic_misses, 0);
}

/* ---- reports ----------------------------------------------------------- */

struct exec_child {
	const char *scenario;
	const char *debug;      /* LABYRINTH_DEBUG, NULL = unset */
};

static void exec_child(void *arg)
{
	struct exec_child *c = arg;
	if (c->debug)
		setenv("LABYRINTH_DEBUG", c->debug, 1);
	else
		unsetenv("LABYRINTH_DEBUG");
	execl(MIGHT_SLEEP_CHILD, MIGHT_SLEEP_CHILD, c->scenario, (char *)NULL);
	_exit(127);
}

static int run(const char *scenario, const char *debug, char *out, size_t len)
{
	struct exec_child c = { scenario, debug };
	return run_in_child(exec_child, &c, out, len);
}

/* The report: the kernel's two first lines, adapted, then a backtrace. */
static void assert_reported(const char *scenario, const char *debug, const char *where,
			    unsigned int nesting)
{
	char out[16384], head[256];
	int status = run(scenario, debug, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		  "%s: the child did not abort (status %#x), stderr:\n%s", scenario, status, out);
	snprintf(head, sizeof(head),
		 "BUG: sleeping function called from invalid context at %s\n"
		 "in_atomic(): 1, nesting: %u, pid: ", where, nesting);
	cr_assert(!strncmp(out, head, strlen(head)), "%s: expected\n%s\nat the start of:\n%s",
		  scenario, head, out);
	cr_assert(strstr(out, "Atomic context entered at:\n"), "%s:\n%s", scenario, out);
	cr_assert(strstr(out, "Call Trace:\n"), "%s: no backtrace:\n%s", scenario, out);
	/* A real backtrace: it names the caller's frames (the child exports its
	 * symbols), the function that may sleep when it is public, and main. */
	char frame[128];
	snprintf(frame, sizeof(frame), "(%s+0x", where);
	cr_assert(strstr(out, frame), "%s: no frame %s in:\n%s", scenario, frame, out);
	cr_assert(strstr(out, "(main+0x"), "%s: no frame for main in:\n%s", scenario, out);
}

static void assert_silent(const char *scenario, const char *debug)
{
	char out[16384];
	int status = run(scenario, debug, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%s (LABYRINTH_DEBUG=%s): status %#x, stderr:\n%s", scenario,
		  debug ? debug : "(unset)", status, out);
	cr_assert_str_empty(out, "%s: unexpected output:\n%s", scenario, out);
}

Test(atomic, kernel_allocation_under_a_spinlock_is_reported)
{
	assert_reported("alloc_kernel_in_spinlock", "1", "lab_alloc_pages", 1);
}

Test(atomic, lock_page_in_atomic_context_is_reported)
{
	assert_reported("lock_page_in_atomic", "1", "lab_lock_page", 1);
}

Test(atomic, wait_on_page_locked_in_atomic_context_is_reported)
{
	assert_reported("wait_on_page_locked_in_atomic", "1", "lab_wait_on_page_locked", 1);
}

Test(atomic, might_sleep_names_the_users_function)
{
	assert_reported("might_sleep_in_atomic", "1", "my_sleepy_function", 1);
}

Test(atomic, the_nesting_count_is_reported)
{
	assert_reported("nested_three", "1", "lab_alloc_pages", 3);
}

Test(atomic, a_signal_handler_marked_atomic_is_checked)
{
	assert_reported("signal_handler", "on", "lab_alloc_pages", 1);
}

Test(atomic, atomic_and_nowait_allocations_under_a_spinlock_are_silent)
{
	assert_silent("quiet", "1");
	assert_silent("quiet", NULL);
}

Test(atomic, on_by_default_in_debug_builds_only)
{
	if (LABYRINTH_DEBUG_BUILD)
		assert_reported("alloc_kernel_in_spinlock", NULL, "lab_alloc_pages", 1);
	else
		assert_silent("alloc_kernel_in_spinlock", NULL);
}

Test(atomic, labyrinth_debug_turns_the_check_on_and_off)
{
	assert_silent("alloc_kernel_in_spinlock", "0");
	assert_silent("lock_page_in_atomic", "off");
	assert_silent("lock_page_in_atomic", "all,-atomic_sleep");
	assert_reported("lock_page_in_atomic", "none, atomic_sleep", "lab_lock_page", 1);
	assert_reported("lock_page_in_atomic", "YES", "lab_lock_page", 1);
}

/* A word it does not know makes the whole value bad: one line says so, and
 * the build's default stands (test_report checks the line for every
 * LABYRINTH_* variable). */
Test(atomic, labyrinth_debug_refuses_an_unknown_word_and_keeps_the_default)
{
	char out[16384];
	int status = run("lock_page_in_atomic", "atomic_sleep,something_else", out, sizeof(out));
	const char *line = "labyrinth: LABYRINTH_DEBUG: bad value 'atomic_sleep,something_else': "
			   "expected a comma-separated list of ";
	cr_assert(!strncmp(out, line, strlen(line)), "stderr:\n%s", out);
	if (LABYRINTH_DEBUG_BUILD) {
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%#x\n%s", status,
			  out);
		cr_assert(strstr(out, "; the atomic-sleep check stays on (the debug build's "
				 "default)\nBUG: sleeping function called from invalid context "
				 "at lab_lock_page"), "%s", out);
	} else {
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%#x\n%s", status, out);
		cr_assert(strstr(out, "; the atomic-sleep check stays off (the release build's "
				 "default)\n"), "%s", out);
		cr_assert_eq(count_of(out, "\n"), 1, "nothing but the line:\n%s", out);
	}
}

/* ---- spinlock misuse (always checked) ---------------------------------- */

static void relock(void *arg)
{
	lab_spinlock_t *l = arg;
	lab_spin_lock(l);
	lab_spin_lock(l);
}

static void foreign_unlock(void *arg)
{
	lab_spin_unlock(arg);
}

static void unbalanced_exit(void *arg)
{
	(void)arg;
	lab_atomic_exit();
	if (lab_in_atomic() != 0)
		_exit(1);
	lab_atomic_enter();
	if (lab_in_atomic() != 1)
		_exit(2);
	lab_atomic_exit();
}

Test(atomic, spinlock_recursion_and_wrong_owner_abort)
{
	char out[4096];
	lab_spinlock_t l = LAB_SPINLOCK_INIT;
	int status = run_in_child(relock, &l, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x", status);
	cr_assert(!strncmp(out, "BUG: spinlock recursion: lock ", 30), "%s", out);
	status = run_in_child(foreign_unlock, &l, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x", status);
	cr_assert(!strncmp(out, "BUG: spinlock wrong owner: lock ", 32), "%s", out);
}

Test(atomic, exit_without_enter_is_reported_and_does_not_wrap)
{
	char out[4096];
	int status = run_in_child(unbalanced_exit, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, out);
	cr_assert(!strncmp(out, "BUG: labyrinth: lab_atomic_exit() without lab_atomic_enter() at ",
			   64), "%s", out);
}
