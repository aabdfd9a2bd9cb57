/*
 * slabinfo.c - caches in the format of /proc/slabinfo (version 2.1;
 * "tunables" shows each per-CPU array's capacity and batch): lab_slabinfo()
 * for this process's caches, lab_slabinfo_print() for a snapshot of another
 * process's (its live export; `labyrinth stat`).  The slab layer's FILE*
 * functions: lines are formatted with base/fmt and written with fputs, never
 * on an allocation or free path.
 *
 * Exports lab_slabinfo, lab_slabinfo_print.
 */
#include "base/fmt.h"
#include "slab/slab.h"

#include <stdio.h>

static void print_head(FILE *out)
{
	fputs("slabinfo - version: 2.1\n"
	      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
	      " : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs>"
	      " <num_slabs> <sharedavail>\n", out);
}

static void print_line(FILE *out, const char *name, const struct lab_kmem_cache_stats *st)
{
	char line[192];
	lab__snprintf(line, sizeof(line), "%-17s %6zu %6zu %6zu %4zu %4u : tunables %4u %4u %4u : "
		      "slabdata %6zu %6zu %6u\n", name, st->active_objs, st->total_objs, st->size,
		      st->objs_per_slab, 1u << st->order, st->cpu_limit, st->cpu_batch, 0u,
		      st->slabs - st->empty_slabs, st->slabs, 0u);
	fputs(line, out);
}

static void print_cache(struct lab_kmem_cache *c, void *arg)
{
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(c, &st);
	print_line(arg, c->name, &st);
}

void lab_slabinfo(FILE *out)
{
	if (!out)
		return;
	print_head(out);
	lab__slab_for_each_cache(print_cache, out);
	fflush(out);
}

void lab_slabinfo_print(const struct lab_slab_snapshot *snap, FILE *out)
{
	if (!snap || !out)
		return;
	print_head(out);
	for (unsigned int i = 0; i < snap->nr_caches && i < LAB_EXPORT_MAX_CACHES; i++)
		print_line(out, snap->caches[i].name, &snap->caches[i].st);
	fflush(out);
}
