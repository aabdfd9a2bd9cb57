/* test_pagelock.c - the page lock: mutual exclusion and no lost wake-up
 * over a million contended lock/unlock cycles, the handoff after the steal
 * bound (constructed step by step, not hoped for), lab_wait_on_page_locked,
 * and trylock/unlock from signal handlers, including the handler that
 * interrupts its own thread inside the wait table. */
#include "helpers.h"
#include "page/pagelock.h"
#include "page/zone.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>

#define PAGES 1024

static struct lab_zone *z;

static void setup(void)
{
	z = make_zone(PAGES, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
}

static void teardown(void)
{
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

TestSuite(pagelock, .init = setup, .fini = teardown);

static bool has_waiters(const struct lab_page *p)
{
	return atomic_load(&((struct lab_page *)(uintptr_t)p)->flags) & PG_waiters;
}

/* Wait (yielding) until a thread has queued itself on p. */
static void wait_until_queued(const struct lab_page *p)
{
	while (!has_waiters(p))
		sched_yield();
}

Test(pagelock, trylock_takes_a_free_lock_only)
{
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	cr_assert(lab_trylock_page(p));
	cr_assert_not(lab_trylock_page(p), "a held lock was taken again");
	lab_unlock_page(p);
	cr_assert(lab_trylock_page(p));
	lab_unlock_page(p);
	lab_lock_page(p);
	cr_assert_not(lab_trylock_page(p));
	lab_unlock_page(p);
	cr_assert_eq(atomic_load(&p->flags) & (PG_locked | PG_waiters), 0);
	lab_free_page(p);
}

/* ---- contention -------------------------------------------------------- */

/*
 * A million lock/unlock cycles in all, by LOCKERS threads over two pages,
 * each guarding a plain counter; a watcher waits on the locks meanwhile.
 * Lost mutual exclusion shows in the counters, a lost wake-up as a hang
 * (the test's timeout).  Measured: about 6 s under ASan+UBSan on the
 * project's 2-core VM, under 2 s in release.
 */
#define LOCKERS 4
/* Under Valgrind (which runs one thread at a time, some fifty times slower)
 * the memcheck stage needs the code paths, not the million: 20000 there. */
static int cycles(void)
{
	return running_on_valgrind() ? 20000 : 1000 * 1000;
}

struct contention {
	struct lab_page *page[2];
	unsigned long counter[2];   /* guarded by page[i]'s lock only */
	_Atomic int running;
};

static void *locker(void *arg)
{
	struct contention *c = arg;
	for (int i = 0; i < cycles() / LOCKERS; i++) {
		int k = i & 1;
		lab_lock_page(c->page[k]);
		unsigned long v = c->counter[k];
		if ((i & 63) == 0)
			sched_yield();   /* be preempted inside, now and then */
		c->counter[k] = v + 1;
		lab_unlock_page(c->page[k]);
	}
	atomic_fetch_sub(&c->running, 1);
	return NULL;
}

static void *watcher(void *arg)
{
	struct contention *c = arg;
	while (atomic_load(&c->running))
		lab_wait_on_page_locked(c->page[0]);
	return NULL;
}

Test(pagelock, a_million_contended_cycles_keep_exclusion_and_lose_no_wakeup, .timeout = 180)
{
	struct contention c = { .running = LOCKERS };
	c.page[0] = lab_alloc_page(z, LAB_GFP_KERNEL);
	c.page[1] = lab_alloc_page(z, LAB_GFP_KERNEL);
	pthread_t t[LOCKERS + 1];
	for (int i = 0; i < LOCKERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, locker, &c), 0);
	cr_assert_eq(pthread_create(&t[LOCKERS], NULL, watcher, &c), 0);
	for (int i = 0; i <= LOCKERS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(c.counter[0] + c.counter[1], (unsigned long)cycles());
	cr_assert_eq(c.counter[0], (unsigned long)cycles() / 2);
	for (int k = 0; k < 2; k++) {
		cr_assert_eq(atomic_load(&c.page[k]->flags) & (PG_locked | PG_waiters), 0,
			     "page %d left locked or with waiters", k);
		lab_free_page(c.page[k]);
	}
}

/* ---- handoff ----------------------------------------------------------- */

/*
 * The main thread holds the lock and a waiter sleeps on it.  Five times:
 * main unlocks (the waiter is woken), and while the woken waiter is held in
 * the test hook before it retries, main takes the lock back (a steal).  The
 * sixth unlock must hand the lock to the waiter: PG_locked never clears, so
 * main's trylock right after its unlock fails.
 */
static sem_t woken, go_on;
static _Atomic int hook_calls;

static void hold_woken_waiter(const struct lab_page *page)
{
	(void)page;
	atomic_fetch_add(&hook_calls, 1);
	sem_post(&woken);
	sem_wait(&go_on);
}

struct handoff {
	struct lab_page *page;
	_Atomic bool acquired;
	sem_t release;
};

static void *patient_waiter(void *arg)
{
	struct handoff *h = arg;
	lab_lock_page(h->page);
	atomic_store(&h->acquired, true);
	sem_wait(&h->release);
	lab_unlock_page(h->page);
	return NULL;
}

Test(pagelock, lock_is_handed_off_after_five_steals)
{
	struct handoff h = { .page = lab_alloc_page(z, LAB_GFP_KERNEL) };
	sem_init(&woken, 0, 0);
	sem_init(&go_on, 0, 0);
	sem_init(&h.release, 0, 0);
	lab__page_lock_woken_hook = hold_woken_waiter;

	lab_lock_page(h.page);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, patient_waiter, &h), 0);
	for (int steal = 1; steal <= 5; steal++) {
		wait_until_queued(h.page);
		lab_unlock_page(h.page);
		sem_wait(&woken);                         /* the waiter is parked in the hook */
		cr_assert(lab_trylock_page(h.page), "steal %d failed", steal);
		sem_post(&go_on);                         /* it retries, loses, sleeps again */
	}
	wait_until_queued(h.page);
	lab_unlock_page(h.page);
	cr_assert_not(lab_trylock_page(h.page), "the sixth unlock released instead of handing off");
	while (!atomic_load(&h.acquired))
		sched_yield();
	cr_assert_eq(atomic_load(&hook_calls), 5, "the handed-off waiter was treated as woken");
	cr_assert_not(lab_trylock_page(h.page));
	sem_post(&h.release);
	pthread_join(t, NULL);
	lab__page_lock_woken_hook = NULL;
	cr_assert(lab_trylock_page(h.page));
	lab_unlock_page(h.page);
	cr_assert_eq(atomic_load(&h.page->flags) & (PG_locked | PG_waiters), 0);
	lab_free_page(h.page);
}

/* Without steals, a waiter simply gets the lock at the next unlock. */
Test(pagelock, waiter_gets_the_lock_at_unlock)
{
	struct handoff h = { .page = lab_alloc_page(z, LAB_GFP_KERNEL) };
	sem_init(&h.release, 0, 0);
	lab_lock_page(h.page);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, patient_waiter, &h), 0);
	wait_until_queued(h.page);
	cr_assert_not(atomic_load(&h.acquired));
	lab_unlock_page(h.page);
	while (!atomic_load(&h.acquired))
		sched_yield();
	sem_post(&h.release);
	pthread_join(t, NULL);
	lab_free_page(h.page);
}

/* ---- wait_on_page_locked ----------------------------------------------- */

struct unlock_wait {
	struct lab_page *page;
	_Atomic int written;   /* set by the holder before it unlocks */
	int seen;
};

static void *wait_for_unlock(void *arg)
{
	struct unlock_wait *u = arg;
	lab_wait_on_page_locked(u->page);
	u->seen = atomic_load(&u->written);
	return NULL;
}

Test(pagelock, wait_on_page_locked_returns_only_after_the_unlock)
{
	struct unlock_wait u = { .page = lab_alloc_page(z, LAB_GFP_KERNEL) };
	lab_wait_on_page_locked(u.page);   /* unlocked: returns at once */
	lab_lock_page(u.page);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, wait_for_unlock, &u), 0);
	wait_until_queued(u.page);
	atomic_store(&u.written, 1);
	lab_unlock_page(u.page);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(u.seen, 1);
	cr_assert_eq(atomic_load(&u.page->flags) & (PG_locked | PG_waiters), 0);
	lab_free_page(u.page);
}

/* ---- signal handlers --------------------------------------------------- */

static struct lab_page *sig_page;
static volatile sig_atomic_t sig_took, sig_depth, sig_released;
static unsigned long sig_counter;   /* guarded by sig_page's lock */

/* A handler marked atomic: trylock never sleeps, unlock never waits. */
static void trylock_handler(int sig)
{
	(void)sig;
	lab_atomic_enter();
	sig_depth = (sig_atomic_t)lab_in_atomic();
	sig_took = lab_trylock_page(sig_page);
	if (sig_took) {
		sig_counter++;
		lab_unlock_page(sig_page);
	}
	lab_atomic_exit();
}

static void install(void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

Test(pagelock, trylock_in_a_signal_handler)
{
	sig_page = lab_alloc_page(z, LAB_GFP_KERNEL);
	install(trylock_handler);
	lab_lock_page(sig_page);
	raise(SIGUSR1);               /* delivered before raise() returns */
	cr_assert_not(sig_took, "the handler took a lock its thread holds");
	cr_assert_eq(sig_depth, 1);
	lab_unlock_page(sig_page);
	raise(SIGUSR1);
	cr_assert(sig_took);
	cr_assert_eq(lab_in_atomic(), 0, "the handler left atomic context unbalanced");
	cr_assert(lab_trylock_page(sig_page), "the handler did not unlock");
	lab_unlock_page(sig_page);
	signal(SIGUSR1, SIG_DFL);
	lab_free_page(sig_page);
}

/* Threads contend on a page while one of them is interrupted again and
 * again by a handler that trylocks and unlocks the same page. */
struct sig_storm {
	_Atomic bool stop;
	_Atomic unsigned long handler_ok;
	unsigned long thread_cycles[2];
};

static void storm_handler(int sig)
{
	(void)sig;
	lab_atomic_enter();
	if (lab_trylock_page(sig_page)) {
		sig_counter++;
		lab_unlock_page(sig_page);
	}
	lab_atomic_exit();
}

static struct sig_storm storm;

static void *storm_locker(void *arg)
{
	unsigned long *cycles = arg;
	while (!atomic_load(&storm.stop)) {
		lab_lock_page(sig_page);
		sig_counter++;
		lab_unlock_page(sig_page);
		++*cycles;
	}
	return NULL;
}

Test(pagelock, signal_handlers_trylock_and_unlock_under_contention, .timeout = 120)
{
	sig_page = lab_alloc_page(z, LAB_GFP_KERNEL);
	sig_counter = 0;
	install(storm_handler);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, storm_locker, &storm.thread_cycles[i]), 0);
	for (int i = 0; i < 20000; i++) {
		pthread_kill(t[i & 1], SIGUSR1);
		if ((i & 15) == 0)
			sched_yield();
	}
	atomic_store(&storm.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	signal(SIGUSR1, SIG_DFL);
	/* Every increment happened under the lock: none lost. */
	cr_assert_geq(sig_counter, storm.thread_cycles[0] + storm.thread_cycles[1]);
	cr_assert(lab_trylock_page(sig_page));
	lab_unlock_page(sig_page);
	cr_assert_eq(atomic_load(&sig_page->flags) & (PG_locked | PG_waiters), 0);
	lab_free_page(sig_page);
}

/*
 * The rare case made certain: a handler unlocks a page with a sleeping
 * waiter while its own thread holds that page's wait-table bucket.  It
 * cannot take the bucket; it releases the page and the holder wakes the
 * waiter when it lets the bucket go.
 */
static void unlock_handler(int sig)
{
	(void)sig;
	lab_atomic_enter();
	lab_unlock_page(sig_page);
	sig_released = 1;
	lab_atomic_exit();
}

Test(pagelock, handler_unlock_inside_its_threads_bucket_is_deferred_not_lost)
{
	struct handoff h = { .page = lab_alloc_page(z, LAB_GFP_KERNEL) };
	sem_init(&h.release, 0, 0);
	sig_page = h.page;
	install(unlock_handler);
	lab_lock_page(h.page);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, patient_waiter, &h), 0);
	wait_until_queued(h.page);

	cr_assert(lab__page_waitqueue_lock(h.page));
	raise(SIGUSR1);
	cr_assert(sig_released);
	cr_assert_eq(atomic_load(&h.page->flags) & PG_locked, 0, "the handler did not release");
	cr_assert_not(atomic_load(&h.acquired), "woken while the bucket was held");
	lab__page_waitqueue_unlock(h.page);   /* delivers the deferred wake-up */

	while (!atomic_load(&h.acquired))
		sched_yield();
	sem_post(&h.release);
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
	cr_assert_eq(atomic_load(&h.page->flags) & (PG_locked | PG_waiters), 0);
	lab_free_page(h.page);
}
