/* mempool.c - the README's mempool example as a program: 16 pages set
 * aside, so that an atomic caller still gets a page when the zone itself
 * has none left, and the reserve refilled first when pages come back.
 *
 *   cc mempool.c $(pkg-config --cflags --libs labyrinth) -o mempool && ./mempool
 */
#include <labyrinth.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	struct lab_zone_config cfg = { .name = "io", .pages = 1024,
				       .flags = LAB_ZONE_NO_KSWAPD };
	struct lab_zone *zone = lab_zone_create(&cfg);
	if (!zone) {
		perror("lab_zone_create");
		return 1;
	}
	struct lab_mempool *pool = lab_mempool_create(zone, 16, 0);  /* 16 pages set aside */
	if (!pool) {
		perror("lab_mempool_create");
		return 1;
	}

	/* Empty the zone, reserves and all. */
	static struct lab_page *hog[1024];
	size_t n = 0;
	while (n < 1024 && (hog[n] = lab_alloc_page(zone, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC |
							     LAB_GFP_NOWARN)))
		n++;
	struct lab_page *plain = lab_alloc_page(zone, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
	printf("zone empty after %zu pages: a plain ATOMIC allocation %s\n", n,
	       plain ? "still succeeded" : "fails");

	/* The pool still serves: NULL only if zone and pool are both empty. */
	struct lab_page *p[16];
	for (int i = 0; i < 16; i++) {
		p[i] = lab_mempool_alloc(pool, LAB_GFP_ATOMIC);
		if (!p[i]) {
			fprintf(stderr, "mempool element %d missing\n", i);
			return 1;
		}
	}
	printf("16 pages from the pool; %u left in it\n", lab_mempool_available(pool));
	for (int i = 0; i < 16; i++)
		lab_mempool_free(p[i], pool);  /* refills the reserve first */
	printf("returned: %u in the pool\n", lab_mempool_available(pool));

	while (n)
		lab_free_page(hog[--n]);
	if (plain)
		lab_free_page(plain);
	unsigned int available = lab_mempool_available(pool);
	lab_mempool_destroy(pool);
	int broken = lab_zone_check(zone);
	lab_zone_destroy(zone);
	return plain != NULL || available != 16 || broken;
}
