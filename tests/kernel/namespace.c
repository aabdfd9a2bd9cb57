/*
 * namespace.c - <labyrinth.h> leaves the kernel's names to its users: this
 * file includes it and defines, for itself, names that the labyrinth-kernel
 * headers define (struct page, kmalloc, GFP_KERNEL, might_sleep, printk,
 * spinlock_t, struct list_head, PAGE_SIZE, BUG_ON, u8).  It compiles, with
 * the project's warnings as errors, only while labyrinth.h does not pull
 * any of them in (suite 'kernel').
 */
#include <labyrinth.h>

#include <stdlib.h>
#include <string.h>

#define GFP_KERNEL 7
#define PAGE_SIZE 100
#define BUG_ON(x) ((void)(x))
typedef unsigned short u8;	/* not the kernel's u8 */
typedef int spinlock_t;

struct page {
	int number;
};
struct list_head {
	int unrelated;
};

static void *kmalloc(size_t size, int flags)
{
	return flags == GFP_KERNEL ? malloc(size) : NULL;
}
static int printk(const char *s)
{
	return (int)strlen(s);
}
static void might_sleep(void)
{
}

int main(void)
{
	struct page page = { .number = PAGE_SIZE };
	struct list_head head = { .unrelated = 1 };
	spinlock_t lock = 0;
	u8 small = 300;
	void *p = kmalloc(16, GFP_KERNEL);
	BUG_ON(!p);
	might_sleep();
	free(p);
	/* and the native API is there, as usual */
	return page.number == 100 && head.unrelated == 1 && lock == 0 && small == 300 &&
	       printk("ok") == 2 && lab_page_size() > 0 ? 0 : 1;
}
