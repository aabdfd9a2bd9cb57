/*
 * linux/spinlock.h - spinlocks over lab_spinlock_t: taking one enters
 * atomic context, so anything that may sleep inside (a GFP_KERNEL
 * allocation, lock_page, might_sleep) is reported and aborts, as with
 * CONFIG_DEBUG_ATOMIC_SLEEP; a lock taken twice by one thread, or released
 * by a thread that does not hold it, is a BUG report too.  The _irq,
 * _irqsave and _bh forms also disable "interrupts" (linux/irqflags.h):
 * another level of atomic context, no signal mask.  Never sleep; spin, then
 * yield the CPU to a descheduled holder.
 */
#ifndef LAB_KERNEL_LINUX_SPINLOCK_H
#define LAB_KERNEL_LINUX_SPINLOCK_H

#include <labyrinth.h>
#include <lab_kernel.h>
#include <linux/spinlock_types.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>
#include <linux/bug.h>
#include <linux/lockdep.h>

static inline void raw_spin_lock_init(raw_spinlock_t *lock)
{
	lab_spin_lock_init(&lock->raw_lock);
}
static inline void raw_spin_lock(raw_spinlock_t *lock)
{
	lab_spin_lock(&lock->raw_lock);
}
static inline int raw_spin_trylock(raw_spinlock_t *lock)
{
	return lab_spin_trylock(&lock->raw_lock);
}
static inline void raw_spin_unlock(raw_spinlock_t *lock)
{
	lab_spin_unlock(&lock->raw_lock);
}
/* Locked by anyone: a snapshot. */
static inline int raw_spin_is_locked(raw_spinlock_t *lock)
{
	return __atomic_load_n(&lock->raw_lock.lab_owner, __ATOMIC_RELAXED) != 0;
}

#define spin_lock_init(lock)		raw_spin_lock_init(&(lock)->rlock)
#define spin_lock(lock)			raw_spin_lock(&(lock)->rlock)
#define spin_trylock(lock)		raw_spin_trylock(&(lock)->rlock)
#define spin_unlock(lock)		raw_spin_unlock(&(lock)->rlock)
#define spin_is_locked(lock)		raw_spin_is_locked(&(lock)->rlock)
#define spin_lock_nested(lock, sub)	spin_lock(lock)
#define assert_spin_locked(lock)	BUG_ON(!spin_is_locked(lock))

#define spin_lock_bh(lock)		do { local_bh_disable(); spin_lock(lock); } while (0)
#define spin_unlock_bh(lock)		do { spin_unlock(lock); local_bh_enable(); } while (0)
#define spin_lock_irq(lock)		do { local_irq_disable(); spin_lock(lock); } while (0)
#define spin_unlock_irq(lock)		do { spin_unlock(lock); local_irq_enable(); } while (0)
#define spin_lock_irqsave(lock, flags) \
	do { local_irq_save(flags); spin_lock(lock); } while (0)
#define spin_unlock_irqrestore(lock, flags) \
	do { spin_unlock(lock); local_irq_restore(flags); } while (0)
#define spin_trylock_irqsave(lock, flags) ({ \
	local_irq_save(flags); \
	spin_trylock(lock) ? 1 : ({ local_irq_restore(flags); 0; }); })
#define spin_trylock_bh(lock) ({ \
	local_bh_disable(); \
	spin_trylock(lock) ? 1 : ({ local_bh_enable(); 0; }); })

#define raw_spin_lock_irqsave(lock, flags) \
	do { local_irq_save(flags); raw_spin_lock(lock); } while (0)
#define raw_spin_unlock_irqrestore(lock, flags) \
	do { raw_spin_unlock(lock); local_irq_restore(flags); } while (0)
#define raw_spin_lock_irq(lock)		do { local_irq_disable(); raw_spin_lock(lock); } while (0)
#define raw_spin_unlock_irq(lock)	do { raw_spin_unlock(lock); local_irq_enable(); } while (0)

#endif /* LAB_KERNEL_LINUX_SPINLOCK_H */
