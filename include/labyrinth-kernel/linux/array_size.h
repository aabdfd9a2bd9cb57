/* linux/array_size.h - ARRAY_SIZE, which refuses a pointer at compile time. */
#ifndef LAB_KERNEL_LINUX_ARRAY_SIZE_H
#define LAB_KERNEL_LINUX_ARRAY_SIZE_H

#include <linux/build_bug.h>

#define __must_be_array(a)	BUILD_BUG_ON_ZERO(__same_type((a), &(a)[0]))
#define ARRAY_SIZE(arr)		(sizeof(arr) / sizeof((arr)[0]) + __must_be_array(arr))

#endif /* LAB_KERNEL_LINUX_ARRAY_SIZE_H */
