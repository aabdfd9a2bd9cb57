/*
 * page.c - the descriptor's flags in words, for reports and dumps: the
 * names come from the one list of flags (page.h, LAB_PAGE_FLAGS).
 */
#include "base/fmt.h"
#include "page/page.h"

#include <stddef.h>
#include <stdint.h>

/* Indexed by bit; a bit without a name prints as hex. */
static const char *const pg_names[32] = {
#define LAB_PG_NAME(name, bit, what) [bit] = #name,
	LAB_PAGE_FLAGS(LAB_PG_NAME)
#undef LAB_PG_NAME
};

const char *lab__page_flags_name(uint32_t flags, char *buf, size_t len)
{
	size_t used = 0;
	if (!len)
		return buf;
	buf[0] = '\0';
	for (unsigned int bit = 0; bit < 32 && used < len; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		if (pg_names[bit])
			used += (size_t)lab__snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
						      pg_names[bit]);
		else
			used += (size_t)lab__snprintf(buf + used, len - used, "%s%#x", used ? "|" : "",
						      1u << bit);
	}
	return buf;
}
