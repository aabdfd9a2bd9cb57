/*
 * slabinfo.c - lab_slabinfo(): every cache in the format of /proc/slabinfo
 * (version 2.1; "tunables" shows each per-CPU array's capacity and batch).
 * The slab layer's one FILE* function: lines are formatted with base/fmt
 * and written with fputs, never on an allocation or free path.
 *
 * Exports lab_slabinfo.
 */
#include "base/fmt.h"
#include "slab/slab.h"

#include <stdio.h>

static void slabinfo_line(struct lab_kmem_cache *c, void *arg)
{
	FILE *out = arg;
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(c, &st);
	size_t active_slabs = st.slabs - __atomic_load_n(&c->nr_list[SLAB_EMPTY], __ATOMIC_RELAXED);
	char line[192];
	lab__snprintf(line, sizeof(line), "%-17s %6zu %6zu %6zu %4u %4u : tunables %4u %4u %4u : "
		      "slabdata %6zu %6zu %6u\n", c->name, st.active_objs, st.total_objs, c->size,
		      c->nr_objects, 1u << c->order, c->high, c->batch, 0u, active_slabs, st.slabs,
		      0u);
	fputs(line, out);
}

void lab_slabinfo(FILE *out)
{
	if (!out)
		return;
	fputs("slabinfo - version: 2.1\n"
	      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
	      " : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs>"
	      " <num_slabs> <sharedavail>\n", out);
	lab__slab_for_each_cache(slabinfo_line, out);
	fflush(out);
}
