/* linux/spinlock_types.h - spinlock_t and raw_spinlock_t: lab_spinlock_t. */
#ifndef LAB_KERNEL_LINUX_SPINLOCK_TYPES_H
#define LAB_KERNEL_LINUX_SPINLOCK_TYPES_H

#include <labyrinth.h>

typedef struct raw_spinlock {
	lab_spinlock_t raw_lock;
} raw_spinlock_t;
typedef struct spinlock {
	struct raw_spinlock rlock;
} spinlock_t;

#define __RAW_SPIN_LOCK_UNLOCKED(name)	{ .raw_lock = LAB_SPINLOCK_INIT }
#define __SPIN_LOCK_UNLOCKED(name)	{ .rlock = __RAW_SPIN_LOCK_UNLOCKED(name) }
#define DEFINE_RAW_SPINLOCK(x)		raw_spinlock_t x = __RAW_SPIN_LOCK_UNLOCKED(x)
#define DEFINE_SPINLOCK(x)		spinlock_t x = __SPIN_LOCK_UNLOCKED(x)

#endif /* LAB_KERNEL_LINUX_SPINLOCK_TYPES_H */
