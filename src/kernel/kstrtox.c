/*
 * kstrtox.c - the kernel's kstrtoull/kstrtoll/kstrtobool rules: the whole
 * string must be a number (one trailing newline allowed); base 0 takes "0x"
 * as hex and a leading 0 as octal; base 16 accepts a "0x" prefix; a leading
 * '+' is allowed, '-' only for signed results.  0, -EINVAL or -ERANGE.
 *
 * Exports lab_kernel_kstrtoull, lab_kernel_kstrtoll, lab_kernel_kstrtobool.
 * Async-signal-safe; O(length).
 */
#include "kernel.h"

#include <errno.h>
#include <stdint.h>

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

int lab_kernel_kstrtoull(const char *s, unsigned int base, unsigned long long *res)
{
	if (s[0] == '+')
		s++;
	if (base == 0) {
		if (s[0] == '0' && (s[1] | 0x20) == 'x' && digit_value(s[2]) < 16) {
			base = 16;
			s += 2;
		} else if (s[0] == '0') {
			base = 8;
		} else {
			base = 10;
		}
	} else if (base == 16 && s[0] == '0' && (s[1] | 0x20) == 'x') {
		s += 2;
	}
	if (base < 2 || base > 36)
		return -EINVAL;
	unsigned long long v = 0;
	const char *p = s;
	for (; *p; p++) {
		int d = digit_value(*p);
		if (d >= (int)base)
			break;
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
			return -ERANGE;
	}
	if (p == s)
		return -EINVAL;
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*res = v;
	return 0;
}

int lab_kernel_kstrtoll(const char *s, unsigned int base, long long *res)
{
	unsigned long long v;
	int rc;
	if (s[0] == '-') {
		rc = lab_kernel_kstrtoull(s + 1, base, &v);
		if (rc)
			return rc;
		if (v > (unsigned long long)INT64_MAX + 1)
			return -ERANGE;
		*res = (long long)(0 - v);
		return 0;
	}
	rc = lab_kernel_kstrtoull(s, base, &v);
	if (rc)
		return rc;
	if (v > INT64_MAX)
		return -ERANGE;
	*res = (long long)v;
	return 0;
}

/* y/Y/1/on: true; n/N/0/off: false (only the first letters matter, as in
 * the kernel). */
int lab_kernel_kstrtobool(const char *s, bool *res)
{
	if (!s)
		return -EINVAL;
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1':
		*res = true;
		return 0;
	case 'n': case 'N': case 'f': case 'F': case '0':
		*res = false;
		return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N') {
			*res = true;
			return 0;
		}
		if (s[1] == 'f' || s[1] == 'F') {
			*res = false;
			return 0;
		}
		break;
	}
	return -EINVAL;
}
