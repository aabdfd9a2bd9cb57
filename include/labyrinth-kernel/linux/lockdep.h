/* linux/lockdep.h - lock annotations: no lock validator here; the
 * "is held" tests answer yes, so assertions built on them pass. */
#ifndef LAB_KERNEL_LINUX_LOCKDEP_H
#define LAB_KERNEL_LINUX_LOCKDEP_H

struct lock_class_key {
	char lab_unused;
};
#define lockdep_is_held(lock)			((void)(lock), 1)
#define lockdep_assert_held(lock)		do { (void)(lock); } while (0)
#define lockdep_assert_held_once(lock)		do { (void)(lock); } while (0)
#define lockdep_assert_held_write(lock)		do { (void)(lock); } while (0)
#define lockdep_assert_held_read(lock)		do { (void)(lock); } while (0)
#define lockdep_assert_none_held_once()		do { } while (0)
#define lockdep_set_class(lock, key)		do { (void)(lock); (void)(key); } while (0)
#define lockdep_off()				do { } while (0)
#define lockdep_on()				do { } while (0)

#endif /* LAB_KERNEL_LINUX_LOCKDEP_H */
