/*
 * btree_user.c - a user of the kernel's lib/btree.c (compiled unchanged
 * beside it, from linux-source-6.12, with its headers linux/btree*.h),
 * in kernel style (suite 'kernel', with the slab layer).  lib/btree.c takes
 * its nodes from a mempool over a kmem_cache with the caller's gfp; here a
 * tree is filled under a spinlock with GFP_ATOMIC until an insertion fails,
 * then past that with GFP_KERNEL outside the lock (which may reclaim and
 * grow the zone), every key looked up, half removed under the lock, and
 * everything freed.  Runs as a late initcall, after lib/btree.c's own
 * module_init has made its cache, and its exit runs before btree's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/btree.h>
#include <linux/module.h>
#include <linux/spinlock.h>

static unsigned long keys = 200000;
module_param(keys, ulong, 0444);
MODULE_PARM_DESC(keys, "how many keys the tree ends up with");

static struct btree_head64 tree;
static DEFINE_SPINLOCK(tree_lock);

static void *value_of(u64 key)
{
	return (void *)(unsigned long)(key * 2 + 1);
}

static int __init btree_user_init(void)
{
	unsigned long flags, atomic = 0, removed = 0;
	u64 key;
	int ret;

	ret = btree_init64(&tree);
	if (ret)
		return ret;

	spin_lock_irqsave(&tree_lock, flags);
	for (key = 1; key <= keys; key++) {
		if (btree_insert64(&tree, key, value_of(key), GFP_ATOMIC | __GFP_NOWARN))
			break;
		atomic++;
	}
	spin_unlock_irqrestore(&tree_lock, flags);

	for (; key <= keys; key++) {
		ret = btree_insert64(&tree, key, value_of(key), GFP_KERNEL);
		if (ret) {
			pr_err("GFP_KERNEL insertion of key %llu failed: %d\n", key, ret);
			return ret;
		}
	}
	pr_info("%lu keys: %lu inserted with GFP_ATOMIC under the lock, %lu with GFP_KERNEL\n",
		keys, atomic, keys - atomic);

	for (key = 1; key <= keys; key++) {
		if (btree_lookup64(&tree, key) != value_of(key)) {
			pr_err("key %llu: wrong value\n", key);
			return -EINVAL;
		}
	}

	spin_lock_irqsave(&tree_lock, flags);
	for (key = 2; key <= keys; key += 2) {
		if (btree_remove64(&tree, key) == value_of(key))
			removed++;
	}
	spin_unlock_irqrestore(&tree_lock, flags);
	for (key = 1; key <= keys; key++) {
		void *want = key % 2 ? value_of(key) : NULL;

		if (btree_lookup64(&tree, key) != want) {
			pr_err("key %llu: wrong value after the removals\n", key);
			return -EINVAL;
		}
	}
	pr_info("%lu keys removed under the lock, the rest found\n", removed);
	return removed == keys / 2 ? 0 : -EINVAL;
}

static void __exit btree_user_exit(void)
{
	size_t left = btree_grim_visitor64(&tree, 0, NULL);

	btree_destroy64(&tree);
	pr_info("tree freed (%zu keys in it)\n", left);
}

late_initcall(btree_user_init);
module_exit(btree_user_exit);
MODULE_DESCRIPTION("lib/btree.c under GFP_ATOMIC and GFP_KERNEL");
MODULE_LICENSE("GPL");
