/*
 * fuzz_gfp_name.c - fuzz target for lab_gfp_name(): any mask, any buffer
 * length.  The output must be NUL-terminated inside the buffer, a prefix of
 * the full name when the buffer is short, and the full name must parse back
 * to the mask (composite first, then flag names, unknown bits in hex).
 */
#include "fuzz.h"

#include <labyrinth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report_fd = STDERR_FILENO;

#define expect(cond, ...) do {                                  \
	if (!(cond)) {                                          \
		dprintf(report_fd, "fuzz_gfp_name: " __VA_ARGS__); \
		dprintf(report_fd, "\n");                       \
		abort();                                        \
	}                                                       \
} while (0)

static const struct { const char *name; lab_gfp_t mask; } names[] = {
	{ "GFP_KERNEL", LAB_GFP_KERNEL }, { "GFP_ATOMIC", LAB_GFP_ATOMIC },
	{ "GFP_NOWAIT", LAB_GFP_NOWAIT },
	{ "HIGH", LAB_GFP_HIGH }, { "ZERO", LAB_GFP_ZERO }, { "NOWARN", LAB_GFP_NOWARN },
	{ "NOFAIL", LAB_GFP_NOFAIL }, { "NORETRY", LAB_GFP_NORETRY },
	{ "RETRY_MAYFAIL", LAB_GFP_RETRY_MAYFAIL }, { "MEMALLOC", LAB_GFP_MEMALLOC },
	{ "COMP", LAB_GFP_COMP }, { "DIRECT_RECLAIM", LAB_GFP_DIRECT_RECLAIM },
	{ "KSWAPD_RECLAIM", LAB_GFP_KSWAPD_RECLAIM }, { "EXCLUSIVE", LAB_GFP_EXCLUSIVE },
};

/* Parse "A|B|0x800" back into a mask; each token exactly once, composites first. */
static lab_gfp_t parse(const char *s, lab_gfp_t gfp)
{
	if (!strcmp(s, "0"))
		return 0;
	lab_gfp_t mask = 0;
	int index = 0;
	for (const char *tok = s; *tok; index++) {
		size_t len = strcspn(tok, "|");
		lab_gfp_t m = 0;
		if (len > 2 && !strncmp(tok, "0x", 2)) {
			m = (lab_gfp_t)strtoul(tok, NULL, 16);
			expect(m && !(m & (m - 1)) && !(m & LAB_GFP_ALL_BITS),
			       "%#x named %s: hex token %.*s is not one unknown bit", gfp, s, (int)len, tok);
		} else {
			size_t i;
			for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				if (strlen(names[i].name) == len && !strncmp(tok, names[i].name, len))
					break;
			expect(i < sizeof(names) / sizeof(names[0]), "%#x named %s: unknown token %.*s",
			       gfp, s, (int)len, tok);
			expect(i >= 3 || index == 0, "%#x named %s: composite not first", gfp, s);
			m = names[i].mask;
		}
		expect(!(mask & m), "%#x named %s: token %.*s repeats bits", gfp, s, (int)len, tok);
		mask |= m;
		tok += len;
		if (*tok == '|')
			tok++;
	}
	return mask;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	int fd = dup(STDERR_FILENO);
	if (fd >= 0)
		report_fd = fd;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	lab_gfp_t gfp = (lab_gfp_t)data[0] | (lab_gfp_t)data[1] << 8 | (lab_gfp_t)data[2] << 16 |
			(lab_gfp_t)data[3] << 24;
	size_t len = data[4];

	char full[512];
	expect(lab_gfp_name(gfp, full, sizeof(full)) == full, "does not return its buffer");
	expect(memchr(full, '\0', sizeof(full)), "%#x: no NUL in 512 bytes", gfp);
	expect(parse(full, gfp) == gfp, "%#x named \"%s\" parses back to %#x", gfp, full,
	       parse(full, gfp));

	/* Exactly len bytes, so AddressSanitizer sees any write past them. */
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	buf[0] = 'x';
	expect(lab_gfp_name(gfp, buf, len) == buf, "does not return its buffer");
	if (!len) {
		expect(buf[0] == 'x', "%#x: wrote into a buffer of length 0", gfp);
	} else {
		size_t n = strnlen(buf, len);
		expect(n < len, "%#x: no NUL inside a buffer of %zu", gfp, len);
		size_t want = strlen(full) < len ? strlen(full) : len - 1;
		expect(n == want && !strncmp(buf, full, n), "%#x: \"%s\" in %zu bytes, full name \"%s\"",
		       gfp, buf, len, full);
	}
	free(buf);
	return 0;
}
