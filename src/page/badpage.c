/*
 * badpage.c - "BUG: Bad page state" reports, rate limited as the kernel's
 * bad_page(): the page's descriptor with its flags decoded, the reason, the
 * page_owner record when there is one, and the stack.  For a pointer that
 * is no descriptor of any zone, the pointer.  Written with lab__printk (no
 * malloc, no stdio), so safe where the allocator itself is.
 */
#include "base/ratelimit.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/stack.h"
#include "page/badpage.h"
#include "page/page.h"
#include "page/zone.h"
#include "debug/page_owner.h"

#include <string.h>

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
 * reason, page_owner when recorded), then dump_stack().  f is the flags the
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
	lab__page_flags_name(f, flags, sizeof(flags));
	lab__printk("BUG: Bad page state in process %s  pfn:%05zx\n"
		    "page:%p zone:%s refcount:%d order:%u owner:%u\n"
		    "flags: %#x(%s)\n"
		    "page dumped because: %s\n",
		    comm, page_to_pfn(z, p), (const void *)p, z->name,
		    (int)atomic_load(&p->refcount), p->order, p->owner, f, flags, reason);
	if (lab__page_owner_on(z))
		lab__page_owner_dump_bad(z, p);
	lab__os_dump_stack();
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
	lab__os_dump_stack();
}

