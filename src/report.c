/*
 * report.c - what the allocator says when something is wrong: "BUG: Bad page
 * state" reports (rate limited as the kernel's bad_page()), allocation
 * failure warnings (rate limited as warn_alloc()), and gfp decoding.
 *
 * Reports format into a stack buffer and write(2) it: no malloc, no stdio
 * locks, so they are safe where the allocator itself is (signal handlers).
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lab__printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* At most burst messages per interval; returns true when this one may print. */
bool lab__ratelimit(_Atomic uint64_t *window, _Atomic uint32_t *count, unsigned burst,
		    uint64_t interval_ns)
{
	uint64_t now = os_now_ns();
	uint64_t start = atomic_load(window);
	if (now - start >= interval_ns && atomic_compare_exchange_strong(window, &start, now))
		atomic_store(count, 0);
	return atomic_fetch_add(count, 1) < burst;
}

static const char *const gfp_names[] = {
	"HIGH", "ZERO", "NOWARN", "NOFAIL", "NORETRY", "RETRY_MAYFAIL", "MEMALLOC",
	"COMP", "DIRECT_RECLAIM", "KSWAPD_RECLAIM", "EXCLUSIVE",
};

const char *lab_gfp_name(lab_gfp_t gfp, char *buf, size_t len)
{
	struct { lab_gfp_t mask; const char *name; } composites[] = {
		{ LAB_GFP_KERNEL, "GFP_KERNEL" }, { LAB_GFP_ATOMIC, "GFP_ATOMIC" },
		{ LAB_GFP_NOWAIT, "GFP_NOWAIT" },
	};
	size_t used = 0;
	if (!len)
		return buf;
	buf[0] = '\0';
	/* Name the composite first when all its bits are there, as %pGg does. */
	for (size_t i = 0; i < sizeof(composites) / sizeof(composites[0]); i++) {
		if ((gfp & composites[i].mask) == composites[i].mask) {
			used += (size_t)snprintf(buf + used, len - used, "%s", composites[i].name);
			gfp &= ~composites[i].mask;
			break;
		}
	}
	for (unsigned int bit = 0; gfp && used < len; bit++) {
		lab_gfp_t m = 1u << bit;
		if (!(gfp & m))
			continue;
		gfp &= ~m;
		const char *name = bit < sizeof(gfp_names) / sizeof(gfp_names[0]) ? gfp_names[bit] : NULL;
		if (name)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "", name);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%#x", used ? "|" : "", m);
	}
	if (!used)
		snprintf(buf, len, "0");
	return buf;
}

static const char *const pg_names[] = {
	"locked", "waiters", "buddy", "allocated", "head", "exclusive", "bad", "deferred",
	"guard",
};

static void decode_flags(uint32_t flags, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned int bit = 0; bit < sizeof(pg_names) / sizeof(pg_names[0]) && used < len; bit++)
		if (flags & (1u << bit))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
						 pg_names[bit]);
}

/* bad_page(): at most 60 reports, then a minute of silence with a count. */
static _Atomic uint64_t bad_window;
static _Atomic uint32_t bad_shown;
static _Atomic uint64_t bad_suppressed;
#define BAD_PAGE_BURST 60
#define BAD_PAGE_INTERVAL_NS (60ull * 1000 * 1000 * 1000)

static bool bad_page_may_print(void)
{
	if (!lab__ratelimit(&bad_window, &bad_shown, BAD_PAGE_BURST, BAD_PAGE_INTERVAL_NS)) {
		atomic_fetch_add(&bad_suppressed, 1);
		return false;
	}
	uint64_t missed = atomic_exchange(&bad_suppressed, 0);
	if (missed)
		lab__printk("BUG: Bad page state: %llu messages suppressed\n",
			    (unsigned long long)missed);
	return true;
}

void lab__bad_page(struct lab_zone *z, const struct lab_page *p, const char *reason)
{
	zone_stat_inc(z, bad_page);
	if (!bad_page_may_print())
		return;
	char comm[17], flags[96];
	os_thread_name(comm, sizeof(comm));
	uint32_t f = page_flags(p);
	decode_flags(f, flags, sizeof(flags));
	lab__printk("BUG: Bad page state in process %s  pfn:%05zx\n"
		    "page:%p zone:%s refcount:%d order:%u owner:%u\n"
		    "flags: %#x(%s)\n"
		    "page dumped because: %s\n",
		    comm, page_to_pfn(z, p), (const void *)p, z->name,
		    (int)atomic_load(&p->refcount), p->order, p->owner, f, flags, reason);
}

void lab__bad_pointer(const void *ptr, const char *reason)
{
	if (!bad_page_may_print())
		return;
	char comm[17];
	os_thread_name(comm, sizeof(comm));
	lab__printk("BUG: Bad page state in process %s  pointer:%p\n"
		    "page dumped because: %s\n", comm, ptr, reason);
}

/* warn_alloc(): DEFAULT_RATELIMIT_INTERVAL 5 s, burst 10. */
void lab__warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order, const char *why)
{
	static _Atomic uint64_t window;
	static _Atomic uint32_t shown;
	if (!lab__ratelimit(&window, &shown, 10, 5ull * 1000 * 1000 * 1000))
		return;
	char comm[17], mode[160];
	os_thread_name(comm, sizeof(comm));
	lab_gfp_name(gfp, mode, sizeof(mode));
	lab__printk("labyrinth: %s: %s: order:%u, mode:%#x(%s), zone:%s free:%zu min:%zu "
		    "low:%zu high:%zu\n",
		    comm, why, order, gfp, mode, z->name,
		    atomic_load(&z->nr_free_snapshot), atomic_load(&z->wmark[WMARK_MIN]),
		    atomic_load(&z->wmark[WMARK_LOW]), atomic_load(&z->wmark[WMARK_HIGH]));
}
