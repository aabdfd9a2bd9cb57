/*
 * leak_page.c - a module that forgets to free one of the pages it
 * allocates (suite 'kernel'): `labyrinth ktest` must fail it and say how
 * many pages were not freed.  With fail=1 its init returns -ENODEV
 * instead, after freeing everything: the runner must fail it for that.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>

static bool fail;
module_param(fail, bool, 0444);

static unsigned long kept;

static int __init leak_page_init(void)
{
	unsigned long addr = __get_free_pages(GFP_KERNEL, 2);

	if (!addr)
		return -ENOMEM;
	if (fail) {
		free_pages(addr, 2);
		return -ENODEV;
	}
	kept = addr;
	return 0;
}

static void __exit leak_page_exit(void)
{
	/* kept is never freed: 4 pages leak */
}

module_init(leak_page_init);
module_exit(leak_page_exit);
MODULE_LICENSE("MIT");
