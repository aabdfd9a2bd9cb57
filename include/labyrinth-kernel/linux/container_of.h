/* linux/container_of.h - the structure a member pointer belongs to; the
 * member's type is checked at compile time, as in the kernel. */
#ifndef LAB_KERNEL_LINUX_CONTAINER_OF_H
#define LAB_KERNEL_LINUX_CONTAINER_OF_H

#include <linux/compiler.h>
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ({ \
	_Static_assert(__same_type(*(ptr), ((type *)0)->member) || __same_type(*(ptr), void), \
		       "pointer type mismatch in container_of()"); \
	((type *)((uintptr_t)(ptr) - offsetof(type, member))); })
#define container_of_const(ptr, type, member)	container_of(ptr, type, member)

#endif /* LAB_KERNEL_LINUX_CONTAINER_OF_H */
