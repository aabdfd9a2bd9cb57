/*
 * reader.h - what the fuzz targets over operations (fuzz_ops.c, fuzz_slab.c)
 * share: reading the input a byte at a time (missing bytes read as zero),
 * and failing with the step and the operation that broke.  Each target is a
 * program of its own and includes this once; define FUZZ_TARGET (its name,
 * a string) first.
 */
#ifndef LAB_FUZZ_READER_H
#define LAB_FUZZ_READER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct reader {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t u8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static inline uint16_t u16(struct reader *r)
{
	uint16_t lo = u8(r);
	return (uint16_t)(lo | (uint16_t)u8(r) << 8);
}

/* Where a failure is reported (a target may point it elsewhere), and what
 * it names: the step's number and operation, set by the target's loop. */
static int report_fd = STDERR_FILENO;
static uint64_t step_no;
static const char *op_name = "start";

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dprintf(report_fd, FUZZ_TARGET ": step %llu (%s): %s\n", (unsigned long long)step_no,
		op_name, buf);
	abort();
}

#define expect(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

#endif /* LAB_FUZZ_READER_H */
