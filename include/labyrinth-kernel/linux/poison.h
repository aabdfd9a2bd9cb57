/* linux/poison.h - values written into unlinked list entries, so that a use
 * after list_del() faults (non-canonical addresses on x86-64). */
#ifndef LAB_KERNEL_LINUX_POISON_H
#define LAB_KERNEL_LINUX_POISON_H

#define LIST_POISON1	((void *)0xdead000000000100)
#define LIST_POISON2	((void *)0xdead000000000122)
#define POISON_INUSE	0x5a
#define POISON_FREE	0x6b
#define POISON_END	0xa5
#define PAGE_POISON	0xaa

#endif /* LAB_KERNEL_LINUX_POISON_H */
