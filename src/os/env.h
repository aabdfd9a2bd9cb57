/*
 * env.h - the LABYRINTH_* variables, read by constructors (env.c).
 * lab__env_get: the value, NULL when unset or empty.  lab__env_word: the
 * index of s[0..len) in the NULL-terminated words, or -1.  lab__env_choice:
 * the index of the variable's value in words; -1 when unset, or when bad
 * after one line on stderr ("NAME: bad value 'V': expected a, b or c; KEEPS").
 */
#ifndef LAB_OS_ENV_H
#define LAB_OS_ENV_H

#include <stddef.h>

const char *lab__env_get(const char *name);
int lab__env_word(const char *s, size_t len, const char *const *words);
int lab__env_choice(const char *name, const char *const *words, const char *keeps);
void lab__env_bad(const char *name, const char *value, const char *expected, const char *keeps);
void lab__env_report(const char *name, const char *what, const char *keeps);

#endif /* LAB_OS_ENV_H */
