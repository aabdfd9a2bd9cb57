/*
 * env.c - the LABYRINTH_* environment variables: one way to read a value
 * and one way to refuse it.  A bad value is never half applied: one line on
 * stderr names the variable, the value and what is accepted, and the feature
 * keeps its default, as LABYRINTH_FAIL_PAGE_ALLOC has always done.
 *
 * Exports lab__env_get, lab__env_word, lab__env_choice, lab__env_bad and
 * lab__env_report to the constructors that read the variables (fault.c,
 * poison.c, page_owner.c, stats.c, pcp.c, atomic_ctx.c).  Read at load
 * time, before main(); nothing here runs on an allocation path.
 */
#include "os/env.h"
#include "os/printk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lab__env_get(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int lab__env_word(const char *s, size_t len, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == len && !strncmp(s, words[i], len))
			return i;
	return -1;
}

/* "a, b or c" into buf. */
static void list_words(const char *const *words, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; words[i] && used < len; i++) {
		const char *sep = !i ? "" : words[i + 1] ? ", " : " or ";
		int n = snprintf(buf + used, len - used, "%s%s", sep, words[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void lab__env_report(const char *name, const char *what, const char *keeps)
{
	lab__printk("labyrinth: %s: %s; %s\n", name, what, keeps);
}

void lab__env_bad(const char *name, const char *value, const char *expected, const char *keeps)
{
	lab__printk("labyrinth: %s: bad value '%s': expected %s; %s\n", name, value, expected,
		    keeps);
}

int lab__env_choice(const char *name, const char *const *words, const char *keeps)
{
	const char *v = lab__env_get(name);
	if (!v)
		return -1;
	int i = lab__env_word(v, strlen(v), words);
	if (i < 0) {
		char expected[160];
		list_words(words, expected, sizeof(expected));
		lab__env_bad(name, v, expected, keeps);
	}
	return i;
}
