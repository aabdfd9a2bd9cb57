/*
 * boot.c - bringing the heap up on first use, whenever that is: from the
 * dynamic loader, from another library's constructor before ours, or from
 * our own constructor (the usual case).
 *
 * The first call makes everything without waiting for anyone: the options
 * (LABYRINTH_MALLOC_*, base/option.c's rows, read without allocating), the
 * mapping table, the zone (the slab layer's default zone, made from
 * LABYRINTH_MALLOC_ZONE over our defaults: 4 MiB to start, growable to the
 * machine's memory, faulted in lazily as glibc's heap is, so that resident
 * memory follows use), the size classes, the grower, the fork handlers.
 * Making them allocates (glibc's pthread_atfork): those calls come back
 * into malloc on this thread, and every call from any thread while the heap
 * is not up is served from a static bootstrap arena (then OS mappings),
 * never made to wait: a thread that waited here could hold the loader's
 * lock the bringing-up needs.  Bootstrap blocks stay valid for good; free()
 * knows them; the last one freed is reused (LIFO).
 *
 * What may call malloc and needs libc initialised, the zone's start
 * (lab__zone_start: kswapd's thread, the unwinder's first load), waits for
 * our constructor: pthread_create from inside the dynamic loader's start-up
 * is not safe.
 *
 * Exports lab__malloc_heap, lab__malloc_boot, lab__malloc_depth,
 * lab__malloc_boot_up and the arena's functions (malloc.h).
 */
#include "malloc/malloc.h"
#include "os/env.h"
#include "page/zone.h"

#include <errno.h>
#include <string.h>

struct lab_malloc_heap lab__malloc_heap;
_Atomic int lab__malloc_boot;
_Thread_local unsigned int lab__malloc_depth __attribute__((tls_model("initial-exec")));

/* The zone's first size in bytes (lazy: nothing resident until touched). */
#define INITIAL_BYTES ((size_t)4 << 20)

/* ---- the bootstrap arena ------------------------------------------------ */

#define ARENA_BYTES (1u << 20)
/* Each block: a header with its size, then the block (MALLOC_ALIGN-aligned). */
struct boot_hdr {
	size_t size;
	size_t start;        /* arena offset where the block's space began */
};
static_assert(sizeof(struct boot_hdr) == MALLOC_ALIGN, "header keeps alignment");

static char arena[ARENA_BYTES] __attribute__((aligned(4096)));
static _Atomic size_t arena_top;
/* Bytes below this were handed out once: above it, the arena is still as
 * the loader zeroed it (a large calloc there touches nothing). */
static _Atomic size_t arena_used;

void *lab__malloc_boot_alloc(size_t size, size_t align, bool *fresh)
{
	if (align < MALLOC_ALIGN)
		align = MALLOC_ALIGN;
	if (size > ARENA_BYTES || align > ARENA_BYTES / 4)
		return NULL;
	size = (size + MALLOC_ALIGN - 1) & ~(size_t)(MALLOC_ALIGN - 1);
	size_t top = atomic_load_explicit(&arena_top, memory_order_relaxed);
	for (;;) {
		uintptr_t base = (uintptr_t)arena;
		uintptr_t p = (base + top + sizeof(struct boot_hdr) + align - 1) & ~(uintptr_t)(align - 1);
		size_t end = (size_t)(p - base) + size;
		if (end > ARENA_BYTES)
			return NULL;
		if (atomic_compare_exchange_weak_explicit(&arena_top, &top, end,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			struct boot_hdr *h = (struct boot_hdr *)p - 1;
			size_t used = atomic_load_explicit(&arena_used, memory_order_relaxed);
			*fresh = (size_t)(p - base) >= used;
			while (used < end && !atomic_compare_exchange_weak(&arena_used, &used, end))
				;
			h->size = size;
			h->start = top;
			lab__malloc_event(EV_boot);
			return (void *)p;
		}
	}
}

bool lab__malloc_in_boot(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)arena && (uintptr_t)p < (uintptr_t)arena + ARENA_BYTES;
}

size_t lab__malloc_boot_size(const void *p)
{
	size_t off = (size_t)((uintptr_t)p - (uintptr_t)arena);
	if (off < sizeof(struct boot_hdr) || off % MALLOC_ALIGN ||
	    off >= atomic_load_explicit(&arena_top, memory_order_relaxed))
		return 0;
	const struct boot_hdr *h = (const struct boot_hdr *)p - 1;
	/* A header of ours says it ends within the arena and began before it. */
	if (!h->size || h->start >= off || off + h->size > ARENA_BYTES)
		return 0;
	return h->size;
}

void lab__malloc_boot_free(void *p)
{
	struct boot_hdr *h = (struct boot_hdr *)p - 1;
	size_t end = (size_t)((uintptr_t)p - (uintptr_t)arena) + h->size;
	/* The last block comes back (what start-up allocates and frees in turn);
	 * others stay as they are. */
	size_t top = end;
	atomic_compare_exchange_strong_explicit(&arena_top, &top, h->start, memory_order_relaxed,
						memory_order_relaxed);
}

/* ---- bringing the heap up ------------------------------------------------ */

static bool boot(void)
{
	struct lab_malloc_options opt = {
		.secure = lab__option_get(LAB_OPT_MALLOC_SECURE) == 1,
		.stats = lab__option_get(LAB_OPT_MALLOC_STATS) == 1,
	};
	lab__option_check_unknown("LABYRINTH_MALLOC_");
	lab__malloc_heap.opt = opt;
	if (opt.stats)
		lab__malloc_counters_init();
	int err = lab__malloc_huge_init();
	if (err) {
		lab__malloc_say("cannot map the table of mappings: out of memory\n");
		return false;
	}
	/* Our zone is the slab layer's default zone (the caches' metadata lives
	 * there anyway), made with our variable and defaults, started by us. */
	unsigned int flags = LAB_ZONE_GROW | LAB_ZONE_LAZY | (opt.secure ? LAB_ZONE_NODUMP : 0);
	lab__slab_default_zone_setup(LAB_OPT_MALLOC_ZONE, INITIAL_BYTES / lab_page_size(), 0, flags,
				     true);
	struct lab_zone *z = lab_default_zone();
	if (!z) {
		lab__malloc_say("cannot make the heap zone; every allocation will be a mapping "
				"of its own\n");
		return false;
	}
	err = lab__malloc_heap_init(z);
	if (!err)
		err = lab__malloc_grow_init(z);
	if (err) {
		lab__malloc_say("cannot make the size classes; every allocation will be a "
				"mapping of its own\n");
		return false;
	}
	lab__malloc_fork_init();
	lab__malloc_heap.base = (uintptr_t)z->base;
	lab__malloc_heap.pages = z->pages;
	lab__malloc_heap.shift = z->page_shift;
	__atomic_store_n(&lab__malloc_heap.zone, z, __ATOMIC_RELEASE);
	lab__malloc_heap_sync();
	return true;
}

bool lab__malloc_boot_up(void)
{
	int st = atomic_load_explicit(&lab__malloc_boot, memory_order_acquire);
	if (lab_likely(st == BOOT_READY))
		return true;
	if (st != BOOT_NONE)
		return false;  /* being brought up (maybe by us), or it failed */
	if (!atomic_compare_exchange_strong(&lab__malloc_boot, &st, BOOT_RUNNING))
		return false;
	int saved = errno;
	bool ok = boot();
	atomic_store_explicit(&lab__malloc_boot, ok ? BOOT_READY : BOOT_FAILED,
			      memory_order_release);
	errno = saved;
	return ok;
}

/*
 * libc is up (our constructor): bring the heap up if nobody needed it yet,
 * then start the zone: kswapd (with every signal blocked: os/thread.h) and
 * the unwinder.  Their allocations are ordinary calls of this thread.
 */
static void up_and_start(void)
{
	static _Atomic bool started;
	lab__malloc_enter();
	bool up = lab__malloc_boot_up();
	lab__malloc_exit();
	if (!up || atomic_exchange(&started, true))
		return;
	int saved = errno;
	int err = lab__zone_start(lab__malloc_heap.zone);
	if (err)
		lab__malloc_say("cannot start kswapd for the heap zone (errno %d); it grows only "
				"when a call needs it\n", -err);
	errno = saved;
}

#ifndef LAB_MALLOC_TEST_NAMES
__attribute__((constructor)) static void malloc_constructor(void)
{
	up_and_start();
}

__attribute__((destructor)) static void malloc_destructor(void)
{
	if (lab__malloc_heap.opt.stats)
		lab__malloc_print_stats();
}
#else
/* The test library: brought up by its first call, or here with kswapd. */
void lab__test_malloc_up(void)
{
	up_and_start();
}
#endif
