/*
 * pairs.c - ns per allocate+free pair of 4 KiB blocks, touching each block
 * once, at batch 1 and batch 1024, for each GFP class.  Not a test: it never
 * fails on a time.  `labyrinth bench` (the "Atomic fast path" issue) grows
 * from this into the comparison with other allocators.
 */
#include <labyrinth.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double run(struct lab_zone *z, lab_gfp_t gfp, size_t batch, size_t pairs)
{
	static struct lab_page *held[1024];
	double t0 = now_ns();
	for (size_t done = 0; done < pairs; done += batch) {
		for (size_t i = 0; i < batch; i++) {
			held[i] = lab_alloc_page(z, gfp);
			if (!held[i])
				abort();
			*(volatile char *)lab_page_address(held[i]) = 1;
		}
		for (size_t i = 0; i < batch; i++)
			lab_free_page(held[i]);
	}
	return (now_ns() - t0) / pairs;
}

int main(int argc, char **argv)
{
	size_t pairs = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000000;
	struct lab_zone_config cfg = { .name = "bench", .pages = 262144 };
	struct lab_zone *z = lab_zone_create(&cfg);
	if (!z)
		return 1;
	const struct { const char *name; lab_gfp_t gfp; } classes[] = {
		{ "GFP_ATOMIC", LAB_GFP_ATOMIC }, { "GFP_NOWAIT", LAB_GFP_NOWAIT },
		{ "GFP_KERNEL", LAB_GFP_KERNEL },
	};
	printf("%-12s %12s %12s   (ns per pair, %zu pairs)\n", "class", "batch 1", "batch 1024", pairs);
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		run(z, classes[i].gfp, 1, pairs / 10);  /* warm up */
		double b1 = run(z, classes[i].gfp, 1, pairs);
		double b1024 = run(z, classes[i].gfp, 1024, pairs);
		printf("%-12s %12.1f %12.1f\n", classes[i].name, b1, b1024);
	}
	lab_zone_destroy(z);
	return 0;
}
