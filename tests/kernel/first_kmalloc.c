/*
 * first_kmalloc.c - a module whose first allocations (suite 'kernel') are
 * kmalloc(GFP_ATOMIC) of every size class and of a block beyond them, under
 * a spinlock with interrupts "off".  Nothing in the process has used kmalloc
 * before (the runner does not), so they are the kmalloc caches' first use.
 * The kernel makes those caches at boot (create_kmalloc_caches()); here the
 * slab layer makes them with the kernel zone, so none of these may sleep:
 * `labyrinth ktest` runs with might_sleep on, and a cache made by a first
 * atomic kmalloc would be "BUG: sleeping function called from invalid
 * context" and an abort.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(lock);

/* Every kmalloc class, and a large block (pages of the kernel zone). */
static const size_t sizes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
				3 * 8192 };

static int __init first_kmalloc_init(void)
{
	void *objs[ARRAY_SIZE(sizes)];
	unsigned long flags;
	unsigned int i, got = 0;

	spin_lock_irqsave(&lock, flags);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		objs[i] = kmalloc(sizes[i], GFP_ATOMIC);
		if (objs[i]) {
			memset(objs[i], 0x5a, sizes[i]);
			got++;
		}
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		kfree(objs[i]);
	spin_unlock_irqrestore(&lock, flags);

	pr_info("first kmallocs, GFP_ATOMIC under a spinlock: %u of %zu sizes\n", got,
		ARRAY_SIZE(sizes));
	return got == ARRAY_SIZE(sizes) ? 0 : -ENOMEM;
}

module_init(first_kmalloc_init);
MODULE_DESCRIPTION("The first kmalloc of each class is GFP_ATOMIC under a spinlock");
MODULE_LICENSE("MIT");
