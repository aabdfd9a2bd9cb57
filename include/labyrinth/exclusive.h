/*
 * labyrinth/exclusive.h - exclusive pages: owners, transfer, protection-key
 * grants, and the description of a zone's protections.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_EXCLUSIVE_H
#define LABYRINTH_EXCLUSIVE_H

#include <labyrinth/types.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A zone created with LAB_ZONE_SECRET, LOCKED, NODUMP, WIPEONFORK, DONTFORK,
 * GUARD or PKEY has its memory protected once per section; a protection the
 * OS refuses falls back, prints one line and shows in the statistics, or with
 * LAB_ZONE_STRICT makes creation (or growth) fail with the errno of the
 * failing call (ENOTSUP for a machine without protection keys).  WIPEONFORK
 * with DONTFORK or SECRET is EINVAL: a shared secret mapping cannot be wiped.
 *
 * A block allocated with LAB_GFP_EXCLUSIVE is zeroed before it is returned,
 * belongs to an owner (the allocating thread, or the thread's owner token),
 * may be freed only by that owner, and is scrubbed when freed, before any
 * other allocation can get it.  Every way back counts as a free: a put of
 * its last reference, a return to a mempool (whose reserve holds it
 * scrubbed and owned by nobody, and hands it out zeroed and owned again for
 * an EXCLUSIVE caller) and a pool's destruction.  A SECRET zone (without
 * poisoning) wipes every block on its way back, exclusive or not, as the
 * kernel's init_on_free does, and so hands out zeroes without wiping twice.
 * With LAB_GFP_ATOMIC it keeps every property
 * of the atomic path: no syscall, no page fault, safe in a signal handler.
 * See docs/THREAT_MODEL.md for what each protection does and does not cover.
 */

/* An owner: a thread's id, or a token; never 0. */
typedef uint32_t lab_owner_t;
#define LAB_OWNER_NONE 0u

/* A new owner token, distinct from every other token and thread id of the
 * process (until 2^32 have been handed out).  Never sleeps; O(1). */
LAB_API lab_owner_t lab_owner_new(void);
/*
 * Make the calling thread act as owner token (LAB_OWNER_NONE: as itself
 * again) for the exclusive blocks it allocates, frees and transfers; returns
 * the previous token.  Per thread; async-signal-safe; O(1).  Ownership is a
 * check against mistakes, not a barrier between threads (see the threat model).
 */
LAB_API lab_owner_t lab_set_owner_token(lab_owner_t token);
/* The calling thread's owner: its token if set, else its own id (assigned on
 * first use, without a syscall).  Async-signal-safe; O(1). */
LAB_API lab_owner_t lab_owner_self(void);
/* The owner of an allocated exclusive block's head page, LAB_OWNER_NONE for
 * any other page.  O(1). */
LAB_API lab_owner_t lab_page_owner(const struct lab_page *page);
/*
 * Hand an allocated exclusive block to new_owner.  Only the current owner may;
 * a call by anyone else gets a "BUG: Bad page state" report and -EPERM, and
 * the owner is unchanged.  -EINVAL for a page that heads no exclusive block
 * or new_owner == LAB_OWNER_NONE.  Never sleeps; O(number of zones).
 */
LAB_API int lab_page_transfer(struct lab_page *page, lab_owner_t new_owner);

/*
 * LAB_ZONE_PKEY: let the calling thread read and write the zone's pages
 * (grant) or stop it (revoke).  Writes the thread's PKRU register: no
 * syscall, async-signal-safe, O(1).  Per thread: a signal handler starts with
 * no grant, a thread created by pthread_create starts with its creator's.
 * A zone without a key in force (no LAB_ZONE_PKEY, or no keys on this
 * machine) needs no grant: both calls do nothing.  Returns 0, or -EINVAL for
 * a NULL zone.
 */
LAB_API int lab_zone_grant(struct lab_zone *zone);
LAB_API int lab_zone_revoke(struct lab_zone *zone);

/*
 * Print which protections the zone asked for, which are in force (as the OS
 * confirmed them), which fell back and why.  `labyrinth info` uses it.
 * Thread-safe; uses stdio; O(1).
 */
LAB_API void lab_zone_describe(const struct lab_zone *zone, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_EXCLUSIVE_H */
