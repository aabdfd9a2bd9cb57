/*
 * describe.c - lab_zone_describe(): which protections a zone asked for,
 * which are in force as the OS confirmed them, which fell back and why,
 * written with stdio to the caller's FILE (`labyrinth info`).  No
 * allocation or free path reaches here.
 */
#include "base/fmt.h"
#include "os/os.h"
#include "page/zone.h"
#include "secure/protect.h"

#include <stdio.h>
#include <string.h>

void lab_zone_describe(const struct lab_zone *z, FILE *out)
{
	if (!z || !out)
		return;
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	fprintf(out, "zone %s: %zu pages of %zu bytes managed, %zu free, %zu section%s\n",
		z->name, st.managed, z->page_size, st.free, st.sections,
		st.sections == 1 ? "" : "s");
	fprintf(out, "  %-11s %-10s %s\n", "protection", "state", "detail");
	for (size_t i = 0; i < lab__nr_prots; i++) {
		const struct prot_info *pi = &lab__prots[i];
		unsigned int f = pi->flag;
		char detail[256], err[96];
		const char *state;
		const char *implied = (st.prot_wanted & f) && !(z->flags & f) ? "implied by SECRET: " : "";
		if (!(st.prot_wanted & f)) {
			state = "-";
			lab__snprintf(detail, sizeof(detail), "not requested");
		} else if (st.prot_in_force & f) {
			state = "in force";
			if (f == LAB_ZONE_PKEY)
				lab__snprintf(detail, sizeof(detail), "key %d: only threads that called "
					 "lab_zone_grant() may touch the pages", st.pkey);
			else if (f == LAB_ZONE_GUARD)
				lab__snprintf(detail, sizeof(detail), "%s; %zu guard pfn%s between sections",
					 pi->gives, st.guard_pfns, st.guard_pfns == 1 ? "" : "s");
			else
				lab__snprintf(detail, sizeof(detail), "%s%s", implied, pi->gives);
		} else {
			int e = st.prot_errno[prot_bit(f)];
			state = f == LAB_ZONE_SECRET ? "FELL BACK" : "MISSING";
			lab__snprintf(detail, sizeof(detail), "%s%s (%s)", implied, pi->without,
				 e ? lab__os_strerror(e, err, sizeof(err)) : "not on every section");
		}
		fprintf(out, "  %-11s %-10s %s\n", pi->name, state, detail);
	}
	fprintf(out, "  strict: %s; exclusive blocks allocated: %llu; refused to non-owners: %llu\n",
		(z->flags & LAB_ZONE_STRICT) ? "yes (no fallback)" : "no (fall back and report)",
		(unsigned long long)st.exclusive_alloc, (unsigned long long)st.owner_refused);
}
