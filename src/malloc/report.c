/*
 * report.c - what the malloc layer writes, through the library's report
 * writer (os/printk.h: base/fmt's formatter into a stack buffer and
 * write(2), no stdio, no allocation): notices, the report of a pointer
 * malloc never handed out (then abort(), as glibc's "free(): invalid
 * pointer"), and the LABYRINTH_MALLOC_STATS line at exit; and the counters
 * behind that line: calls served, per CPU in restartable sequences (counted
 * only when the line was asked for), and slow-path events.
 *
 * Exports lab__malloc_say, lab__malloc_bad_pointer and
 * lab__malloc_count_slow/event/counters_init/print_stats (malloc.h).
 */
#include "base/fmt.h"
#include "malloc/malloc.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/rseq_list.h"
#include "os/stack.h"
#include "os/thread.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void lab__malloc_say(const char *fmt, ...)
{
	char buf[512];
	size_t n = (size_t)lab__snprintf(buf, sizeof(buf), "labyrinth-malloc: ");
	va_list ap;
	va_start(ap, fmt);
	lab__vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	lab__printk("%s", buf);
}

void lab__malloc_bad_pointer(const char *fn, const void *p, const char *what)
{
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	int begun = lab__report_begin();
	lab__printk("=============================================================================\n"
		    "BUG labyrinth-malloc: %s(%p): invalid pointer: %s\n"
		    "-----------------------------------------------------------------------------\n"
		    "PID: %d TID: %d Comm: %s\n", fn, p, what, lab__os_getpid(), lab__os_gettid(),
		    comm);
	lab__os_dump_stack();
	lab__printk("FIX labyrinth-malloc: aborting (the heap may be damaged; nothing was freed)\n");
	lab__report_end(begun);
	abort();
}

/* ---- counters ------------------------------------------------------------- */

bool lab__malloc_counting;
#define CPU_STRIDE 128
static_assert(NR_CALLS * sizeof(uint64_t) <= CPU_STRIDE, "a CPU's call counters fit");
static char *cpu_counters;          /* nr_cpu sets of CPU_STRIDE bytes */
static unsigned int nr_cpu;
static _Atomic uint64_t no_cpu_counters[NR_CALLS];  /* threads without rseq */
static _Atomic uint64_t events[NR_EVENTS];
/* Where the statistics line goes: a close-on-exec copy of stderr taken at
 * start-up, since programs may close stderr before exit (coreutils'
 * close_stdout does). */
static int stats_fd = 2;

int lab__malloc_counters_init(void)
{
	int fd = lab__os_dup_cloexec(2);
	if (fd >= 0)
		stats_fd = fd;
	int n = lab__os_nr_cpus();
	int err = 0;
	void *m = lab__os_map((size_t)n * CPU_STRIDE, false, &err);
	if (m) {
		nr_cpu = (unsigned int)n;
		cpu_counters = m;
	}
	lab__malloc_counting = true;
	return 0;
}

void lab__malloc_count_slow(unsigned int call)
{
#if defined(LAB_HAVE_RSEQ_LIST)
	struct lab__os_rseq *rs = rseq_self();
	if (cpu_counters && rs && rs->cpu_id_start < nr_cpu) {
		rseq_list_count(rs, cpu_counters, CPU_STRIDE, call * sizeof(uint64_t));
		return;
	}
#endif
	atomic_fetch_add_explicit(&no_cpu_counters[call], 1, memory_order_relaxed);
}

void lab__malloc_event(unsigned int ev)
{
	atomic_fetch_add_explicit(&events[ev], 1, memory_order_relaxed);
}

static uint64_t calls(unsigned int call)
{
	uint64_t n = atomic_load(&no_cpu_counters[call]);
	for (unsigned int i = 0; cpu_counters && i < nr_cpu; i++)
		n += __atomic_load_n((uint64_t *)(cpu_counters + (size_t)i * CPU_STRIDE) + call,
				     __ATOMIC_RELAXED);
	return n;
}

/* ---- the statistics line ---------------------------------------------------- */

struct line {
	char buf[2048];
	size_t used;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
	if (l->used >= sizeof(l->buf) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = lab__vsnprintf(l->buf + l->used, sizeof(l->buf) - l->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->used += (size_t)n < sizeof(l->buf) - l->used ? (size_t)n : sizeof(l->buf) - 1 - l->used;
}

static void field(struct line *l, const char *name, uint64_t v)
{
	put(l, " %s %llu", name, (unsigned long long)v);
}

void lab__malloc_print_stats(void)
{
	struct line l = { .used = 0 };
	put(&l, "labyrinth-malloc: pid %d calls:", lab__os_getpid());
#define X(n) field(&l, #n, calls(CALL_##n));
	LAB_MALLOC_CALLS(X)
#undef X
	put(&l, "; events:");
#define X(n) field(&l, #n, atomic_load(&events[EV_##n]));
	LAB_MALLOC_EVENTS(X)
#undef X
	uint64_t maps, bytes, total;
	lab__malloc_huge_stats(&maps, &bytes, &total);
	put(&l, "; mappings:");
	field(&l, "live", maps);
	field(&l, "bytes", bytes);
	field(&l, "made", total);
	struct lab_zone *z = __atomic_load_n(&lab__malloc_heap.zone, __ATOMIC_ACQUIRE);
	if (z) {
		struct lab_zone_stats st;
		lab_zone_get_stats(z, &st);
		put(&l, "; zone %s:", lab_zone_name(z));
		field(&l, "pages", st.managed);
		field(&l, "free", st.free);
		field(&l, "pcp", st.pcp);
		field(&l, "min", st.wmark_min);
		field(&l, "low", st.wmark_low);
		field(&l, "high", st.wmark_high);
		field(&l, "grow", st.grow);
		field(&l, "alloc", st.alloc_success);
		field(&l, "fail", st.alloc_fail);
		field(&l, "kswapd_wake", st.kswapd_wake);
		field(&l, "direct_reclaim", st.direct_reclaim);
		uint64_t sum[8] = { 0 };
		for (unsigned int i = 0; i < MALLOC_NR_CLASSES; i++) {
			struct lab_kmem_cache *c = lab__malloc_heap.cls[i];
			if (!c)
				continue;
			struct lab_kmem_cache_stats cs;
			lab_kmem_cache_get_stats(c, &cs);
			sum[0] += cs.active_objs;
			sum[1] += cs.total_objs;
			sum[2] += cs.slabs;
			sum[3] += cs.pages;
			sum[4] += cs.cpu_hits;
			sum[5] += cs.refills;
			sum[6] += cs.remote_frees;
			sum[7] += cs.deferred_frees + cs.detached_slabs;
		}
		put(&l, "; slab:");
		field(&l, "caches", MALLOC_NR_CLASSES);
		field(&l, "active_objs", sum[0]);
		field(&l, "total_objs", sum[1]);
		field(&l, "slabs", sum[2]);
		field(&l, "pages", sum[3]);
		field(&l, "cpu_hits", sum[4]);
		field(&l, "refills", sum[5]);
		field(&l, "remote_frees", sum[6]);
		field(&l, "went_around_lock", sum[7]);
	}
	if (l.used >= sizeof(l.buf) - 1)
		l.used = sizeof(l.buf) - 2;
	l.buf[l.used++] = '\n';
	lab__os_write_fd(stats_fd, l.buf, l.used);
}
