/*
 * atomic.c - atomic context and the "sleeping function called from
 * invalid context" check, the userspace twin of the kernel's preempt count
 * and CONFIG_DEBUG_ATOMIC_SLEEP.
 *
 * A thread is in atomic context while its nesting count is above zero:
 * lab_atomic_enter()/lab_atomic_exit(), a held lab_spinlock_t, or a signal
 * handler that marked itself.  Calls that may sleep (allocations with
 * LAB_GFP_DIRECT_RECLAIM, lab_lock_page, lab_wait_on_page_locked, the
 * user's own lab_might_sleep()) report and abort when made there, if the
 * check is on: by default in debug builds, and when LABYRINTH_DEBUG asks.
 *
 * Exports: lab_atomic_enter/exit, lab_in_atomic, lab_spin_*, lab_might_sleep_at,
 * and lab__sleep_check / lab__might_sleep_report for the inline check.
 */
#include "base/compiler.h"
#include "os/cpu.h"
#include "os/env.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/stack.h"
#include "page/atomic.h"
#include "page/zone.h"

#include <stdlib.h>
#include <string.h>

#ifndef LABYRINTH_DEBUG_BUILD
#define LABYRINTH_DEBUG_BUILD 0
#endif

/* Per thread, and async-signal-safe: a handler that enters and exits leaves
 * the count as it found it, even if it interrupted an enter or exit. */
static _Thread_local unsigned int atomic_depth __attribute__((tls_model("initial-exec")));
/* Where the outermost enter happened, for the report. */
static _Thread_local void *atomic_entered_at __attribute__((tls_model("initial-exec")));

bool lab__sleep_check = LABYRINTH_DEBUG_BUILD;

/* ---- the setting ------------------------------------------------------ */

/* Read once at load time, so the check itself is one branch on a bool. */
__attribute__((constructor)) static void sleep_check_init(void)
{
	lab__sleep_check = lab__option_get(LAB_OPT_DEBUG);
	/* glibc's first backtrace() loads the unwinder with malloc: do it now,
	 * not inside a report from a signal handler or under a spinlock. */
	if (lab__sleep_check)
		lab__os_unwinder_load();
}

/* ---- atomic context --------------------------------------------------- */

static inline void atomic_enter_at(void *ip)
{
	if (atomic_depth++ == 0)
		atomic_entered_at = ip;
	atomic_signal_fence(memory_order_seq_cst);
}

static void atomic_exit_at(void *ip)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (lab_unlikely(atomic_depth == 0)) {
		/* Not a silent wrap: say so, and stay at zero. */
		lab__printk("BUG: labyrinth: lab_atomic_exit() without lab_atomic_enter() at %p\n", ip);
		return;
	}
	atomic_depth--;
}

void lab_atomic_enter(void)
{
	atomic_enter_at(__builtin_return_address(0));
}

void lab_atomic_exit(void)
{
	atomic_exit_at(__builtin_return_address(0));
}

unsigned int lab_in_atomic(void)
{
	return atomic_depth;
}

/* ---- the check -------------------------------------------------------- */

/* ___might_sleep(): the report, then abort, like panic_on_warn. */
void lab__might_sleep_report(const char *where)
{
	unsigned int depth = atomic_depth;
	if (!depth)
		return;
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	lab__printk("BUG: sleeping function called from invalid context at %s\n"
		    "in_atomic(): 1, nesting: %u, pid: %d, name: %s\n",
		    where, depth, lab__os_gettid(), comm);
	if (atomic_entered_at) {
		lab__printk("Atomic context entered at:\n");
		lab__os_print_symbol(atomic_entered_at);
	}
	lab__printk("Call Trace:\n");
	lab__os_print_backtrace();
	abort();
}

void lab_might_sleep_at(const char *where)
{
	lab__might_sleep(where ? where : "?");
}

/* ---- spinlocks -------------------------------------------------------- */

/* Spin this many times before yielding the CPU to a descheduled holder. */
#define SPIN_BEFORE_YIELD 128

/* A spinlock that is not there cannot be held: a BUG, never a wild write. */
static __attribute__((noinline)) void null_lock(const char *what)
{
	lab__printk("BUG: spinlock: NULL lock passed to %s\n", what);
	lab__os_print_backtrace();
	abort();
}

static inline uintptr_t *spin_word(lab_spinlock_t *lock)
{
	return &lock->lab_owner;
}

static bool spin_try(lab_spinlock_t *lock, uintptr_t me, uintptr_t *seen)
{
	*seen = 0;
	return __atomic_compare_exchange_n(spin_word(lock), seen, me, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void lab_spin_lock_init(lab_spinlock_t *lock)
{
	if (!lock)
		return;
	__atomic_store_n(spin_word(lock), 0, __ATOMIC_RELAXED);
}

void lab_spin_lock(lab_spinlock_t *lock)
{
	if (lab_unlikely(!lock))
		null_lock("lab_spin_lock");
	uintptr_t me = lab__self_token(), seen;
	atomic_enter_at(__builtin_return_address(0));
	for (unsigned int spins = 0; !spin_try(lock, me, &seen); spins++) {
		if (lab_unlikely(seen == me)) {
			/* A signal handler that interrupted the holder, or a
			 * double lock: waiting would never end. */
			lab__printk("BUG: spinlock recursion: lock %p already held by this thread\n",
				    (void *)lock);
			abort();
		}
		if (spins < SPIN_BEFORE_YIELD)
			lab__os_cpu_relax();
		else
			lab__os_yield();
	}
}

bool lab_spin_trylock(lab_spinlock_t *lock)
{
	if (lab_unlikely(!lock))
		null_lock("lab_spin_trylock");
	uintptr_t seen;
	atomic_enter_at(__builtin_return_address(0));
	if (spin_try(lock, lab__self_token(), &seen))
		return true;
	atomic_exit_at(__builtin_return_address(0));
	return false;
}

void lab_spin_unlock(lab_spinlock_t *lock)
{
	if (lab_unlikely(!lock))
		null_lock("lab_spin_unlock");
	uintptr_t owner = __atomic_load_n(spin_word(lock), __ATOMIC_RELAXED);
	if (lab_unlikely(owner != lab__self_token())) {
		lab__printk("BUG: spinlock wrong owner: lock %p released by a thread that %s\n",
			    (void *)lock, owner ? "does not hold it" : "finds it unlocked");
		abort();
	}
	__atomic_store_n(spin_word(lock), 0, __ATOMIC_RELEASE);
	atomic_exit_at(__builtin_return_address(0));
}
