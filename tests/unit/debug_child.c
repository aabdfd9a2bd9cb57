/*
 * debug_child.c - a small program the debugging tests run as a separate
 * process: under Valgrind, with LABYRINTH_* variables read at start-up, or
 * as the target of `labyrinth stat` / `labyrinth top`.
 *
 *   debug_child fault-config   print the fault-injection settings in force
 *   debug_child poison-after-free  print the first byte of a freed page
 *   debug_child uaf-read       read a page after freeing it
 *   debug_child owner-count    print how many blocks the page-owner dump lists
 *   debug_child leak           allocate in leaky_allocation() and exit
 *   debug_child export         allocate a scripted set, print "ready", and
 *                              wait for stdin to close
 *   debug_child export-pcp     the same with a zone whose per-CPU lists hold
 *                              pages
 *   debug_child export-slab    the same with a cache "dc-objs" of 1000 objects
 *                              in use and 50 kmalloc-64 objects
 *   debug_child pcp-probe      say whether glibc registered rseq and which
 *                              per-CPU list mode the library chose, then use
 *                              the lists and print their counters
 *   debug_child pcp-count      on CPU 0, a known sequence of allocations and
 *                              frees of orders 0..3 through the per-CPU
 *                              lists (the inline fast paths and the refills
 *                              and drains); print the mode, each counter as
 *                              the library and as a model of the lists count
 *                              it, and the checker's verdict
 *   debug_child settings       print what the LABYRINTH_* variables set
 *   debug_child flood [reopen] 100 double frees in one rate-limit interval,
 *                              then exit (or, with reopen, end the interval
 *                              and make one more)
 *   debug_child slab-uaf-read  read an object after freeing it
 *   debug_child slab-churn     allocate and free objects of plain and debugged
 *                              caches and kmalloc, correctly
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <labyrinth.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Public and not inlined, so a page-owner stack names them. */
__attribute__((noinline)) struct lab_page *leaky_allocation(struct lab_zone *z);
__attribute__((noinline)) struct lab_page *leaky_allocation(struct lab_zone *z)
{
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	__asm__ __volatile__("" ::: "memory");  /* not a tail call: keep our frame */
	return p;
}

static struct lab_zone *zone(const char *name, size_t pages)
{
	struct lab_zone_config cfg = { .name = name, .pages = pages,
				       .flags = LAB_ZONE_NO_KSWAPD | LAB_ZONE_NO_PCP };
	struct lab_zone *z = lab_zone_create(&cfg);
	if (!z) {
		perror("lab_zone_create");
		exit(1);
	}
	return z;
}

/* Read one byte through the kernel, not through our own mapping. */
static unsigned char peek(const void *addr)
{
	unsigned char c = 0;
	int fd = open("/proc/self/mem", O_RDONLY);
	if (fd < 0 || pread(fd, &c, 1, (off_t)(uintptr_t)addr) != 1) {
		perror("/proc/self/mem");
		exit(1);
	}
	close(fd);
	return c;
}

/* glibc 2.35+: the size of the rseq area it registered, 0 when it did not. */
extern const unsigned int __rseq_size __attribute__((weak));
/* The atomic-sleep check's switch (page/atomic.c; the child links the
 * static library). */
extern bool lab__sleep_check;
/* The Bad page rate limit's interval (page/badpage.c), which tests may end. */
extern _Atomic uint64_t lab__bad_page_interval_ns;

static void flood(bool reopen)
{
	struct lab_zone *z = zone("flood", 64);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	lab_free_page(p);
	/* The first report opens an interval (0: any call opens one) that
	 * lasts an hour: the other 99 fall into it. */
	lab__bad_page_interval_ns = 0;
	lab_free_page(p);
	lab__bad_page_interval_ns = 3600ull * 1000 * 1000 * 1000;
	for (int i = 1; i < 100; i++)
		lab_free_page(p);
	if (reopen) {
		lab__bad_page_interval_ns = 0;
		fprintf(stderr, "-- interval over\n");
		lab_free_page(p);
	}
	fprintf(stderr, "-- exit\n");
}

/*
 * pcp-count: the per-CPU lists of a zone with a fixed batch (8) and high
 * (32), on CPU 0 only, and a model of what they count: an allocation pops
 * (a hit) or, from an empty list, refills a batch (one handed out, the rest
 * listed); a free drains a batch from a full list, then pushes.  Order k
 * moves max(8 >> k, 2) blocks and holds max(32 >> k, 2 batches).
 */
struct list_model {
	unsigned long long count, hit, refill, drain, free, alloc;
};

static void model_alloc(struct list_model *m, unsigned int batch)
{
	m->alloc++;
	if (m->count) {
		m->count--;
		m->hit++;
	} else {
		m->refill++;
		m->count += batch - 1;
	}
}

static void model_free(struct list_model *m, unsigned int batch, unsigned int high)
{
	if (m->count >= high) {
		m->count -= m->count < batch ? m->count : batch;
		m->drain++;
	}
	m->count++;
	m->free++;
}

/* A small zone with fixed per-CPU lists (batch 8, high 32): the pcp-* modes. */
static struct lab_zone *small_pcp_zone(const char *name)
{
	struct lab_zone_config cfg = { .name = name, .pages = 4096, .flags = LAB_ZONE_NO_KSWAPD,
				       .wmark_min = 64, .wmark_low = 80, .wmark_high = 96,
				       .pcp_batch = 8, .pcp_high = 32 };
	return lab_zone_create(&cfg);
}

static int pcp_count(void)
{
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus)) {
		perror("sched_setaffinity");
		return 1;
	}
	struct lab_zone *z = small_pcp_zone("count");
	if (!z)
		return 1;
	static struct lab_page *held[100];
	struct list_model m[4] = { { 0 } };
	for (unsigned int o = 0; o < 4; o++) {
		unsigned int batch = o ? (8u >> o > 2 ? 8u >> o : 2) : 8;
		unsigned int high = 32u >> o > 2 * batch ? 32u >> o : 2 * batch;
		/* Pairs at batch 1 (the fast paths), then rounds of 100
		 * allocations and 100 frees (refills and drains too). */
		for (int i = 0; i < (o ? 20000 : 200000); i++) {
			struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, o);
			if (!p)
				return 2;
			model_alloc(&m[o], batch);
			lab_free_pages(p, o);
			model_free(&m[o], batch, high);
		}
		for (int round = 0; round < 5; round++) {
			for (int i = 0; i < 100; i++) {
				if (!(held[i] = lab_alloc_pages(z, LAB_GFP_ATOMIC, o)))
					return 2;
				model_alloc(&m[o], batch);
			}
			for (int i = 0; i < 100; i++) {
				lab_free_pages(held[i], o);
				model_free(&m[o], batch, high);
			}
		}
	}
	struct list_model sum = { 0 };
	size_t listed = 0;
	for (unsigned int o = 0; o < 4; o++) {
		sum.alloc += m[o].alloc;
		sum.hit += m[o].hit;
		sum.refill += m[o].refill;
		sum.drain += m[o].drain;
		sum.free += m[o].free;
		listed += m[o].count << o;
	}
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	printf("mode: %s\n", lab_pcp_mode_name());
	printf("pgalloc: %llu model %llu\n", (unsigned long long)st.alloc_success, sum.alloc);
	for (unsigned int o = 0; o < 4; o++)
		printf("pgalloc_order_%u: %llu model %llu\n", o,
		       (unsigned long long)st.alloc_order[o], m[o].alloc);
	printf("pgfree: %llu model %llu\n", (unsigned long long)st.free_calls, sum.free);
	printf("pcp_hit: %llu model %llu\n", (unsigned long long)st.pcp_hit, sum.hit);
	printf("pcp_refill: %llu model %llu\n", (unsigned long long)st.pcp_refill, sum.refill);
	printf("pcp_drain: %llu model %llu\n", (unsigned long long)st.pcp_drain, sum.drain);
	printf("nr_pcp_pages: %zu model %zu\n", st.pcp, listed);
	printf("check: %d\n", lab_zone_check(z));
	lab_zone_destroy(z);
	return 0;
}

/* One line per LABYRINTH_* variable: the setting in force. */
static void print_settings(void)
{
	struct lab_zone *z = zone("settings", 64);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	unsigned char *mem = lab_page_address(p);
	FILE *null = fopen("/dev/null", "w");
	size_t owned = lab_dump_page_owner(z, null);
	fclose(null);
	memset(mem, 0x11, lab_page_size());
	lab_free_page(p);
	struct lab_stats_snapshot snap;
	int exported = lab_stats_read_export((int)getpid(), &snap);
	struct lab_fault_attr a;
	lab_fault_get(&a);
	printf("LABYRINTH_PCP: %s\n", lab_pcp_mode_name());
	printf("LABYRINTH_POISON: %s\n", peek(mem) == 0xaa ? "on" : "off");
	printf("LABYRINTH_PAGE_OWNER: %s\n", owned ? "on" : "off");
	printf("LABYRINTH_EXPORT: %s\n", exported == 0 ? "on" : exported == -ENOENT ? "off" : "?");
	printf("LABYRINTH_FAIL_PAGE_ALLOC: probability %u\n", a.probability);
	printf("LABYRINTH_DEBUG: atomic-sleep check %s\n", lab__sleep_check ? "on" : "off");
	lab_zone_destroy(z);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "fault-config")) {
		struct lab_fault_attr a;
		lab_fault_get(&a);
		printf("probability=%u interval=%lu times=%ld space=%ld verbose=%u "
		       "ignore_gfp_wait=%d min_order=%u\n", a.probability, a.interval, a.times,
		       a.space, a.verbose, (int)a.ignore_gfp_wait, a.min_order);
		return 0;
	}
	if (!strcmp(cmd, "poison-after-free")) {
		struct lab_zone *z = zone("child", 64);
		struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
		unsigned char *mem = lab_page_address(p);
		memset(mem, 0x11, lab_page_size());
		lab_free_page(p);
		printf("after free: 0x%02x\n", peek(mem));
		lab_zone_destroy(z);
		return 0;
	}
	if (!strcmp(cmd, "uaf-read")) {
		struct lab_zone *z = zone("child", 64);
		struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
		volatile unsigned char *mem = lab_page_address(p);
		mem[100] = 1;
		lab_free_page(p);
		printf("read after free: %d\n", mem[100]);  /* the bug the tools must see */
		fflush(stdout);
		lab_zone_destroy(z);
		return 0;
	}
	if (!strcmp(cmd, "owner-count")) {
		struct lab_zone *z = zone("child", 64);
		struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
		FILE *null = fopen("/dev/null", "w");
		printf("page owner blocks: %zu\n", lab_dump_page_owner(z, null));
		fclose(null);
		lab_free_page(p);
		lab_zone_destroy(z);
		return 0;
	}
	if (!strcmp(cmd, "leak")) {
		struct lab_zone *z = zone("leaky", 64);
		if (!leaky_allocation(z))
			return 1;
		return 0;   /* neither freed nor destroyed: the exit report shows it */
	}
	if (!strcmp(cmd, "export-pcp")) {
		struct lab_zone_config cfg = { .name = "percpu", .pages = 1024,
					       .flags = LAB_ZONE_NO_KSWAPD };
		struct lab_zone *z = lab_zone_create(&cfg);
		struct lab_page *p[40];
		if (!z)
			return 1;
		for (int i = 0; i < 40; i++)
			p[i] = lab_alloc_page(z, LAB_GFP_KERNEL);
		for (int i = 0; i < 30; i++)  /* onto this CPU's list */
			lab_free_page(p[i]);
		lab_stats_export_sync();
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		char buf[64];
		while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
			;
		for (int i = 30; i < 40; i++)
			lab_free_page(p[i]);
		lab_zone_destroy(z);
		return 0;
	}
	if (!strcmp(cmd, "export-slab")) {
		static void *o[1000], *k[50];
		struct lab_kmem_cache *c = lab_kmem_cache_create(NULL, "dc-objs", 100, 0, 0, NULL);
		if (!c)
			return 1;
		for (int i = 0; i < 1000; i++)
			if (!(o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL)))
				return 1;
		for (int i = 0; i < 50; i++)
			if (!(k[i] = lab_kmalloc(64, LAB_GFP_KERNEL)))
				return 1;
		lab_stats_export_sync();
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		char buf[64];
		while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
			;
		for (int i = 0; i < 1000; i++)
			lab_kmem_cache_free(c, o[i]);
		for (int i = 0; i < 50; i++)
			lab_kfree(k[i]);
		lab_kmem_cache_destroy(c);
		return 0;
	}
	if (!strcmp(cmd, "export")) {
		struct lab_zone *z = zone("exported", 512);
		struct lab_page *p[4];
		for (int i = 0; i < 3; i++)
			p[i] = lab_alloc_page(z, LAB_GFP_KERNEL);
		p[3] = lab_alloc_pages(z, LAB_GFP_KERNEL, 2);
		lab_free_page(p[0]);
		lab_stats_export_sync();
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		char buf[64];
		while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
			;
		lab_free_page(p[1]);
		lab_free_page(p[2]);
		lab_free_pages(p[3], 2);
		lab_zone_destroy(z);
		return 0;
	}
	if (!strcmp(cmd, "pcp-probe")) {
		struct lab_zone *z = small_pcp_zone("probe");
		if (!z)
			return 1;
		struct lab_page *p[100];
		for (int i = 0; i < 100; i++)
			p[i] = lab_alloc_page(z, LAB_GFP_ATOMIC);
		for (int i = 0; i < 100; i++)
			lab_free_page(p[i]);
		struct lab_zone_stats st;
		lab_zone_get_stats(z, &st);
		printf("rseq registered: %s\nmode: %s\npcp_hit: %llu\nfree+pcp: %zu of %zu\n"
		       "check: %d\n", &__rseq_size && __rseq_size ? "yes" : "no",
		       lab_pcp_mode_name(), (unsigned long long)st.pcp_hit, st.free + st.pcp,
		       st.managed, lab_zone_check(z));
		lab_zone_destroy(z);
		return 0;
	}
	if (!strcmp(cmd, "pcp-count"))
		return pcp_count();
	if (!strcmp(cmd, "flood")) {
		flood(argc > 2 && !strcmp(argv[2], "reopen"));
		return 0;
	}
	if (!strcmp(cmd, "settings")) {
		print_settings();
		return 0;
	}
	if (!strcmp(cmd, "slab-uaf-read")) {
		struct lab_zone *z = zone("child", 64);
		struct lab_kmem_cache *c = lab_kmem_cache_create(z, "uaf", 64, 0, 0, NULL);
		volatile char *o = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
		o[7] = 1;
		lab_kmem_cache_free(c, (void *)(uintptr_t)o);
		printf("read after free: %d\n", o[7]);  /* the bug the tools must see */
		fflush(stdout);
		return 0;
	}
	if (!strcmp(cmd, "slab-churn")) {
		struct lab_zone *z = zone("child", 512);
		unsigned int flags[] = { 0, LAB_SLAB_CONSISTENCY_CHECKS | LAB_SLAB_RED_ZONE |
					    LAB_SLAB_POISON | LAB_SLAB_STORE_USER };
		static void *o[3000];
		for (int f = 0; f < 2; f++) {
			struct lab_kmem_cache *c = lab_kmem_cache_create(z, "churn", 40, 0, flags[f],
									 NULL);
			for (int round = 0; round < 3; round++) {
				for (int i = 0; i < 3000; i++) {
					o[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
					memset(o[i], i, 40);
				}
				for (int i = 0; i < 3000; i++)
					lab_kmem_cache_free(c, o[i]);
			}
			lab_kmem_cache_shrink(c);
			lab_kmem_cache_destroy(c);
		}
		for (int i = 0; i < 3000; i++) {
			o[i] = lab_kmalloc((size_t)(i % 5000) + 1, LAB_GFP_KERNEL);
			memset(o[i], 1, (size_t)(i % 5000) + 1);
		}
		for (int i = 0; i < 3000; i++)
			lab_kfree(o[i]);
		void *k = lab_kmalloc(32, LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
		memset(k, 1, 32);
		lab_kfree(k);
		lab_kmem_cache_shrink(NULL);
		lab_zone_destroy(z);
		return 0;
	}
	fprintf(stderr, "debug_child: unknown command '%s'\n", cmd);
	return 2;
}
