/*
 * fuzz.h - what the fuzz targets (tests/fuzz/fuzz_*.c), their drivers
 * (libFuzzer, or standalone.c for AFL++ and corpus replay) and the corpus
 * generator (gen_corpus.c) share: the entry points and the input formats.
 */
#ifndef LAB_FUZZ_H
#define LAB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's interface; standalone.c calls the same functions. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * fuzz_ops input: a sequence of operations, each one byte (taken modulo
 * FOP_NR) followed by its argument bytes (little-endian u16s).  Missing
 * bytes read as zero.  "slot" picks one of FUZZ_ZONES zones; an empty slot
 * means a NULL zone.  Adding an operation renumbers the ones after it: run
 * gen_corpus again.
 */
#define FUZZ_ZONES 3
#define FUZZ_MAX_PAGES 2048   /* pages of a zone at creation (GROW: up to 4x) */
#define FUZZ_SMALL_PAGES 512  /* ... when bit 15 of the field is clear */
#define FUZZ_MAX_CREATES 6    /* valid zone creations per input; more are skipped */

enum fuzz_op {
	FOP_ZONE_CREATE,  /* slot, pages u16 (bit 15: up to FUZZ_MAX_PAGES, else up to
			     FUZZ_SMALL_PAGES), flags u8 (bit 7: one bit 1 << (flags & 31)), max mode
			     u8, max u16, wmark mode u8 (0 derive, 1 ordered, 2 raw), min
			     u16, low u16, high u16, scale u16, named u8 */
	FOP_ZONE_DESTROY, /* slot, free everything first u8 */
	FOP_ALLOC,        /* slot, gfp u16, order u8, by address u8 */
	FOP_FREE,         /* slot, which u8, by address u8 */
	FOP_MISUSE,       /* slot, kind u8, which u8 */
	FOP_SHRINKER,     /* slot, seeks u8, batch u8: register, or unregister if registered */
	FOP_CACHE_FILL,   /* slot, count u8, sleeping u8 */
	FOP_TRANSLATE,    /* slot, which u8, offset u16 */
	FOP_BUDDYINFO,    /* slot */
	FOP_FREE_ALL,     /* slot */
	FOP_GET_PAGE,     /* slot, which u8: one more reference to a live block */
	FOP_PUT_PAGE,     /* slot, which u8: drop one (the last frees the block) */
	FOP_TRYLOCK_PAGE, /* slot, which u8 */
	FOP_UNLOCK_PAGE,  /* slot, which u8 (of a page not locked: a Bad page report) */
	FOP_FAULT_ATTR,   /* probability u8 (0, 100 or invalid), interval u8, times u8,
			     space u16, min order u8, fail-nth u8 (bit 7: set it to bits 0..3) */
	/* Issue 4 (exclusive pages): exclusive zone flags in FOP_ZONE_CREATE,
	 * FOP_ALLOC_EXCLUSIVE goes here. */
	FOP_NR
};

/* Misuse kinds (FOP_MISUSE, kind modulo MIS_NR). */
enum fuzz_misuse {
	MIS_DOUBLE_FREE,   /* a recently freed block again, with its order */
	MIS_WRONG_ORDER,   /* a live block with another order: leaked */
	MIS_TAIL,          /* a tail page of a live block */
	MIS_FREE_MEMORY,   /* a page that is free */
	MIS_ORDER_TOO_BIG, /* a live block with order > LAB_MAX_ORDER: leaked */
	MIS_BOGUS_DESC,    /* NULL, the stack, a misaligned descriptor, past the zone */
	MIS_BOGUS_ADDR,    /* lab_free_pages_addr: NULL, stack, unaligned, past the zone */
	MIS_NR
};

/* fuzz_gfp_name input: gfp u32, buffer length u8. */

/*
 * fuzz_slab input: operations, each one byte (taken modulo its count, see
 * fuzz_slab.c) and its arguments, on FUZZ_CACHES caches of one 1024-page
 * zone and on kmalloc:
 *   create slot u8, size u16, align u8 (bit 7: 8 << (x % 7)), flags u8 (bits:
 *          HWCACHE Z P U F EXCLUSIVE ctor invalid); destroy slot; alloc slot,
 *          gfp u8 (one of 8); free slot, which u8; bulk slot, n u8, mode u8
 *          (bit 0 free, bits 1..3 gfp); sheaf slot, n u8 (prefill, or return);
 *          sheaf_alloc slot; kmalloc size u16 (bit 15: x4), gfp u8 (bit 0
 *          KERNEL, 1 EXCLUSIVE, 2 ZERO); kfree which u8, how u8 (bit 0
 *          krealloc with size u16, bit 1 kfree_sensitive); shrink slot (255:
 *          all kmalloc); misuse slot, kind u8, which u8; failslab on u8; check
 */
#define FUZZ_CACHES 4

#endif
