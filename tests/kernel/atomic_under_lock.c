/*
 * atomic_under_lock.c - a module in kernel style for `labyrinth ktest`
 * (suite 'kernel'): under a spinlock, with interrupts "off", it allocates
 * pages with GFP_NOWAIT until that fails, then with GFP_ATOMIC until that
 * fails too (ATOMIC dips into the reserve below the min watermark, NOWAIT
 * does not), keeps them on a list threaded through the pages themselves,
 * and frees them all under the lock.  A GFP_KERNEL allocation outside the
 * lock then succeeds: it may sleep, reclaim and grow the zone.
 *
 * With sleep_under_lock=1 it finally makes a GFP_KERNEL allocation while
 * holding the lock: might_sleep must stop it with the kernel's "BUG:
 * sleeping function called from invalid context" and abort, before the
 * allocation can sleep with the lock held.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/spinlock.h>

static bool sleep_under_lock;
module_param(sleep_under_lock, bool, 0444);
MODULE_PARM_DESC(sleep_under_lock, "end with a GFP_KERNEL allocation under the spinlock");

static DEFINE_SPINLOCK(pool_lock);
static LIST_HEAD(pool);		/* pages, linked through their first bytes */

/* Called with pool_lock held: atomic context, nothing here may sleep. */
static unsigned long fill(gfp_t gfp)
{
	unsigned long n = 0;

	for (;;) {
		struct page *page = alloc_page(gfp | __GFP_NOWARN);
		struct list_head *entry;

		if (!page)
			break;
		entry = page_address(page);
		list_add(entry, &pool);
		n++;
	}
	return n;
}

static unsigned long drain(void)
{
	struct list_head *entry, *next;
	unsigned long n = 0;

	list_for_each_safe(entry, next, &pool) {
		list_del(entry);
		__free_page(virt_to_page(entry));
		n++;
	}
	return n;
}

static int __init atomic_under_lock_init(void)
{
	unsigned long flags, nowait, atomic, freed;
	struct page *page;
	int ret = 0;

	spin_lock_irqsave(&pool_lock, flags);
	if (WARN_ON(!in_atomic() || !irqs_disabled()))
		ret = -EINVAL;
	nowait = fill(GFP_NOWAIT);
	atomic = fill(GFP_ATOMIC);
	freed = drain();
	spin_unlock_irqrestore(&pool_lock, flags);

	pr_info("under the lock: GFP_NOWAIT got %lu pages, GFP_ATOMIC %lu more from the reserve; %lu freed\n",
		nowait, atomic, freed);
	if (!nowait || !atomic || freed != nowait + atomic) {
		pr_err("expected pages from both classes, all of them freed\n");
		ret = -ENOMEM;
	}

	page = alloc_page(GFP_KERNEL);
	if (!page) {
		pr_err("GFP_KERNEL outside the lock failed\n");
		return -ENOMEM;
	}
	__free_page(page);

	if (sleep_under_lock) {
		spin_lock(&pool_lock);
		pr_info("GFP_KERNEL under the spinlock: might_sleep must stop this\n");
		page = alloc_page(GFP_KERNEL);
		spin_unlock(&pool_lock);
		pr_err("a sleeping allocation under a spinlock was not caught\n");
		if (page)
			__free_page(page);
		return -EINVAL;
	}
	return ret;
}

static void __exit atomic_under_lock_exit(void)
{
	WARN_ON(!list_empty(&pool));
}

module_init(atomic_under_lock_init);
module_exit(atomic_under_lock_exit);
MODULE_DESCRIPTION("GFP_ATOMIC under a spinlock until failure; GFP_KERNEL there is a bug");
MODULE_LICENSE("MIT");
