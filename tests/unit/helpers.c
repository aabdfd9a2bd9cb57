#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LAB_TEST_GCOV
/* libgcov: write the coverage counters now (_exit() skips it). */
void __gcov_dump(void);
#endif

struct lab_zone *make_zone(size_t pages, size_t min, size_t low, size_t high, unsigned int flags)
{
	struct lab_zone_config cfg = { .name = "test", .pages = pages, .flags = flags,
				       .wmark_min = min, .wmark_low = low, .wmark_high = high };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z, "lab_zone_create(%zu pages) failed", pages);
	return z;
}

void assert_zone_ok(const struct lab_zone *z)
{
	cr_assert_eq(lab_zone_check(z), 0, "zone invariants broken (see stderr)");
}

size_t zone_free(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st.free;
}

size_t zone_free_all(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st.free + st.pcp;
}

/* Every stack ever made stays reachable from here: tests may keep using a
 * stack to the end, and Valgrind's leak check must not count them. */
static struct lab_page **all_held[256];
static size_t nr_all_held;

void held_init(struct held *h, size_t cap)
{
	h->pages = calloc(cap, sizeof(*h->pages));
	if (nr_all_held < sizeof(all_held) / sizeof(all_held[0]))
		all_held[nr_all_held++] = h->pages;
	h->nr = 0;
	h->cap = cap;
	cr_assert_not_null(h->pages);
}

void held_push(struct held *h, struct lab_page *p)
{
	cr_assert_lt(h->nr, h->cap);
	h->pages[h->nr++] = p;
}

void held_free_all(struct held *h)
{
	while (h->nr)
		lab_free_page(h->pages[--h->nr]);
}

void set_free(struct lab_zone *z, struct held *h, size_t target)
{
	while (zone_free(z) > target) {
		struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN);
		cr_assert_not_null(p, "could not lower free to %zu", target);
		held_push(h, p);
	}
	while (zone_free(z) < target) {
		cr_assert_gt(h->nr, 0, "could not raise free to %zu", target);
		lab_free_page(h->pages[--h->nr]);
	}
	cr_assert_eq(zone_free(z), target);
}

int in_child(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		_exit(fn(arg));
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

int run_in_child(void (*fn)(void *), void *arg, char *out, size_t len)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* A child that hangs (the bug under test) dies with the test
		 * process Criterion kills at its timeout, not as an orphan. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(arg);
#ifdef LAB_TEST_GCOV
		__gcov_dump();
#endif
		_exit(0);
	}
	close(fds[1]);
	size_t used = 0;
	ssize_t n;
	while ((n = read(fds[0], out + used, len - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	return status;
}

int run_shell(const char *cmd, char *out, size_t len)
{
	char full[4096];
	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	fflush(NULL);
	FILE *f = popen(full, "r");
	cr_assert_not_null(f, "popen %s", cmd);
	size_t used = fread(out, 1, len - 1, f);
	out[used] = '\0';
	return pclose(f);
}

const char *test_path(const char *name)
{
	char var[64];
	snprintf(var, sizeof(var), "LAB_TEST_%s", name);
	const char *v = getenv(var);
	cr_assert_not_null(v, "%s is not set: run the tests through meson test", var);
	return v;
}

int count_of(const char *haystack, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

bool running_on_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");
	return preload && strstr(preload, "vgpreload");
}

#if defined(__x86_64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#endif

int fail_syscall(long nr, int err)
{
	struct sock_filter filter[] = {
		/* Another ABI (i386 on x86-64) is left alone: its numbers differ. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_NATIVE, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 SECCOMP_RET_ERRNO | ((unsigned int)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(filter) / sizeof(filter[0]), filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	/* TSYNC: every thread of the process, should the caller have any. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
		return -errno;
	return 0;
}

__attribute__((noinline)) void warm_stack(size_t bytes)
{
	char *buf = __builtin_alloca(bytes);
	for (size_t i = bytes; i >= 1024; i -= 1024)  /* downwards, as a stack grows */
		((volatile char *)buf)[i - 1024] = 0;
}

/* How long a test waits for another to release the lock before it fails,
 * naming the holder (a meson test times out at 300 s). */
#define EXPORT_LOCK_WAIT_S 120

void hold_export_lock(void)
{
	/* "labyrinth-", not "labyrinth.": never taken for an export file. */
	int fd = open("/dev/shm/labyrinth-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	cr_assert_geq(fd, 0, "lock file: %s", strerror(errno));
	/*
	 * A lock that dies with the process that holds it and with nothing else:
	 * a POSIX record lock is the process's, not the open file's, so the
	 * children this test forks (run_in_child, exporters) do not inherit it,
	 * where an flock would stay held by any of them that outlives the test
	 * (an orphan held it forever and hung every later test).  And should the
	 * Criterion runner that started us die (a meson timeout), we die too.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);  /* orphaned already, before the line above */
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	for (int waited_ms = 0;; waited_ms += 50) {
		if (fcntl(fd, F_SETLK, &lk) == 0)
			break;
		cr_assert(errno == EAGAIN || errno == EACCES, "fcntl(F_SETLK): %s", strerror(errno));
		struct flock who = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		if (waited_ms >= EXPORT_LOCK_WAIT_S * 1000) {
			fcntl(fd, F_GETLK, &who);
			cr_assert_fail("/dev/shm/labyrinth-tests.lock held by pid %d for %d s",
				       (int)who.l_pid, EXPORT_LOCK_WAIT_S);
		}
		usleep(50 * 1000);
	}
	/* fd stays open: the lock goes with the process. */
}

pid_t start_exporter(const char *mode, int *to_child)
{
	/* Looked up before the fork: a failed assertion in the child would run
	 * on inside Criterion's worker, while this process waits for its word
	 * holding the tests' lock (every other test then waits on it). */
	const char *child = test_path("CHILD");
	int in[2], out[2];
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(out), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[1]);
		close(out[0]);
		setenv("LABYRINTH_EXPORT", "1", 1);
		execl(child, "debug_child", mode, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	char buf[64] = "";
	ssize_t n = read(out[0], buf, sizeof(buf) - 1);
	close(out[0]);
	cr_assert_gt(n, 0, "the exporter said nothing");
	buf[n] = '\0';
	cr_assert_eq(atoi(buf + 6), pid, "%s", buf);
	*to_child = in[1];
	return pid;
}

/* A storm worker: its thread id (for the watchdog's report), then the
 * test's worker. */
struct storm_start {
	void *(*worker)(void *);
	long id;
	_Atomic pid_t tid;
};

static void *storm_trampoline(void *arg)
{
	struct storm_start *st = arg;
	atomic_store(&st->tid, (pid_t)syscall(SYS_gettid));
	return st->worker((void *)st->id);
}

/* What a stalled thread is doing, as the kernel sees it: its state and the
 * kernel function it waits in (/proc/self/task/TID/stat and wchan). */
static void thread_state(pid_t tid, char *out, size_t len)
{
	char path[64], stat[512] = "", wchan[64] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(stat, sizeof(stat), f))
			stat[0] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(wchan, sizeof(wchan), f))
			wchan[0] = '\0';
		fclose(f);
	}
	const char *paren = strrchr(stat, ')');
	snprintf(out, len, "tid %d state %c wchan %s", (int)tid,
		 paren && paren[1] ? paren[2] : '?', wchan[0] ? wchan : "?");
}

/* SIGALRM to handler every interval_us, blocked here and in threads made
 * from here on, so that only the two workers (which unblock it) take it. */
static void storm_begin(void (*handler)(int), void *(*worker)(void *), long interval_us,
			pthread_t t[2], struct storm_start start[2], sigset_t *alrm)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(alrm);
	sigaddset(alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, alrm, NULL);
	for (long i = 0; i < 2; i++) {
		start[i] = (struct storm_start){ .worker = worker, .id = i };
		cr_assert_eq(pthread_create(&t[i], NULL, storm_trampoline, &start[i]), 0);
	}
	struct itimerval it = { .it_interval = { 0, interval_us }, .it_value = { 0, interval_us } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void storm_timer_off(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
}

/* After the timer and the workers: the signal ignored and unblocked. */
static void storm_end(const sigset_t *alrm)
{
	signal(SIGALRM, SIG_IGN);
	pthread_sigmask(SIG_UNBLOCK, alrm, NULL);
}

void signal_storm(void (*handler)(int), void *(*worker)(void *),
		  _Atomic unsigned long *progress, _Atomic bool *stop)
{
	int seconds = getenv("LAB_STORM_SECONDS") ? atoi(getenv("LAB_STORM_SECONDS")) : 20;
	pthread_t t[2];
	static struct storm_start start[2];
	sigset_t alrm;
	storm_begin(handler, worker, 100, t, start, &alrm);
	/* The watchdog: 5 s without progress in a row is a stall (a second
	 * alone can pass on a loaded 2-CPU machine); the report says what each
	 * worker is doing then. */
	unsigned long last[2] = { 0, 0 };
	int still[2] = { 0, 0 };
	for (int s = 0; s < seconds; s++) {
		struct timespec one = { 1, 0 };
		while (nanosleep(&one, &one))
			;
		for (int i = 0; i < 2; i++) {
			unsigned long now = atomic_load(&progress[i]);
			still[i] = now == last[i] ? still[i] + 1 : 0;
			if (still[i] >= 5) {
				char a[128], b[128];
				thread_state(atomic_load(&start[0].tid), a, sizeof(a));
				thread_state(atomic_load(&start[1].tid), b, sizeof(b));
				cr_assert_fail("worker %d stalled from second %d (worker 0: %s; "
					       "worker 1: %s)", i, s - 4, a, b);
			}
			last[i] = now;
		}
	}
	storm_timer_off();
	atomic_store(stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	storm_end(&alrm);
}

void signal_burst(void (*handler)(int), void *(*worker)(void *), long interval_us)
{
	pthread_t t[2];
	static struct storm_start start[2];
	sigset_t alrm;
	storm_begin(handler, worker, interval_us, t, start, &alrm);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	storm_timer_off();
	storm_end(&alrm);
}
