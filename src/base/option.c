/*
 * option.c - the table of LABYRINTH_* variables (option.h) and the parsers
 * of their values.  A bad value is never half applied: the option keeps its
 * default, and the OS layer prints one line naming the variable, the value,
 * what is accepted and what the library keeps (os/env.c).
 */
#include "base/option.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#ifndef LABYRINTH_DEBUG_BUILD
#define LABYRINTH_DEBUG_BUILD 0
#endif

int lab__option_word(const char *s, size_t len, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == len && !strncmp(s, words[i], len))
			return i;
	return -1;
}

/*
 * LABYRINTH_DEBUG is a comma-separated list read left to right, in any case:
 * "1", "on", "yes", "all" or "atomic_sleep" turn the check on;
 * "0", "off", "no", "none" or "-atomic_sleep" turn it off.  Unset or empty:
 * the build's default.  Any other word makes the whole value bad (the
 * default stands), so that a typo never passes for a setting.
 */
static const char *const on_words[] = { "1", "on", "yes", "all", "atomic_sleep", NULL };
static const char *const off_words[] = { "0", "off", "no", "none", "-atomic_sleep", NULL };

static int parse_debug(const char *env)
{
	bool on = LABYRINTH_DEBUG_BUILD;
	for (const char *p = env; *p;) {
		size_t len = strcspn(p, ",");
		const char *next = p + len + (p[len] == ',');
		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		char word[24];
		size_t i;
		for (i = 0; i < len && i < sizeof(word) - 1; i++)
			word[i] = (char)tolower((unsigned char)p[i]);
		word[i] = '\0';
		if (len && len < sizeof(word) && lab__option_word(word, len, on_words) >= 0)
			on = true;
		else if (len && len < sizeof(word) && lab__option_word(word, len, off_words) >= 0)
			on = false;
		else if (len)
			return -1;
		p = next;
	}
	return on;
}

static const char *const pcp_words[] = { "lock", "off", NULL };
static const char *const bool_words[] = { "0", "1", NULL };
static const char *const page_owner_words[] = { "0", "1", "exit", NULL };

const struct lab__option lab__options[LAB_OPT_NR] = {
	[LAB_OPT_DEBUG] = {
		"LABYRINTH_DEBUG", NULL, parse_debug, LABYRINTH_DEBUG_BUILD,
		"a comma-separated list of 1, on, yes, all, atomic_sleep (the atomic-sleep "
		"check on) or 0, off, no, none, -atomic_sleep (off)",
		LABYRINTH_DEBUG_BUILD
			? "the atomic-sleep check stays on (the debug build's default)"
			: "the atomic-sleep check stays off (the release build's default)" },
	[LAB_OPT_PCP] = {
		"LABYRINTH_PCP", pcp_words, NULL, -1, NULL,
		"the per-CPU lists keep their default mode (rseq where the kernel has it, "
		"else lock)" },
	[LAB_OPT_POISON] = {
		"LABYRINTH_POISON", bool_words, NULL, 0, NULL, "poisoning stays off" },
	[LAB_OPT_PAGE_OWNER] = {
		"LABYRINTH_PAGE_OWNER", page_owner_words, NULL, 0, NULL,
		"page owner stays off" },
	[LAB_OPT_EXPORT] = {
		"LABYRINTH_EXPORT", bool_words, NULL, 0, NULL, "the export stays off" },
	[LAB_OPT_FAIL_PAGE_ALLOC] = {
		"LABYRINTH_FAIL_PAGE_ALLOC", NULL, NULL, -1, NULL, "fault injection stays off" },
	[LAB_OPT_FAILSLAB] = {
		"LABYRINTH_FAILSLAB", NULL, NULL, -1, NULL, "failslab stays off" },
	[LAB_OPT_SLAB_DEBUG] = {
		"LABYRINTH_SLAB_DEBUG", NULL, NULL, -1, NULL, "that part is ignored" },
	[LAB_OPT_ZONE] = {
		"LABYRINTH_ZONE", NULL, NULL, -1, NULL, "using the defaults" },
	[LAB_OPT_EXCLUSIVE_ZONE] = {
		"LABYRINTH_EXCLUSIVE_ZONE", NULL, NULL, -1, NULL, "using the defaults" },
};

int lab__option_parse(enum lab__option_id id, const char *v)
{
	const struct lab__option *o = &lab__options[id];
	if (o->parse)
		return o->parse(v);
	if (o->words)
		return lab__option_word(v, strlen(v), o->words);
	return 0;  /* a string: its user parses it */
}
