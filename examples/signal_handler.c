/* signal_handler.c - the README's signal-handler example as a program: a
 * handler that marks itself as atomic context, allocates with
 * LAB_GFP_ATOMIC and takes a page lock only with trylock.  A timer sends
 * SIGALRM while the main thread allocates and frees from the same zone.
 *
 *   cc signal_handler.c $(pkg-config --cflags --libs labyrinth) -o sig && ./sig
 */
#include <labyrinth.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static struct lab_zone *zone;
static volatile sig_atomic_t handled, got_page;

static void on_alarm(int sig)
{
	(void)sig;
	lab_atomic_enter();                     /* first thing */
	struct lab_page *p = lab_alloc_page(zone, LAB_GFP_ATOMIC);
	if (p && lab_trylock_page(p)) {         /* never lab_lock_page() here */
		*(volatile char *)lab_page_address(p) = 1;
		lab_unlock_page(p);
	}
	if (p) {
		got_page++;
		lab_free_page(p);
	}
	handled++;
	lab_atomic_exit();                      /* last thing, and before any siglongjmp */
}

int main(void)
{
	struct lab_zone_config cfg = { .name = "signals", .pages = 1024 };
	zone = lab_zone_create(&cfg);
	if (!zone) {
		perror("lab_zone_create");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval every_100us = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &every_100us, NULL);

	/* Meanwhile the main thread uses the same zone; a signal may land
	 * anywhere in these calls. */
	for (unsigned int i = 0; handled < 2000; i++) {
		unsigned int order = i % 4;
		struct lab_page *p = lab_alloc_pages(zone, LAB_GFP_KERNEL, order);
		if (!p) {
			fprintf(stderr, "GFP_KERNEL allocation failed\n");
			return 1;
		}
		lab_free_pages(p, order);  /* with the order it was allocated with */
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);

	struct lab_zone_stats st;
	lab_zone_get_stats(zone, &st);
	printf("%d signals handled, %d pages allocated in the handler; allocated now %zu\n",
	       (int)handled, (int)got_page, st.allocated);
	int broken = lab_zone_check(zone);
	lab_zone_destroy(zone);
	return broken || st.allocated != 0 || got_page == 0;
}
