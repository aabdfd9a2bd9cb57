/*
 * protect.c - the protections of a zone's memory, once per section at
 * creation or growth, never per allocation: memfd_secret, mlock, madvise,
 * guard pages and a protection key, each with an honest fallback that prints
 * one line and shows in the statistics (or, with LAB_ZONE_STRICT, an error).
 *
 * Exports the zone-side lab__exclusive_* internals (secure/hooks.h) and the
 * table of protections (protect.h).
 */
#include "os/os.h"
#include "os/printk.h"
#include "page/pcp.h"
#include "page/zone.h"
#include "secure/hooks.h"
#include "secure/protect.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/* Without memfd_secret, the most of it anonymous memory can have. */
#define SECRET_IMPLIES (LAB_ZONE_LOCKED | LAB_ZONE_NODUMP | LAB_ZONE_DONTFORK)

static_assert(sizeof(((struct lab_zone_stats *)0)->prot_errno) ==
	      sizeof(((struct lab_zone *)0)->prot_errno), "prot_errno arrays must match");
static_assert(PROT_FLAGS < (1u << 16), "prot_errno has one slot per flag bit");

const struct prot_info lab__prots[] = {
	{ LAB_ZONE_SECRET, "SECRET",
	  "memfd_secret: out of the kernel's direct map; ptrace, /proc/pid/mem and "
	  "process_vm_readv cannot read it",
	  "anonymous memory instead, locked, not dumped, not inherited (see those rows)" },
	{ LAB_ZONE_LOCKED, "LOCKED", "never swapped (mlock)", "may be written to swap" },
	{ LAB_ZONE_NODUMP, "NODUMP", "left out of core dumps (MADV_DONTDUMP)",
	  "written into core dumps" },
	{ LAB_ZONE_DONTFORK, "DONTFORK", "absent in a forked child (MADV_DONTFORK)",
	  "a forked child gets a copy" },
	{ LAB_ZONE_WIPEONFORK, "WIPEONFORK", "a forked child sees zeroes (MADV_WIPEONFORK)",
	  "a forked child gets a copy" },
	{ LAB_ZONE_GUARD, "GUARD", "an inaccessible page on either side of each section",
	  "no guard pages" },
	{ LAB_ZONE_PKEY, "PKEY", "protection key: only threads that called lab_zone_grant()",
	  "lab_zone_grant() does nothing: every thread can touch the pages" },
};

const unsigned int lab__nr_prots = sizeof(lab__prots) / sizeof(lab__prots[0]);

static const struct prot_info *prot_of(unsigned int flag)
{
	for (size_t i = 0; i < lab__nr_prots; i++)
		if (lab__prots[i].flag == flag)
			return &lab__prots[i];
	return NULL;
}

int lab__exclusive_check_config(unsigned int flags)
{
	/* The kernel wipes private anonymous memory only, and a child cannot both
	 * lack the mapping and see it zeroed. */
	if ((flags & LAB_ZONE_WIPEONFORK) && (flags & (LAB_ZONE_DONTFORK | LAB_ZONE_SECRET)))
		return -EINVAL;
	return 0;
}

/* A protection is missing on a section: remember why, and say it once. */
static void note_fallback(struct lab_zone *z, unsigned int flag, int err, const char *call)
{
	if (atomic_load(&z->prot_fallback) & flag)
		return;
	z->prot_errno[prot_bit(flag)] = err;
	atomic_fetch_or(&z->prot_fallback, flag);
	char buf[96];
	lab__printk("labyrinth: zone %s: LAB_ZONE_%s not in force: %s: %s; %s\n",
		    z->name, prot_of(flag)->name, call, lab__os_strerror(err, buf, sizeof(buf)),
		    flag == LAB_ZONE_SECRET
			    ? "falling back to locked, not dumped, not inherited anonymous memory"
			    : "continuing without it (LAB_ZONE_STRICT would fail instead)");
}

/* The outcome rc of the call behind flag: in force, or a fallback, or with
 * LAB_ZONE_STRICT an error to return. */
static int apply(struct lab_zone *z, unsigned int flag, int rc, const char *call,
		 unsigned int *got)
{
	if (!rc) {
		*got |= flag;
		return 0;
	}
	if (z->flags & LAB_ZONE_STRICT)
		return rc;
	note_fallback(z, flag, -rc, call);
	return 0;
}

int lab__exclusive_zone_init(struct lab_zone *z)
{
	z->pkey = -1;
	z->prot_wanted = z->flags & PROT_FLAGS;
	if (z->flags & LAB_ZONE_SECRET)
		z->prot_wanted |= SECRET_IMPLIES;
	if (z->flags & LAB_ZONE_PKEY) {
		int key = lab__os_pkey_alloc();
		if (key >= 0)
			z->pkey = key;
		else if (z->flags & LAB_ZONE_STRICT)
			return key;
		else
			note_fallback(z, LAB_ZONE_PKEY, -key, "pkey_alloc");
	}
	return 0;
}

void lab__exclusive_zone_fini(struct lab_zone *z)
{
	/* A thread that still holds a grant keeps it in its PKRU for whatever
	 * reuses the key next: the threat model says to revoke before destroy. */
	if (z->pkey >= 0)
		lab__os_pkey_free(z->pkey);
	z->pkey = -1;
}

/*
 * Guard layout.  lab_page_address() is base + pfn * page_size and every
 * block is aligned to its order, so guards cannot be slipped in between
 * pfns.  Instead:
 *  - the reservation keeps one inaccessible page below pfn 0 and one above
 *    the last pfn the zone may grow to, outside the pfn space
 *    (lab__zone_guard_bytes);
 *  - pfns reserved but not committed yet are inaccessible as well;
 *  - every section after the first begins with one guard pfn, never
 *    committed (so it stays inaccessible), marked PG_guard, counted as
 *    allocated and never handed out (lab__section_guard).
 * So every section has an inaccessible page right below and right above it.
 * The guard pfn breaks the first aligned block of its section, so the
 * section is lengthened to end on a boundary of the largest order it can
 * hold: the block the zone grew for still fits.
 */
size_t lab__zone_guard_bytes(const struct lab_zone *z)
{
	return (z->flags & LAB_ZONE_GUARD) ? z->page_size : 0;
}

size_t lab__section_guard(struct lab_zone *z, size_t first, size_t *nr)
{
	if (!(z->flags & LAB_ZONE_GUARD) || first == 0)
		return 0;
	unsigned int o = 0;
	while (o < LAB_MAX_ORDER && ((size_t)2 << o) <= *nr)
		o++;
	size_t align = (size_t)1 << o;
	size_t end = (first + 1 + *nr + align - 1) & ~(align - 1);
	if (end > z->max_pages)
		end = z->max_pages;
	*nr = end - first;
	return 1;
}

/*
 * Commit reserved [mem, mem+len) with the zone's protections, pre-faulted
 * (but in a LAB_ZONE_LAZY zone).
 * The order matters: the kernel's own population (prefault, mlock) checks
 * the calling thread's PKRU, so the key goes on last.
 */
int lab__exclusive_map_section(struct lab_zone *z, void *mem, size_t len)
{
	unsigned int want = z->prot_wanted, got = 0;
	int rc = 0;

	if (want & LAB_ZONE_SECRET) {
		rc = lab__os_map_secret(mem, len);
		if (!rc)  /* the kernel locks secretmem and keeps it out of dumps */
			got |= LAB_ZONE_SECRET | LAB_ZONE_LOCKED | LAB_ZONE_NODUMP;
		else if (z->flags & LAB_ZONE_STRICT)
			return rc;
		else
			note_fallback(z, LAB_ZONE_SECRET, -rc, "memfd_secret");
	}
	if (!(got & LAB_ZONE_SECRET) && (rc = lab__os_commit(mem, len)) != 0)
		goto fail;
	if ((want & LAB_ZONE_NODUMP) && !(got & LAB_ZONE_NODUMP) &&
	    (rc = apply(z, LAB_ZONE_NODUMP, lab__os_dontdump(mem, len), "madvise(MADV_DONTDUMP)",
			&got)))
		goto fail;
	/* A shared secretmem mapping would be inherited: it needs DONTFORK too. */
	if ((want & LAB_ZONE_DONTFORK) &&
	    (rc = apply(z, LAB_ZONE_DONTFORK, lab__os_dontfork(mem, len), "madvise(MADV_DONTFORK)",
			&got)))
		goto fail;
	if ((want & LAB_ZONE_WIPEONFORK) &&
	    (rc = apply(z, LAB_ZONE_WIPEONFORK, lab__os_wipeonfork(mem, len),
			"madvise(MADV_WIPEONFORK)", &got)))
		goto fail;
	if (!(z->flags & LAB_ZONE_LAZY) && (rc = lab__os_prefault(mem, len)) != 0)
		goto fail;
	if ((want & LAB_ZONE_LOCKED) && !(got & LAB_ZONE_LOCKED) &&
	    (rc = apply(z, LAB_ZONE_LOCKED, lab__os_lock(mem, len), "mlock", &got)))
		goto fail;
	if (want & LAB_ZONE_GUARD)
		got |= LAB_ZONE_GUARD;  /* the layout above, in place by construction */
	if (z->pkey >= 0 &&
	    (rc = apply(z, LAB_ZONE_PKEY, lab__os_pkey_protect(mem, len, z->pkey), "pkey_mprotect",
			&got)))
		goto fail;

	size_t before = atomic_fetch_add(&z->nr_sections, 1);
	atomic_store(&z->prot_in_force, before ? atomic_load(&z->prot_in_force) & got : got);
	return 0;
fail:
	lab__os_decommit(mem, len);
	return rc;
}

void lab__exclusive_unmap_section(struct lab_zone *z, void *mem, size_t len)
{
	lab__os_decommit(mem, len);
	atomic_fetch_sub(&z->nr_sections, 1);
}

void lab__exclusive_stats(const struct lab_zone *z, struct lab_zone_stats *out)
{
	out->prot_wanted = z->prot_wanted;
	out->prot_in_force = atomic_load(&z->prot_in_force);
	out->prot_fallback = atomic_load(&z->prot_fallback);
	memcpy(out->prot_errno, z->prot_errno, sizeof(out->prot_errno));
	out->pkey = z->pkey;
	out->sections = atomic_load(&z->nr_sections);
	out->guard_pfns = atomic_load(&z->nr_guard_pfns);
	out->exclusive_alloc = lab__pcp_exclusive_allocs(z);
	for (unsigned int i = 0; i < LAB_EXCLUSIVE_STRIPES; i++)
		out->exclusive_alloc += atomic_load_explicit(&z->exclusive_alloc_cpu[i].n,
							     memory_order_relaxed);
}
