/*
 * report.c - what the allocator says when something is wrong: "BUG: Bad page
 * state" reports (rate limited as the kernel's bad_page()), allocation
 * failure warnings (rate limited as warn_alloc()), and gfp decoding.  The
 * rate limits (lab__ratelimit) count what they hold back and say so in one
 * line when the next interval opens, or at exit.
 *
 * Reports format into a stack buffer and write(2) it: no malloc, no stdio
 * locks, so they are safe where the allocator itself is (signal handlers).
 */
#include "base/ratelimit.h"
#include "os/os.h"
#include "page/badpage.h"
#include "page/page.h"
#include "page/reclaim.h"
#include "page/zone.h"
#include "debug/hooks.h"

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
	lab__os_write_stderr(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* ---- rate limits ------------------------------------------------------ */

/* Limits that held a message back, for the count at exit (pushed once each,
 * never removed: they are static). */
static struct lab__ratelimit *_Atomic limits_held;

static void print_suppressed(struct lab__ratelimit *rs)
{
	uint64_t missed = atomic_exchange(&rs->missed, 0);
	if (missed)
		lab__printk("%s: %llu messages suppressed\n", rs->what, (unsigned long long)missed);
}

/*
 * ___ratelimit(): the first call after the interval opens a new one and
 * shows what the last one held back, before its own message.
 */
bool lab__ratelimit(struct lab__ratelimit *rs, unsigned burst, uint64_t interval_ns)
{
	uint64_t now = lab__os_now_ns();
	uint64_t start = atomic_load(&rs->begin);
	if (now - start >= interval_ns && atomic_compare_exchange_strong(&rs->begin, &start, now)) {
		atomic_store(&rs->printed, 0);
		print_suppressed(rs);
	}
	if (atomic_fetch_add(&rs->printed, 1) < burst)
		return true;
	atomic_fetch_add(&rs->missed, 1);
	if (!atomic_exchange(&rs->listed, true)) {
		struct lab__ratelimit *head = atomic_load(&limits_held);
		do
			atomic_store(&rs->next, head);
		while (!atomic_compare_exchange_weak(&limits_held, &head, rs));
	}
	return false;
}

/* At exit: the counts no later message showed.  exit() runs this, _exit()
 * and a crash do not.  Another thread still reporting only adds a count. */
__attribute__((destructor)) static void print_suppressed_at_exit(void)
{
	for (struct lab__ratelimit *rs = atomic_load(&limits_held); rs; rs = atomic_load(&rs->next))
		print_suppressed(rs);
}

/* A fork child starts with nothing held back: the parent shows its counts. */
static void forget_suppressed(void)
{
	for (struct lab__ratelimit *rs = atomic_load(&limits_held); rs; rs = atomic_load(&rs->next))
		atomic_store(&rs->missed, 0);
}

__attribute__((constructor)) static void ratelimit_init(void)
{
	pthread_atfork(NULL, NULL, forget_suppressed);
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

/* Indexed by bit; a bit without a name prints as hex. */
static const char *const pg_names[] = {
	"locked", "waiters", "buddy", "allocated", "head", "exclusive", "bad", "deferred",
	"guard", "splitting", "split", "slab", NULL, "pcp",
};

/* "locked|allocated", bits without a name as hex, like %pGp. */
static void decode_flags(uint32_t flags, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned int bit = 0; bit < 32 && used < len; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		if (bit < sizeof(pg_names) / sizeof(pg_names[0]) && pg_names[bit])
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
						 pg_names[bit]);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%#x", used ? "|" : "",
						 1u << bit);
	}
}

/* bad_page(): at most 60 reports, then a minute of silence; what it held
 * back is counted in the kernel's words, "BUG: Bad page state: N messages
 * suppressed". */
static struct lab__ratelimit bad_limit = LAB_RATELIMIT_INIT("BUG: Bad page state");
#define BAD_PAGE_BURST 60
/* The minute; a variable so that tests can end it without waiting. */
_Atomic uint64_t lab__bad_page_interval_ns = 60ull * 1000 * 1000 * 1000;

static bool bad_page_may_print(void)
{
	return lab__ratelimit(&bad_limit, BAD_PAGE_BURST, atomic_load(&lab__bad_page_interval_ns));
}

/*
 * The kernel's bad_page(): header, dump_page() (descriptor, decoded flags,
 * reason, page owner when recorded), then dump_stack().  f is the flags the
 * page had when the misuse was seen.
 */
void lab__bad_page_state(struct lab_zone *z, const struct lab_page *p, uint32_t f,
			 const char *reason)
{
	zone_stat_inc(z, bad_page);
	if (!bad_page_may_print())
		return;
	char comm[17], flags[160];
	lab__os_thread_name(comm, sizeof(comm));
	decode_flags(f, flags, sizeof(flags));
	lab__printk("BUG: Bad page state in process %s  pfn:%05zx\n"
		    "page:%p zone:%s refcount:%d order:%u owner:%u\n"
		    "flags: %#x(%s)\n"
		    "page dumped because: %s\n",
		    comm, page_to_pfn(z, p), (const void *)p, z->name,
		    (int)atomic_load(&p->refcount), p->order, p->owner, f, flags, reason);
	if (z->debug & ZONE_DEBUG_OWNER)
		lab__page_owner_dump_bad(z, p);
	lab__dump_stack();
}

void lab__bad_page(struct lab_zone *z, const struct lab_page *p, const char *reason)
{
	lab__bad_page_state(z, p, page_flags(p), reason);
}

void lab__bad_pointer(const void *ptr, const char *reason)
{
	if (!bad_page_may_print())
		return;
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	lab__printk("BUG: Bad page state in process %s  pointer:%p\n"
		    "page dumped because: %s\n", comm, ptr, reason);
	lab__dump_stack();
}

/* warn_alloc(): DEFAULT_RATELIMIT_INTERVAL 5 s, burst 10. */
static void print_warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order,
			     const char *who, unsigned long repeats)
{
	static struct lab__ratelimit limit =
		LAB_RATELIMIT_INIT("labyrinth: page allocation failure");
	if (!lab__ratelimit(&limit, 10, 5ull * 1000 * 1000 * 1000))
		return;
	char mode[160], again[48] = "";
	lab_gfp_name(gfp, mode, sizeof(mode));
	if (repeats > 1)
		snprintf(again, sizeof(again), " (%lu such failures)", repeats);
	lab__printk("labyrinth: %s: page allocation failure: order:%u, mode:%#x(%s), zone:%s free:%zu "
		    "min:%zu low:%zu high:%zu%s\n",
		    who, order, gfp, mode, z->name,
		    atomic_load(&z->nr_free_snapshot), atomic_load(&z->wmark[WMARK_MIN]),
		    atomic_load(&z->wmark[WMARK_LOW]), atomic_load(&z->wmark[WMARK_HIGH]), again);
}

/*
 * A caller that cannot sleep must not write(2) either (a full pipe blocks):
 * it leaves the report for kswapd, with one futex wake, and kswapd prints it.
 * Zones without kswapd print at once.
 */
void lab__warn_alloc(struct lab_zone *z, lab_gfp_t gfp, unsigned int order)
{
	if (!(gfp & LAB_GFP_DIRECT_RECLAIM) && z->kswapd_started) {
		atomic_store(&z->pending_warn, (uint64_t)1 << 63 | (uint64_t)gfp << 8 | order);
		atomic_fetch_add(&z->pending_warn_count, 1);
		lab__wakeup_kswapd(z);
		return;
	}
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	print_warn_alloc(z, gfp, order, comm, 1);
}

/* Print what atomic callers left behind; kswapd calls it. */
void lab__flush_warnings(struct lab_zone *z)
{
	uint64_t w = atomic_exchange(&z->pending_warn, 0);
	if (!w)
		return;
	unsigned long n = atomic_exchange(&z->pending_warn_count, 0);
	print_warn_alloc(z, (lab_gfp_t)((w >> 8) & 0xffffff), (unsigned int)(w & 0xff),
			 "atomic context", n);
}
