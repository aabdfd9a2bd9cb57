/* pagelock.c - the README's page-lock and reference example as a program:
 * two threads take turns under one page's lock, trylock never waits, and a
 * second reference keeps a block alive across its free.
 *
 *   cc pagelock.c $(pkg-config --cflags --libs labyrinth) -o pagelock && ./pagelock
 */
#include <labyrinth.h>
#include <pthread.h>
#include <stdio.h>

static struct lab_page *page;
static long counter;  /* guarded by page's lock */

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++) {
		lab_lock_page(page);            /* may sleep: spins briefly, then waits */
		counter++;
		lab_unlock_page(page);          /* wakes a waiter only if one sleeps */
	}
	return NULL;
}

int main(void)
{
	struct lab_zone_config cfg = { .name = "locks", .pages = 256 };
	struct lab_zone *zone = lab_zone_create(&cfg);
	if (!zone) {
		perror("lab_zone_create");
		return 1;
	}
	page = lab_alloc_pages(zone, LAB_GFP_KERNEL, 2);
	if (!page)
		return 1;

	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("counter %ld (expected 200000)\n", counter);

	int ok = counter == 200000;
	if (lab_trylock_page(page)) {           /* never waits: fine in a signal handler */
		ok &= !lab_trylock_page(page);  /* held: a second try fails at once */
		lab_unlock_page(page);
	} else {
		ok = 0;
	}

	lab_get_page(page);                     /* a second reference */
	lab_free_pages(page, 2);                /* drops ours: a put, like __free_pages() */
	printf("after the free: %d reference(s)\n", lab_page_count(page));
	ok &= lab_page_count(page) == 1;
	lab_put_page(page);                     /* the last reference frees what is left */

	struct lab_zone_stats st;
	lab_zone_get_stats(zone, &st);
	printf("allocated after the last put: %zu\n", st.allocated);
	ok &= st.allocated == 0 && lab_zone_check(zone) == 0;
	lab_zone_destroy(zone);
	return ok ? 0 : 1;
}
