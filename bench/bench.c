/*
 * bench.c - `labyrinth bench`: Labyrinth's ATOMIC and EXCLUSIVE paths
 * against what users pick instead, and against the harness itself.
 *
 * Method (docs/PERFORMANCE.md): every subject (an allocator) runs in a
 * worker process of its own (work.c), started once, with its peer library
 * preloaded; the parent then runs rounds.  In each round every figure is
 * measured once by every subject that takes part, one after the other, for
 * about --run-ms each, so that whatever else the machine does at that
 * moment hits them all alike.  Each figure is the median over the rounds;
 * each ratio is the median of the per-round ratios, with the lowest and
 * highest.  Beside them, the best: each subject's minimum over the rounds
 * (every figure here is a time, lower is better), and for a ratio the best
 * of its numerator over the best of its denominator ("best to best"), the
 * figure least disturbed by other load; the medians stay the verdict.
 * One-thread figures are the thread's CPU time, several threads wall
 * time.  Latencies: the clock's resolution and the cost of an empty
 * timed region are measured and printed; the median comes from allocations
 * timed in batches, the tails from single ones with that cost subtracted.
 *
 * Groups: pages (4 KiB pairs at batch 1 and 1024, producer/consumer,
 * latency idle and under pressure), orders (pairs of orders 0..10),
 * scaling (1..--threads threads), exclusive (exclusive pages against
 * OpenSSL's secure heap and libsodium), slab (objects: slab.c).  Nothing
 * here gates a test on a time; targets are reported as met or missed.
 */
#include "bench.h"
#include "bench_int.h"
#include "bench_malloc.h"
#include "bench_slab.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <labyrinth.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 64
#define MAX_REQ 64
#define MAX_FIG 96
#define MAX_SUBJ 16
#define MAX_SCALE 256

/* ---- figures and the requests that measure them -------------------------- */

struct request {
	int fig;
	unsigned int a, b;
	int nvalues;
	/* [value][subject][round]; NAN-free: `got` says what was measured */
	double v[LATENCY_VALUES][MAX_SUBJ][MAX_ROUNDS];
	bool got[MAX_SUBJ][MAX_ROUNDS];
};

struct figure {
	char id[32];           /* JSON key */
	char label[48];
	unsigned int group;
	int req, value;
};

static struct request reqs[MAX_REQ];
static int nr_reqs;
static struct figure figs[MAX_FIG];
static int nr_figs;

static int find_request(int fig, unsigned int a, unsigned int b, int nvalues)
{
	for (int i = 0; i < nr_reqs; i++)
		if (reqs[i].fig == fig && reqs[i].a == a && reqs[i].b == b)
			return i;
	reqs[nr_reqs] = (struct request){ .fig = fig, .a = a, .b = b, .nvalues = nvalues };
	return nr_reqs++;
}

static void add_figure(unsigned int group, const char *id, const char *label, int fig,
		       unsigned int a, unsigned int b, int nvalues, int value)
{
	struct figure *f = &figs[nr_figs++];
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->label, sizeof(f->label), "%s", label);
	f->group = group;
	f->req = find_request(fig, a, b, nvalues);
	f->value = value;
}

static const char *const lat_ids[LATENCY_VALUES] = { "p50", "p99", "p99_9", "p99_99", "max" };
static const char *const lat_names[LATENCY_VALUES] = { "p50", "p99", "p99.9", "p99.99", "max" };

/* The scaling curve's last point (--threads). */
static unsigned long scaling_threads;

/* Whether n threads outnumber the CPUs online (*online gets how many): they
 * then take turns, and their figure measures the scheduler. */
static bool threads_take_turns(unsigned long n, long *online)
{
	*online = sysconf(_SC_NPROCESSORS_ONLN);
	return *online > 0 && n > (unsigned long)*online;
}

static void build_figures(unsigned int groups, unsigned int max_threads)
{
	char id[32], label[48];
	scaling_threads = max_threads;
	if (groups & G_PAGES) {
		add_figure(G_PAGES, "pair_b1", "pair, batch 1", FIG_PAIRS, 0, 1, 1, 0);
		add_figure(G_PAGES, "pair_b1024", "pair, batch 1024", FIG_PAIRS, 0, 1024, 1, 0);
		add_figure(G_PAGES, "producer_consumer", "producer/consumer", FIG_PRODCONS, 0, 0,
			   1, 0);
		for (int p = 0; p < 2; p++)
			for (int i = 0; i < LATENCY_VALUES; i++) {
				snprintf(id, sizeof(id), "%s_%s", p ? "pressure" : "latency", lat_ids[i]);
				snprintf(label, sizeof(label), "%s %s", p ? "pressure" : "latency",
					 lat_names[i]);
				add_figure(G_PAGES, id, label, FIG_LATENCY, (unsigned int)p, 0,
					   LATENCY_VALUES, i);
			}
	}
	if (groups & G_ORDERS)
		for (unsigned int k = 0; k <= 10; k++) {
			snprintf(id, sizeof(id), "order_%u", k);
			snprintf(label, sizeof(label), "order %u (%u KiB), batch 1", k, 4u << k);
			add_figure(G_ORDERS, id, label, FIG_PAIRS, k, 1, 1, 0);
		}
	if (groups & G_SCALING)
		for (unsigned int k = 1; k <= max_threads; k++) {
			snprintf(id, sizeof(id), "threads_%u", k);
			snprintf(label, sizeof(label), "%u thread%s", k, k > 1 ? "s" : "");
			add_figure(G_SCALING, id, label, FIG_THREADS, k, 0, 1, 0);
		}
	if (groups & G_EXCL) {
		add_figure(G_EXCL, "exclusive_b1", "pair, batch 1", FIG_PAIRS, 0, 1, 1, 0);
		add_figure(G_EXCL, "exclusive_b1024", "pair, batch 1024", FIG_PAIRS, 0, 1024, 1, 0);
		add_figure(G_EXCL, "exclusive_threads_1", "pair, 1 thread (wall)", FIG_THREADS, 1, 0,
			   1, 0);
		add_figure(G_EXCL, "exclusive_threads_2", "pair, 2 threads (aggregate)",
			   FIG_THREADS, 2, 0, 1, 0);
	}
}

/* ---- the workers ----------------------------------------------------------- */

struct worker {
	const struct bench_subject *s;
	bool up;
	pid_t pid;
	FILE *to, *from;
	char note[256];
	double failures;
};

static const struct bench_subject *subjects;
static size_t nr_subjects;
static struct worker workers[MAX_SUBJ];

static bool takes(const struct worker *w, unsigned int group)
{
	return w->up && (w->s->groups & group);
}

static bool takes_request(const struct worker *w, int req)
{
	for (int f = 0; f < nr_figs; f++)
		if (figs[f].req == req && takes(w, figs[f].group))
			return true;
	return false;
}

/* Send a request, read the reply: 0 with its values, -1 (a "no" or a dead worker). */
static int ask(struct worker *w, const char *req, double *v, int max)
{
	char line[512];
	fprintf(w->to, "%s\n", req);
	fflush(w->to);
	if (!fgets(line, sizeof(line), w->from)) {
		snprintf(w->note, sizeof(w->note), "the worker died");
		w->up = false;
		return -1;
	}
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "ok", 2)) {
		snprintf(w->note, sizeof(w->note), "%.255s", line + (line[0] == 'n' ? 3 : 0));
		return -1;
	}
	char *p = line + 2;
	for (int i = 0; i < max; i++) {
		char *end;
		v[i] = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
	}
	return 0;
}

static bool start_worker(struct worker *w, const char *self, double run_ms)
{
	int in[2], out[2];
	if (w->s->preload && !bench_library_loadable(w->s->preload)) {
		snprintf(w->note, sizeof(w->note), "%s not found by the loader", w->s->preload);
		return false;
	}
	/* Close-on-exec: a later worker must not hold this one's pipe open (its
	 * stdin would never see EOF, and stop_worker would wait forever). */
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return false;
	w->pid = fork();
	if (w->pid < 0)
		return false;
	if (w->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		if (w->s->preload)
			setenv("LD_PRELOAD", w->s->preload, 1);
		else
			unsetenv("LD_PRELOAD");
		char ms[32];
		snprintf(ms, sizeof(ms), "%g", run_ms);
		execl(self, "labyrinth", "bench-worker", w->s->name, ms, (char *)NULL);
		_exit(127);
	}
	close(in[0]), close(out[1]);
	w->to = fdopen(in[1], "w");
	w->from = fdopen(out[0], "r");
	w->up = true;
	char line[512];
	fprintf(w->to, "hello\n");
	fflush(w->to);
	if (!fgets(line, sizeof(line), w->from)) {
		snprintf(w->note, sizeof(w->note), "the worker did not start");
		w->up = false;
		return false;
	}
	line[strcspn(line, "\n")] = '\0';
	snprintf(w->note, sizeof(w->note), "%.255s", line + 3);
	w->up = !strncmp(line, "ok", 2);
	return w->up;
}

static void stop_worker(struct worker *w)
{
	if (w->to)
		fclose(w->to);
	if (w->from)
		fclose(w->from);
	w->to = w->from = NULL;
	if (w->pid > 0)
		waitpid(w->pid, NULL, 0);
	w->pid = 0;
}

/* ---- statistics ------------------------------------------------------------ */

static int nr_rounds;

static double median_of(double *x, int n)
{
	for (int i = 1; i < n; i++)  /* insertion sort: n is small */
		for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
			double t = x[j];
			x[j] = x[j - 1];
			x[j - 1] = t;
		}
	if (!n)
		return -1;
	return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

struct stat3 {
	double med, lo, hi;  /* med < 0: not measured */
	double best;         /* minimum over rounds, or best to best; < 0: none */
};

#define NO_STAT ((struct stat3){ -1, -1, -1, -1 })

static struct stat3 stats_of(double *x, int n)
{
	struct stat3 s = NO_STAT;
	if (!n)
		return s;
	s.med = median_of(x, n);
	s.lo = x[0];
	s.hi = x[n - 1];
	return s;
}

static double value_at(const struct figure *f, size_t s, int r, bool *ok)
{
	const struct request *q = &reqs[f->req];
	*ok = q->got[s][r];
	return q->v[f->value][s][r];
}

static struct stat3 figure_stat(const struct figure *f, size_t s)
{
	double x[MAX_ROUNDS];
	int n = 0;
	for (int r = 0; r < nr_rounds; r++) {
		bool ok;
		double v = value_at(f, s, r, &ok);
		if (ok)
			x[n++] = v;
	}
	struct stat3 st = stats_of(x, n);
	st.best = st.lo;  /* a time: the fastest round */
	return st;
}

/* Per round: num's figure fa / den's figure fb (den < 0: the best peer of
 * fb's group in that round); the median and range over rounds, and the best
 * to best: the fastest of fa over those rounds / the fastest of fb. */
static struct stat3 ratio_stat(const struct figure *fa, size_t num, const struct figure *fb,
			       long den)
{
	double x[MAX_ROUNDS], best_a = -1, best_b = -1;
	int n = 0;
	for (int r = 0; r < nr_rounds; r++) {
		bool ok;
		double a = value_at(fa, num, r, &ok), b = -1;
		if (!ok)
			continue;
		if (den >= 0) {
			b = value_at(fb, (size_t)den, r, &ok);
			if (!ok)
				continue;
		} else {
			for (size_t s = 0; s < nr_subjects; s++) {
				double v = value_at(fb, s, r, &ok);
				if (ok && takes(&workers[s], fb->group) && subjects[s].peer &&
				    (b < 0 || v < b))
					b = v;
			}
			if (b < 0)
				continue;
		}
		if (b > 0) {
			x[n++] = a / b;
			if (best_a < 0 || a < best_a)
				best_a = a;
			if (best_b < 0 || b < best_b)
				best_b = b;
		}
	}
	struct stat3 st = stats_of(x, n);
	if (n)
		st.best = best_a / best_b;
	return st;
}

static long reference_of(unsigned int group)
{
	for (size_t s = 0; s < nr_subjects; s++)
		if (subjects[s].reference && (subjects[s].groups & group) && workers[s].up)
			return (long)s;
	return -1;
}

static long subject_index(const char *name)
{
	for (size_t s = 0; s < nr_subjects; s++)
		if (!strcmp(subjects[s].name, name) && workers[s].up)
			return (long)s;
	return -1;
}

static const struct figure *figure_by_id(const char *id)
{
	for (int f = 0; f < nr_figs; f++)
		if (!strcmp(figs[f].id, id))
			return &figs[f];
	return NULL;
}

/* ---- the report ------------------------------------------------------------ */

static char machine[512], date[64];
static double clock_vals[3];  /* ticks per ns, step ns, empty region ns */

static void describe_machine(void)
{
	struct utsname u;
	char model[128] = "unknown CPU", line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	snprintf(machine, sizeof(machine), "%s, %ld CPUs, Linux %s %s", model,
		 sysconf(_SC_NPROCESSORS_ONLN), u.release, u.machine);
	time_t t = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

static const char *const group_titles[] = {
	"4 KiB pages: ns per allocate+touch+free pair; latency: ns per allocation",
	"Orders 0..10: ns per allocate+touch+free pair, batch 1",
	"Threads at batch 1: ns per pair of all threads together (aggregate)",
	"Exclusive 4 KiB pages: ns per allocate+touch+free pair",
};

static int group_index(unsigned int g)
{
	int i = 0;
	while (!(g & 1u))
		g >>= 1, i++;
	return i;
}

static void print_cell_stat(struct stat3 st, int width)
{
	char cell[64];
	if (st.med < 0)
		snprintf(cell, sizeof(cell), "-");
	else
		snprintf(cell, sizeof(cell), "%.2f [%.2f,%.2f]", st.med, st.lo, st.hi);
	printf(" %*s", width, cell);
}

/* The column heads: every subject of the group but skip (< 0: none). */
static void print_heads(unsigned int group, long skip, int width)
{
	printf("%-28s", "");
	for (size_t s = 0; s < nr_subjects; s++)
		if (takes(&workers[s], group) && (long)s != skip)
			printf(" %*.*s", width, width, subjects[s].name);
	printf("\n");
}

/* The subjects' figures: the medians, or (best) the minimum over the rounds. */
static void print_values(unsigned int group, bool best)
{
	print_heads(group, -1, 11);
	for (int f = 0; f < nr_figs; f++) {
		if (figs[f].group != group)
			continue;
		printf("%-28s", figs[f].label);
		for (size_t s = 0; s < nr_subjects; s++) {
			if (!takes(&workers[s], group))
				continue;
			struct stat3 st = figure_stat(&figs[f], s);
			double v = best ? st.best : st.med;
			if (v < 0)
				printf(" %11s", "-");
			else
				printf(" %11.*f", v < 100 ? 2 : v < 10000 ? 1 : 0, v);
		}
		printf("\n");
	}
}

/* ref / each: the median of the per-round ratios [lowest, highest], or
 * (best) the best to best, three decimals to resolve small changes. */
static void print_ratios(unsigned int group, long ref, bool best)
{
	print_heads(group, ref, best ? 11 : 18);
	for (int f = 0; f < nr_figs; f++) {
		if (figs[f].group != group)
			continue;
		printf("%-28s", figs[f].label);
		for (size_t s = 0; s < nr_subjects; s++) {
			if (!takes(&workers[s], group) || (long)s == ref)
				continue;
			struct stat3 st = ratio_stat(&figs[f], (size_t)ref, &figs[f], (long)s);
			if (!best)
				print_cell_stat(st, 18);
			else if (st.best < 0)
				printf(" %11s", "-");
			else
				printf(" %11.3f", st.best);
		}
		printf("\n");
	}
}

/* Each subject's pairs per second at k threads over one thread's: the
 * median of the per-round ratios, or (best) the best to best. */
static void print_speedup(unsigned int group, bool best)
{
	const struct figure *one = figure_by_id("threads_1");
	print_heads(group, -1, 11);
	for (int f = 0; f < nr_figs; f++) {
		if (figs[f].group != group || !one)
			continue;
		printf("%-28s", figs[f].label);
		for (size_t s = 0; s < nr_subjects; s++) {
			if (!takes(&workers[s], group))
				continue;
			struct stat3 st = ratio_stat(one, s, &figs[f], (long)s);
			double v = best ? st.best : st.med;
			if (v < 0)
				printf(" %11s", "-");
			else
				printf(" %10.2fx", v);
		}
		printf("\n");
	}
}

static void print_group(unsigned int group)
{
	long ref = reference_of(group);
	printf("\n== %s\n\n", group_titles[group_index(group)]);
	print_values(group, false);
	printf("\nbest: each subject's minimum over the rounds\n");
	print_values(group, true);
	if (ref < 0)
		return;
	printf("\n%s / each: median of the per-round ratios [lowest, highest]\n",
	       subjects[ref].name);
	print_ratios(group, ref, false);
	printf("\n%s / each, best to best: %s's minimum over the rounds / each one's\n",
	       subjects[ref].name, subjects[ref].name);
	print_ratios(group, ref, true);
	if (group == G_SCALING) {
		long online;
		if (threads_take_turns(scaling_threads, &online))
			printf("\nnote: %lu CPUs online: with more threads than CPUs the threads take "
			       "turns, so those\npoints measure the scheduler, not the allocators\n",
			       online);
		printf("\nspeed-up over one thread (pairs per second), median of the per-round "
		       "ratios\n");
		print_speedup(group, false);
		printf("\nspeed-up over one thread, best to best (the fastest round of each)\n");
		print_speedup(group, true);
	}
}

/* ---- targets (the fast-path issue's) --------------------------------------- */

struct target {
	const char *id, *what;
	struct stat3 st;
	double bound;
	bool at_least;
	const char *note;
};

static struct target targets[16];
static int nr_targets;

static void add_target(const char *id, const char *what, struct stat3 st, double bound,
		       bool at_least, const char *note)
{
	if (nr_targets < 16)
		targets[nr_targets++] = (struct target){ id, what, st, bound, at_least, note };
}

/* The worst (highest) median ratio of labyrinth's orders lo..hi to order 0;
 * its best is the worst best to best of those orders, which may be another's. */
static struct stat3 orders_ratio(unsigned int lo, unsigned int hi, long lab)
{
	struct stat3 worst = NO_STAT;
	double worst_best = -1;
	const struct figure *zero = figure_by_id("order_0");
	for (unsigned int k = lo; zero && k <= hi; k++) {
		char id[32];
		snprintf(id, sizeof(id), "order_%u", k);
		const struct figure *f = figure_by_id(id);
		if (!f)
			continue;
		struct stat3 st = ratio_stat(f, (size_t)lab, zero, lab);
		if (st.med > worst.med)
			worst = st;
		if (st.best > worst_best)
			worst_best = st.best;
	}
	worst.best = worst_best;
	return worst;
}

static void compute_targets(unsigned int max_threads)
{
	long lab = subject_index("labyrinth"), tc = subject_index("tcmalloc");
	long ex = subject_index("lab_exclusive"), ossl = subject_index("openssl");
	const struct figure *f;
	static char thr_id[32];
	struct stat3 none = NO_STAT;
	if (lab >= 0 && (f = figure_by_id("pair_b1"))) {
		add_target("atomic_b1_vs_tcmalloc", "ATOMIC order-0 pair, batch 1 / tcmalloc's",
			   tc >= 0 ? ratio_stat(f, (size_t)lab, f, tc) : none, 0.75, false, NULL);
		f = figure_by_id("pair_b1024");
		add_target("atomic_b1024_vs_tcmalloc", "the same at batch 1024",
			   tc >= 0 ? ratio_stat(f, (size_t)lab, f, tc) : none, 0.8, false, NULL);
		f = figure_by_id("latency_p99_99");
		add_target("p99_99_idle_vs_best_peer", "allocation p99.99 / the best peer's, idle",
			   ratio_stat(f, (size_t)lab, f, -1), 1.0, false, NULL);
		f = figure_by_id("pressure_p99_99");
		add_target("p99_99_pressure_vs_best_peer",
			   "allocation p99.99 / the best peer's, under pressure",
			   ratio_stat(f, (size_t)lab, f, -1), 1.0, false, NULL);
	}
	if (lab >= 0 && figure_by_id("order_0")) {
		add_target("orders_1_3_vs_order_0", "orders 1-3 pair / order 0 pair (worst order)",
			   orders_ratio(1, 3, lab), 1.5, false, NULL);
		add_target("orders_4_10_vs_order_0", "orders 4-10 pair / order 0 pair (worst order)",
			   orders_ratio(4, 10, lab), 3.0, false, NULL);
	}
	if (lab >= 0) {
		/* A count over all rounds, not a figure of each: no best. */
		struct stat3 st = { workers[lab].failures, workers[lab].failures,
				    workers[lab].failures, -1 };
		add_target("atomic_failures", "ATOMIC allocations that failed (all figures)", st, 0,
			   false, "with the zone far above its watermarks: any is a lock's fault");
	}
	snprintf(thr_id, sizeof(thr_id), "threads_%u", max_threads);
	long online;
	if (lab >= 0 && max_threads >= 16 && (f = figure_by_id(thr_id))) {
		if (threads_take_turns(max_threads, &online)) {
			static char note[96];
			snprintf(note, sizeof(note), "%u threads on %ld CPUs online take turns: not "
				 "measurable here", max_threads, online);
			add_target("threads_vs_best_peer", "N threads: pairs/s / the best peer's",
				   none, 1.2, true, note);
		} else {
			/* Throughput: the best peer's ns per pair / labyrinth's. */
			struct stat3 st = ratio_stat(f, (size_t)lab, f, -1);
			struct stat3 inv = { st.med > 0 ? 1 / st.med : -1,
					     st.hi > 0 ? 1 / st.hi : -1,
					     st.lo > 0 ? 1 / st.lo : -1,
					     st.best > 0 ? 1 / st.best : -1 };
			add_target("threads_vs_best_peer", "N threads: pairs/s / the best peer's",
				   inv, 1.2, true, NULL);
		}
	}
	if (ex >= 0 && (f = figure_by_id("exclusive_b1"))) {
		add_target("exclusive_vs_openssl", "OpenSSL secure heap pair / exclusive pair, batch 1",
			   ossl >= 0 ? ratio_stat(f, (size_t)ossl, f, ex) : none, 12, true, NULL);
		const struct figure *one = figure_by_id("exclusive_threads_1");
		const struct figure *two = figure_by_id("exclusive_threads_2");
		add_target("exclusive_two_threads", "exclusive pairs/s, two threads / one thread",
			   ratio_stat(one, (size_t)ex, two, ex), 1.8, true,
			   "a figure for an otherwise idle machine with many cores");
	}
}

static bool met(const struct target *t)
{
	return t->at_least ? t->st.med >= t->bound : t->st.med <= t->bound;
}

static void print_targets(void)
{
	printf("\n== Targets (medians of per-round ratios [lowest, highest]; the verdict is the "
	       "median's,\n   the best to best is shown to resolve small changes)\n\n");
	for (int i = 0; i < nr_targets; i++) {
		const struct target *t = &targets[i];
		if (t->st.med < 0) {
			printf("  %-58s not measured\n", t->what);
			if (t->note)
				printf("  %-58s (%s)\n", "", t->note);
			continue;
		}
		char best[32] = "";
		if (t->st.best >= 0)
			snprintf(best, sizeof(best), " best %.3f", t->st.best);
		printf("  %-58s %8.3f [%.3f,%.3f]%s (%s %g) %s\n", t->what, t->st.med, t->st.lo,
		       t->st.hi, best, t->at_least ? ">=" : "<=", t->bound,
		       met(t) ? "met" : "MISSED");
		if (t->note)
			printf("  %-58s (%s)\n", "", t->note);
	}
}

static void json_stat(struct stat3 st)
{
	if (st.med < 0)
		printf("null");
	else
	{
		printf("{\"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"best\": ", st.med,
		       st.lo, st.hi);
		if (st.best < 0)
			printf("null}");
		else
			printf("%.4f}", st.best);
	}
}

/* JSON strings here are ours or the machine's: escape quotes and backslashes. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void print_json(unsigned int groups, double run_ms)
{
	printf("{\"machine\": ");
	json_string(machine);
	printf(", \"date\": \"%s\", \"pcp_mode\": \"%s\", \"method\": {\"rounds\": %d, "
	       "\"run_ms\": %g, \"clock\": {\"ticks_per_ns\": %.4f, \"step_ns\": %.3f, "
	       "\"empty_region_ns\": %.3f}}, \"subjects\": {",
	       date, lab_pcp_mode_name(), nr_rounds, run_ms, clock_vals[0], clock_vals[1],
	       clock_vals[2]);
	bool first = true;
	for (size_t s = 0; s < nr_subjects; s++) {
		if (!(subjects[s].groups & groups))
			continue;
		printf("%s\"%s\": {\"up\": %s, \"note\": ", first ? "" : ", ", subjects[s].name,
		       workers[s].up ? "true" : "false");
		json_string(workers[s].note);
		printf(", \"failures\": %.0f}", workers[s].failures);
		first = false;
	}
	printf("}, \"figures\": {");
	for (int f = 0; f < nr_figs; f++) {
		long ref = reference_of(figs[f].group);
		printf("%s\"%s\": {\"values\": {", f ? ", " : "", figs[f].id);
		bool f1 = true;
		for (size_t s = 0; s < nr_subjects; s++) {
			if (!takes(&workers[s], figs[f].group))
				continue;
			printf("%s\"%s\": ", f1 ? "" : ", ", subjects[s].name);
			json_stat(figure_stat(&figs[f], s));
			f1 = false;
		}
		printf("}, \"ratios\": {");
		f1 = true;
		for (size_t s = 0; ref >= 0 && s < nr_subjects; s++) {
			if (!takes(&workers[s], figs[f].group) || (long)s == ref)
				continue;
			printf("%s\"%s_over_%s\": ", f1 ? "" : ", ", subjects[ref].name,
			       subjects[s].name);
			json_stat(ratio_stat(&figs[f], (size_t)ref, &figs[f], (long)s));
			f1 = false;
		}
		printf("}}");
	}
	printf("}, \"targets\": {");
	for (int i = 0; i < nr_targets; i++) {
		printf("%s\"%s\": {\"value\": ", i ? ", " : "", targets[i].id);
		json_stat(targets[i].st);
		printf(", \"bound\": %g, \"at_least\": %s, \"met\": %s}", targets[i].bound,
		       targets[i].at_least ? "true" : "false",
		       targets[i].st.med < 0 ? "null" : met(&targets[i]) ? "true" : "false");
	}
	printf("}");
}

/* ---- the chart (gnuplot, run with a script file, never through a shell) ----- */

/* Distinct colours, one per subject (the subject table's order). */
static const char *const colours[] = {
	"#7f7f7f", "#bcbd22", "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
	"#8c564b", "#e377c2", "#17becf", "#000000", "#aec7e8", "#ffbb78",
};

/* A gnuplot single-quoted string: '' stands for a quote. */
static void gp_string(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static void write_chart(const char *png)
{
	char dir[] = "/tmp/labyrinth-bench-XXXXXX";
	if (!mkdtemp(dir)) {
		printf("chart: not drawn: no temporary directory (%s)\n", strerror(errno));
		return;
	}
	char data[64], script[64];
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(script, sizeof(script), "%s/chart.gp", dir);
	FILE *d = fopen(data, "w"), *g = fopen(script, "w");
	if (!d || !g) {
		printf("chart: not drawn: cannot write in %s\n", dir);
		if (d)
			fclose(d);
		if (g)
			fclose(g);
		rmdir(dir);
		return;
	}
	/* Blocks: per subject, the latencies idle and under pressure; then per
	 * subject the pairs per microsecond per thread count. */
	int lat_block[MAX_SUBJ], scale_block[MAX_SUBJ], blocks = 0;
	for (size_t s = 0; s < nr_subjects; s++) {
		lat_block[s] = scale_block[s] = -1;
		if (!takes(&workers[s], G_PAGES) || !strcmp(subjects[s].name, "mmap"))
			continue;
		fprintf(d, "# %s latency\n", subjects[s].name);
		for (int i = 0; i < LATENCY_VALUES; i++) {
			char id[32];
			snprintf(id, sizeof(id), "latency_%s", lat_ids[i]);
			const struct figure *a = figure_by_id(id);
			snprintf(id, sizeof(id), "pressure_%s", lat_ids[i]);
			const struct figure *b = figure_by_id(id);
			struct stat3 x = figure_stat(a, s), y = figure_stat(b, s);
			fprintf(d, "%d %.2f %.2f\n", i, x.med > 0 ? x.med : 0.1, y.med > 0 ? y.med : 0.1);
		}
		fprintf(d, "\n\n");
		lat_block[s] = blocks++;
	}
	for (size_t s = 0; s < nr_subjects; s++) {
		if (!takes(&workers[s], G_SCALING))
			continue;
		fprintf(d, "# %s scaling\n", subjects[s].name);
		for (int f = 0; f < nr_figs; f++) {
			if (figs[f].group != G_SCALING)
				continue;
			struct stat3 st = figure_stat(&figs[f], s);
			if (st.med > 0)
				fprintf(d, "%u %.3f\n", reqs[figs[f].req].a, 1000.0 / st.med);
		}
		fprintf(d, "\n\n");
		scale_block[s] = blocks++;
	}
	fclose(d);
	fprintf(g, "set terminal pngcairo size 1400,600\nset output ");
	gp_string(g, png);
	fprintf(g, "\nset multiplot layout 1,2\n"
		   "set title 'Latency of single 4 KiB allocations (same run; dashed: under "
		   "pressure)'\nset logscale y\nset ylabel 'ns'\nset key left top\n"
		   "set xtics ('p50' 0, 'p99' 1, 'p99.9' 2, 'p99.99' 3, 'max' 4)\nplot ");
	bool any = false;
	for (size_t s = 0; s < nr_subjects; s++) {
		if (lat_block[s] < 0)
			continue;
		const char *c = colours[s % (sizeof(colours) / sizeof(colours[0]))];
		fprintf(g, "%s", any ? ", " : "");
		gp_string(g, data);
		fprintf(g, " index %d using 1:2 with linespoints lc rgb '%s' title '%s', ",
			lat_block[s], c, subjects[s].name);
		gp_string(g, data);
		fprintf(g, " index %d using 1:3 with linespoints dt 2 lc rgb '%s' notitle",
			lat_block[s], c);
		any = true;
	}
	if (!any)
		fprintf(g, "0 notitle");
	fprintf(g, "\nunset logscale y\nset xtics auto\nset title 'Pairs per microsecond, "
		   "all threads together, batch 1'\nset xlabel 'threads'\nset ylabel "
		   "'pairs/us'\nplot ");
	any = false;
	for (size_t s = 0; s < nr_subjects; s++) {
		if (scale_block[s] < 0)
			continue;
		fprintf(g, "%s", any ? ", " : "");
		gp_string(g, data);
		fprintf(g, " index %d using 1:2 with linespoints lc rgb '%s' title '%s'",
			scale_block[s], colours[s % (sizeof(colours) / sizeof(colours[0]))],
			subjects[s].name);
		any = true;
	}
	if (!any)
		fprintf(g, "0 notitle");
	fprintf(g, "\nunset multiplot\n");
	fclose(g);

	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		printf("chart: %s\n", png);
	else if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		printf("chart: skipped (gnuplot not found)\n");
	else
		printf("chart: not drawn: gnuplot failed (its pngcairo terminal missing, or %s "
		       "not writable)\n", png);
	unlink(data);
	unlink(script);
	rmdir(dir);
}

/* ---- options ----------------------------------------------------------------- */

static void bench_usage(void)
{
	printf("usage: labyrinth bench [--json] [--quick] [--rounds N] [--run-ms MS] [--threads N]\n"
	       "                       [--only GROUPS] [--png FILE | --no-png]\n"
	       "       labyrinth bench --malloc [--json] [--quick | --rounds N] [--only WORKLOADS]\n"
	       "  Labyrinth's ATOMIC and EXCLUSIVE paths against glibc, jemalloc, tcmalloc,\n"
	       "  mimalloc, mmap, OpenSSL's secure heap and libsodium, a LIFO limit and no\n"
	       "  allocator at all (the harness); subjects interleaved in rounds, each figure\n"
	       "  the median of the rounds, each ratio the median of per-round ratios\n"
	       "  --json        machine-readable results on stdout (no chart)\n"
	       "  --quick       fewer and shorter rounds (5 of 5 ms; with --malloc: one round)\n"
	       "  --rounds N    rounds (default 9; with --malloc 1 to %d, default 3)\n"
	       "  --run-ms MS   time per figure per subject per round (default 20)\n"
	       "  --threads N   the scaling curve runs 1..N threads (default: the CPUs online)\n"
	       "  --only GROUPS comma-separated: pages, orders, scaling, exclusive, slab\n"
	       "                (with --malloc: workloads, e.g. larson,pairs)\n"
	       "  --png FILE    where to draw the latency and scaling chart (default\n"
	       "                labyrinth-bench.png; needs gnuplot)\n"
	       "  --no-png      no chart\n"
	       "  --malloc      instead: liblabyrinth-malloc.so against glibc, jemalloc, tcmalloc\n"
	       "                and mimalloc, preloaded, on programs (python3, sqlite3, git, perl,\n"
	       "                gcc, stress-ng, redis) and synthetic workloads (larson, xfree,\n"
	       "                realloc, pairs): times, peak RSS, ratios; minutes\n",
	       BENCH_MALLOC_MAX_ROUNDS);
}

/* The chart is drawn at the end of a long run: find out now whether it can
 * be written where asked (its directory exists and is writable). */
static bool png_writable(const char *png)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", png);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (!*png || png[strlen(png) - 1] == '/') {
		cli_error("bench", "--png '%s': not a file name", png);
		return false;
	}
	if (access(dir, W_OK) != 0) {
		cli_error("bench", "--png '%s': directory '%s': %s", png, dir, strerror(errno));
		return false;
	}
	return true;
}

#define G_SLAB (1u << 8)

static bool parse_groups(const char *arg, unsigned int *groups)
{
	static const struct { const char *name; unsigned int g; } names[] = {
		{ "pages", G_PAGES }, { "orders", G_ORDERS }, { "scaling", G_SCALING },
		{ "exclusive", G_EXCL }, { "slab", G_SLAB },
	};
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", arg);
	*groups = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof(names) / sizeof(names[0]) && strcmp(names[i].name, t))
			i++;
		if (i == sizeof(names) / sizeof(names[0])) {
			cli_error("bench", "--only '%s': unknown group '%s'", arg, t);
			return false;
		}
		*groups |= names[i].g;
	}
	if (!*groups)
		cli_error("bench", "--only '%s': no group", arg);
	return *groups != 0;
}

struct bench_opts {
	bool json, quick, malloc;
	const char *png, *only;
	unsigned long rounds, threads;
	double run_ms;
	unsigned int groups;
};

/* Options of bench: 0 to run, else the exit status (--help: -1). */
static int bench_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "run-ms", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "png", required_argument, NULL, 'p' },
		{ "no-png", no_argument, NULL, 'n' },
		{ "malloc", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	bool rounds_set = false, ms_set = false, threads_set = false, png_asked = false;
	optind = 0;
	while ((c = cli_getopt("bench", argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'q': o->quick = true; break;
		case 'r':
			if (!cli_ulong("bench", "--rounds", optarg, 1, MAX_ROUNDS, &o->rounds))
				return CLI_EXIT_USAGE;
			rounds_set = true;
			break;
		case 'm':
			if (!cli_double("bench", "--run-ms", optarg, 0.1, 10000, &o->run_ms))
				return CLI_EXIT_USAGE;
			ms_set = true;
			break;
		case 't':
			if (!cli_ulong("bench", "--threads", optarg, 1, MAX_SCALE, &o->threads))
				return CLI_EXIT_USAGE;
			threads_set = true;
			break;
		case 'o': o->only = optarg; break;
		case 'p': o->png = optarg; png_asked = true; break;
		case 'n': o->png = NULL; png_asked = true; break;
		case 'M': o->malloc = true; break;
		case 'h': bench_usage(); return -1;
		default: return CLI_EXIT_USAGE;
		}
	}
	if (!cli_no_operands("bench", argc, argv))
		return CLI_EXIT_USAGE;
	if (o->malloc) {
		/* The programs and workloads: rounds, a workload list, nothing else. */
		if (png_asked)
			return cli_error("bench", "--malloc draws no chart (--png, --no-png)");
		if (ms_set || threads_set)
			return cli_error("bench", "%s is not for --malloc",
					 ms_set ? "--run-ms" : "--threads");
		if (o->quick && rounds_set)
			return cli_error("bench", "--quick and --rounds: one or the other");
		if (rounds_set && o->rounds > BENCH_MALLOC_MAX_ROUNDS)
			return cli_error("bench", "--rounds '%lu': at most %d with --malloc",
					 o->rounds, BENCH_MALLOC_MAX_ROUNDS);
		o->rounds = o->quick ? 1 : rounds_set ? o->rounds : 3;
		return 0;
	}
	if (o->only && !parse_groups(o->only, &o->groups))
		return CLI_EXIT_USAGE;
	if (o->png && !o->json && !png_writable(o->png))
		return CLI_EXIT_USAGE;
	if (o->quick && !rounds_set)
		o->rounds = 5;
	if (o->quick && !ms_set)
		o->run_ms = 5;
	return 0;
}

/* ---- main -------------------------------------------------------------------- */

static void run_rounds(bool quiet)
{
	for (int r = 0; r < nr_rounds; r++) {
		if (!quiet)
			fprintf(stderr, "\rbench: round %d of %d...", r + 1, nr_rounds);
		for (int q = 0; q < nr_reqs; q++) {
			/* Rotate who goes first, so that nobody always follows the same one. */
			for (size_t k = 0; k < nr_subjects; k++) {
				size_t s = (k + (size_t)r) % nr_subjects;
				struct worker *w = &workers[s];
				if (!w->up || !takes_request(w, q))
					continue;
				char line[64];
				double v[LATENCY_VALUES];
				snprintf(line, sizeof(line), "run %d %u %u", reqs[q].fig, reqs[q].a,
					 reqs[q].b);
				if (ask(w, line, v, reqs[q].nvalues) == 0) {
					for (int i = 0; i < reqs[q].nvalues; i++)
						reqs[q].v[i][s][r] = v[i];
					reqs[q].got[s][r] = true;
				}
			}
		}
	}
	if (!quiet)
		fprintf(stderr, "\r%40s\r", "");
}

int bench_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[0], "bench-worker") && !strcmp(argv[1], "slab"))
		return bench_slab_worker(argc, argv);  /* bench/slab.c */
	if (argc >= 3 && !strcmp(argv[0], "bench-worker") && !strcmp(argv[1], "malloc"))
		return bench_malloc_worker(argv[2]);   /* bench/malloc.c */
	if (argc >= 2 && !strcmp(argv[0], "bench-worker"))
		return bench_worker_main(argc, argv);   /* work.c */

	long online = sysconf(_SC_NPROCESSORS_ONLN);
	struct bench_opts o = { .png = "labyrinth-bench.png", .rounds = 9, .run_ms = 20,
				.threads = online > 0 ? (unsigned long)online : 1,
				.groups = G_PAGES | G_ORDERS | G_SCALING | G_EXCL | G_SLAB };
	int rc = bench_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (o.malloc)
		return bench_malloc_run(o.json, (int)o.rounds, o.only);
	char self[512];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';
	signal(SIGPIPE, SIG_IGN);  /* a worker that dies is reported, not fatal */
	describe_machine();
	nr_rounds = (int)o.rounds;
	build_figures(o.groups, (unsigned int)o.threads);

	subjects = bench_subjects(&nr_subjects);
	if (nr_subjects > MAX_SUBJ)
		nr_subjects = MAX_SUBJ;
	unsigned int page_groups = o.groups & (G_PAGES | G_ORDERS | G_SCALING | G_EXCL);
	for (size_t s = 0; s < nr_subjects; s++) {
		workers[s].s = &subjects[s];
		if (!(subjects[s].groups & page_groups))
			continue;
		if (!o.json)
			fprintf(stderr, "bench: starting %s...\n", subjects[s].name);
		if (!start_worker(&workers[s], self, o.run_ms))
			fprintf(stderr, "bench: %s skipped: %s\n", subjects[s].name, workers[s].note);
	}
	long none = subject_index("none");
	if (none >= 0)
		ask(&workers[none], "clock", clock_vals, 3);
	if (page_groups)
		run_rounds(o.json);
	for (size_t s = 0; s < nr_subjects; s++)
		if (workers[s].up && ask(&workers[s], "failures", &workers[s].failures, 1))
			workers[s].failures = 0;
	compute_targets((unsigned int)o.threads);
	for (size_t s = 0; s < nr_subjects; s++)
		stop_worker(&workers[s]);

	if (o.json) {
		print_json(page_groups, o.run_ms);
	} else if (page_groups) {
		printf("labyrinth bench: %s; %s\n", machine, date);
		printf("method: %d rounds; in each, every subject measures every figure once, one "
		       "after the other,\nfor about %g ms (one thread: its CPU time; several: wall "
		       "time); a figure is the median over\nthe rounds, a ratio the median of the "
		       "per-round ratios [lowest, highest]\nbest: each subject's minimum over the "
		       "rounds, and a ratio of two bests (best to best): the figure\nleast "
		       "disturbed by other load, to resolve small changes; the medians remain the "
		       "verdict\n", nr_rounds, o.run_ms);
		printf("clock: %.3f ticks per ns; smallest step %.2f ns; an empty timed region "
		       "%.2f ns (subtracted\nfrom single allocations; the p50 comes from %d "
		       "allocations timed together)\nper-CPU lists: %s\n", clock_vals[0],
		       clock_vals[1], clock_vals[2], 32, lab_pcp_mode_name());
		for (size_t s = 0; s < nr_subjects; s++)
			if ((subjects[s].groups & page_groups) && workers[s].up)
				printf("  %-20s %s\n", subjects[s].name, workers[s].note);
		for (unsigned int g = G_PAGES; g <= G_EXCL; g <<= 1)
			if (page_groups & g)
				print_group(g);
		print_targets();
	}
	if (o.png && !o.json && (page_groups & (G_PAGES | G_SCALING)))
		write_chart(o.png);
	if (o.groups & G_SLAB) {
		if (o.json)
			printf("%s\"slab\": ", page_groups ? ", " : "{");
		else
			printf("\n== Objects (the slab layer) against malloc, libsodium and OpenSSL\n\n");
		fflush(stdout);
		bench_slab_run(stdout, o.json, o.quick);
	}
	if (o.json)
		printf("%s\n", page_groups || (o.groups & G_SLAB) ? "}" : "{}");
	return 0;
}
