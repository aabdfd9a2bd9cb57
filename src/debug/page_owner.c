/*
 * page_owner.c - who allocated each block, as the kernel's page_owner: the
 * allocation stack (16 frames), gfp, order, thread, timestamps, and the free
 * stack, in a side array of one record per pfn allocated with the zone's
 * descriptors (the kernel's page_ext).  Enabled per zone (LAB_ZONE_PAGE_OWNER)
 * or for all zones (LABYRINTH_PAGE_OWNER=1; "exit" also reports leaks at
 * exit).  Leak reports at zone destroy and the owner part of Bad page and
 * corruption reports; the dumps in the page_owner file's format are in
 * dump.c.
 */
#include "base/compiler.h"
#include "os/env.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/stack.h"
#include "os/thread.h"
#include "page/page.h"
#include "page/zone.h"
#include "debug/page_owner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- thread identity, cached per thread (no syscall per allocation) -- */

static _Thread_local int cached_tid;
static _Thread_local char cached_comm[16];
static int cached_pid;

static void forget_identity(void)
{
	cached_tid = 0;   /* the forking thread lives on in the child with a new id */
	cached_pid = 0;
}

static void identity(int *pid, int *tid, char comm[16])
{
	if (lab_unlikely(!cached_tid)) {
		cached_tid = lab__os_gettid();
		lab__os_thread_name(cached_comm, sizeof(cached_comm));
	}
	if (lab_unlikely(!cached_pid))
		cached_pid = lab__os_getpid();
	*pid = cached_pid;
	*tid = cached_tid;
	memcpy(comm, cached_comm, 16);
}

/* ---- enabling --------------------------------------------------------- */

/* Zones with page_owner, for the report at exit. */
static struct lab_zone *tracked_zones[LAB_MAX_ZONES];
static lab__os_mutex_t tracked_zones_lock = LAB_OS_MUTEX_INIT;

static void report_at_exit(void)
{
	lab__os_mutex_lock(&tracked_zones_lock);
	for (int i = 0; i < LAB_MAX_ZONES; i++)
		if (tracked_zones[i])
			lab__page_owner_leaks_to_stderr(tracked_zones[i]);
	lab__os_mutex_unlock(&tracked_zones_lock);
}

__attribute__((constructor)) static void page_owner_from_environment(void)
{
	lab__os_atfork(NULL, NULL, forget_identity);
	/* LABYRINTH_PAGE_OWNER=exit: a leak report at exit too. */
	if (lab__option_get(LAB_OPT_PAGE_OWNER) == 2)
		lab__os_atexit(report_at_exit);
}

unsigned int lab__page_owner_zone_debug(unsigned int zone_flags)
{
	return ((zone_flags & LAB_ZONE_PAGE_OWNER) || lab__option_get(LAB_OPT_PAGE_OWNER) > 0)
		       ? ZONE_DEBUG_PAGE_OWNER : 0;
}

static size_t ext_bytes(const struct lab_zone *z)
{
	size_t b = z->max_pages * sizeof(struct page_owner);
	return (b + z->page_size - 1) & ~(z->page_size - 1);
}

int lab__page_owner_zone_init(struct lab_zone *z)
{
	int err = 0;
	z->page_owner = lab__os_reserve(ext_bytes(z), z->page_size, &err);
	if (!z->page_owner)
		return err;
	lab__os_mutex_lock(&tracked_zones_lock);
	for (int i = 0; i < LAB_MAX_ZONES; i++) {
		if (!tracked_zones[i]) {
			tracked_zones[i] = z;
			break;
		}
	}
	lab__os_mutex_unlock(&tracked_zones_lock);
	return 0;
}

/* Commit and pre-fault the records of new pfns: recording never faults. */
int lab__page_owner_new_range(struct lab_zone *z, size_t first, size_t nr)
{
	uintptr_t ps = z->page_size;
	uintptr_t a = (uintptr_t)(z->page_owner + first) & ~(ps - 1);
	uintptr_t b = ((uintptr_t)(z->page_owner + first + nr) + ps - 1) & ~(ps - 1);
	int rc = lab__os_commit((void *)a, b - a);
	return rc ? rc : lab__os_prefault((void *)a, b - a);
}

void lab__page_owner_zone_fini(struct lab_zone *z)
{
	lab__os_mutex_lock(&tracked_zones_lock);
	for (int i = 0; i < LAB_MAX_ZONES; i++)
		if (tracked_zones[i] == z)
			tracked_zones[i] = NULL;
	lab__os_mutex_unlock(&tracked_zones_lock);
	if (!z->page_owner)
		return;
	if (atomic_load(&z->managed))
		lab__page_owner_leaks_to_stderr(z);
	lab__os_release(z->page_owner, ext_bytes(z));
	z->page_owner = NULL;
}

/* ---- recording -------------------------------------------------------- */

static struct page_owner *record_of(const struct lab_zone *z, const struct lab_page *page)
{
	return &z->page_owner[page_to_pfn(z, page)];
}

/* Frames skipped: lab__page_owner_alloc/free themselves. */
void lab__page_owner_alloc(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			   unsigned int order)
{
	struct page_owner *po = record_of(z, page);
	po->nr_entries = (uint8_t)lab__os_stack_capture(po->stack, LAB_STACK_DEPTH, 0);
	po->gfp_mask = gfp;
	po->order = (uint8_t)order;
	po->ts_nsec = lab__os_now_ns();
	identity(&po->pid, &po->tid, po->comm);
	po->set = 1;
}

void lab__page_owner_free(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	struct page_owner *po = record_of(z, page);
	int pid;
	char comm[16];
	(void)order;
	po->nr_free_entries = (uint8_t)lab__os_stack_capture(po->free_stack, LAB_STACK_DEPTH, 0);
	po->free_ts_nsec = lab__os_now_ns();
	identity(&pid, &po->free_tid, comm);
}

/* __dump_page_owner(): the owner part of a Bad page or corruption report. */
void lab__page_owner_dump_bad(struct lab_zone *z, const struct lab_page *page)
{
	if (!z->page_owner)
		return;
	const struct page_owner *po = record_of(z, page);
	if (!po->set) {
		lab__printk("page_owner info is not present (never set?)\n");
		return;
	}
	char mode[160];
	lab_gfp_name(po->gfp_mask, mode, sizeof(mode));
	lab__printk("page last allocated via order %u, gfp_mask %#x(%s), pid %d, tid %d (%s), "
		    "ts %llu ns, free_ts %llu ns\n",
		    po->order, po->gfp_mask, mode, po->pid, po->tid, po->comm,
		    (unsigned long long)po->ts_nsec, (unsigned long long)po->free_ts_nsec);
	lab__os_stack_print(po->stack, po->nr_entries);
	if (!po->nr_free_entries) {
		lab__printk("page last free stack trace missing (never freed)\n");
		return;
	}
	lab__printk("page last free tid %d stack trace:\n", po->free_tid);
	lab__os_stack_print(po->free_stack, po->nr_free_entries);
}
