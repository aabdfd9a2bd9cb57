/*
 * page_ops.c - the page-level kernel API as kernel code uses it (suite
 * 'kernel'): references (get_page, page_count, __free_pages as a put,
 * put_page), the page lock (lock_page, trylock_page, unlock_page), address
 * and pfn conversions (page_address, virt_to_page of an inner address,
 * nth_page, page_to_pfn/pfn_to_page), get_zeroed_page, alloc_pages_exact,
 * kmap_atomic's atomic context, and errors (an order above MAX_PAGE_ORDER).
 * Under init_on_free=1 (LABYRINTH_KERNEL_CMDLINE), blocks freed by their
 * last put read as zero, every page of them, compound or not.
 * Every check is a WARN_ON: the runner fails a module that warned.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>

#include <fcntl.h>
#include <unistd.h>

/* Freed memory, read back as the OS sees it: a freed block may be marked
 * unaddressable for ASan, /proc/self/mem reads it all the same. */
static int read_back(const void *addr, void *buf, size_t len)
{
	int fd = open("/proc/self/mem", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -EIO;
	n = pread(fd, buf, len, (off_t)(unsigned long)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* init_on_free: the put that frees a block wipes all of it. */
static int check_init_on_free(void)
{
	static unsigned char back[4 * PAGE_SIZE];
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	unsigned long addr;
	unsigned char *p;
	int ret;

	if (!page)
		return -ENOMEM;
	p = page_address(page);
	memset(p, 0x5a, 4 * PAGE_SIZE);
	get_page(page);
	__free_pages(page, 2);		/* another holder: nothing freed, nothing wiped */
	WARN_ON(p[4 * PAGE_SIZE - 1] != 0x5a);
	put_page(page);			/* the last: four pages wiped, then freed */
	ret = read_back(p, back, sizeof(back));
	if (ret)
		return ret;
	WARN_ON(memchr_inv(back, 0, sizeof(back)));

	/* A plain block freed by address, its only holder. */
	addr = __get_free_pages(GFP_KERNEL, 1);
	if (!addr)
		return -ENOMEM;
	memset((void *)addr, 0xa5, 2 * PAGE_SIZE);
	free_pages(addr, 1);
	ret = read_back((void *)addr, back, 2 * PAGE_SIZE);
	if (ret)
		return ret;
	WARN_ON(memchr_inv(back, 0, 2 * PAGE_SIZE));
	pr_info("init_on_free: freed blocks read as zero, every page\n");
	return 0;
}

static int __init page_ops_init(void)
{
	struct page *page, *tail;
	unsigned long addr;
	unsigned char *p;
	void *exact;
	unsigned long i;

	/* A compound block of 4 pages: one reference, then two. */
	page = alloc_pages(GFP_KERNEL | __GFP_COMP, 2);
	if (!page)
		return -ENOMEM;
	WARN_ON(page_count(page) != 1);
	get_page(page);
	WARN_ON(page_count(page) != 2);

	/* The lock: taken, refused to a second taker, released, taken again. */
	lock_page(page);
	WARN_ON(trylock_page(page));
	unlock_page(page);
	WARN_ON(!trylock_page(page));
	unlock_page(page);

	/* Addresses and pfns. */
	p = page_address(page);
	WARN_ON(!PAGE_ALIGNED(p));
	WARN_ON(virt_to_page(p + PAGE_SIZE + 100) != nth_page(page, 1));
	tail = nth_page(page, 3);
	WARN_ON(page_address(tail) != p + 3 * PAGE_SIZE);
	WARN_ON(pfn_to_page(page_to_pfn(page) + 2) != nth_page(page, 2));
	WARN_ON(!virt_addr_valid(p));
	WARN_ON(offset_in_page(p + 123) != 123);

	/* __free_pages() is a put: the block survives until the last put_page(). */
	__free_pages(page, 2);
	WARN_ON(page_count(page) != 1);
	p[4 * PAGE_SIZE - 1] = 0x5a;	/* still ours */
	put_page(page);

	/* Zeroed pages, and exact sizes. */
	addr = get_zeroed_page(GFP_KERNEL);
	if (!addr)
		return -ENOMEM;
	for (i = 0; i < PAGE_SIZE; i++)
		if (((unsigned char *)addr)[i])
			break;
	WARN_ON(i != PAGE_SIZE);
	free_page(addr);
	exact = alloc_pages_exact(3 * PAGE_SIZE, GFP_KERNEL);
	if (!exact)
		return -ENOMEM;
	memset(exact, 0xa5, 3 * PAGE_SIZE);
	free_pages_exact(exact, 3 * PAGE_SIZE);

	/* kmap_atomic() is atomic context until kunmap_atomic(). */
	page = alloc_page(GFP_ATOMIC);
	if (!page)
		return -ENOMEM;
	WARN_ON(in_atomic());
	p = kmap_atomic(page);
	WARN_ON(!in_atomic());
	p[0] = 1;
	kunmap_atomic(p);
	WARN_ON(in_atomic());
	__free_page(page);

	/* Beyond MAX_PAGE_ORDER: NULL, nothing taken. */
	WARN_ON(alloc_pages(GFP_KERNEL | __GFP_NOWARN, MAX_PAGE_ORDER + 1) != NULL);

	if (want_init_on_free()) {
		int ret = check_init_on_free();

		if (ret)
			return ret;
	}

	pr_info("page operations checked\n");
	return 0;
}

module_init(page_ops_init);
MODULE_DESCRIPTION("The page-level kernel API over Labyrinth");
MODULE_LICENSE("MIT");
