/*
 * fmt.c - the formatter of fmt.h: one pass over the format, each conversion
 * rendered into a small stack buffer and then padded into the output, which
 * counts everything and stores what fits.  Pure C, reentrant.
 */
#include "base/fmt.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct out {
	char *buf;
	size_t size;   /* bytes of buf, the terminator's included */
	size_t len;    /* bytes the whole output has so far */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_n(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
}

static void pad(struct out *o, char c, size_t n)
{
	while (n--)
		put(o, c);
}

/* A conversion's text (prefix such as "-" or "0x", then body) padded to
 * width: spaces on the left, or on the right with '-', or zeros between the
 * prefix and the body with '0'. */
static void emit(struct out *o, const char *prefix, const char *body, size_t n, size_t width,
		 bool left, bool zero)
{
	size_t plen = strlen(prefix), total = plen + n;
	size_t fill = width > total ? width - total : 0;
	if (!left && !zero)
		pad(o, ' ', fill);
	put_n(o, prefix, plen);
	if (!left && zero)
		pad(o, '0', fill);
	put_n(o, body, n);
	if (left)
		pad(o, ' ', fill);
}

/* Digits of v in base (10 or 16) into the end of buf; returns the start. */
static char *digits(char *end, uintmax_t v, unsigned base, bool upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = set[v % base];
		v /= base;
	} while (v);
	return p;
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static uintmax_t get_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR:  return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:  return va_arg(*ap, unsigned long);
	case LEN_LLONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE:  return va_arg(*ap, size_t);
	default:        return va_arg(*ap, unsigned int);
	}
}

static intmax_t get_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR:  return (signed char)va_arg(*ap, int);
	case LEN_SHORT: return (short)va_arg(*ap, int);
	case LEN_LONG:  return va_arg(*ap, long);
	case LEN_LLONG: return va_arg(*ap, long long);
	case LEN_SIZE:  return (intmax_t)va_arg(*ap, size_t);  /* %zd: ssize_t */
	default:        return va_arg(*ap, int);
	}
}

int lab__vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = { buf, size, 0 };
	va_list ap;
	va_copy(ap, ap_in);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		const char *start = f++;
		bool left = false, zero = false, alt = false;
		for (;; f++) {
			if (*f == '-')
				left = true;
			else if (*f == '0')
				zero = true;
			else if (*f == '#')
				alt = true;
			else
				break;
		}
		size_t width = 0;
		if (*f == '*') {
			int w = va_arg(ap, int);
			if (w < 0) {
				left = true;
				w = -w;
			}
			width = (size_t)w;
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				width = width * 10 + (size_t)(*f++ - '0');
		}
		bool has_prec = false;
		size_t prec = 0;
		if (*f == '.') {
			has_prec = true;
			f++;
			if (*f == '*') {
				int p = va_arg(ap, int);
				has_prec = p >= 0;
				prec = p >= 0 ? (size_t)p : 0;
				f++;
			} else {
				while (*f >= '0' && *f <= '9')
					prec = prec * 10 + (size_t)(*f++ - '0');
			}
		}
		enum length len = LEN_INT;
		if (*f == 'h') {
			len = f[1] == 'h' ? LEN_CHAR : LEN_SHORT;
			f += len == LEN_CHAR ? 2 : 1;
		} else if (*f == 'l') {
			len = f[1] == 'l' ? LEN_LLONG : LEN_LONG;
			f += len == LEN_LLONG ? 2 : 1;
		} else if (*f == 'z') {
			len = LEN_SIZE;
			f++;
		}
		if (left || has_prec)
			zero = zero && !left && !(has_prec && *f != 's' && *f != 'c');
		char num[48], *end = num + sizeof(num), *p;
		switch (*f) {
		case '%':
			put(&o, '%');
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			emit(&o, "", &c, 1, width, left, false);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t n = has_prec ? strnlen(s, prec) : strlen(s);
			emit(&o, "", s, n, width, left, false);
			break;
		}
		case 'd':
		case 'i': {
			intmax_t v = get_signed(&ap, len);
			uintmax_t u = v < 0 ? -(uintmax_t)v : (uintmax_t)v;
			p = digits(end, u, 10, false);
			if (has_prec && !prec && !v)
				p = end;
			while (has_prec && (size_t)(end - p) < prec && p > num)
				*--p = '0';
			emit(&o, v < 0 ? "-" : "", p, (size_t)(end - p), width, left, zero);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uintmax_t v = get_unsigned(&ap, len);
			p = digits(end, v, *f == 'u' ? 10 : 16, *f == 'X');
			if (has_prec && !prec && !v)
				p = end;
			while (has_prec && (size_t)(end - p) < prec && p > num)
				*--p = '0';
			const char *prefix = alt && v && *f != 'u' ? (*f == 'X' ? "0X" : "0x") : "";
			emit(&o, prefix, p, (size_t)(end - p), width, left, zero);
			break;
		}
		case 'p': {
			const void *ptr = va_arg(ap, const void *);
			if (!ptr) {
				emit(&o, "", "(nil)", 5, width, left, false);
				break;
			}
			p = digits(end, (uintptr_t)ptr, 16, false);
			emit(&o, "0x", p, (size_t)(end - p), width, left, zero);
			break;
		}
		default:
			/* Not ours: copy the directive as it stands. */
			if (!*f)
				f--;
			put_n(&o, start, (size_t)(f - start + 1));
			break;
		}
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

int lab__snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = lab__vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
