/*
 * leak_page.c - a module that forgets to free one of the pages it
 * allocates (suite 'kernel'): `labyrinth ktest` must fail it and say how
 * many pages were not freed.  With fail=1 its init returns -ENODEV
 * instead, after freeing everything: the runner must fail it for that.
 * With object=1 it leaks a kmalloc object instead of the pages: the runner
 * must name the cache.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

static bool fail;
module_param(fail, bool, 0444);
static bool object;
module_param(object, bool, 0444);

static unsigned long kept;
static void *kept_object;

static int __init leak_page_init(void)
{
	unsigned long addr = __get_free_pages(GFP_KERNEL, 2);

	if (!addr)
		return -ENOMEM;
	if (fail || object) {
		free_pages(addr, 2);
		if (fail)
			return -ENODEV;
		kept_object = kmalloc(100, GFP_KERNEL);
		return kept_object ? 0 : -ENOMEM;
	}
	kept = addr;
	return 0;
}

static void __exit leak_page_exit(void)
{
	/* kept (4 pages) or kept_object is never freed */
}

module_init(leak_page_init);
module_exit(leak_page_exit);
MODULE_LICENSE("MIT");
