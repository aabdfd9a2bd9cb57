/* linux/stringify.h - __stringify(x): x, macro-expanded, as a string. */
#ifndef LAB_KERNEL_LINUX_STRINGIFY_H
#define LAB_KERNEL_LINUX_STRINGIFY_H

#define __stringify_1(x...)	#x
#define __stringify(x...)	__stringify_1(x)
#define FILE_LINE		__FILE__ ":" __stringify(__LINE__)

#endif /* LAB_KERNEL_LINUX_STRINGIFY_H */
