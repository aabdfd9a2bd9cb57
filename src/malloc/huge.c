/*
 * huge.c - OS mappings: allocations beyond the largest block of the zone
 * (more than 4 MiB with 4 KiB pages, or aligned beyond it), and the
 * emergency path of a caller that must not wait when the zone refuses it.
 *
 * Each mapping is mmap'd alone (over-mapped and trimmed when it must be
 * aligned beyond a page), resized with mremap, and recorded in a lock-free
 * open-addressing table keyed by its start, so that free(), realloc() and
 * malloc_usable_size() know it and a pointer that starts no mapping of ours
 * is told apart.  Every operation is a few system calls that never wait for
 * a lock: async-signal-safe.
 *
 * The table: 2^16 slots of {start, length} in a NORESERVE mapping (touched
 * slots only become resident).  A slot's key is 0 (never used: a lookup
 * stops), 1 (a tombstone: freed, reusable) or a page-aligned start; an
 * insert claims an empty or tombstone slot with a compare-exchange, a free
 * turns its key into a tombstone with another, so of two racing frees of the
 * same pointer exactly one wins.
 *
 * The system calls are the OS layer's (lab__os_map, _remap, _unmap,
 * _dontdump).
 *
 * Exports lab__malloc_huge_init/map/mapping_size/unmap/remap/huge_stats.
 */
#include "malloc/malloc.h"
#include "os/os.h"

#include <errno.h>

#define TABLE_BITS 16
#define TABLE_SIZE ((size_t)1 << TABLE_BITS)
#define KEY_EMPTY 0u
#define KEY_TOMB 1u

struct slot {
	_Atomic uintptr_t key;
	_Atomic size_t len;
};

static struct slot *table;
static _Atomic uint64_t nr_live, bytes_live, nr_total;

int lab__malloc_huge_init(void)
{
	int err = 0;
	void *t = lab__os_map(TABLE_SIZE * sizeof(struct slot), true, &err);
	if (!t)
		return err;
	__atomic_store_n(&table, t, __ATOMIC_RELEASE);
	return 0;
}

static size_t hash(uintptr_t key)
{
	return (size_t)(((uint64_t)(key >> 12) * 0x9e3779b97f4a7c15ull) >> (64 - TABLE_BITS));
}

static struct slot *find(uintptr_t key)
{
	struct slot *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
	if (!t || (key & (lab_page_size() - 1)) || key <= KEY_TOMB)
		return NULL;
	for (size_t i = 0, h = hash(key); i < TABLE_SIZE; i++, h = (h + 1) & (TABLE_SIZE - 1)) {
		uintptr_t k = atomic_load_explicit(&t[h].key, memory_order_acquire);
		if (k == key)
			return &t[h];
		if (k == KEY_EMPTY)
			return NULL;
	}
	return NULL;
}

static bool insert(uintptr_t key, size_t len)
{
	struct slot *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
	if (!t)
		return false;
	for (size_t i = 0, h = hash(key); i < TABLE_SIZE; i++, h = (h + 1) & (TABLE_SIZE - 1)) {
		uintptr_t k = atomic_load_explicit(&t[h].key, memory_order_relaxed);
		if (k != KEY_EMPTY && k != KEY_TOMB)
			continue;
		/* The length first: a lookup that finds the key finds its length. */
		atomic_store_explicit(&t[h].len, len, memory_order_relaxed);
		if (atomic_compare_exchange_strong_explicit(&t[h].key, &k, key, memory_order_release,
							    memory_order_relaxed)) {
			atomic_fetch_add_explicit(&nr_live, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&nr_total, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&bytes_live, len, memory_order_relaxed);
			return true;
		}
	}
	return false;
}

/* Claim the slot of key for removal; false if another free got it first. */
static bool claim(struct slot *s, uintptr_t key, size_t *len)
{
	*len = atomic_load_explicit(&s->len, memory_order_relaxed);
	uintptr_t k = key;
	if (!atomic_compare_exchange_strong_explicit(&s->key, &k, KEY_TOMB, memory_order_acq_rel,
						     memory_order_relaxed))
		return false;
	atomic_fetch_sub_explicit(&nr_live, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&bytes_live, *len, memory_order_relaxed);
	return true;
}

static size_t round_pages(size_t size)
{
	size_t ps = lab_page_size();
	return size > SIZE_MAX - ps ? 0 : (size + ps - 1) & ~(ps - 1);
}

void *lab__malloc_map(size_t size, size_t align)
{
	size_t ps = lab_page_size();
	size_t len = round_pages(size ? size : 1);
	if (!len || (align > ps && len > SIZE_MAX - align)) {
		errno = ENOMEM;
		return NULL;
	}
	size_t span = align > ps ? len + align : len;
	int err = 0;
	char *raw = lab__os_map(span, false, &err);
	if (!raw) {
		errno = ENOMEM;
		return NULL;
	}
	char *start = raw;
	if (align > ps) {
		start = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
		if (start > raw)
			lab__os_unmap(raw, (size_t)(start - raw));
		size_t tail = span - (size_t)(start - raw) - len;
		if (tail)
			lab__os_unmap(start + len, tail);
	}
	if (lab__malloc_heap.opt.secure)
		lab__os_dontdump(start, len);
	if (!insert((uintptr_t)start, len)) {
		lab__os_unmap(start, len);
		errno = ENOMEM;
		return NULL;
	}
	return start;
}

size_t lab__malloc_mapping_size(const void *p)
{
	struct slot *s = find((uintptr_t)p);
	return s ? atomic_load_explicit(&s->len, memory_order_relaxed) : 0;
}

void lab__malloc_unmap(void *p)
{
	struct slot *s = find((uintptr_t)p);
	size_t len;
	if (!s || !claim(s, (uintptr_t)p, &len))
		lab__malloc_bad_pointer("free", p, "a mapping of ours freed twice");
	lab__os_unmap(p, len);
}

void *lab__malloc_remap(void *p, size_t size)
{
	struct slot *s = find((uintptr_t)p);
	size_t len = round_pages(size);
	if (!s || !len) {
		errno = ENOMEM;
		return NULL;
	}
	size_t old = atomic_load_explicit(&s->len, memory_order_relaxed);
	if (len == old)
		return p;
	int err = 0;
	void *q = lab__os_remap(p, old, len, &err);
	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	if (q == p) {
		atomic_store_explicit(&s->len, len, memory_order_relaxed);
		atomic_fetch_add_explicit(&bytes_live, len - old, memory_order_relaxed);
		return q;
	}
	/* Moved: the old key goes, the new one comes (the caller owns both). */
	size_t gone;
	claim(s, (uintptr_t)p, &gone);
	if (!insert((uintptr_t)q, len))  /* p is gone already: nothing honest is left */
		lab__malloc_bad_pointer("realloc", q, "the table of mappings is full");
	if (lab__malloc_heap.opt.secure)
		lab__os_dontdump(q, len);
	return q;
}

void lab__malloc_huge_stats(uint64_t *mappings, uint64_t *bytes, uint64_t *total)
{
	*mappings = atomic_load(&nr_live);
	*bytes = atomic_load(&bytes_live);
	*total = atomic_load(&nr_total);
}
