/*
 * protect.h - the table of zone protections (protect.c), which the zone's
 * set-up applies and lab_zone_describe() (describe.c) prints.
 */
#ifndef LAB_SECURE_PROTECT_H
#define LAB_SECURE_PROTECT_H

#include "labyrinth.h"

#define PROT_FLAGS (LAB_ZONE_LOCKED | LAB_ZONE_NODUMP | LAB_ZONE_WIPEONFORK | \
		    LAB_ZONE_DONTFORK | LAB_ZONE_SECRET | LAB_ZONE_GUARD | LAB_ZONE_PKEY)

struct prot_info {
	unsigned int flag;
	const char *name;
	const char *gives;    /* what it gives when in force */
	const char *without;  /* what the zone is without it */
};

extern const struct prot_info lab__prots[];
extern const unsigned int lab__nr_prots;

/* The slot of a LAB_ZONE_* protection bit in prot_errno[]. */
static inline unsigned int prot_bit(unsigned int flag)
{
	return (unsigned int)__builtin_ctz(flag);
}

#endif /* LAB_SECURE_PROTECT_H */
