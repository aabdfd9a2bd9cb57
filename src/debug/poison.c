/*
 * poison.c - page poisoning, as the kernel's page_poison: with
 * LAB_ZONE_POISON (or LABYRINTH_POISON=1) freed blocks are filled with 0xaa
 * and the fill is verified when they are handed out again; a difference is a
 * write after free, reported as "pagealloc: memory corruption" with its
 * offset and first differing bytes.
 *
 * Also, in every zone, free pages are made unaddressable for the tools people
 * already use: AddressSanitizer's manual poisoning when built with ASan, and
 * Valgrind memcheck's client requests (when built with <valgrind/memcheck.h>
 * and running under Valgrind), so a use after free of a page is theirs to
 * report.
 *
 * Exports lab__poison_zone_debug/free/alloc/new_range/zone_fini (hooks), and
 * lab__sanitizer_mark_free/allocated for the slab layer's objects.
 */
#include "base/compiler.h"
#include "base/fmt.h"
#include "base/ratelimit.h"
#include "os/env.h"
#include "os/os.h"
#include "os/printk.h"
#include "page/page.h"
#include "page/zone.h"
#include "secure/hooks.h"
#include "debug/page_owner.h"
#include "debug/poison.h"

#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define LAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAB_ASAN 1
#endif
#endif

#ifdef LAB_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef LAB_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#endif

#define PAGE_POISON 0xaa

static bool on_valgrind;

__attribute__((constructor)) static void detect_valgrind(void)
{
#ifdef LAB_HAVE_VALGRIND
	on_valgrind = RUNNING_ON_VALGRIND;
#endif
}

unsigned int lab__poison_zone_debug(unsigned int zone_flags)
{
	unsigned int d = 0;
	if ((zone_flags & LAB_ZONE_POISON) || lab__option_get(LAB_OPT_POISON) == 1)
		d |= ZONE_DEBUG_POISON;
#ifdef LAB_ASAN
	d |= ZONE_DEBUG_SANITIZE;
#endif
	if (on_valgrind)
		d |= ZONE_DEBUG_SANITIZE;
	return d;
}

/* The tools' view of memory: free pages (and the slab layer's free objects)
 * are out of bounds. */
void lab__sanitizer_mark_free(void *mem, size_t len)
{
#ifdef LAB_ASAN
	__asan_poison_memory_region(mem, len);
#endif
#ifdef LAB_HAVE_VALGRIND
	if (on_valgrind)
		(void)VALGRIND_MAKE_MEM_NOACCESS(mem, len);
#endif
	(void)mem;
	(void)len;
}

/* defined: the allocator itself is about to read the poison. */
void lab__sanitizer_mark_allocated(void *mem, size_t len, bool defined)
{
#ifdef LAB_ASAN
	__asan_unpoison_memory_region(mem, len);
#endif
#ifdef LAB_HAVE_VALGRIND
	if (on_valgrind) {
		if (defined)
			(void)VALGRIND_MAKE_MEM_DEFINED(mem, len);
		else
			(void)VALGRIND_MAKE_MEM_UNDEFINED(mem, len);
	}
#endif
	(void)mem;
	(void)len;
	(void)defined;
}

/*
 * The one place poison is written.  Plain memset for now; pages that only
 * their owner may write (protection keys) will route through here.
 */
/* Through the zone's write window: pages with a protection key are written
 * whatever the calling thread's grants (secure/pkey.c). */
static void poison_write(const struct lab_zone *z, void *mem, size_t len)
{
	uint32_t saved = lab__zone_write_begin(z);
	memset(mem, PAGE_POISON, len);
	lab__zone_write_end(z, saved);
}

static size_t block_bytes(const struct lab_zone *z, unsigned int order)
{
	return z->page_size << order;
}

void lab__poison_free(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	void *mem = lab_page_address(page);
	size_t len = block_bytes(z, order);
	if (z->debug & ZONE_DEBUG_POISON)
		poison_write(z, mem, len);
	if (z->debug & ZONE_DEBUG_SANITIZE)
		lab__sanitizer_mark_free(mem, len);
}

void lab__poison_new_range(struct lab_zone *z, size_t first, size_t nr)
{
	/* A guard pfn (secure/protect.c) is no memory: nothing to fill or mark. */
	if (nr && (page_flags(pfn_to_page(z, first)) & PG_guard)) {
		first++;
		nr--;
	}
	void *mem = z->base + (first << z->page_shift);
	size_t len = nr << z->page_shift;
	if (z->debug & ZONE_DEBUG_POISON)
		poison_write(z, mem, len);
	if (z->debug & ZONE_DEBUG_SANITIZE)
		lab__sanitizer_mark_free(mem, len);
}

/* First byte that is not the poison, or len.  Word at a time: pages are aligned. */
static size_t first_difference(const unsigned char *mem, size_t len)
{
	const uint64_t pattern = 0x0101010101010101ull * PAGE_POISON;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, mem + i, 8);
		if (w != pattern)
			break;
	}
	for (; i < len; i++)
		if (mem[i] != PAGE_POISON)
			return i;
	return len;
}

static bool single_bit_flip(unsigned char c)
{
	unsigned char x = c ^ PAGE_POISON;
	return x && !(x & (x - 1));
}

/* check_poison_mem(): report the differing range, rate limited 10 per 5 s. */
static void report_corruption(struct lab_zone *z, struct lab_page *page, unsigned int order,
			      const unsigned char *mem, size_t start, size_t len)
{
	static struct lab__ratelimit limit = LAB_RATELIMIT_INIT("pagealloc: memory corruption");
	size_t end = len - 1;
	while (end > start && mem[end] == PAGE_POISON)
		end--;
	zone_stat_inc(z, poison_corrupt);
	if (!lab__ratelimit(&limit, 10, 5ull * 1000 * 1000 * 1000))
		return;
	char comm[17], hex[16 * 3 + 1];
	lab__os_thread_name(comm, sizeof(comm));
	size_t show = end - start + 1 < 16 ? end - start + 1 : 16;
	for (size_t i = 0; i < show; i++)
		lab__snprintf(hex + 3 * i, 4, "%02x ", mem[start + i]);
	hex[3 * show - 1] = '\0';
	lab__printk("pagealloc: %s in process %s zone:%s pfn:%05zx order:%u\n"
		    "pagealloc: bytes %#zx..%#zx of the block differ from the poison 0x%02x "
		    "(written after free)\n"
		    "%08zx: %s\n",
		    start == end && single_bit_flip(mem[start]) ? "single bit error"
								 : "memory corruption",
		    comm, z->name, page_to_pfn(z, page), order, start, end, PAGE_POISON,
		    start, hex);
	if (lab__page_owner_on(z))
		lab__page_owner_dump_bad(z, page);
}

void lab__poison_alloc(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	unsigned char *mem = lab_page_address(page);
	size_t len = block_bytes(z, order);
	bool poisoned = z->debug & ZONE_DEBUG_POISON;
	if (z->debug & ZONE_DEBUG_SANITIZE)
		lab__sanitizer_mark_allocated(mem, len, poisoned);
	if (!poisoned)
		return;
	uint32_t saved = lab__zone_write_begin(z);
	size_t at = first_difference(mem, len);
	if (lab_unlikely(at < len))
		report_corruption(z, page, order, mem, at, len);
	lab__zone_write_end(z, saved);
#ifdef LAB_HAVE_VALGRIND
	/* Contents are garbage to the new owner until written. */
	if (on_valgrind)
		(void)VALGRIND_MAKE_MEM_UNDEFINED(mem, len);
#endif
}

/* Before the zone's memory goes back to the OS: ASan's shadow outlives it. */
void lab__poison_zone_fini(struct lab_zone *z)
{
#ifdef LAB_ASAN
	if (z->debug & ZONE_DEBUG_SANITIZE)
		__asan_unpoison_memory_region(z->base, atomic_load(&z->managed) << z->page_shift);
#endif
	(void)z;
}
