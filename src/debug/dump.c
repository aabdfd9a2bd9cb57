/*
 * dump.c - the text dumps, written with stdio to the caller's FILE: a zone
 * in the formats of /proc/buddyinfo, /proc/zoneinfo and /proc/vmstat (from
 * a lab_zone_get_stats() snapshot or another process's export), and the
 * page_owner records in the format of the kernel's page_owner file.  No
 * allocation or free path reaches here.
 *
 * Exports lab_zone_print_buddyinfo/zoneinfo/vmstat, lab_stats_print,
 * lab_dump_page_owner and lab_page_owner_report_leaks.
 */
#include "base/fmt.h"
#include "os/stack.h"
#include "page/counters.h"
#include "page/page.h"
#include "page/zone.h"
#include "debug/page_owner.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- text dumps ------------------------------------------------------- */

static void print_buddyinfo(const char *name, const struct lab_zone_stats *st, FILE *out)
{
	fprintf(out, "Node 0, zone %8s ", name);
	for (int o = 0; o <= LAB_MAX_ORDER; o++)
		fprintf(out, "%6zu ", st->nr_free[o]);
	fputc('\n', out);
}

/* The zone block of /proc/zoneinfo; Labyrinth's own counters follow the
 * kernel's in the indented per-zone list. */
static void print_zoneinfo(const char *name, const struct lab_zone_stats *st, FILE *out)
{
	fprintf(out, "Node 0, zone %8s\n", name);
	fprintf(out, "  pages free     %zu\n", st->free);
	fprintf(out, "        boost    0\n");
	fprintf(out, "        min      %zu\n", st->wmark_min);
	fprintf(out, "        low      %zu\n", st->wmark_low);
	fprintf(out, "        high     %zu\n", st->wmark_high);
	fprintf(out, "        spanned  %zu\n", st->managed);
	fprintf(out, "        present  %zu\n", st->managed);
	fprintf(out, "        managed  %zu\n", st->managed);
	fprintf(out, "        cma      0\n");
	fprintf(out, "        protection: (0)\n");
	fprintf(out, "      nr_free_pages %zu\n", st->free);
	fprintf(out, "      nr_free_highatomic %zu\n", st->reserved_highatomic);
	/* Pages parked on per-CPU lists are in neither free nor allocated:
	 * nr_free_pages + nr_pcp_pages + nr_allocated == managed. */
	fprintf(out, "      nr_pcp_pages %zu\n", st->pcp);
	/* The per-CPU capacity adapts between high_min and high_max (pcp.c);
	 * pcp_high is the largest over the CPUs now, order 0. */
	fprintf(out, "      pcp_high %zu\n", st->pcp_high_now);
	fprintf(out, "      pcp_high_min %zu\n", st->pcp_high);
	fprintf(out, "      pcp_high_max %zu\n", st->pcp_high_max);
	fprintf(out, "      pcp_batch %zu\n", st->pcp_batch);
	fprintf(out, "      nr_allocated %zu\n", st->allocated);
	fprintf(out, "      nr_deferred %zu\n", st->deferred);
	fprintf(out, "      nr_leaked %zu\n", st->leaked);
	fprintf(out, "  node_unreclaimable:  0\n");
	fprintf(out, "  start_pfn:           0\n");
}

/* One "name value" line; statistics without a vmstat name have none. */
static void vm_line(FILE *out, const char *name, uint64_t value)
{
	if (name)
		fprintf(out, "%s %llu\n", name, (unsigned long long)value);
}

/* /proc/vmstat: every statistic with a vmstat name, in the order of
 * counters.h; the kernel's name where the meaning is the same
 * (nr_free_pages, pgalloc, pgfree, allocstall, pageoutrun). */
static void print_vmstat(const struct lab_zone_stats *st, FILE *out)
{
#define LINE(field, name) vm_line(out, name, (uint64_t)st->field);
#define ORDERS(field, name)                                                     \
	for (int o = 0; o <= LAB_MAX_ORDER; o++)                                \
		fprintf(out, "%s%d %llu\n", name, o, (unsigned long long)st->field[o]);
	LAB_ZONE_STATS(LINE, LINE, ORDERS, LINE)
#undef LINE
#undef ORDERS
}

void lab_stats_print(const char *name, const struct lab_zone_stats *st,
		     enum lab_stats_format format, FILE *out)
{
	if (!st || !out)
		return;
	if (!name)
		name = "?";
	switch (format) {
	case LAB_STATS_BUDDYINFO:
		print_buddyinfo(name, st, out);
		break;
	case LAB_STATS_ZONEINFO:
		print_zoneinfo(name, st, out);
		break;
	case LAB_STATS_VMSTAT:
		print_vmstat(st, out);
		break;
	}
}

static void print_zone(const struct lab_zone *z, enum lab_stats_format format, FILE *out)
{
	struct lab_zone_stats st;
	if (!z || !out)
		return;
	lab_zone_get_stats(z, &st);
	lab_stats_print(z->name, &st, format, out);
}

void lab_zone_print_buddyinfo(const struct lab_zone *z, FILE *out)
{
	print_zone(z, LAB_STATS_BUDDYINFO, out);
}

void lab_zone_print_zoneinfo(const struct lab_zone *z, FILE *out)
{
	print_zone(z, LAB_STATS_ZONEINFO, out);
}

void lab_zone_print_vmstat(const struct lab_zone *z, FILE *out)
{
	print_zone(z, LAB_STATS_VMSTAT, out);
}

/* ---- page_owner -------------------------------------------------------- */


static void print_stack(void *const *frames, unsigned int nr, FILE *out)
{
	char line[256];
	for (unsigned int i = 0; i < nr; i++) {
		lab__os_stack_format(frames[i], line, sizeof(line));
		fputs(line, out);
	}
}

/* print_page_owner(): header, PFN line, stack, blank line. */
static void print_owner(const struct lab_zone *z, size_t pfn, FILE *out)
{
	const struct page_owner *po = &z->page_owner[pfn];
	const struct lab_page *p = pfn_to_page(z, pfn);
	char mode[160], flags[96];
	uint32_t f = page_flags(p);
	lab_gfp_name(po->gfp_mask, mode, sizeof(mode));
	lab__page_flags_name(f, flags, sizeof(flags));
	fprintf(out, "Page allocated via order %u, mask %#x(%s), pid %d, tid %d (%s), ts %llu ns\n",
		po->order, po->gfp_mask, mode, po->pid, po->tid, po->comm,
		(unsigned long long)po->ts_nsec);
	fprintf(out, "PFN 0x%zx zone %s Block %zu type %s Flags %#x(%s)\n", pfn, z->name,
		pfn >> z->pageblock_order,
		z->pageblock_mt[pfn >> z->pageblock_order] ? "HighAtomic" : "Normal", f, flags);
	print_stack(po->stack, po->nr_entries, out);
	fputc('\n', out);
}

/* Walk blocks by pfn; print each allocated head that has a record
 * (leaks_only: blocks leaked by Bad page reports too). */
static size_t for_each_owned(const struct lab_zone *z, FILE *out, bool leaks_only)
{
	size_t managed = atomic_load(&z->managed), count = 0;
	if (!z->page_owner)
		return 0;
	for (size_t pfn = 0; pfn < managed;) {
		const struct lab_page *p = pfn_to_page(z, pfn);
		uint32_t f = page_flags(p);
		size_t n = (f & (PG_buddy | PG_allocated | PG_bad | PG_deferred | PG_pooled))
				   ? (size_t)1 << (p->order <= LAB_MAX_ORDER ? p->order : 0) : 1;
		bool live = (f & PG_allocated) || (leaks_only && (f & PG_bad));
		if (live && z->page_owner[pfn].set) {
			print_owner(z, pfn, out);
			count++;
		}
		pfn += n;
	}
	return count;
}

size_t lab_dump_page_owner(const struct lab_zone *z, FILE *out)
{
	if (!z || !out)
		return 0;
	size_t n = for_each_owned(z, out, false);
	fflush(out);
	return n;
}

size_t lab_page_owner_report_leaks(const struct lab_zone *z, FILE *out)
{
	if (!z || !out || !z->page_owner)
		return 0;
	size_t managed = atomic_load(&z->managed), blocks = 0, pages = 0;
	for (size_t pfn = 0; pfn < managed; pfn++) {
		const struct lab_page *p = pfn_to_page(z, pfn);
		if ((page_flags(p) & (PG_allocated | PG_bad)) && p->order <= LAB_MAX_ORDER) {
			blocks++;
			pages += (size_t)1 << p->order;
			pfn += ((size_t)1 << p->order) - 1;
		}
	}
	if (!blocks)
		return 0;
	fprintf(out, "labyrinth: page_owner: zone %s: %zu blocks (%zu pages) never freed:\n",
		z->name, blocks, pages);
	for_each_owned(z, out, true);
	fflush(out);
	return blocks;
}

size_t lab__page_owner_leaks_to_stderr(const struct lab_zone *z)
{
	return lab_page_owner_report_leaks(z, stderr);
}
