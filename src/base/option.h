/*
 * option.h - the LABYRINTH_* environment variables, all in one table: each
 * one's name, the values it accepts, its default, and what the library
 * keeps when a value is bad.  Pure parsing of a given string (option.c);
 * reading the environment is the OS layer's (os/env.h, lab__option_get).
 */
#ifndef LAB_BASE_OPTION_H
#define LAB_BASE_OPTION_H

#include <stddef.h>

enum lab__option_id {
	LAB_OPT_DEBUG,            /* the atomic-sleep check: 0 off, 1 on */
	LAB_OPT_PCP,              /* per-CPU lists: 0 lock, 1 off (unset: -1, the default) */
	LAB_OPT_POISON,           /* 0, 1 */
	LAB_OPT_PAGE_OWNER,       /* 0, 1, 2 ("exit": and a leak report at exit) */
	LAB_OPT_EXPORT,           /* 0, 1 */
	LAB_OPT_FAIL_PAGE_ALLOC,  /* a spec (debug/fault.c parses it) */
	LAB_OPT_FAILSLAB,         /* a spec */
	LAB_OPT_SLAB_DEBUG,       /* slab_debug= flags and caches (slab/debug.c parses it) */
	LAB_OPT_ZONE,             /* the default zone: size, max, flags (slab/kmalloc.c) */
	LAB_OPT_EXCLUSIVE_ZONE,   /* the default exclusive zone, the same syntax */
	LAB_OPT_NR
};

struct lab__option {
	const char *name;             /* the variable */
	const char *const *words;     /* accepted values (the value is the index) or NULL */
	int (*parse)(const char *v);  /* or a parser: the value, or -1 when bad */
	int dflt;                     /* when unset, empty or bad */
	const char *expected;         /* what a parser accepts, for the bad-value line
	                                 (words: "a, b or c") */
	const char *keeps;            /* what stays when the value is bad */
};
/* Options without words or parser are strings, parsed by their user. */
extern const struct lab__option lab__options[LAB_OPT_NR];

/* The value of option id given the string v (not NULL, not empty): >= 0,
 * or -1 when v is not one the option accepts. */
int lab__option_parse(enum lab__option_id id, const char *v);
/* The index of s[0..len) in the NULL-terminated words, or -1. */
int lab__option_word(const char *s, size_t len, const char *const *words);

#endif /* LAB_BASE_OPTION_H */
