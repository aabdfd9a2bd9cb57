/*
 * gen_corpus.c - writes the seed corpus of the fuzz targets:
 *     gen_corpus DIR   ->  DIR/ops/NN-what, DIR/gfp_name/NN
 * Each ops file is a scenario in the format of fuzz.h: every operation and
 * misuse at least once, each GFP class down to its watermark, invalid
 * configurations, shrinkers with and without kswapd, growth, several zones;
 * then a few random sequences from a fixed seed.  Run it again after
 * changing the format (tests/fuzz/corpus is its output, committed).
 */
#include "fuzz.h"

#include <errno.h>
#include <labyrinth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint8_t buf[8192];
static size_t len;

static void b(unsigned v)
{
	if (len < sizeof(buf))
		buf[len++] = (uint8_t)v;
}

static void w(unsigned v)
{
	b(v & 0xff);
	b(v >> 8);
}

/* pages <= FUZZ_MAX_PAGES; flags < 0x80; max_pages 0 = default. */
static void create(unsigned slot, unsigned pages, unsigned flags, unsigned max_pages,
		   unsigned min, unsigned low, unsigned high)
{
	b(FOP_ZONE_CREATE);
	b(slot);
	w(pages > FUZZ_SMALL_PAGES ? 0x8000 | pages : pages);
	b(flags);
	b(max_pages ? 3 : 0);  /* mode 3: max taken as is */
	w(max_pages);
	if (high) {
		b(1);                  /* ordered: min % (low+1), low % (high+1), 1 + high-1 */
		w(min);
		w(low);
		w(high - 1);
	} else {
		b(0);
		w(0);
		w(0);
		w(0);
	}
	w(0);                          /* scale: default */
	b(1);                          /* named "fz" */
}

/* Anything, valid or not: raw fields. */
static void create_raw(unsigned slot, unsigned pages_field, unsigned flags_field, unsigned max_mode,
		       unsigned max, unsigned min, unsigned low, unsigned high, unsigned scale)
{
	b(FOP_ZONE_CREATE);
	b(slot);
	w(pages_field);
	b(flags_field);
	b(max_mode);
	w(max);
	b(2);
	w(min);
	w(low);
	w(high);
	w(scale);
	b(0);
}

static void alloc(unsigned slot, unsigned gfp, unsigned order, unsigned by_addr)
{
	b(FOP_ALLOC);
	b(slot);
	w(gfp);
	b(order);
	b(by_addr);
}

static void free_(unsigned slot, unsigned which, unsigned by_addr)
{
	b(FOP_FREE);
	b(slot);
	b(which);
	b(by_addr);
}

static void misuse(unsigned slot, unsigned kind, unsigned which)
{
	b(FOP_MISUSE);
	b(slot);
	b(kind);
	b(which);
}

static void op3(unsigned op, unsigned slot, unsigned x, unsigned y)
{
	b(op);
	b(slot);
	b(x);
	b(y);
}

static void op1(unsigned op, unsigned slot)
{
	b(op);
	b(slot);
}

static void destroy(unsigned slot, unsigned tidy)
{
	b(FOP_ZONE_DESTROY);
	b(slot);
	b(tidy);
}

static const char *dir_ops, *dir_gfp;
static unsigned nr_ops;

static void save(const char *dir, const char *what, unsigned *counter)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%02u-%s", dir, (*counter)++, what);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	len = 0;
}

static void ops(const char *what)
{
	save(dir_ops, what, &nr_ops);
}

#define NOWARN LAB_GFP_NOWARN
#define NOKSWAPD LAB_ZONE_NO_KSWAPD

static void scenarios(void)
{
	create(0, 1024, NOKSWAPD, 0, 0, 0, 0);
	for (unsigned o = 0; o <= LAB_MAX_ORDER; o++)
		alloc(0, LAB_GFP_KERNEL, o, o & 1);
	for (unsigned i = 0; i < 11; i++)
		free_(0, 0, i & 1);
	op1(FOP_FREE_ALL, 0);
	ops("every-order");

	create(0, 512, NOKSWAPD, 0, 16, 24, 32);
	for (unsigned i = 0; i < 100; i++)
		alloc(0, LAB_GFP_NOWAIT, 0, 0);
	for (unsigned i = 0; i < 40; i++)
		alloc(0, LAB_GFP_ATOMIC | NOWARN, 0, 0);
	for (unsigned i = 0; i < 40; i++)
		alloc(0, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | NOWARN, 0, 0);
	op1(FOP_FREE_ALL, 0);
	ops("classes-down-to-their-marks");

	create(0, 300, NOKSWAPD, 0, 20, 30, 40);
	for (unsigned i = 0; i < 60; i++)
		alloc(0, (i % 3 == 0 ? LAB_GFP_KERNEL : i % 3 == 1 ? LAB_GFP_NOWAIT : LAB_GFP_ATOMIC) | NOWARN,
		      i % 5, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_HIGH | NOWARN, 0, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL | NOWARN, 4, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 0, 0);
	ops("mixed-classes-and-orders");

	create(0, 2048, NOKSWAPD, 0, 32, 48, 64);
	for (unsigned i = 0; i < 200; i++)
		alloc(0, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | NOWARN, 4, 0);
	for (unsigned i = 0; i < 30; i++)
		alloc(0, LAB_GFP_ATOMIC | NOWARN, 1 + i % 3, 0);
	for (unsigned i = 0; i < 30; i++)
		free_(0, i * 7, 0);
	for (unsigned i = 0; i < 30; i++)
		alloc(0, LAB_GFP_NOWAIT, 1 + i % 3, 0);
	op1(FOP_FREE_ALL, 0);
	ops("highatomic-reserve");

	create_raw(0, 0, 0, 0, 0, 0, 0, 0, 0);                       /* no pages */
	create_raw(0, 100, 0x80 | 6, 0, 0, 0, 0, 0, 0);               /* unknown flag bit */
	create_raw(0, 100, 0, 1 | 4, 0, 0, 0, 0, 0);                  /* max != pages, no GROW */
	create_raw(0, 100, LAB_ZONE_GROW, 3, 50, 0, 0, 0, 0);         /* GROW max < pages */
	create_raw(0, 100, 0, 0, 0, 10, 5, 20, 0);                    /* min > low */
	create_raw(0, 100, 0, 0, 0, 1, 2, 100, 0);                    /* high >= pages */
	create_raw(0, 100, 0, 0, 0, 0, 0, 0, 3500);                   /* scale too big */
	create_raw(0, 100, 0, 0, 0, 0, 0, 0, 3000);                   /* scale at the limit: valid */
	create_raw(1, 0x8000 | 2000, NOKSWAPD, 2, 0, 0, 0, 0, 0);     /* max == pages: valid */
	ops("zone-configs");

	create(0, 256, NOKSWAPD, 0, 0, 0, 0);
	alloc(0, LAB_GFP_KERNEL, 11, 0);
	alloc(0, LAB_GFP_KERNEL, 255, 1);
	alloc(0, LAB_GFP_KERNEL | 0x800, 0, 0);
	alloc(0, LAB_GFP_ATOMIC | 0x8000, 0, 1);
	alloc(0, LAB_GFP_ATOMIC | LAB_GFP_NOFAIL, 0, 0);
	alloc(2, LAB_GFP_KERNEL, 0, 0);                                 /* empty slot: NULL zone */
	alloc(2, LAB_GFP_KERNEL, 0, 1);
	ops("invalid-allocations");

	create(0, 1024, NOKSWAPD, 0, 0, 0, 0);
	for (unsigned i = 0; i < 12; i++)
		alloc(0, LAB_GFP_KERNEL, i % 4, 0);
	for (unsigned k = 0; k < MIS_NR; k++) {
		misuse(0, k, 3);
		free_(0, 1, 0);
		misuse(0, k, 0);
	}
	misuse(0, MIS_DOUBLE_FREE, 1);
	op1(FOP_FREE_ALL, 0);
	ops("every-misuse");

	create(0, 512, NOKSWAPD, 0, 16, 32, 48);
	op3(FOP_SHRINKER, 0, 2, 8);
	op3(FOP_CACHE_FILL, 0, 32, 1);
	op3(FOP_CACHE_FILL, 0, 32, 0);
	for (unsigned i = 0; i < 120; i++)
		alloc(0, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | NOWARN, 2, 0);
	for (unsigned i = 0; i < 10; i++)
		alloc(0, LAB_GFP_KERNEL | NOWARN, i % 2, 0);
	op3(FOP_SHRINKER, 0, 0, 0);
	op3(FOP_SHRINKER, 0, 0, 0);
	alloc(0, LAB_GFP_KERNEL | NOWARN, 3, 0);
	ops("shrinker-direct-reclaim");

	create(0, 2048, 0, 0, 0, 0, 0);                                 /* with kswapd */
	op3(FOP_SHRINKER, 0, 1, 16);
	op3(FOP_CACHE_FILL, 0, 32, 1);
	for (unsigned i = 0; i < 60; i++)
		alloc(0, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | NOWARN, 5, 0);
	for (unsigned i = 0; i < 30; i++)
		alloc(0, LAB_GFP_ATOMIC | NOWARN, 0, 0);
	destroy(0, 0);
	ops("kswapd-and-shrinker");

	create(0, 1024, LAB_ZONE_GROW | NOKSWAPD, 4096, 0, 0, 0);
	for (unsigned i = 0; i < 12; i++)
		alloc(0, LAB_GFP_KERNEL | NOWARN, 8, 0);
	misuse(0, MIS_BOGUS_DESC, 5);
	misuse(0, MIS_BOGUS_ADDR, 5);
	op1(FOP_FREE_ALL, 0);
	ops("grow");

	create(0, 128, NOKSWAPD, 0, 0, 0, 0);
	create(1, 640, 0, 0, 0, 0, 0);
	create(2, 2000, NOKSWAPD, 0, 0, 0, 0);
	for (unsigned i = 0; i < 30; i++)
		alloc(i % 3, (i & 1 ? LAB_GFP_ATOMIC : LAB_GFP_KERNEL) | NOWARN, i % 7, i & 2);
	for (unsigned i = 0; i < 10; i++)
		free_(i % 3, i, 0);
	destroy(1, 1);
	alloc(1, LAB_GFP_KERNEL, 0, 0);
	destroy(0, 0);
	ops("three-zones");

	create(0, 1000, NOKSWAPD, 0, 0, 0, 0);
	for (unsigned o = 0; o < 8; o++)
		alloc(0, LAB_GFP_KERNEL | LAB_GFP_ZERO, o, 0);
	for (unsigned i = 0; i < 16; i++)
		op3(FOP_TRANSLATE, 0, i, i * 37);
	op1(FOP_BUDDYINFO, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_COMP | LAB_GFP_EXCLUSIVE, 2, 1);
	op1(FOP_BUDDYINFO, 0);
	ops("translate-buddyinfo-zero");

	create(0, 64, NOKSWAPD, 0, 0, 0, 0);
	for (unsigned i = 0; i < 70; i++)
		alloc(0, LAB_GFP_KERNEL | NOWARN, 0, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_NOFAIL, 0, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL, 0, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_RETRY_MAYFAIL, 6, 0);
	ops("exhausted-sleeping");

	/* References: get / free / put on plain and compound blocks; the last put
	 * frees; a put too many is reported. */
	create(0, 512, NOKSWAPD, 0, 0, 0, 0);
	alloc(0, LAB_GFP_KERNEL, 3, 0);
	alloc(0, LAB_GFP_KERNEL | LAB_GFP_COMP, 3, 0);
	alloc(0, LAB_GFP_KERNEL, 2, 0);
	for (unsigned i = 0; i < 3; i++) {
		op3(FOP_GET_PAGE, 0, i, 0);
		op3(FOP_GET_PAGE, 0, i, 0);
	}
	free_(0, 0, 0);
	free_(0, 1, 1);
	for (unsigned i = 0; i < 8; i++)
		op3(FOP_PUT_PAGE, 0, i, 0);
	op1(FOP_FREE_ALL, 0);
	ops("get-free-put");

	/* Page locks: trylock twice, unlock, unlock again (reported), free while
	 * locked with and without other references. */
	create(0, 256, NOKSWAPD, 0, 0, 0, 0);
	for (unsigned o = 0; o < 4; o++)
		alloc(0, LAB_GFP_KERNEL | (o & 1 ? LAB_GFP_COMP : 0), o, 0);
	for (unsigned i = 0; i < 4; i++) {
		op3(FOP_TRYLOCK_PAGE, 0, i, 0);
		op3(FOP_TRYLOCK_PAGE, 0, i, 0);
	}
	op3(FOP_UNLOCK_PAGE, 0, 0, 0);
	op3(FOP_UNLOCK_PAGE, 0, 0, 0);
	op3(FOP_GET_PAGE, 0, 1, 0);
	free_(0, 1, 0);
	free_(0, 2, 0);
	op3(FOP_PUT_PAGE, 0, 1, 0);
	op1(FOP_FREE_ALL, 0);
	ops("page-locks");

	/* Fault injection: probability 100 with a few times, an interval, space,
	 * fail-nth, sleeping callers included, invalid settings. */
	create(0, 1024, NOKSWAPD, 0, 0, 0, 0);
	b(FOP_FAULT_ATTR); b(1); b(1); b(3 * 4); w(0); b(0); b(0);
	for (unsigned i = 0; i < 6; i++)
		alloc(0, LAB_GFP_ATOMIC | NOWARN, i % 3, 0);
	b(FOP_FAULT_ATTR); b(1); b(3); b(0); w(8); b(0x80); b(0x83);
	for (unsigned i = 0; i < 12; i++)
		alloc(0, (i & 1 ? LAB_GFP_KERNEL : LAB_GFP_NOWAIT) | NOWARN, i % 4, i & 1);
	b(FOP_FAULT_ATTR); b(2); b(1); b(0x84); w(0); b(20); b(0);
	b(FOP_FAULT_ATTR); b(0); b(1); b(4); w(0); b(1); b(0x82);
	for (unsigned i = 0; i < 6; i++)
		alloc(0, LAB_GFP_ATOMIC | NOWARN, 1, 0);
	op3(FOP_CACHE_FILL, 0, 8, 0);
	op1(FOP_FREE_ALL, 0);
	ops("fault-injection");

	/* Random sequences: every operation byte, arguments biased to sense. */
	uint64_t s = 0x5eed;
	for (unsigned f = 0; f < 16; f++) {
		create(0, 64 + f * 61, f % 3 ? NOKSWAPD : 0, 0, 0, 0, 0);
		unsigned n = 300 + f * 40;
		for (unsigned i = 0; i < n; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			b((unsigned)(s >> 33) & 0xff);
		}
		char what[32];
		snprintf(what, sizeof(what), "random-%u", f);
		ops(what);
	}
}

static void gfp_names(void)
{
	static const struct { unsigned gfp, len; } cases[] = {
		{ 0, 8 }, { LAB_GFP_KERNEL, 64 }, { LAB_GFP_ATOMIC, 64 }, { LAB_GFP_NOWAIT, 64 },
		{ LAB_GFP_ALL_BITS, 255 }, { 0xffffffffu, 255 }, { 0x800, 16 },
		{ LAB_GFP_KERNEL | LAB_GFP_ZERO | LAB_GFP_COMP, 12 }, { LAB_GFP_ATOMIC, 0 },
		{ LAB_GFP_ATOMIC, 1 }, { LAB_GFP_NOWAIT | LAB_GFP_MEMALLOC, 11 },
		{ 0x80000000u | LAB_GFP_HIGH, 20 },
	};
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (unsigned k = 0; k < 4; k++)
			b(cases[i].gfp >> (8 * k));
		b(cases[i].len);
		save(dir_gfp, "seed", &n);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR   (writes DIR/ops and DIR/gfp_name)\n");
		return 2;
	}
	static char ops_path[512], gfp_path[512];
	snprintf(ops_path, sizeof(ops_path), "%s/ops", argv[1]);
	snprintf(gfp_path, sizeof(gfp_path), "%s/gfp_name", argv[1]);
	const char *dirs[] = { argv[1], ops_path, gfp_path };
	for (int i = 0; i < 3; i++)
		if (mkdir(dirs[i], 0755) && errno != EEXIST) {
			perror(dirs[i]);
			return 1;
		}
	dir_ops = ops_path;
	dir_gfp = gfp_path;
	scenarios();
	gfp_names();
	printf("gen_corpus: %u ops inputs, 12 gfp_name inputs in %s\n", nr_ops, argv[1]);
	return 0;
}
