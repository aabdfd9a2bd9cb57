/*
 * env.c - the LABYRINTH_* variables read from the environment into the
 * option table (base/option.h): lab__option_get(LAB_OPT_x) reads and parses
 * a variable on first use, without allocating (a walk of environ), and
 * keeps the value.  A bad value is never half applied: one line on stderr
 * names the variable, the value and what is accepted, and the option keeps
 * its default.  Every option is read once at load, so a bad value is
 * reported at start-up whoever uses it later.
 *
 * Exports lab__option_get, lab__option_string, lab__option_report and
 * lab__option_check_unknown (os/env.h).  Nothing here runs on an allocation path but the first read.
 */
#include "base/compiler.h"
#include "base/fmt.h"
#include "base/option.h"
#include "os/env.h"
#include "os/printk.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

extern char **environ;

/* Per option: 0 not read yet, else the value + 2 (values are >= -1). */
static _Atomic int state[LAB_OPT_NR];

/* The variable's value, NULL when unset or empty. */
static const char *lookup(const char *name)
{
	size_t n = strlen(name);
	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return (*e)[n + 1] ? *e + n + 1 : NULL;
	return NULL;
}

/* "a, b or c" into buf. */
static void list_words(const char *const *words, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; words[i] && used < len; i++) {
		const char *sep = !i ? "" : words[i + 1] ? ", " : " or ";
		int n = lab__snprintf(buf + used, len - used, "%s%s", sep, words[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static void report_bad(const struct lab__option *o, const char *value)
{
	char words[160];
	const char *expected = o->expected;
	if (!expected) {
		list_words(o->words, words, sizeof(words));
		expected = words;
	}
	lab__printk("labyrinth: %s: bad value '%s': expected %s; %s\n", o->name, value, expected,
		    o->keeps);
}

int lab__option_get(enum lab__option_id id)
{
	int s = atomic_load_explicit(&state[id], memory_order_acquire);
	if (lab_likely(s))
		return s - 2;
	const struct lab__option *o = &lab__options[id];
	const char *v = lookup(o->name);
	int value = v ? lab__option_parse(id, v) : o->dflt;
	bool bad = value < 0 && v;
	if (bad)
		value = o->dflt;
	int unread = 0;
	/* Of racing first readers, one reports. */
	if (atomic_compare_exchange_strong(&state[id], &unread, value + 2) && bad)
		report_bad(o, v);
	return value;
}

const char *lab__option_string(enum lab__option_id id)
{
	return lookup(lab__options[id].name);
}

void lab__option_report(enum lab__option_id id, const char *what)
{
	lab__printk("labyrinth: %s: %s; %s\n", lab__options[id].name, what, lab__options[id].keeps);
}

void lab__option_check_unknown(const char *prefix)
{
	size_t plen = strlen(prefix);
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, prefix, plen))
			continue;
		size_t len = strcspn(*e, "=");
		bool known = false;
		for (int id = 0; id < LAB_OPT_NR && !known; id++)
			known = strlen(lab__options[id].name) == len &&
				!strncmp(*e, lab__options[id].name, len);
		if (known)
			continue;
		char names[256];
		size_t used = 0;
		names[0] = '\0';
		for (int id = 0; id < LAB_OPT_NR && used < sizeof(names); id++) {
			if (strncmp(lab__options[id].name, prefix, plen))
				continue;
			int n = lab__snprintf(names + used, sizeof(names) - used, "%s%s",
					      used ? ", " : "", lab__options[id].name);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		lab__printk("labyrinth: %.*s: unknown variable (known: %s); ignored\n", (int)len, *e,
			    names);
	}
}

__attribute__((constructor)) static void options_at_load(void)
{
	for (int id = 0; id < LAB_OPT_NR; id++)
		lab__option_get((enum lab__option_id)id);
}
