/*
 * exclusive.c - exclusive pages.
 *
 * Zone side, once per section at creation or growth, never per allocation:
 * memfd_secret, mlock, madvise, guard pages and a protection key, each with
 * an honest fallback that prints one line and shows in the statistics (or,
 * with LAB_ZONE_STRICT, an error), and lab_zone_describe() to print them.
 * Thread side: lab_zone_grant()/lab_zone_revoke() of the key (WRPKRU, no
 * syscall).  Block side: owners (lazy per-thread ids and tokens), the owner
 * check for free/lock/get, transfer, zeroing on hand-out and scrubbing on
 * return through the zone's write window, which every library write to zone
 * memory uses so that it works whatever the calling thread's grants.
 *
 * Exports: the lab__exclusive_* and lab__zone_write_* / lab__zone_wipe
 * internals (secure/hooks.h) and the "Exclusive pages" API (labyrinth.h).
 */
#include "base/compiler.h"
#include "os/os.h"
#include "os/printk.h"
#include "page/badpage.h"
#include "page/page.h"
#include "page/zone.h"
#include "secure/hooks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PROT_FLAGS (LAB_ZONE_LOCKED | LAB_ZONE_NODUMP | LAB_ZONE_WIPEONFORK | \
		    LAB_ZONE_DONTFORK | LAB_ZONE_SECRET | LAB_ZONE_GUARD | LAB_ZONE_PKEY)
/* Without memfd_secret, the most of it anonymous memory can have. */
#define SECRET_IMPLIES (LAB_ZONE_LOCKED | LAB_ZONE_NODUMP | LAB_ZONE_DONTFORK)

static_assert(sizeof(((struct lab_zone_stats *)0)->prot_errno) ==
	      sizeof(((struct lab_zone *)0)->prot_errno), "prot_errno arrays must match");
static_assert(PROT_FLAGS < (1u << 16), "prot_errno has one slot per flag bit");

static unsigned int bit_of(unsigned int flag)
{
	return (unsigned int)__builtin_ctz(flag);
}

static char *page_address_of(const struct lab_zone *z, const struct lab_page *p)
{
	return z->base + (page_to_pfn(z, p) << z->page_shift);
}

/* ---- protections of the zone's memory ---------------------------------- */

struct prot_info {
	unsigned int flag;
	const char *name;
	const char *gives;    /* what it gives when in force */
	const char *without;  /* what the zone is without it */
};

static const struct prot_info prots[] = {
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

static const struct prot_info *prot_of(unsigned int flag)
{
	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++)
		if (prots[i].flag == flag)
			return &prots[i];
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
	z->prot_errno[bit_of(flag)] = err;
	atomic_fetch_or(&z->prot_fallback, flag);
	char buf[96];
	lab__printk("labyrinth: zone %s: LAB_ZONE_%s not in force: %s: %s; %s\n",
		    z->name, prot_of(flag)->name, call, strerror_r(err, buf, sizeof(buf)),
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
 * Commit reserved [mem, mem+len) with the zone's protections, pre-faulted.
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
	if ((rc = lab__os_prefault(mem, len)) != 0)
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

void lab__exclusive_stats(const struct lab_zone *z, struct lab_zone_stats *out)
{
	out->prot_wanted = z->prot_wanted;
	out->prot_in_force = atomic_load(&z->prot_in_force);
	out->prot_fallback = atomic_load(&z->prot_fallback);
	memcpy(out->prot_errno, z->prot_errno, sizeof(out->prot_errno));
	out->pkey = z->pkey;
	out->sections = atomic_load(&z->nr_sections);
	out->guard_pfns = atomic_load(&z->nr_guard_pfns);
	out->exclusive_alloc = atomic_load_explicit(&z->stat.exclusive_alloc, memory_order_relaxed);
	out->owner_refused = atomic_load_explicit(&z->stat.owner_refused, memory_order_relaxed);
}

void lab_zone_describe(const struct lab_zone *z, FILE *out)
{
	if (!z || !out)
		return;
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	fprintf(out, "zone %s: %zu pages of %zu bytes managed, %zu free, %zu section%s\n",
		z->name, st.managed, z->page_size, st.free, st.sections,
		st.sections == 1 ? "" : "s");
	fprintf(out, "  %-11s %-10s %s\n", "protection", "state", "detail");
	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		const struct prot_info *pi = &prots[i];
		unsigned int f = pi->flag;
		char detail[256], err[96];
		const char *state;
		const char *implied = (st.prot_wanted & f) && !(z->flags & f) ? "implied by SECRET: " : "";
		if (!(st.prot_wanted & f)) {
			state = "-";
			snprintf(detail, sizeof(detail), "not requested");
		} else if (st.prot_in_force & f) {
			state = "in force";
			if (f == LAB_ZONE_PKEY)
				snprintf(detail, sizeof(detail), "key %d: only threads that called "
					 "lab_zone_grant() may touch the pages", st.pkey);
			else if (f == LAB_ZONE_GUARD)
				snprintf(detail, sizeof(detail), "%s; %zu guard pfn%s between sections",
					 pi->gives, st.guard_pfns, st.guard_pfns == 1 ? "" : "s");
			else
				snprintf(detail, sizeof(detail), "%s%s", implied, pi->gives);
		} else {
			int e = st.prot_errno[bit_of(f)];
			state = f == LAB_ZONE_SECRET ? "FELL BACK" : "MISSING";
			snprintf(detail, sizeof(detail), "%s%s (%s)", implied, pi->without,
				 e ? strerror_r(e, err, sizeof(err)) : "not on every section");
		}
		fprintf(out, "  %-11s %-10s %s\n", pi->name, state, detail);
	}
	fprintf(out, "  strict: %s; exclusive blocks allocated: %llu; refused to non-owners: %llu\n",
		(z->flags & LAB_ZONE_STRICT) ? "yes (no fallback)" : "no (fall back and report)",
		(unsigned long long)st.exclusive_alloc, (unsigned long long)st.owner_refused);
}

/* ---- the write window and protection-key grants ------------------------ */

static inline uint32_t key_bits(int key)
{
	return 3u << (2 * key);  /* access-disable and write-disable */
}

uint32_t lab__zone_write_begin(const struct lab_zone *z)
{
	if (z->pkey < 0)
		return 0;
	uint32_t saved = lab__os_pkru_read();
	if (saved & key_bits(z->pkey))
		lab__os_pkru_write(saved & ~key_bits(z->pkey));
	return saved;
}

void lab__zone_write_end(const struct lab_zone *z, uint32_t saved)
{
	/* Restore only what begin changed: a granted thread paid no WRPKRU. */
	if (z->pkey >= 0 && (saved & key_bits(z->pkey)))
		lab__os_pkru_write(saved);
}

void lab__zone_wipe(const struct lab_zone *z, void *addr, size_t len)
{
	uint32_t saved = lab__zone_write_begin(z);
	memset(addr, 0, len);
	/* Pretend the zeroes are read, so the compiler cannot drop the memset of
	 * memory it thinks is dead (about to be freed). */
	__asm__ __volatile__("" : : "r"(addr) : "memory");
	lab__zone_write_end(z, saved);
}

int lab_zone_grant(struct lab_zone *z)
{
	if (!z)
		return -EINVAL;
	if (z->pkey >= 0)
		lab__os_pkru_write(lab__os_pkru_read() & ~key_bits(z->pkey));
	return 0;
}

int lab_zone_revoke(struct lab_zone *z)
{
	if (!z)
		return -EINVAL;
	if (z->pkey >= 0)
		lab__os_pkru_write(lab__os_pkru_read() | key_bits(z->pkey));
	return 0;
}

/* ---- owners ------------------------------------------------------------ */

/* Thread ids and tokens come from one counter, so they never collide. */
static _Atomic uint32_t owner_seq;
static _Thread_local _Atomic uint32_t thread_id __attribute__((tls_model("initial-exec")));
static _Thread_local _Atomic uint32_t thread_token __attribute__((tls_model("initial-exec")));

static uint32_t owner_next(void)
{
	uint32_t v;
	do
		v = atomic_fetch_add_explicit(&owner_seq, 1, memory_order_relaxed) + 1;
	while (v == LAB_OWNER_NONE);
	return v;
}

lab_owner_t lab_owner_new(void)
{
	return owner_next();
}

lab_owner_t lab_set_owner_token(lab_owner_t token)
{
	return atomic_exchange_explicit(&thread_token, token, memory_order_relaxed);
}

lab_owner_t lab_owner_self(void)
{
	uint32_t token = atomic_load_explicit(&thread_token, memory_order_relaxed);
	if (token)
		return token;
	uint32_t id = atomic_load_explicit(&thread_id, memory_order_relaxed);
	if (likely(id))
		return id;
	/* First use in this thread.  A signal handler may do the same between
	 * our load and store: the compare-exchange makes both keep one id. */
	uint32_t fresh = owner_next(), none = 0;
	if (atomic_compare_exchange_strong_explicit(&thread_id, &none, fresh,
						    memory_order_relaxed, memory_order_relaxed))
		return fresh;
	return none;
}

/* The descriptor's owner field is a plain uint32_t (the layout is fixed):
 * accessed with the compiler's atomic built-ins. */
static lab_owner_t owner_of(const struct lab_page *p)
{
	return __atomic_load_n(&p->owner, __ATOMIC_ACQUIRE);
}

lab_owner_t lab_page_owner(const struct lab_page *page)
{
	if (!page || (page_flags(page) & (PG_allocated | PG_exclusive)) !=
		     (PG_allocated | PG_exclusive))
		return LAB_OWNER_NONE;
	return owner_of(page);
}

static void refuse(struct lab_zone *z, const struct lab_page *page, const char *what,
		   lab_owner_t owner, lab_owner_t me)
{
	char reason[128];
	snprintf(reason, sizeof(reason),
		 "%s of an exclusive page by a non-owner (owner %u, caller %u)", what, owner, me);
	zone_stat_inc(z, owner_refused);
	lab__bad_page(z, page, reason);
}

bool lab__exclusive_may_touch(struct lab_zone *z, const struct lab_page *page, const char *what)
{
	if (!(page_flags(page) & PG_exclusive))
		return true;
	lab_owner_t me = lab_owner_self(), owner = owner_of(page);
	if (likely(owner == me))
		return true;
	refuse(z, page, what, owner, me);
	return false;
}

int lab_page_transfer(struct lab_page *page, lab_owner_t new_owner)
{
	struct lab_zone *z = page ? lab__zone_of_desc(page) : NULL;
	if (!z || new_owner == LAB_OWNER_NONE)
		return -EINVAL;
	if ((page_flags(page) & (PG_allocated | PG_exclusive)) != (PG_allocated | PG_exclusive))
		return -EINVAL;
	lab_owner_t me = lab_owner_self(), seen = me;
	if (__atomic_compare_exchange_n(&page->owner, &seen, new_owner, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	refuse(z, page, "transfer", seen, me);
	return -EPERM;
}

/* ---- per allocation ---------------------------------------------------- */

/* prep_new_page() for LAB_GFP_ZERO or LAB_GFP_EXCLUSIVE: outside the zone
 * lock, no syscall, no fault (the memory is pre-faulted and locked if asked). */
void lab__exclusive_prep(struct lab_zone *z, struct lab_page *page, lab_gfp_t gfp,
			 unsigned int order)
{
	lab__zone_wipe(z, page_address_of(z, page), z->page_size << order);
	if (!(gfp & LAB_GFP_EXCLUSIVE))
		return;
	__atomic_store_n(&page->owner, lab_owner_self(), __ATOMIC_RELAXED);
	/* Nobody else knows the block yet; release publishes the owner with the flag. */
	atomic_store_explicit(&page->flags, page_flags(page) | PG_exclusive, memory_order_release);
	zone_stat_inc(z, exclusive_alloc);
}

/* A claimed exclusive block on its way back: wipe it before any list or
 * other owner can see it. */
void lab__exclusive_scrub(struct lab_zone *z, struct lab_page *page, unsigned int order)
{
	lab__zone_wipe(z, page_address_of(z, page), z->page_size << order);
	__atomic_store_n(&page->owner, LAB_OWNER_NONE, __ATOMIC_RELAXED);
}
