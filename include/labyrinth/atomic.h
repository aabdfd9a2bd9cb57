/*
 * labyrinth/atomic.h - atomic context, might_sleep and spinlocks.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_ATOMIC_H
#define LABYRINTH_ATOMIC_H

#include <labyrinth/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Atomic context: code that must not sleep (holding a spinlock, a real-time
 * loop, a signal handler).  Per thread, nestable; enter and exit are a few
 * instructions, async-signal-safe, and never sleep.
 *
 * Calls that may sleep (lab_alloc_pages with LAB_GFP_DIRECT_RECLAIM,
 * lab_lock_page, lab_wait_on_page_locked, lab_might_sleep()) made in atomic
 * context print "BUG: sleeping function called from invalid context at
 * <function>", the nesting count, where atomic context was entered and a
 * backtrace, then abort().  The check is on by default in debug builds; the
 * environment variable LABYRINTH_DEBUG, read at load time, overrides it:
 * a comma-separated list where "1", "on", "yes", "all" or "atomic_sleep"
 * turn it on and "0", "off", "no", "none" or "-atomic_sleep" turn it off.
 * Off, each check costs one predictable branch.
 *
 * A signal handler marks itself by calling lab_atomic_enter() first and
 * lab_atomic_exit() before it returns (and before any siglongjmp out).
 * siglongjmp out of a handler is safe only when the signal interrupted code
 * outside the library: out of one that interrupted a library call, it leaves
 * that call's locks held for good (the thread's next sleeping call that needs
 * one reports "a call of it that never returned" and aborts; other threads'
 * waits are reported, see lab_zone_get_locks in debug.h).  Block the signal
 * around library calls, or jump from code that tests a flag the handler set.
 */
LAB_API void lab_atomic_enter(void);
/* Leave one level.  An exit without an enter is reported and ignored. */
LAB_API void lab_atomic_exit(void);
/* Nesting depth of the calling thread: nonzero in atomic context. */
LAB_API unsigned int lab_in_atomic(void);

/* Report (and abort) if called in atomic context; `where` names the caller.
 * Put lab_might_sleep() at the top of your own functions that may sleep. */
LAB_API void lab_might_sleep_at(const char *where);
#define lab_might_sleep() lab_might_sleep_at(__func__)

/*
 * A spinlock that puts its holder in atomic context, as spin_lock() does in
 * the kernel.  Initialise with LAB_SPINLOCK_INIT or lab_spin_lock_init().
 * lab_spin_lock spins (yielding the CPU after a while, for a descheduled
 * holder) and never sleeps; taking a lock this thread already holds (say,
 * from a signal handler) and unlocking one it does not hold are reported
 * as BUG and abort.  Critical sections should be short.
 */
typedef struct {
	uintptr_t lab_owner;   /* private: the holder's thread token, 0 = free */
} lab_spinlock_t;
#define LAB_SPINLOCK_INIT { 0 }
LAB_API void lab_spin_lock_init(lab_spinlock_t *lock);
LAB_API void lab_spin_lock(lab_spinlock_t *lock);
/* True when taken (and in atomic context); false leaves the context as it was. */
LAB_API bool lab_spin_trylock(lab_spinlock_t *lock);
LAB_API void lab_spin_unlock(lab_spinlock_t *lock);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_ATOMIC_H */
