/*
 * fmt.h - an async-signal-safe snprintf: formats into the caller's buffer
 * and nothing else (no malloc, no locale, no locks, no errno), so reports
 * can be written from signal handlers and atomic context (fmt.c).  Used
 * instead of libc's snprintf/vsnprintf everywhere in the library.
 *
 * The subset the library writes: %d %i %u %x %X %p %s %c %% with the
 * length modifiers hh, h, l, ll, z, the flags '-', '0' and '#', a width
 * (digits or *), and a precision (digits or *) for %s (the most bytes of
 * the string) and for integers (the fewest digits).  %p prints as glibc
 * does: 0x and hex digits, "(nil)" for NULL.  An unknown conversion is
 * copied as it stands.
 *
 * Like snprintf, the result is always terminated when size > 0, and the
 * return value is the length the whole output would have had.
 */
#ifndef LAB_BASE_FMT_H
#define LAB_BASE_FMT_H

#include <stdarg.h>
#include <stddef.h>

int lab__vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int lab__snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* LAB_BASE_FMT_H */
