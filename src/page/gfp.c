/*
 * gfp.c - gfp masks in words: lab_gfp_name(), the composite first when all
 * its bits are there, as the kernel's %pGg does.
 */
#include "labyrinth.h"
#include "base/fmt.h"

#include <stddef.h>

static const char *const gfp_names[] = {
	"HIGH", "ZERO", "NOWARN", "NOFAIL", "NORETRY", "RETRY_MAYFAIL", "MEMALLOC",
	"COMP", "DIRECT_RECLAIM", "KSWAPD_RECLAIM", "EXCLUSIVE",
};

const char *lab_gfp_name(lab_gfp_t gfp, char *buf, size_t len)
{
	struct { lab_gfp_t mask; const char *name; } composites[] = {
		{ LAB_GFP_KERNEL, "GFP_KERNEL" }, { LAB_GFP_ATOMIC, "GFP_ATOMIC" },
		{ LAB_GFP_NOWAIT, "GFP_NOWAIT" },
	};
	size_t used = 0;
	if (!len)
		return buf;
	buf[0] = '\0';
	/* Name the composite first when all its bits are there, as %pGg does. */
	for (size_t i = 0; i < sizeof(composites) / sizeof(composites[0]); i++) {
		if ((gfp & composites[i].mask) == composites[i].mask) {
			used += (size_t)lab__snprintf(buf + used, len - used, "%s", composites[i].name);
			gfp &= ~composites[i].mask;
			break;
		}
	}
	for (unsigned int bit = 0; gfp && used < len; bit++) {
		lab_gfp_t m = 1u << bit;
		if (!(gfp & m))
			continue;
		gfp &= ~m;
		const char *name = bit < sizeof(gfp_names) / sizeof(gfp_names[0]) ? gfp_names[bit] : NULL;
		if (name)
			used += (size_t)lab__snprintf(buf + used, len - used, "%s%s", used ? "|" : "", name);
		else
			used += (size_t)lab__snprintf(buf + used, len - used, "%s%#x", used ? "|" : "", m);
	}
	if (!used)
		lab__snprintf(buf, len, "0");
	return buf;
}
