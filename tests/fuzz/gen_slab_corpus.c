/*
 * gen_slab_corpus.c - writes the seed corpus of fuzz_slab:
 *     gen_slab_corpus DIR   ->  DIR/NN-what
 * Scenarios in the format of fuzz.h: every operation, every kind of cache
 * (plain, debugged, constructed, exclusive, aligned), the zone run down to
 * its watermarks, every misuse, sheaves, kmalloc of every size class, large
 * and exclusive blocks, krealloc, failslab; then random sequences from a
 * fixed seed.  Run it again after changing the format (tests/fuzz/corpus/slab
 * is its output, committed).
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[8192];
static size_t len;
static const char *dir;
static unsigned nr;

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

enum { CREATE, DESTROY, ALLOC, FREE, BULK, SHEAF, SHEAF_ALLOC, KMALLOC, KFREE, SHRINK, MISUSE,
       FAILSLAB, CHECK };
enum { F_HW = 1, F_Z = 2, F_P = 4, F_U = 8, F_F = 16, F_EXCL = 32, F_CTOR = 64, F_BAD = 128 };

static void create(unsigned slot, unsigned size, unsigned align, unsigned flags)
{
	b(CREATE); b(slot); w(size - 1); b(align); b(flags);
}

static void alloc(unsigned slot, unsigned gfp) { b(ALLOC); b(slot); b(gfp); }
static void free_(unsigned slot, unsigned which) { b(FREE); b(slot); b(which); }
static void kmalloc(unsigned size, unsigned gfp) { b(KMALLOC); w(size); b(gfp); }

static void save(const char *what)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%02u-%s", dir, nr++, what);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	len = 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_slab_corpus DIR\n");
		return 2;
	}
	dir = argv[1];

	/* Every operation once, on a plain cache. */
	create(0, 64, 0, 0);
	for (int i = 0; i < 8; i++)
		alloc(0, (unsigned)i);
	free_(0, 0); free_(0, 3);
	b(BULK); b(0); b(40); b(0);
	b(BULK); b(0); b(20); b(1);
	b(SHEAF); b(0); b(16);
	for (int i = 0; i < 20; i++) { b(SHEAF_ALLOC); b(0); }
	b(SHEAF); b(0); b(0);
	kmalloc(100, 0); kmalloc(5000, 1); kmalloc(0x8000 | 3000, 1); kmalloc(32, 2);
	b(KFREE); b(0); b(0);
	b(KFREE); b(0); b(1); w(9000);
	b(KFREE); b(0); b(2);
	b(SHRINK); b(0); b(SHRINK); b(255);
	b(MISUSE); b(0); b(1); b(0);
	b(CHECK);
	b(DESTROY); b(0);
	save("every-operation");

	/* Every kind of cache, side by side. */
	create(0, 40, 0, F_Z | F_P | F_U | F_F);
	create(1, 24, 0, F_CTOR);
	create(2, 32, 0, F_EXCL);
	create(3, 100, 0x80 | 3, F_HW);
	for (int round = 0; round < 3; round++) {
		for (int s = 0; s < 4; s++)
			for (int i = 0; i < 30; i++)
				alloc((unsigned)s, (unsigned)(i % 3));
		for (int s = 0; s < 4; s++)
			for (int i = 0; i < 25; i++)
				free_((unsigned)s, (unsigned)i * 7);
	}
	alloc(1, 3);          /* ZERO with a constructor: EINVAL */
	alloc(0, 6);          /* EXCLUSIVE from a plain cache: EINVAL */
	alloc(2, 6);          /* and from an exclusive one: fine */
	alloc(0, 4);          /* unknown bits */
	alloc(0, 5);          /* NOFAIL without sleeping */
	create(3, 64, 0, F_BAD);
	create(3, 64, 1, F_BAD);
	b(CHECK);
	save("every-kind-of-cache");

	/* The zone run down: 1024 pages of 2 KiB objects, atomic and not. */
	create(0, 2048, 0, 0);
	for (int i = 0; i < 600; i++)
		alloc(0, i % 2);
	b(CHECK);
	for (int i = 0; i < 600; i++)
		free_(0, 0);
	b(SHRINK); b(0);
	for (int i = 0; i < 200; i++) {
		b(BULK); b(0); b(255); b(2);  /* 255 at a time, KERNEL|NORETRY: some fail whole */
	}
	save("zone-down-to-its-marks");

	/* Every misuse. */
	create(0, 48, 0, 0);
	create(1, 48, 0, F_F | F_Z);
	for (int i = 0; i < 10; i++) {
		alloc(0, 0);
		alloc(1, 0);
	}
	for (unsigned kind = 0; kind < 5; kind++)
		for (unsigned s = 0; s < 2; s++) {
			b(MISUSE); b(s); b(kind); b(kind * 3);
		}
	b(CHECK);
	save("every-misuse");

	/* Sheaves against an exhausted cache. */
	create(0, 512, 0, 0);
	b(SHEAF); b(0); b(63);
	for (int i = 0; i < 400; i++)
		alloc(0, 0);
	for (int i = 0; i < 70; i++) { b(SHEAF_ALLOC); b(0); }
	b(SHEAF); b(0); b(0);
	save("sheaf-on-an-exhausted-cache");

	/* kmalloc: every class, large blocks, exclusive, krealloc up and down. */
	for (unsigned size = 1; size <= 8192; size = size * 2 + 1)
		for (unsigned g = 0; g < 8; g++)
			kmalloc(size, g);
	kmalloc(0, 0);
	kmalloc(0x8000 | 10000, 1);
	kmalloc(0x8000 | 10000, 3);
	for (int i = 0; i < 40; i++) {
		b(KFREE); b((unsigned)i * 5); b(1); w((unsigned)(i * 997) % 9000);
	}
	for (int i = 0; i < 60; i++) {
		b(KFREE); b(0); b((unsigned)i % 4);
	}
	save("kmalloc-classes-large-exclusive-krealloc");

	/* failslab on and off. */
	create(0, 64, 0, 0);
	for (int i = 0; i < 10; i++)
		alloc(0, 0);
	b(FAILSLAB); b(1);
	for (int i = 0; i < 10; i++) {
		alloc(0, (unsigned)i % 3);
		kmalloc(64, (unsigned)i % 2);
	}
	b(FAILSLAB); b(0);
	for (int i = 0; i < 10; i++)
		alloc(0, 0);
	save("failslab");

	/* Random sequences from a fixed seed. */
	uint64_t x = 0x5eed5eed5eedull;
	for (int k = 0; k < 6; k++) {
		for (int i = 0; i < 1500; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			b((unsigned)(x >> 40));
		}
		char what[32];
		snprintf(what, sizeof(what), "random-%d", k);
		save(what);
	}
	return 0;
}
