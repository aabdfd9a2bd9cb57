/* might_sleep_child.c - run by test_atomic.c with a chosen LABYRINTH_DEBUG,
 * since the library reads it once at load time: `might_sleep_child SCENARIO`
 * makes one call in (or out of) atomic context and exits 0 if it returns. */
#include <labyrinth.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lab_zone *zone;
static lab_spinlock_t lock = LAB_SPINLOCK_INIT;

/* Exported and not inlined: the report's backtrace names it. */
void my_sleepy_function(void);
__attribute__((noinline)) void my_sleepy_function(void)
{
	lab_might_sleep();
	/* The work that may sleep follows (and keeps the call above from
	 * becoming a tail call that would drop this frame). */
	__asm__ __volatile__("" ::: "memory");
}

static void alloc_kernel_in_handler(int sig)
{
	(void)sig;
	lab_atomic_enter();
	struct lab_page *p = lab_alloc_page(zone, LAB_GFP_KERNEL);
	lab_free_page(p);
	lab_atomic_exit();
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 64;
	const char *what = argv[1];
	struct lab_zone_config cfg = { .name = "child", .pages = 256, .flags = LAB_ZONE_NO_KSWAPD };
	zone = lab_zone_create(&cfg);
	if (!zone)
		return 65;
	struct lab_page *page = lab_alloc_page(zone, LAB_GFP_KERNEL);

	if (!strcmp(what, "alloc_kernel_in_spinlock")) {
		lab_spin_lock(&lock);
		lab_free_page(lab_alloc_page(zone, LAB_GFP_KERNEL));
		lab_spin_unlock(&lock);
	} else if (!strcmp(what, "lock_page_in_atomic")) {
		lab_atomic_enter();
		lab_lock_page(page);     /* uncontended: it would not even sleep */
		lab_unlock_page(page);
		lab_atomic_exit();
	} else if (!strcmp(what, "wait_on_page_locked_in_atomic")) {
		lab_atomic_enter();
		lab_wait_on_page_locked(page);
		lab_atomic_exit();
	} else if (!strcmp(what, "might_sleep_in_atomic")) {
		lab_spin_lock(&lock);
		my_sleepy_function();
		lab_spin_unlock(&lock);
	} else if (!strcmp(what, "nested_three")) {
		lab_atomic_enter();
		lab_spin_lock(&lock);
		lab_atomic_enter();
		lab_free_page(lab_alloc_page(zone, LAB_GFP_KERNEL | LAB_GFP_ZERO));
		lab_atomic_exit();
		lab_spin_unlock(&lock);
		lab_atomic_exit();
	} else if (!strcmp(what, "signal_handler")) {
		signal(SIGUSR1, alloc_kernel_in_handler);
		raise(SIGUSR1);
	} else if (!strcmp(what, "quiet")) {
		/* Everything here is legal: nothing may be reported. */
		lab_free_page(lab_alloc_page(zone, LAB_GFP_KERNEL));
		lab_lock_page(page);
		lab_unlock_page(page);
		lab_wait_on_page_locked(page);
		my_sleepy_function();
		lab_spin_lock(&lock);
		struct lab_page *a = lab_alloc_page(zone, LAB_GFP_ATOMIC);
		struct lab_page *b = lab_alloc_pages(zone, LAB_GFP_NOWAIT, 2);
		struct lab_page *c = lab_alloc_page(zone, LAB_GFP_ATOMIC | LAB_GFP_ZERO | LAB_GFP_COMP);
		if (!a || !b || !c || !lab_trylock_page(a))
			return 66;
		lab_get_page(a);
		lab_unlock_page(a);
		lab_put_page(a);
		lab_free_page(a);
		lab_free_pages(b, 2);
		lab_free_page(c);
		lab_spin_unlock(&lock);
	} else {
		return 64;
	}
	lab_free_page(page);
	lab_zone_destroy(zone);
	return 0;
}
