/* test_threads.c - concurrency: threads allocating and freeing each other's
 * blocks, racing frees of one block, and a signal handler that allocates and
 * frees while its own thread holds the zone lock. */
#include "helpers.h"
#include "page/zone.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 256

/* Blocks travel between threads through slots: whoever takes one frees it. */
struct shared {
	struct lab_zone *z;
	_Atomic(struct lab_page *) slot[SLOTS];
	unsigned int seed;
	_Atomic unsigned long allocs, frees, fails, corrupt;
};

static void stamp(struct lab_page *p, unsigned int order, uintptr_t tag)
{
	uintptr_t *w = lab_page_address(p);
	size_t n = (lab_page_size() << order) / sizeof(*w);
	w[0] = tag;
	w[1] = order;
	w[n - 1] = tag;
}

static void *worker(void *arg)
{
	struct shared *s = arg;
	unsigned int seed = __atomic_add_fetch(&s->seed, 7919, __ATOMIC_RELAXED);
	lab_gfp_t classes[] = { LAB_GFP_KERNEL | LAB_GFP_NORETRY, LAB_GFP_ATOMIC, LAB_GFP_NOWAIT };
	for (int i = 0; i < 100000; i++) {
		unsigned int r = (unsigned int)rand_r(&seed);
		size_t k = r % SLOTS;
		struct lab_page *p = atomic_exchange(&s->slot[k], NULL);
		if (p) {
			/* The stamp says who owns it and its order. */
			uintptr_t *w = lab_page_address(p);
			unsigned int order = (unsigned int)w[1];
			size_t n = (lab_page_size() << (order & 3)) / sizeof(*w);
			if (w[0] != (uintptr_t)p || order > 3 || w[n - 1] != (uintptr_t)p)
				atomic_fetch_add(&s->corrupt, 1);  /* handed out twice? */
			lab_free_pages(p, order);
			atomic_fetch_add(&s->frees, 1);
			continue;
		}
		unsigned int order = (r >> 8) % 4;
		p = lab_alloc_pages(s->z, classes[(r >> 12) % 3] | LAB_GFP_NOWARN, order);
		if (!p) {
			atomic_fetch_add(&s->fails, 1);
			continue;
		}
		atomic_fetch_add(&s->allocs, 1);
		stamp(p, order, (uintptr_t)p);
		struct lab_page *none = NULL;
		if (!atomic_compare_exchange_strong(&s->slot[k], &none, p)) {
			lab_free_pages(p, order);  /* slot refilled meanwhile */
			atomic_fetch_add(&s->frees, 1);
		}
	}
	return NULL;
}

Test(threads, random_allocations_and_cross_thread_frees_conserve_pages)
{
	static struct shared s;
	memset(&s, 0, sizeof(s));
	/* Small enough that the watermarks and reclaim are crossed often. */
	s.z = make_zone(512, 0, 0, 0, 0);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, &s);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(s.corrupt, 0, "a block's stamp was overwritten");
	assert_zone_ok(s.z);
	size_t held_pages = 0;
	for (int k = 0; k < SLOTS; k++) {
		struct lab_page *p = atomic_load(&s.slot[k]);
		if (p) {
			unsigned int order = (unsigned int)((uintptr_t *)lab_page_address(p))[1];
			held_pages += 1u << order;
			lab_free_pages(p, order);
		}
	}
	/* kswapd may hold the zone lock as these frees run: a free that finds
	 * it taken waits on the deferred stack, counted as allocated until the
	 * next holder drains it. */
	struct lab_zone_stats st;
	lab_zone_get_stats(s.z, &st);
	cr_assert_eq(st.free + st.pcp + st.deferred, 512,
		     "pages lost: %zu free, %zu on lists, %zu deferred after freeing %zu held",
		     st.free, st.pcp, st.deferred, held_pages);
	cr_assert_eq(st.allocated, st.deferred);
	cr_assert_eq(st.bad_page, 0);
	cr_assert_gt(s.fails, 0, "the zone was under pressure");
	assert_zone_ok(s.z);
	lab_zone_destroy(s.z);
}

struct race {
	struct lab_zone *z;
	struct lab_page *page;
	pthread_barrier_t go;
};

static void *racing_free(void *arg)
{
	struct race *r = arg;
	pthread_barrier_wait(&r->go);
	lab_free_pages(r->page, 1);
	return NULL;
}

static void racing_frees(void *arg)
{
	(void)arg;
	struct race r = { .z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD) };
	for (int round = 0; round < 200; round++) {
		r.page = lab_alloc_pages(r.z, LAB_GFP_KERNEL, 1);
		pthread_barrier_init(&r.go, NULL, 2);
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, racing_free, &r);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&r.go);
		/* One free wins; the other is reported.  If the loser got in first
		 * with its misuse, the block is leaked instead: never freed twice. */
		struct lab_zone_stats st;
		lab_zone_get_stats(r.z, &st);
		if (st.free + st.pcp + st.leaked != 256 || st.bad_page < (uint64_t)round + 1 ||
		    lab_zone_check(r.z))
			_exit(10);
	}
}

Test(threads, two_racing_frees_free_exactly_once)
{
	static char out[1 << 16];
	int status = run_in_child(racing_frees, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x\n%.2000s", status, out);
	cr_assert_not_null(strstr(out, "double free"));
}

/* A signal arrives while this very thread holds the zone lock (as inside a
 * KERNEL allocation): the handler's ATOMIC allocation must neither deadlock
 * nor corrupt, and its free must not be lost. */
static struct lab_zone *sig_zone;
static struct lab_page *sig_page;
static struct lab_page *sig_got;

static void handler(int sig)
{
	(void)sig;
	sig_got = lab_alloc_page(sig_zone, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	lab_free_page(sig_page);
}

static void interrupt_inside_zone_lock(void)
{
	signal(SIGUSR1, handler);
	lab__zone_lock(sig_zone);
	raise(SIGUSR1);
	lab__zone_unlock(sig_zone);
	signal(SIGUSR1, SIG_DFL);
}

/* Without per-CPU lists the buddy lists are the only source: the allocation
 * fails at once and the free waits on the deferred stack. */
Test(threads, signal_inside_the_zone_lock_without_lists_fails_and_defers)
{
	sig_zone = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP);
	sig_page = lab_alloc_page(sig_zone, LAB_GFP_KERNEL);
	interrupt_inside_zone_lock();
	cr_assert_null(sig_got, "the lock is held by the interrupted thread");
	struct lab_zone_stats st;
	lab_zone_get_stats(sig_zone, &st);
	cr_assert_eq(st.deferred, 1, "the free waits on the deferred stack");
	cr_assert_geq(st.lock_fail, 2);
	assert_zone_ok(sig_zone);  /* drains the deferred stack */
	lab_zone_get_stats(sig_zone, &st);
	cr_assert_eq(st.deferred, 0);
	cr_assert_eq(st.free, 256);
	lab_zone_destroy(sig_zone);
}

/* With per-CPU lists the handler is served by this CPU's list, which the
 * interrupted code was not using, and its free goes back there. */
Test(threads, signal_inside_the_zone_lock_is_served_by_the_cpu_list)
{
	sig_zone = make_zone(1024, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	sig_page = lab_alloc_page(sig_zone, LAB_GFP_KERNEL);
	/* Fill this CPU's list so the handler needs no refill. */
	struct lab_page *warm[8];
	for (int i = 0; i < 8; i++)
		warm[i] = lab_alloc_page(sig_zone, LAB_GFP_KERNEL);
	for (int i = 0; i < 8; i++)
		lab_free_page(warm[i]);
	interrupt_inside_zone_lock();
	struct lab_zone_stats st;
	lab_zone_get_stats(sig_zone, &st);
	if (st.pcp_batch && strcmp(lab_pcp_mode_name(), "off")) {
		cr_assert_not_null(sig_got, "served from the per-CPU list (mode %s)", lab_pcp_mode_name());
		lab_free_page(sig_got);
	}
	assert_zone_ok(sig_zone);
	cr_assert_eq(zone_free_all(sig_zone), 1024);
	lab_zone_destroy(sig_zone);
}

/* fork() while another thread allocates and frees: the child (one thread, a
 * copy of the zone) must find the zone consistent and its lock free. */
static _Atomic bool fork_stop;

static void *fork_churn(void *arg)
{
	struct lab_zone *z = arg;
	while (!atomic_load(&fork_stop)) {
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN, 4);
		if (p)
			lab_free_pages(p, 4);
	}
	return NULL;
}

Test(threads, fork_while_another_thread_allocates_leaves_the_child_a_sound_zone)
{
	struct lab_zone *z = make_zone(4096, 0, 0, 0, LAB_ZONE_NO_PCP);
	pthread_t t;
	pthread_create(&t, NULL, fork_churn, z);
	int bad = 0;
	for (int i = 0; i < 100; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(10);  /* a zone lock inherited held would hang here */
			struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 4);
			if (!p)
				_exit(3);
			lab_free_pages(p, 4);
			_exit(lab_zone_check(z) ? 4 : 0);
		}
		int status;
		waitpid(pid, &status, 0);
		bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	atomic_store(&fork_stop, true);
	pthread_join(t, NULL);
	cr_assert_eq(bad, 0, "%d of 100 children found the zone broken or locked", bad);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/*
 * lab_zone_check() beside threads in every lock-free path: order-0 ATOMIC
 * pairs (the inline rseq fast paths), orders 1-3 through the per-CPU lists,
 * frees of a shared plain block that split its tails off while another
 * reference holds the head, and order-4 frees that find the checker holding
 * the zone lock and are deferred.  Every report would be a false alarm: the
 * checker must return 0 and print nothing, every time.
 */
struct hammer {
	struct lab_zone *z;
	_Atomic bool stop;
	_Atomic unsigned long splits, pairs, deferred;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;
	while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
		unsigned int r = (unsigned int)rand_r(&seed);
		struct lab_page *p;
		switch (r % 4) {
		case 0:  /* the fast paths */
			for (int i = 0; i < 16; i++) {
				p = lab_alloc_page(h->z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
				if (!p)
					continue;
				lab_free_page(p);
				atomic_fetch_add_explicit(&h->pairs, 1, memory_order_relaxed);
			}
			break;
		case 1: {  /* per-CPU lists of higher orders */
			unsigned int order = 1 + (r >> 8) % 3;
			p = lab_alloc_pages(h->z, LAB_GFP_NOWAIT | LAB_GFP_NOWARN, order);
			if (p)
				lab_free_pages(p, order);
			break;
		}
		case 2: {  /* shared: the free splits the tails off, the put frees the head */
			unsigned int order = 1 + (r >> 8) % 5;
			p = lab_alloc_pages(h->z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, order);
			if (!p)
				break;
			lab_get_page(p);
			lab_free_pages(p, order);
			lab_put_page(p);
			atomic_fetch_add_explicit(&h->splits, 1, memory_order_relaxed);
			break;
		}
		default: {  /* no per-CPU list: a free that finds the lock taken is deferred */
			p = lab_alloc_pages(h->z, LAB_GFP_ATOMIC | LAB_GFP_NOWARN, 4);
			if (p) {
				lab_free_pages(p, 4);
				atomic_fetch_add_explicit(&h->deferred, 1, memory_order_relaxed);
			}
			break;
		}
		}
	}
	return NULL;
}

static void check_beside_hammers(void *arg)
{
	(void)arg;
	static struct hammer h;
	h.z = make_zone(2048, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, hammer_main, &h);
	int broken = 0, checks = 0;
	/* A number of checks, not a time; and until each path ran during them. */
	while (checks < 3000 || atomic_load(&h.splits) < 1000 || atomic_load(&h.pairs) < 10000) {
		broken += lab_zone_check(h.z);
		checks++;
	}
	atomic_store(&h.stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	fprintf(stderr, "checks %d, broken %d; splits %lu, fast pairs %lu, order-4 pairs %lu\n",
		checks, broken, atomic_load(&h.splits), atomic_load(&h.pairs),
		atomic_load(&h.deferred));
	broken += lab_zone_check(h.z);
	_exit(broken ? 20 : 0);
}

Test(threads, zone_check_beside_lock_free_paths_reports_nothing)
{
	static char out[1 << 16];
	int status = run_in_child(check_beside_hammers, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status), "status %#x\n%.4000s", status, out);
	cr_log_info("%s", out);
	cr_assert_eq(WEXITSTATUS(status), 0, "lab_zone_check returned reports:\n%.4000s", out);
	cr_assert_eq(count_of(out, "invariant broken"), 0, "false alarms on stderr:\n%.4000s", out);
	cr_assert_not_null(strstr(out, "broken 0;"), "%s", out);
}

/*
 * fork() while another thread holds one of a zone's other locks: its
 * per-CPU sets (a drainer, the checker, or in lock mode any user) or its
 * reclaim mutex (a shrink round).  The fork handlers held only the zone
 * locks, so the child inherited the others held by a thread it does not
 * have: lab_zone_check() (which owns every set) and a sleeping allocation
 * that drains or reclaims hung in it.  The handlers now hold those too.
 */
#include "page/pcp.h"
#include "os/thread.h"

struct holder {
	struct lab_zone *z;
	int what;                 /* 0 every per-CPU set, 1 the reclaim mutex */
	_Atomic int state;        /* 1 holding, 2 may let go */
};

static void *hold_then_release(void *arg)
{
	struct holder *h = arg;
	if (h->what == 0)
		lab__pcp_own_all(h->z);
	else
		lab__os_mutex_lock(&h->z->reclaim_mutex);
	atomic_store(&h->state, 1);
	/* Long enough for the fork to start while we hold it; the fork then
	 * waits for us (its handler takes the lock), or, before the fix, the
	 * child inherited it held. */
	usleep(200 * 1000);
	if (h->what == 0)
		lab__pcp_release_all(h->z);
	else
		lab__os_mutex_unlock(&h->z->reclaim_mutex);
	return NULL;
}

static void fork_beside_a_held_lock(int what)
{
	struct lab_zone *z = make_zone(256, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	struct held hp;
	held_init(&hp, 256);
	struct lab_page *p;
	while ((p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN)))
		held_push(&hp, p);
	struct holder h = { z, what, 0 };
	pthread_t t;
	pthread_create(&t, NULL, hold_then_release, &h);
	while (atomic_load(&h.state) != 1)
		usleep(100);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10);  /* a lock inherited held would hang here */
		if (lab_zone_check(z))
			_exit(3);
		/* Exhausted: drains every CPU's lists, runs direct reclaim, fails. */
		if (lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN))
			_exit(4);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	pthread_join(t, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x (signal %d: 14 is the alarm of a hang)", status,
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	held_free_all(&hp);
	free(hp.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(threads, fork_beside_a_thread_holding_the_per_cpu_sets, .timeout = 60)
{
	if (!strcmp(lab_pcp_mode_name(), "off"))
		cr_skip_test("per-CPU lists are off");
	fork_beside_a_held_lock(0);
}

Test(threads, fork_beside_a_shrink_round_holding_the_reclaim_mutex, .timeout = 60)
{
	fork_beside_a_held_lock(1);
}

/*
 * lab_zone_check() writes what it finds after it lets the zone go: a stderr
 * that does not drain (a full pipe, a stopped terminal) stops the checker
 * alone, never another thread's allocation.  It wrote each line with the
 * zone lock and every per-CPU set held, so every allocator waited for the
 * reader of its stderr.
 */
struct slow_checker {
	struct lab_zone *z;
	_Atomic pid_t tid;
	_Atomic int errors;
};

static void *check_into_full_pipe(void *arg)
{
	struct slow_checker *c = arg;
	atomic_store(&c->tid, gettid());
	atomic_store(&c->errors, lab_zone_check(c->z));
	return NULL;
}

/* The thread tid is asleep (in the kernel: here, a write to the full pipe). */
static bool thread_sleeps(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *end = strrchr(buf, ')');
	return end && end[1] == ' ' && end[2] == 'S';
}

static void checker_on_a_full_stderr(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(64, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	int p[2];
	CHILD_CHECK(pipe(p) == 0);
	CHILD_CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
	char junk[4096];
	memset(junk, '.', sizeof(junk));
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	CHILD_CHECK(fcntl(p[1], F_SETFL, 0) == 0);
	int saved = dup(2);
	CHILD_CHECK(saved >= 0 && dup2(p[1], 2) == 2);
	/* One invariant broken on purpose (a counter nothing else reads here). */
	lab__zone_lock(z);
	z->nr_reserved_highatomic += 1;
	lab__zone_unlock(z);
	struct slow_checker c = { .z = z, .errors = -1 };
	pthread_t t;
	CHILD_CHECK(pthread_create(&t, NULL, check_into_full_pipe, &c) == 0);
	while (!atomic_load(&c.tid) || !thread_sleeps(atomic_load(&c.tid)))
		usleep(1000);
	alarm(10);  /* an allocation behind the blocked checker would hang here */
	struct lab_page *pg = lab_alloc_pages(z, LAB_GFP_KERNEL | LAB_GFP_NOWARN, 4);
	alarm(0);
	/* Let the checker finish: read the pipe until it has returned. */
	CHILD_CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	while (atomic_load(&c.errors) < 0)
		if (read(p[0], junk, sizeof(junk)) <= 0)
			usleep(1000);
	pthread_join(t, NULL);
	dup2(saved, 2);
	CHILD_CHECK(pg != NULL);
	CHILD_CHECK(atomic_load(&c.errors) == 1);
	lab__zone_lock(z);
	z->nr_reserved_highatomic -= 1;
	lab__zone_unlock(z);
	lab_free_pages(pg, 4);
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_zone_destroy(z);
	_exit(0);
}

Test(threads, a_checker_blocked_writing_its_report_holds_no_lock, .timeout = 60)
{
	static char out[8192];
	int status = run_in_child(checker_on_a_full_stderr, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x (signal %d: 14 is the alarm of an allocation behind the "
		  "checker)\n%s", status, WIFSIGNALED(status) ? WTERMSIG(status) : 0, out);
}

/*
 * A thread that jumps out of the library holding the zone lock (siglongjmp
 * from a signal handler that interrupted a call) never releases it.  What
 * can be detected is: its own next sleeping call, which finds the lock its
 * own, reports a call that never returned (outside atomic context, so not
 * a handler's recursion); another thread's wait, reported after
 * LAB_LOCK_REPORT_S seconds with the lock and its holder, and seen by
 * lab_zone_get_locks() meanwhile.  Emulated by taking the lock as a call
 * would, then jumping out of a handler.
 */
static sigjmp_buf jump_out;

static void jump_out_handler(int sig)
{
	(void)sig;
	siglongjmp(jump_out, 1);
}

static void leave_holding_the_zone_lock(struct lab_zone *z)
{
	struct sigaction sa = { .sa_handler = jump_out_handler };
	sigaction(SIGUSR1, &sa, NULL);
	if (sigsetjmp(jump_out, 1) == 0) {
		lab__zone_lock(z);  /* inside a call... */
		raise(SIGUSR1);     /* ...interrupted, and the handler jumps out */
		_exit(5);
	}
}

static void jumper_calls_again(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(64, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	leave_holding_the_zone_lock(z);
	alarm(10);
	lab_alloc_pages(z, LAB_GFP_KERNEL, 4);
	_exit(0);
}

Test(threads, a_call_left_with_siglongjmp_is_named_at_the_next_call, .timeout = 60)
{
	static char out[8192];
	int status = run_in_child(jumper_calls_again, NULL, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x\n%s", status,
		  out);
	cr_assert(strstr(out, "lock taken recursively: held by this thread since a call of it that "
			      "never returned"), "%s", out);
}

struct stuck_alloc {
	struct lab_zone *z;
	_Atomic pid_t tid;
};

static void *alloc_behind_the_lock(void *arg)
{
	struct stuck_alloc *s = arg;
	atomic_store(&s->tid, gettid());
	lab_alloc_pages(s->z, LAB_GFP_KERNEL, 4);
	return NULL;
}

static void waiter_reports_the_holder(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(64, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	leave_holding_the_zone_lock(z);
	/* The report goes into a pipe this thread reads. */
	int p[2];
	CHILD_CHECK(pipe(p) == 0);
	int saved = dup(2);
	CHILD_CHECK(saved >= 0 && dup2(p[1], 2) == 2);
	struct stuck_alloc s = { .z = z };
	pthread_t t;
	CHILD_CHECK(pthread_create(&t, NULL, alloc_behind_the_lock, &s) == 0);
	alarm(40);
	static char got[4096];
	size_t len = 0;
	while (!strstr(got, "still waiting\n") && len < sizeof(got) - 1) {
		ssize_t n = read(p[0], got + len, sizeof(got) - 1 - len);
		CHILD_CHECK(n > 0);
		len += (size_t)n;
		got[len] = 0;
	}
	dup2(saved, 2);
	fputs(got, stderr);
	/* The holder and the waiter, as a watchdog sees them. */
	struct lab_zone_locks locks;
	lab_zone_get_locks(z, &locks);
	fprintf(stderr, "zone lock %d waits %u\n", locks.zone_lock, locks.nr_waits);
	CHILD_CHECK(locks.zone_lock == gettid());
	CHILD_CHECK(locks.nr_waits == 1);
	CHILD_CHECK(locks.waits[0].tid == atomic_load(&s.tid));
	CHILD_CHECK(!strcmp(locks.waits[0].lock, "zone lock"));
	CHILD_CHECK(locks.waits[0].holder_tid == gettid());
	CHILD_CHECK(locks.waits[0].waited_ns >= LAB_LOCK_REPORT_S * 1000000000ull);
	char who[64], what[64];
	snprintf(who, sizeof(who), "thread %d has waited ", atomic_load(&s.tid));
	snprintf(what, sizeof(what), " s for the zone lock, held by thread %d", gettid());
	CHILD_CHECK(strstr(got, who) && strstr(strstr(got, who), what));
	_exit(0);  /* the waiter never gets the lock: it goes with the process */
}

Test(threads, a_lock_never_released_is_reported_by_its_waiter, .timeout = 90)
{
	static char out[8192];
	int status = run_in_child(waiter_reports_the_holder, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x\n%s", status, out);
}

/*
 * The checker owns every per-CPU set or none: while one set is busy (here
 * held by the test, as a thread interrupted inside a list operation holds
 * it), it holds no other, so the other CPUs keep their lists.  It used to
 * hold the sets before the busy one for the whole wait, and their CPUs'
 * allocations all went to the zone lock: with a signal storm under TSan,
 * a feedback loop that stalled 16 threads.
 */
struct checker_run {
	struct lab_zone *z;
	_Atomic int errors;
};

static void *check_zone(void *arg)
{
	struct checker_run *c = arg;
	atomic_store(&c->errors, lab_zone_check(c->z));
	return NULL;
}

Test(threads, a_checker_waiting_for_one_per_cpu_set_holds_no_other, .timeout = 60)
{
	struct lab_zone *z = make_zone(256, 4, 8, 12, LAB_ZONE_NO_KSWAPD);
	if (!z->pcp || z->nr_pcp < 2) {
		lab_zone_destroy(z);
		cr_skip_test("fewer than two per-CPU sets");
	}
	unsigned int last = (unsigned int)z->nr_pcp - 1;
	_Atomic uint32_t *busy = &set_at(z, last)->lock;
	uint32_t free_word = 0;
	while (!atomic_compare_exchange_weak(busy, &free_word, 1))
		free_word = 0;
	struct checker_run c = { .z = z, .errors = -1 };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, check_zone, &c), 0);
	struct lab_zone_locks l;
	do {
		usleep(1000);
		lab_zone_get_locks(z, &l);
	} while (l.nr_waits == 0);
	cr_assert_str_eq(l.waits[0].lock, "per-CPU set");
	cr_assert_eq(l.waits[0].cpu, (int)last);
	/* Every set but the busy one is free meanwhile (the wait is recorded
	 * once the others are let go). */
	cr_assert_eq(l.pcp_sets_owned, 1, "the checker holds %u sets while it waits for one",
		     l.pcp_sets_owned - 1);
	atomic_store(busy, 0);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&c.errors), 0);
	lab_zone_destroy(z);
}
