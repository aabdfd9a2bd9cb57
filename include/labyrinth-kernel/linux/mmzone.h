/* linux/mmzone.h - block orders: MAX_PAGE_ORDER is Labyrinth's LAB_MAX_ORDER. */
#ifndef LAB_KERNEL_LINUX_MMZONE_H
#define LAB_KERNEL_LINUX_MMZONE_H

#include <labyrinth.h>

#define MAX_PAGE_ORDER		LAB_MAX_ORDER
#define NR_PAGE_ORDERS		(MAX_PAGE_ORDER + 1)
#define MAX_ORDER_NR_PAGES	(1 << MAX_PAGE_ORDER)
#define PAGE_ALLOC_COSTLY_ORDER	LAB_COSTLY_ORDER

#endif /* LAB_KERNEL_LINUX_MMZONE_H */
