/*
 * env.h - the LABYRINTH_* variables, read from the environment (env.c)
 * into the option table of base/option.h.
 */
#ifndef LAB_OS_ENV_H
#define LAB_OS_ENV_H

#include "base/option.h"

/* The option's value (option.h says what each means): read and parsed on
 * first use, then kept; the default when unset, empty or bad (a bad value is
 * reported once, on stderr).  Never allocates. */
int lab__option_get(enum lab__option_id id);
/* A string option's value as the environment has it, NULL when unset or
 * empty (its user parses it). */
const char *lab__option_string(enum lab__option_id id);
/* "labyrinth: NAME: what; KEEPS" on stderr: a string option's user found
 * its value bad. */
void lab__option_report(enum lab__option_id id, const char *what);
/* "labyrinth: NAME: unknown variable ...; ignored" on stderr for each
 * variable of the environment whose name starts with prefix and that the
 * table does not know (a typo silently ignored would be worse).  Never
 * allocates. */
void lab__option_check_unknown(const char *prefix);

#endif /* LAB_OS_ENV_H */
