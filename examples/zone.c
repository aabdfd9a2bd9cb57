/* zone.c - the README's first example as a program: a zone of 16 MiB, an
 * atomic allocation that handles failure, and the zone's page counts.
 *
 *   cc zone.c $(pkg-config --cflags --libs labyrinth) -o zone && ./zone
 */
#include <errno.h>
#include <labyrinth.h>
#include <stdio.h>
#include <string.h>

/* What a packet path, a real-time loop or a signal handler does: never
 * sleep, and have no backup plan but to report failure. */
static int receive(struct lab_zone *zone)
{
	struct lab_page *page = lab_alloc_pages(zone, LAB_GFP_ATOMIC, 0);
	if (!page)
		return -ENOMEM;
	char *buf = lab_page_address(page);
	memset(buf, 0x42, lab_page_size());
	lab_free_pages(page, 0);
	return 0;
}

int main(void)
{
	struct lab_zone_config cfg = { .name = "rx", .pages = 4096 };  /* 16 MiB */
	struct lab_zone *zone = lab_zone_create(&cfg);
	if (!zone) {
		perror("lab_zone_create");
		return 1;
	}
	for (int i = 0; i < 100000; i++) {
		int rc = receive(zone);
		if (rc) {
			fprintf(stderr, "receive: %s\n", strerror(-rc));
			return 1;
		}
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(zone, &st);
	/* Freed pages may wait on the per-CPU lists: free + pcp + allocated == managed. */
	printf("zone %s: free %zu + per-CPU %zu + allocated %zu = managed %zu; %llu allocations\n",
	       lab_zone_name(zone), st.free, st.pcp, st.allocated, st.managed,
	       (unsigned long long)st.alloc_success);
	int broken = lab_zone_check(zone);
	lab_zone_destroy(zone);
	return broken || st.allocated || st.free + st.pcp != st.managed;
}
