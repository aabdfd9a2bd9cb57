/*
 * stress.c - `labyrinth stress`: threads drive one zone as hard as they can
 * while other threads watch for anything lost, handed out twice, or stuck.
 *
 *   workers (--threads)  KERNEL, NOWAIT and ATOMIC blocks of random orders,
 *                        by descriptor and by address (the address map:
 *                        four small neighbour zones make it more than four);
 *                        frees of their own blocks and of blocks other
 *                        workers handed over through a shared exchange;
 *                        pages put into the shrinkers' caches; now and then
 *                        a deliberate misuse whose report is counted
 *   signal storm         a timer signal per worker (--signal-hz) whose
 *                        handler allocates and frees ATOMIC and NOWAIT blocks
 *   two shrinkers        caches of pages that kswapd and direct reclaim take
 *                        back; registered and unregistered while running
 *   pressure             holds the free count around the watermarks with a
 *                        ballast of MEMALLOC pages
 *   checker              free + per-CPU + allocated == managed, lab_zone_check(),
 *                        continuously
 *   forker               fork() (--fork-ms); the child checks the zone from
 *                        its side (see child_main() for what is valid there)
 *   watchdog             a thread without progress for --stall seconds: print
 *                        every thread's state and exit 3
 *
 * Every handed-out block carries a stamp (owner, sequence, order, head) at
 * the start of each of its pages.  The stamp is checked when the block is
 * handed out (a live stamp there means the block is handed out twice) and
 * before it is freed.  At the end, with everything freed, the library's
 * counters must equal the tool's own tallies (allocations, failures by
 * class, frees, EINVALs, bad page reports, leaked pages).
 *
 * Exit status: 0 all held, 1 invariant violations, 2 usage, 3 stall.
 *
 * Extension points for the features on other branches are marked "Issue N:"
 * (the ops table, the fork child, the conservation check).
 */
#include "stress.h"

#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <labyrinth.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define NR_SLOTS        64      /* blocks a worker holds at most */
#define EXCHANGE_SIZE   256     /* blocks in flight between workers */
#define STORM_SIGNAL    SIGUSR1 /* not real-time: pending storms coalesce */
#define MISUSE_EVERY_NS 1000000000ull   /* deliberate misuse: once a second */
#define TOGGLE_EVERY_NS 200000000ull    /* shrinker (un)registration */
#define CHILD_TIMEOUT_S 5
#define NR_PINNED       8       /* long-lived blocks whose page locks are contended */
#define NR_EXCL_SLOTS   8       /* exclusive blocks a worker holds at most */
#define EXCL_PAGES      1024    /* the exclusive zone */

#define EXIT_VIOLATION 1
#define EXIT_USAGE     2
#define EXIT_STALL     3

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define GET(x)    atomic_load_explicit(&(x), memory_order_relaxed)

/* ---- options ---------------------------------------------------------- */

struct options {
	double seconds;
	unsigned threads;
	uint64_t seed;
	size_t pages;
	unsigned signal_hz;   /* per worker; 0: no storm */
	unsigned fork_ms;     /* 0: no fork */
	unsigned stall_s;
	double interval_s;    /* progress line period when not on a terminal */
	bool grow;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: labyrinth stress [OPTIONS]\n"
		"\n"
		"Torture one zone with threads, a signal storm, shrinkers, memory pressure\n"
		"and fork(), checking every invariant while it runs.  Exit status: 0 all\n"
		"held, 1 invariant violations, 2 usage, 3 a thread stalled.\n"
		"\n"
		"  --seconds S       run time (default 10)\n"
		"  --threads N       worker threads (default 2 x online CPUs)\n"
		"  --seed X          seed of the workers' random choices (default: from the\n"
		"                    clock; printed so a run can be replayed)\n"
		"  --pages N         zone size in pages (default 16384)\n"
		"  --signal-hz N     storm signals per second per worker (default 1000; 0 off)\n"
		"  --fork-ms N       fork a checking child every N ms (default 1000; 0 off)\n"
		"  --stall S         seconds without progress that count as a stall (default 20)\n"
		"  --interval S      seconds between progress lines off a terminal (default 5)\n"
		"  --grow            the zone starts at half size and grows (LAB_ZONE_GROW)\n"
		"  --long            the release soak profile: --seconds 600, --threads the\n"
		"                    larger of 16 and 2 x online CPUs, --stall 60 (sanitizer\n"
		"                    builds are slow), --interval 30; the options given\n"
		"                    beside it win.  Run it in the release, ASan and TSan\n"
		"                    builds, and on a many-core machine when one is at hand\n"
		"  --help            this text\n"
		"\n"
		"A stall report (exit 3) gives every thread's state and, for each zone,\n"
		"who holds its locks and which thread waits for which lock, held by whom.\n");
}

/* ---- small helpers ---------------------------------------------------- */

/* splitmix64: each thread (and each signal handler) has its own state. */
struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rng_below(struct rng *r, unsigned n)
{
	return (unsigned)(rng_next(r) % n);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Format and write(2) to stderr: usable from the signal handler and the
 * fork child, and not blocked by a stdio lock held by a stuck thread. */
__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	for (const char *p = buf; len;) {
		ssize_t w = write(STDERR_FILENO, p, len);
		if (w <= 0 && errno != EINTR)
			return;
		if (w > 0) {
			p += w;
			len -= (size_t)w;
		}
	}
}

/* ---- thread records for the watchdog ---------------------------------- */

enum state {
	ST_START, ST_IDLE, ST_GATE, ST_ALLOC, ST_FREE, ST_GIVE, ST_TAKE, ST_CACHE,
	ST_MISUSE, ST_SHRINKER, ST_CHECK, ST_PRESSURE, ST_FORK, ST_CHILD,
	ST_TEARDOWN, ST_DONE, ST_LOCK, ST_GET_PUT, ST_EXCL, ST_FAULT,
};
static const char *const state_names[] = {
	"starting", "between operations", "waiting at the fork gate", "allocating",
	"freeing", "handing a block over", "freeing a block handed over",
	"filling a shrinker cache", "misusing the API on purpose",
	"(un)registering a shrinker", "checking the zone", "adjusting pressure",
	"forking", "waiting for the fork child", "freeing everything", "done",
	"taking or releasing a page lock", "getting and putting a block",
	"allocating or freeing an exclusive block", "changing fault injection",
};

struct thread_rec {
	char name[16];
	_Atomic int tid;
	_Atomic uint64_t progress;
	_Atomic int state;
	_Atomic unsigned detail;  /* allocation: class << 8 | order */
	uint64_t seen;            /* watchdog's own */
	unsigned still;
};

static void set_state(struct thread_rec *r, enum state s, unsigned detail)
{
	atomic_store_explicit(&r->detail, detail, memory_order_relaxed);
	atomic_store_explicit(&r->state, (int)s, memory_order_relaxed);
}

static void progress(struct thread_rec *r)
{
	ADD(r->progress, 1);
}

/* ---- classes, stamps and the global state ------------------------------ */

enum cls {
	CL_KERNEL, CL_NOWAIT, CL_ATOMIC, CL_SIG_ATOMIC, CL_SIG_NOWAIT, CL_CACHE,
	CL_PRESSURE, CL_FORK, CL_PINNED, CL_EXCL, NR_CLASSES,
};
static const char *const class_names[] = {
	"KERNEL", "NOWAIT", "ATOMIC", "signal ATOMIC", "signal NOWAIT", "cache fill",
	"pressure MEMALLOC", "forker", "pinned (locks)", "EXCLUSIVE zone",
};

/* Owners: workers 1..N; the rest have their own ranges. */
#define OWNER_SIGNAL   0x100000u
#define OWNER_CACHE    0x200000u
#define OWNER_PRESSURE 0x300000u
#define OWNER_FORKER   0x400000u
#define OWNER_CHILD    0x500000u
#define OWNER_PINNED   0x600000u

#define STAMP_LIVE 0x4c4142594c495645ull
#define STAMP_FREE 0x4c41425946524545ull

/* Written at the start of every page of a handed-out block. */
struct stamp {
	uint64_t magic;
	uint32_t owner;
	uint32_t order;
	uint64_t seq;
	uintptr_t head;
};

/* held.flags */
#define H_COMP   0x1u  /* LAB_GFP_COMP */
#define H_LOCKED 0x2u  /* its page lock is held; whoever frees it unlocks */
#define H_PUT    0x4u  /* one reference left after a free: release with lab_put_page */
#define H_EXCL   0x8u  /* in the exclusive zone (tallied apart) */

struct held {
	struct lab_page *page;
	uint64_t seq;
	uint32_t owner;
	uint8_t order;
	uint8_t flags;
};

/* A page cache a shrinker gives back, as a filesystem's would. */
struct cache {
	struct lab_shrinker shrinker;
	pthread_mutex_t lock;         /* blocks, nr */
	pthread_mutex_t toggle_lock;  /* registration */
	struct held *blocks;
	size_t nr, cap;
	bool registered;
	uint32_t owner;
	_Atomic uint64_t seq, scans, freed;
};

struct worker;

static struct {
	struct options opt;
	struct lab_zone *zone;
	size_t page_size;
	uint64_t start_ns;
	_Atomic bool stop;

	_Atomic uint64_t violations;
	_Atomic uint64_t alloc_ok[NR_CLASSES], alloc_fail[NR_CLASSES];
	_Atomic uint64_t lib_fail[3];  /* as the library counts: atomic, nowait, sleeping */
	_Atomic uint64_t frees, expect_bad_page, expect_einval, expect_leaked;
	_Atomic uint64_t misuse, toggles, checks;
	_Atomic uint64_t forks, fork_ok, fork_inherited_lock, fork_failed;
	_Atomic uint64_t next_misuse_ns, next_toggle_ns;

	/* Page locks and references. */
	struct held pinned[NR_PINNED];
	_Atomic int pinned_inside[NR_PINNED];
	_Atomic uint64_t pinned_holds[NR_PINNED];
	_Atomic uint64_t locks, trylocks, trylock_busy, sig_trylocks, cross_unlocks;
	_Atomic uint64_t gets, cross_puts;

	/* Fault injection: the settings thread's changes and the fail-nth arms. */
	_Atomic uint64_t fault_changes, fail_nth_armed;

	/* The exclusive zone: its own tallies, as the library keeps them per zone. */
	struct lab_zone *xzone;
	unsigned xflags, xin_force;
	lab_owner_t xtoken;           /* owner of blocks in the exclusive exchange */
	_Atomic uint64_t xlib_fail[3], xfrees, xtransfers;
	_Atomic uint64_t fork_excl_fault, fork_excl_zero, fork_excl_copy;
	pthread_mutex_t xexchange_lock;
	struct held xexchange[EXCHANGE_SIZE];
	size_t xexchange_nr;
	struct held forker_excl[2];

	pthread_mutex_t exchange_lock;
	struct held exchange[EXCHANGE_SIZE];
	size_t exchange_nr;

	struct cache caches[2];

	struct held *ballast;
	size_t ballast_nr, ballast_cap, ballast_max;

	struct held forker_blocks[4];

	struct worker *workers;
	struct thread_rec *recs;   /* workers, then the helpers below */
	size_t nr_recs;

	pthread_mutex_t snap_lock; /* the checker's last snapshot, for display */
	struct lab_zone_stats snap;
} g;

enum { REC_CHECKER, REC_PRESSURE, REC_FORKER, REC_MAIN, REC_FAULT, NR_HELPER_RECS };

static struct thread_rec *helper_rec(unsigned which)
{
	return &g.recs[g.opt.threads + which];
}

__attribute__((format(printf, 1, 2)))
static void violation(const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* The first ones in full; a flood would hide them. */
	if (atomic_fetch_add(&g.violations, 1) < 20)
		say("labyrinth stress: VIOLATION: %s\n", buf);
}

/* ---- the fork gate ------------------------------------------------------ */

/*
 * Everything the tool does inside the library passes through this gate; the
 * forker closes it and waits until nobody is inside, so no thread of the tool
 * holds a library lock at the moment of fork().  Sequentially consistent
 * atomics: an entrant either sees the gate closed or is seen by the closer.
 */
static _Atomic unsigned gate_users;
static _Atomic bool gate_closed;

static bool gate_try_enter(void)
{
	atomic_fetch_add(&gate_users, 1);
	if (!atomic_load(&gate_closed))
		return true;
	atomic_fetch_sub(&gate_users, 1);
	return false;
}

static void gate_enter(struct thread_rec *r)
{
	if (gate_try_enter())
		return;
	int st = atomic_load_explicit(&r->state, memory_order_relaxed);
	set_state(r, ST_GATE, 0);
	while (!gate_try_enter())
		sleep_us(50);
	set_state(r, (enum state)st, atomic_load_explicit(&r->detail, memory_order_relaxed));
}

static void gate_leave(void)
{
	atomic_fetch_sub(&gate_users, 1);
}

static void gate_close(void)
{
	atomic_store(&gate_closed, true);
	while (atomic_load(&gate_users))
		sleep_us(20);
}

static void gate_open(void)
{
	atomic_store(&gate_closed, false);
}

/* ---- stamps, allocation and free --------------------------------------- */

static struct stamp *stamp_at(char *block, size_t i)
{
	return (struct stamp *)(void *)(block + i * g.page_size);
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < len; i++)
		if (c[i])
			return false;
	return true;
}

/* A new block: no page of it may be live; ZERO blocks must be zero. */
static void stamp_new(struct lab_page *p, unsigned order, uint32_t owner, uint64_t seq, bool zeroed)
{
	char *base = lab_page_address(p);
	for (size_t i = 0; i < ((size_t)1 << order); i++) {
		struct stamp *s = stamp_at(base, i);
		if (zeroed && (!all_zero(s, sizeof(*s)) ||
			       !all_zero((char *)s + g.page_size - 16, 16))) {
			violation("GFP_ZERO block %p order %u (owner %#x) not zeroed at page %zu",
				  (void *)base, order, owner, i);
		} else if (s->magic == STAMP_LIVE) {
			violation("handed out twice: page %zu of block %p order %u (owner %#x seq %llu) "
				  "is live in block %p order %u of owner %#x seq %llu",
				  i, (void *)base, order, owner, (unsigned long long)seq,
				  (void *)s->head, s->order, s->owner, (unsigned long long)s->seq);
		}
		*s = (struct stamp){ STAMP_LIVE, owner, order, seq, (uintptr_t)base };
	}
}

/* Before a free: every page still carries this owner's stamp. */
static bool stamp_release(const struct held *h)
{
	char *base = lab_page_address(h->page);
	bool ok = true;
	for (size_t i = 0; i < ((size_t)1 << h->order); i++) {
		struct stamp *s = stamp_at(base, i);
		if (ok && (s->magic != STAMP_LIVE || s->owner != h->owner || s->seq != h->seq ||
			   s->order != h->order || s->head != (uintptr_t)base)) {
			violation("block %p order %u of owner %#x seq %llu lost its stamp at page %zu: "
				  "magic %#llx owner %#x seq %llu order %u head %p",
				  (void *)base, h->order, h->owner, (unsigned long long)h->seq, i,
				  (unsigned long long)s->magic, s->owner, (unsigned long long)s->seq,
				  s->order, (void *)s->head);
			ok = false;
		}
		s->magic = STAMP_FREE;
	}
	return ok;
}

/* The class the library counts a failure under (count_failure()). */
static unsigned lib_class(lab_gfp_t gfp)
{
	if (gfp & LAB_GFP_DIRECT_RECLAIM)
		return 2;
	return (gfp & LAB_GFP_HIGH) ? 0 : 1;
}

/* CL_EXCL allocates LAB_GFP_EXCLUSIVE blocks in the exclusive zone; the
 * rest go to the main zone.  A failure may be injected (fault injection):
 * the library then counts it in fail_injected instead of its class, so the
 * tool's per-class tallies are compared as sums at the end. */
static bool alloc_block(struct held *h, lab_gfp_t gfp, unsigned order, enum cls cls,
			uint32_t owner, uint64_t seq)
{
	bool excl = cls == CL_EXCL;
	if (excl)
		gfp |= LAB_GFP_EXCLUSIVE;
	errno = 0;
	struct lab_zone *z = excl ? g.xzone : g.zone;
	struct lab_page *p;
	if ((seq & 3) == 1) {
		/* The address API, as kernel code's __get_free_pages(): the page
		 * comes back from the address through the address map. */
		void *a = lab_get_free_pages(z, gfp, order);
		p = a ? lab_virt_to_page(a) : NULL;
		if (a && (!p || lab_page_zone(p) != z || lab_page_address(p) != a)) {
			violation("lab_get_free_pages handed out %p, which lab_virt_to_page "
				  "translates to %p", a, (void *)p);
			return false;
		}
	} else {
		p = lab_alloc_pages(z, gfp, order);
	}
	if (!p) {
		if (errno != ENOMEM)
			violation("%s allocation of order %u failed with errno %d, not ENOMEM",
				  class_names[cls], order, errno);
		ADD(g.alloc_fail[cls], 1);
		ADD((excl ? g.xlib_fail : g.lib_fail)[lib_class(gfp)], 1);
		return false;
	}
	ADD(g.alloc_ok[cls], 1);
	/* Exclusive blocks are zeroed on hand-out (DESIGN.md). */
	stamp_new(p, order, owner, seq, (gfp & LAB_GFP_ZERO) || excl);
	*h = (struct held){ p, seq, owner, (uint8_t)order,
			    (uint8_t)(((gfp & LAB_GFP_COMP) ? H_COMP : 0) | (excl ? H_EXCL : 0)) };
	return true;
}

static void free_block(struct held *h)
{
	if (h->flags & H_LOCKED) {
		lab_unlock_page(h->page);
		ADD(g.cross_unlocks, 1);
	}
	stamp_release(h);
	if (h->flags & H_PUT)
		lab_put_page(h->page);
	else if ((h->seq & 3) == 2)
		lab_free_pages_addr(lab_page_address(h->page), h->order);  /* free_pages() */
	else
		lab_free_pages(h->page, h->order);
	ADD(*((h->flags & H_EXCL) ? &g.xfrees : &g.frees), 1);
	h->page = NULL;
}

/* Orders: mostly small, sometimes costly, rarely the largest. */
static unsigned random_order(struct rng *r)
{
	unsigned x = rng_below(r, 100);
	if (x < 55)
		return 0;
	if (x < 80)
		return 1 + rng_below(r, 3);
	if (x < 95)
		return 4 + rng_below(r, 3);
	return 7 + rng_below(r, LAB_MAX_ORDER - 6);
}

/* ---- workers ----------------------------------------------------------- */

struct worker {
	unsigned id;
	pthread_t thread;
	struct thread_rec *rec;
	struct rng rng;
	struct held slots[NR_SLOTS];
	unsigned nr;
	struct held excl[NR_EXCL_SLOTS];
	unsigned nr_excl;
	uint64_t seq;
	/* The signal handler's own: it may interrupt the worker anywhere. */
	struct rng sig_rng;
	struct held sig_slot;
	uint64_t sig_seq;
	_Atomic uint64_t sig_runs, sig_skipped;
	timer_t storm_timer;      /* one-shot, re-armed by the handler (storm_handler) */
	bool storm_armed;
	uint64_t storm_next;      /* when the timer fires next (CLOCK_MONOTONIC) */
	_Atomic uint64_t ops;
};

static _Thread_local struct worker *self_worker;

static uint32_t worker_owner(const struct worker *w)
{
	return w->id + 1;
}

static void take_slot(struct worker *w, unsigned i, struct held *out)
{
	*out = w->slots[i];
	w->slots[i] = w->slots[--w->nr];
}

/* Take one of the worker's blocks at random and say what it does with it;
 * false when it holds none. */
static bool take_random(struct worker *w, struct held *h, enum state what)
{
	if (!w->nr)
		return false;
	take_slot(w, rng_below(&w->rng, w->nr), h);
	set_state(w->rec, what, h->order);
	return true;
}

/* Leave a block in the exchange for whichever worker takes it next; free
 * it instead when the exchange is full. */
static void give_to_exchange(struct held *h)
{
	pthread_mutex_lock(&g.exchange_lock);
	bool full = g.exchange_nr == EXCHANGE_SIZE;
	if (!full)
		g.exchange[g.exchange_nr++] = *h;
	pthread_mutex_unlock(&g.exchange_lock);
	if (full)
		free_block(h);
}

static void op_free(struct worker *w);

static void op_alloc(struct worker *w)
{
	if (w->nr == NR_SLOTS) {
		op_free(w);
		return;
	}
	unsigned r = rng_below(&w->rng, 100);
	enum cls cls = r < 40 ? CL_KERNEL : r < 70 ? CL_NOWAIT : CL_ATOMIC;
	lab_gfp_t gfp = cls == CL_KERNEL ? LAB_GFP_KERNEL
		      : cls == CL_NOWAIT ? LAB_GFP_NOWAIT : LAB_GFP_ATOMIC;
	unsigned m = rng_below(&w->rng, 100);
	if (m < 10)
		gfp |= LAB_GFP_ZERO;
	if (m >= 10 && m < 20)
		gfp |= LAB_GFP_COMP;
	if (rng_below(&w->rng, 10))
		gfp |= LAB_GFP_NOWARN;
	if (cls == CL_KERNEL) {
		m = rng_below(&w->rng, 100);
		if (m < 10)
			gfp |= LAB_GFP_NORETRY;
		else if (m < 15)
			gfp |= LAB_GFP_RETRY_MAYFAIL;
		else if (m < 25)
			gfp |= LAB_GFP_HIGH;
	}
	unsigned order = random_order(&w->rng);
	set_state(w->rec, ST_ALLOC, (unsigned)cls << 8 | order);
	struct held h;
	if (alloc_block(&h, gfp, order, cls, worker_owner(w), ++w->seq))
		w->slots[w->nr++] = h;
}

static void op_free(struct worker *w)
{
	struct held h;
	if (take_random(w, &h, ST_FREE))
		free_block(&h);
}

/* Hand a block to whichever worker takes it next. */
static void op_give(struct worker *w)
{
	struct held h;
	if (take_random(w, &h, ST_GIVE))
		give_to_exchange(&h);
}

/* Free a block another thread allocated. */
static void op_take(struct worker *w)
{
	struct held h = { 0 };
	pthread_mutex_lock(&g.exchange_lock);
	if (g.exchange_nr) {
		size_t i = rng_below(&w->rng, (unsigned)g.exchange_nr);
		h = g.exchange[i];
		g.exchange[i] = g.exchange[--g.exchange_nr];
	}
	pthread_mutex_unlock(&g.exchange_lock);
	if (h.page) {
		set_state(w->rec, ST_TAKE, h.order);
		free_block(&h);
	}
}

static void op_cache_fill(struct worker *w)
{
	struct cache *c = &g.caches[rng_below(&w->rng, 2)];
	lab_gfp_t gfp = (rng_below(&w->rng, 2) ? LAB_GFP_KERNEL : LAB_GFP_NOWAIT) | LAB_GFP_NOWARN;
	unsigned order = rng_below(&w->rng, 2);
	set_state(w->rec, ST_CACHE, order);
	struct held h;
	if (!alloc_block(&h, gfp, order, CL_CACHE, c->owner, ADD(c->seq, 1) + 1))
		return;
	pthread_mutex_lock(&c->lock);
	bool full = c->nr == c->cap;
	if (!full)
		c->blocks[c->nr++] = h;
	pthread_mutex_unlock(&c->lock);
	if (full)
		free_block(&h);
}

/* At most one call per period across all workers. */
static bool rate_ok(_Atomic uint64_t *next, uint64_t period)
{
	uint64_t now = now_ns(), when = atomic_load(next);
	return now >= when && atomic_compare_exchange_strong(next, &when, now + period);
}

/*
 * Misuse the API in the ways that are safe to do concurrently: each one must
 * be rejected (EINVAL, or a Bad page report and nothing freed), except the
 * wrong-order free, which must leak exactly that block.  Double frees are
 * left to the fuzzer: here another thread may own the block again.
 */
static void op_misuse(struct worker *w)
{
	if (!rate_ok(&g.next_misuse_ns, MISUSE_EVERY_NS)) {
		op_free(w);
		return;
	}
	set_state(w->rec, ST_MISUSE, 0);
	ADD(g.misuse, 1);
	unsigned kind = rng_below(&w->rng, 5);
	int local;
	switch (kind) {
	case 0: {  /* the descriptor of a tail page */
		for (unsigned i = 0; i < w->nr; i++) {
			struct held *h = &w->slots[i];
			if (!h->order)
				continue;
			size_t pfn = lab_page_to_pfn(h->page) + 1 +
				     rng_below(&w->rng, (1u << h->order) - 1);
			lab_free_pages(lab_pfn_to_page(g.zone, pfn), 0);
			ADD(g.expect_bad_page, 1);
			return;
		}
		break;
	}
	case 1:    /* pointers into no zone */
		lab_free_pages((struct lab_page *)(void *)&local, 0);
		lab_free_pages_addr(&local, 0);
		break;
	case 2:    /* an address inside a block that is not page aligned */
		if (w->nr) {
			struct held *h = &w->slots[rng_below(&w->rng, w->nr)];
			lab_free_pages_addr((char *)lab_page_address(h->page) + 8, h->order);
			ADD(g.expect_bad_page, 1);
		}
		break;
	case 3: {  /* invalid arguments */
		static const lab_gfp_t bad_gfp[] = { LAB_GFP_KERNEL | 0x8000u,
						     LAB_GFP_ATOMIC | LAB_GFP_NOFAIL };
		for (unsigned i = 0; i < 3; i++) {
			errno = 0;
			struct lab_page *p = i < 2 ? lab_alloc_pages(g.zone, bad_gfp[i], 0)
						   : lab_alloc_pages(g.zone, LAB_GFP_KERNEL,
								     LAB_MAX_ORDER + 1 + i);
			if (p || errno != EINVAL)
				violation("invalid allocation %u returned %p errno %d, expected EINVAL",
					  i, (void *)p, errno);
			ADD(g.expect_einval, 1);
		}
		break;
	}
	case 4: {  /* a wrong order: the block is reported and leaked, never reused */
		struct lab_zone_stats st;
		lab_zone_get_stats(g.zone, &st);
		if (!w->nr || GET(g.expect_leaked) >= st.managed / 200)
			break;
		struct held h;
		take_slot(w, rng_below(&w->rng, w->nr), &h);
		unsigned wrong = h.order ? h.order - 1 : 1;
		lab_free_pages(h.page, wrong);
		ADD(g.expect_bad_page, 1);
		ADD(g.expect_leaked, (uint64_t)1 << h.order);
		break;
	}
	}
}

static void cache_toggle(struct cache *c);

static void op_shrinker(struct worker *w)
{
	if (!rate_ok(&g.next_toggle_ns, TOGGLE_EVERY_NS)) {
		op_alloc(w);
		return;
	}
	set_state(w->rec, ST_SHRINKER, 0);
	cache_toggle(&g.caches[rng_below(&w->rng, 2)]);
}

/* ---- page locks, references, fault injection, exclusive blocks ---------- */

/* Under a pinned block's lock: nobody else inside, and a plain counter in
 * the page that only lock holders touch (a data race here is a broken lock,
 * and ThreadSanitizer would say so). */
static void pinned_critical(unsigned i)
{
	if (atomic_fetch_add(&g.pinned_inside[i], 1) != 0)
		violation("page lock of pinned block %u held by two at once", i);
	uint64_t *count = (uint64_t *)(void *)((char *)lab_page_address(g.pinned[i].page) + 64);
	(*count)++;
	ADD(g.pinned_holds[i], 1);
	atomic_fetch_sub(&g.pinned_inside[i], 1);
}

/*
 * Page locks across threads: contend for the pinned blocks' locks (they live
 * the whole run, so a sleeping lab_lock_page stays inside the fork gate only
 * as long as the holder's own critical section); lock a block and hand it
 * over locked, so that another worker unlocks it; or trylock a block waiting
 * in the exchange and leave it there locked for its taker to unlock.
 */
static void op_page_lock(struct worker *w)
{
	set_state(w->rec, ST_LOCK, 0);
	unsigned kind = rng_below(&w->rng, 3);
	if (kind == 0) {
		unsigned i = rng_below(&w->rng, NR_PINNED);
		lab_lock_page(g.pinned[i].page);
		ADD(g.locks, 1);
		pinned_critical(i);
		lab_unlock_page(g.pinned[i].page);
	} else if (kind == 1 && w->nr) {
		struct held h;
		take_slot(w, rng_below(&w->rng, w->nr), &h);
		lab_lock_page(h.page);   /* ours alone: never waits */
		ADD(g.locks, 1);
		h.flags |= H_LOCKED;
		give_to_exchange(&h);
	} else {
		/* The exchange lock keeps the block from being taken meanwhile. */
		pthread_mutex_lock(&g.exchange_lock);
		if (g.exchange_nr) {
			struct held *h = &g.exchange[rng_below(&w->rng, (unsigned)g.exchange_nr)];
			bool taken = lab_trylock_page(h->page);
			ADD(g.trylocks, 1);
			if (h->flags & H_LOCKED) {
				ADD(g.trylock_busy, 1);
				if (taken)
					violation("trylock took the held lock of block %p",
						  lab_page_address(h->page));
			} else if (!taken) {
				violation("trylock failed on the free lock of block %p",
					  lab_page_address(h->page));
			} else {
				h->flags |= H_LOCKED;
			}
		}
		pthread_mutex_unlock(&g.exchange_lock);
	}
}

/*
 * References, with lab_free_pages() as a put (the kernel's __free_pages):
 * get, then free while the reference is held; a plain block gives its tail
 * pages back at once (one free each order below), a compound one stays
 * whole.  The last reference is dropped here, or by whichever worker takes
 * the block from the exchange.  Either way the number of blocks freed is
 * known: the tallies stay exact.
 */
static void op_get_put(struct worker *w)
{
	struct held h;
	if (!take_random(w, &h, ST_GET_PUT))
		return;
	lab_get_page(h.page);
	ADD(g.gets, 1);
	int count = lab_page_count(h.page);
	if (count != 2)
		violation("block %p: %d references after a get, expected 2",
			  lab_page_address(h.page), count);
	bool plain = !(h.flags & H_COMP) && h.order;
	char *base = lab_page_address(h.page);
	/* The pages the free is about to give back lose their stamps first. */
	if (plain) {
		struct held tails = h;
		stamp_release(&tails);
		*stamp_at(base, 0) = (struct stamp){ STAMP_LIVE, h.owner, 0, h.seq, (uintptr_t)base };
	}
	lab_free_pages(h.page, h.order);
	if (plain) {
		ADD(g.frees, h.order);
		h.order = 0;
	}
	count = lab_page_count(h.page);
	if (count != 1)
		violation("block %p: %d references after get and free, expected 1",
			  lab_page_address(h.page), count);
	h.flags |= H_PUT;
	if (rng_below(&w->rng, 2)) {
		free_block(&h);
		return;
	}
	pthread_mutex_lock(&g.exchange_lock);
	bool full = g.exchange_nr == EXCHANGE_SIZE;
	if (!full)
		g.exchange[g.exchange_nr++] = h;
	pthread_mutex_unlock(&g.exchange_lock);
	if (full)
		free_block(&h);
	else
		ADD(g.cross_puts, 1);
}

/* Fault injection for this thread alone: the n-th eligible allocation from
 * now fails (/proc/<tid>/fail-nth). */
static void op_fail_nth(struct worker *w)
{
	set_state(w->rec, ST_FAULT, 0);
	if (lab_fail_nth_get())
		return;
	lab_fail_nth_set(1 + rng_below(&w->rng, 16));
	ADD(g.fail_nth_armed, 1);
}

/*
 * Exclusive blocks: allocated and freed by their owner; handed to another
 * worker by transferring them to a shared owner token that the taker acts as
 * while it frees them.  Stamped like the rest (and zero when handed out).
 */
static void op_exclusive(struct worker *w)
{
	set_state(w->rec, ST_EXCL, 0);
	unsigned kind = rng_below(&w->rng, 10);
	if (kind < 4 && w->nr_excl < NR_EXCL_SLOTS) {
		lab_gfp_t gfp = (rng_below(&w->rng, 2) ? LAB_GFP_KERNEL : LAB_GFP_ATOMIC) |
				LAB_GFP_NOWARN;
		struct held h;
		if (alloc_block(&h, gfp, rng_below(&w->rng, 3), CL_EXCL, worker_owner(w), ++w->seq))
			w->excl[w->nr_excl++] = h;
	} else if (kind < 7 && w->nr_excl) {
		unsigned i = rng_below(&w->rng, w->nr_excl);
		struct held h = w->excl[i];
		w->excl[i] = w->excl[--w->nr_excl];
		free_block(&h);
	} else if (kind < 9 && w->nr_excl) {
		unsigned i = rng_below(&w->rng, w->nr_excl);
		struct held h = w->excl[i];
		w->excl[i] = w->excl[--w->nr_excl];
		int rc = lab_page_transfer(h.page, g.xtoken);
		if (rc) {
			violation("lab_page_transfer by the owner: %d", rc);
			free_block(&h);
			return;
		}
		ADD(g.xtransfers, 1);
		pthread_mutex_lock(&g.xexchange_lock);
		bool full = g.xexchange_nr == EXCHANGE_SIZE;
		if (!full)
			g.xexchange[g.xexchange_nr++] = h;
		pthread_mutex_unlock(&g.xexchange_lock);
		if (full) {
			lab_owner_t prev = lab_set_owner_token(g.xtoken);
			free_block(&h);
			lab_set_owner_token(prev);
		}
	} else {
		struct held h = { 0 };
		pthread_mutex_lock(&g.xexchange_lock);
		if (g.xexchange_nr)
			h = g.xexchange[--g.xexchange_nr];
		pthread_mutex_unlock(&g.xexchange_lock);
		if (!h.page)
			return;
		if (lab_page_owner(h.page) != g.xtoken)
			violation("exclusive block %p: owner %#x, transferred to %#x",
				  lab_page_address(h.page), lab_page_owner(h.page), g.xtoken);
		lab_owner_t prev = lab_set_owner_token(g.xtoken);
		free_block(&h);
		lab_set_owner_token(prev);
	}
}

/*
 * What a worker does, by weight.  The features on other branches plug in
 * here with a line each.
 */
struct stress_op {
	const char *name;
	unsigned weight;
	void (*run)(struct worker *w);
};

static const struct stress_op ops[] = {
	{ "alloc",    400, op_alloc },
	{ "free",     320, op_free },
	{ "give",      90, op_give },
	{ "take",      90, op_take },
	{ "cache",     80, op_cache_fill },
	{ "misuse",    10, op_misuse },
	{ "shrinker",  10, op_shrinker },
	{ "lock",     40, op_page_lock },
	{ "get_put",  40, op_get_put },
	{ "fail_nth",  5, op_fail_nth },
	{ "exclusive", 60, op_exclusive },
};
#define NR_OPS (sizeof(ops) / sizeof(ops[0]))
static _Atomic uint64_t op_count[NR_OPS];

static unsigned ops_total_weight;

static unsigned pick_op(struct worker *w)
{
	unsigned x = rng_below(&w->rng, ops_total_weight);
	for (unsigned i = 0;; i++) {
		if (x < ops[i].weight)
			return i;
		x -= ops[i].weight;
	}
}

/* ---- the signal storm -------------------------------------------------- */

/*
 * The handler allocates and frees as code in a real signal handler would:
 * ATOMIC or NOWAIT, small orders, sometimes keeping one block until its next
 * run.  It may interrupt its worker inside the library, holding the zone
 * lock: the allocator must then fail or defer, never wait.
 */
static void storm_once(struct worker *w)
{
	/* A page lock from atomic context: trylock only, never wait. */
	if (!rng_below(&w->sig_rng, 4)) {
		unsigned i = rng_below(&w->sig_rng, NR_PINNED);
		lab_atomic_enter();
		ADD(g.sig_trylocks, 1);
		if (lab_trylock_page(g.pinned[i].page)) {
			pinned_critical(i);
			lab_unlock_page(g.pinned[i].page);
		}
		lab_atomic_exit();
	}
	if (w->sig_slot.page && rng_below(&w->sig_rng, 2)) {
		free_block(&w->sig_slot);
		return;
	}
	bool atomic = rng_below(&w->sig_rng, 2);
	lab_gfp_t gfp = (atomic ? LAB_GFP_ATOMIC : LAB_GFP_NOWAIT) | LAB_GFP_NOWARN;
	if (!rng_below(&w->sig_rng, 8))
		gfp |= LAB_GFP_ZERO;
	struct held h;
	if (!alloc_block(&h, gfp, rng_below(&w->sig_rng, 3), atomic ? CL_SIG_ATOMIC : CL_SIG_NOWAIT,
			 OWNER_SIGNAL + w->id, ++w->sig_seq))
		return;
	if (!w->sig_slot.page && rng_below(&w->sig_rng, 2))
		w->sig_slot = h;
	else
		free_block(&h);
}

/* The storm's period in ns, at least a microsecond. */
static uint64_t storm_period_ns(void)
{
	uint64_t period = 1000000000u / g.opt.signal_hz;
	return period < 1000 ? 1000 : period;
}

/* Fire at the absolute time at (CLOCK_MONOTONIC), once. */
static void storm_arm(struct worker *w, uint64_t at)
{
	w->storm_next = at;
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(at / 1000000000u), .tv_nsec = (long)(at % 1000000000u) },
	};
	timer_settime(w->storm_timer, TIMER_ABSTIME, &its, NULL);
}

/*
 * The timer is one-shot, armed again when a handler ends: at the next tick
 * of the period, but never sooner than half a period after the end.  A
 * handler slower than the period (a sanitizer build, a crowded machine)
 * then never runs back to back with the next one, which starved the
 * interrupted worker for as long as that lasted: an interrupt storm, not a
 * stall of the library.  clock_gettime and timer_settime are
 * async-signal-safe.
 */
static void storm_handler(int sig)
{
	(void)sig;
	int saved = errno;
	struct worker *w = self_worker;
	if (w) {
		if (gate_try_enter()) {
			ADD(w->sig_runs, 1);
			storm_once(w);
			gate_leave();
		} else {
			ADD(w->sig_skipped, 1);
		}
		if (w->storm_armed) {
			uint64_t period = storm_period_ns(), now = now_ns();
			uint64_t next = w->storm_next + period;
			storm_arm(w, next > now + period / 2 ? next : now + period / 2);
		}
	}
	errno = saved;
}

static void block_storm(int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, STORM_SIGNAL);
	pthread_sigmask(how, &set, NULL);
}

/* A timer that signals this thread only. */
static bool storm_start(struct worker *w)
{
	if (!g.opt.signal_hz)
		return false;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = STORM_SIGNAL };
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &w->storm_timer)) {
		say("labyrinth stress: timer_create: %s; no signal storm on this thread\n",
		    strerror(errno));
		return false;
	}
	uint64_t period = storm_period_ns();
	storm_arm(w, now_ns() + 1000 + rng_below(&w->rng, (unsigned)(period < 1000000000u ?
								   period : 999999999u)));
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	atomic_store(&w->rec->tid, gettid());
	self_worker = w;
	bool storm = storm_start(w);
	w->storm_armed = storm;
	block_storm(SIG_UNBLOCK);

	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		unsigned op = pick_op(w);
		gate_enter(w->rec);
		ops[op].run(w);
		gate_leave();
		set_state(w->rec, ST_IDLE, 0);
		ADD(op_count[op], 1);
		ADD(w->ops, 1);
		progress(w->rec);
	}

	/* Quiet the storm before touching what the handler holds. */
	block_storm(SIG_BLOCK);
	w->storm_armed = false;
	if (storm)
		timer_delete(w->storm_timer);
	set_state(w->rec, ST_TEARDOWN, 0);
	gate_enter(w->rec);
	if (w->sig_slot.page)
		free_block(&w->sig_slot);
	while (w->nr_excl)
		free_block(&w->excl[--w->nr_excl]);
	lab_fail_nth_set(0);
	while (w->nr) {
		struct held h;
		take_slot(w, w->nr - 1, &h);
		free_block(&h);
		progress(w->rec);
	}
	gate_leave();
	set_state(w->rec, ST_DONE, 0);
	return NULL;
}

/* ---- shrinkers ---------------------------------------------------------- */

static unsigned long cache_count(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	(void)sc;
	struct cache *c = s->private_data;
	pthread_mutex_lock(&c->lock);
	size_t n = c->nr;
	pthread_mutex_unlock(&c->lock);
	return n ? n : LAB_SHRINK_EMPTY;
}

static unsigned long cache_scan(struct lab_shrinker *s, struct lab_shrink_control *sc)
{
	struct cache *c = s->private_data;
	/* Called by kswapd too, which the fork gate does not otherwise see. */
	if (!gate_try_enter())
		return LAB_SHRINK_STOP;
	ADD(c->scans, 1);
	unsigned long freed = 0;
	pthread_mutex_lock(&c->lock);
	while (c->nr && freed < sc->nr_to_scan) {
		free_block(&c->blocks[--c->nr]);
		freed++;
	}
	pthread_mutex_unlock(&c->lock);
	gate_leave();
	ADD(c->freed, freed);
	return freed;
}

static void cache_toggle(struct cache *c)
{
	pthread_mutex_lock(&c->toggle_lock);
	if (c->registered) {
		lab_unregister_shrinker(g.zone, &c->shrinker);
		c->registered = false;
	} else {
		int rc = lab_register_shrinker(g.zone, &c->shrinker);
		if (rc)
			violation("lab_register_shrinker: %d", rc);
		c->registered = rc == 0;
	}
	ADD(g.toggles, 1);
	pthread_mutex_unlock(&c->toggle_lock);
}

static void cache_init(struct cache *c, unsigned i, size_t cap)
{
	c->shrinker = (struct lab_shrinker){
		.count_objects = cache_count, .scan_objects = cache_scan,
		/* one costly to rebuild, one trivially reclaimable */
		.seeks = i ? 0 : LAB_DEFAULT_SEEKS, .batch = i ? 0 : 32, .private_data = c,
	};
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->toggle_lock, NULL);
	c->cap = cap;
	c->blocks = calloc(cap, sizeof(*c->blocks));
	c->owner = OWNER_CACHE + i;
	cache_toggle(c);
}

static void cache_fini(struct cache *c)
{
	if (c->registered)
		cache_toggle(c);
	while (c->nr)
		free_block(&c->blocks[--c->nr]);
	free(c->blocks);
}

/* ---- pressure ----------------------------------------------------------- */

/*
 * Keep the free count near a target that changes every 50..250 ms: no
 * ballast at all (calm), somewhere between a quarter of the min watermark
 * and a step above high, or below that.  The ballast is MEMALLOC pages:
 * ATOMIC callers then live off their reserve share, NOWAIT and KERNEL ones
 * fail or reclaim, kswapd runs.
 */
static void *pressure_main(void *arg)
{
	(void)arg;
	struct thread_rec *r = helper_rec(REC_PRESSURE);
	atomic_store(&r->tid, gettid());
	struct rng rng = { g.opt.seed ^ 0x7072657373ull };
	size_t target = 0;
	uint64_t next_target = 0, seq = 0;

	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		set_state(r, ST_PRESSURE, 0);
		gate_enter(r);
		struct lab_zone_stats st;
		lab_zone_get_stats(g.zone, &st);
		if (now_ns() >= next_target) {
			/* Phases: calm (no ballast), around the marks, nearly exhausted. */
			size_t lo = st.wmark_min / 4, hi = st.wmark_high + (st.wmark_high - st.wmark_min);
			unsigned phase = rng_below(&rng, 10);
			target = phase < 4 ? st.managed
			       : phase < 9 ? lo + rng_below(&rng, (unsigned)(hi - lo + 1))
			       : rng_below(&rng, (unsigned)(lo + 1));
			next_target = now_ns() + 50000000ull + rng_below(&rng, 200) * 1000000ull;
		}
		for (unsigned step = 0; step < 64; step++) {
			if (st.free > target + 8 && g.ballast_nr < g.ballast_cap) {
				struct held h;
				if (!alloc_block(&h, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC | LAB_GFP_NOWARN,
						 rng_below(&rng, 3), CL_PRESSURE, OWNER_PRESSURE, ++seq))
					break;
				g.ballast[g.ballast_nr++] = h;
				st.free -= (size_t)1 << h.order;
			} else if (st.free + 8 < target && g.ballast_nr) {
				struct held *h = &g.ballast[--g.ballast_nr];
				st.free += (size_t)1 << h->order;
				free_block(h);
			} else {
				break;
			}
		}
		if (g.ballast_nr > g.ballast_max)
			g.ballast_max = g.ballast_nr;
		gate_leave();
		set_state(r, ST_IDLE, 0);
		progress(r);
		sleep_us(1000 + rng_below(&rng, 2000));
	}
	set_state(r, ST_TEARDOWN, 0);
	gate_enter(r);
	while (g.ballast_nr)
		free_block(&g.ballast[--g.ballast_nr]);
	gate_leave();
	set_state(r, ST_DONE, 0);
	return NULL;
}

/* ---- fault injection ---------------------------------------------------- */

/*
 * Change the fault-injection settings every 50..250 ms: off, or failing a
 * random share of the eligible allocations (orders from min_order up, never
 * the sleeping ones: ignore_gfp_wait stays set, so the sleeping class's
 * failures stay exact), sometimes a limited number of times, sometimes only
 * every interval-th call or after some pages went through.  Silent: the
 * failures are counted, not printed.
 */
static void *faults_main(void *arg)
{
	(void)arg;
	struct thread_rec *r = helper_rec(REC_FAULT);
	atomic_store(&r->tid, gettid());
	struct rng rng = { g.opt.seed ^ 0x6661756c74ull };
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		set_state(r, ST_FAULT, 0);
		bool on = rng_below(&rng, 3);
		struct lab_fault_attr a = {
			.probability = on ? 1 + rng_below(&rng, 30) : 0,
			.interval = 1 + rng_below(&rng, 4),
			.times = rng_below(&rng, 2) ? -1 : (long)rng_below(&rng, 50),
			.space = rng_below(&rng, 4) ? 0 : (long)rng_below(&rng, 256),
			.verbose = 0,
			.ignore_gfp_wait = true,
			.min_order = rng_below(&rng, 3),
		};
		if (lab_fault_set(&a))
			violation("lab_fault_set refused valid settings");
		ADD(g.fault_changes, 1);
		set_state(r, ST_IDLE, 0);
		progress(r);
		sleep_us(50000 + rng_below(&rng, 200) * 1000);
	}
	struct lab_fault_attr off = { .probability = 0, .interval = 1, .times = -1,
				      .ignore_gfp_wait = true, .min_order = 1 };
	lab_fault_set(&off);
	set_state(r, ST_DONE, 0);
	return NULL;
}

/* ---- the checker -------------------------------------------------------- */

static void check_zone_stats(const char *zone, const struct lab_zone_stats *st, size_t lo,
			     size_t hi)
{
	if (st->free + st->pcp + st->allocated != st->managed)
		violation("%s: conservation: free %zu + per-CPU %zu + allocated %zu != managed %zu",
			  zone, st->free, st->pcp, st->allocated, st->managed);
	size_t listed = 0;
	for (unsigned o = 0; o <= LAB_MAX_ORDER; o++)
		listed += st->nr_free[o] << o;
	if (listed != st->free)
		violation("%s: buddyinfo: free blocks add up to %zu pages, free says %zu", zone,
			  listed, st->free);
	if (st->managed < lo || st->managed > hi)
		violation("%s: managed %zu pages outside [%zu, %zu]", zone, st->managed, lo, hi);
}

static void check_stats(const struct lab_zone_stats *st)
{
	check_zone_stats("stress", st, g.opt.pages / (g.opt.grow ? 2 : 1), g.opt.pages);
}

static void check_xstats(void)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(g.xzone, &st);
	check_zone_stats("exclusive", &st, EXCL_PAGES, EXCL_PAGES);
}

static void *checker_main(void *arg)
{
	(void)arg;
	struct thread_rec *r = helper_rec(REC_CHECKER);
	atomic_store(&r->tid, gettid());
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		set_state(r, ST_CHECK, 0);
		gate_enter(r);
		struct lab_zone_stats st;
		lab_zone_get_stats(g.zone, &st);
		check_stats(&st);
		int broken = lab_zone_check(g.zone);
		check_xstats();
		broken += lab_zone_check(g.xzone);
		gate_leave();
		if (broken)
			violation("lab_zone_check: %d invariants broken (reported above)", broken);
		pthread_mutex_lock(&g.snap_lock);
		g.snap = st;
		pthread_mutex_unlock(&g.snap_lock);
		ADD(g.checks, 1);
		set_state(r, ST_IDLE, 0);
		progress(r);
		sleep_us(2000);
	}
	set_state(r, ST_DONE, 0);
	return NULL;
}

/* ---- fork --------------------------------------------------------------- */

/*
 * The child of a fork() has one thread and a copy of the zone.  Any lock that
 * another thread held at the moment of fork() would stay held in the copy
 * for good, but the library's fork handlers hold every lock of every zone
 * across fork() (its reclaim and growth mutexes, its per-CPU sets, the zone
 * lock), and the tool's threads, its signal handlers and its shrinker
 * callbacks are all outside the library then (the gate).  What is valid:
 *   - reading and writing blocks the parent held: they are copies;
 *   - ATOMIC and NOWAIT allocations and frees; a hang here is a bug;
 *   - calls that take the zone's locks (lab_zone_get_stats, lab_zone_check):
 *     none can be inherited held, so a hang here (bounded by an alarm) is a
 *     violation too;
 *   - not: sleeping allocations (direct reclaim calls the tool's shrinker
 *     callbacks, whose own locks a tool thread may hold outside the library),
 *     lab_zone_destroy() (it joins a kswapd that does not exist in the child).
 * Exclusive blocks are the exception to the first point: the child must find
 * them absent (DONTFORK, SECRET: a read faults) or zero (WIPEONFORK); it
 * reads them under a SIGSEGV handler.  Only a protection the OS refused
 * (then reported at start) leaves them copied.
 */
enum { CHILD_OK = 0, CHILD_BAD_STAMP = 20, CHILD_ATOMIC_HUNG, CHILD_LOCK_INHERITED,
       CHILD_VIOLATION, CHILD_EXCL_VISIBLE };
static volatile sig_atomic_t child_phase;
static sigjmp_buf child_fault_jmp;

static void child_fault(int sig)
{
	(void)sig;
	siglongjmp(child_fault_jmp, 1);
}

/* What the child finds in an exclusive block: 0 a fault, 1 zeroes, 2 the
 * parent's stamp, 3 anything else. */
static int child_probe(const struct held *h)
{
	const unsigned char *base = lab_page_address(h->page);
	struct sigaction sa = { .sa_handler = child_fault }, old_segv, old_bus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	volatile int found = 3;
	if (sigsetjmp(child_fault_jmp, 1) == 0) {
		struct stamp s;
		memcpy(&s, (const void *)base, sizeof(s));
		bool zero = all_zero(base, g.page_size);
		found = zero ? 1 : (s.magic == STAMP_LIVE && s.seq == h->seq) ? 2 : 3;
	} else {
		found = 0;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return found;
}

static void child_check_exclusive(void)
{
	int want = (g.xin_force & LAB_ZONE_DONTFORK) ? 0
		 : (g.xin_force & LAB_ZONE_WIPEONFORK) ? 1 : 2;
	for (unsigned i = 0; i < 2; i++) {
		const struct held *h = &g.forker_excl[i];
		if (!h->page)
			continue;
		int found = child_probe(h);
		if (found != want) {
			static const char *const what[] = { "a fault", "zeroes", "the parent's data",
							    "garbage" };
			say("labyrinth stress: fork child: exclusive block %p reads as %s, expected %s\n",
			    lab_page_address(h->page), what[found], what[want]);
			_exit(CHILD_EXCL_VISIBLE);
		}
	}
}

static void child_alarm(int sig)
{
	(void)sig;
	_exit(child_phase ? CHILD_LOCK_INHERITED : CHILD_ATOMIC_HUNG);
}

static void child_main(void)
{
	uint64_t before = GET(g.violations);
	struct sigaction sa = { .sa_handler = child_alarm };
	sigaction(SIGALRM, &sa, NULL);
	alarm(CHILD_TIMEOUT_S);

	for (size_t i = 0; i < sizeof(g.forker_blocks) / sizeof(g.forker_blocks[0]); i++) {
		struct held *h = &g.forker_blocks[i];
		if (!h->page)
			continue;
		const struct stamp *s = stamp_at(lab_page_address(h->page), 0);
		if (s->magic != STAMP_LIVE || s->owner != h->owner || s->seq != h->seq)
			_exit(CHILD_BAD_STAMP);
	}
	child_check_exclusive();

	struct rng rng = { (uint64_t)getpid() };
	for (unsigned i = 0; i < 32; i++) {
		bool atomic = rng_below(&rng, 2);
		struct held h;
		if (alloc_block(&h, (atomic ? LAB_GFP_ATOMIC : LAB_GFP_NOWAIT) | LAB_GFP_NOWARN,
				rng_below(&rng, 4), CL_FORK, OWNER_CHILD, i))
			free_block(&h);
	}

	child_phase = 1;
	alarm(CHILD_TIMEOUT_S);
	struct lab_zone_stats st;
	lab_zone_get_stats(g.zone, &st);
	check_stats(&st);
	if (lab_zone_check(g.zone))
		violation("fork child: lab_zone_check found broken invariants");
	_exit(GET(g.violations) == before ? CHILD_OK : CHILD_VIOLATION);
}

static void *forker_main(void *arg)
{
	(void)arg;
	struct thread_rec *r = helper_rec(REC_FORKER);
	atomic_store(&r->tid, gettid());
	for (unsigned i = 0; i < 4; i++)
		alloc_block(&g.forker_blocks[i], LAB_GFP_KERNEL | LAB_GFP_NOWARN, i, CL_FORK,
			    OWNER_FORKER, i + 1);
	for (unsigned i = 0; i < 2; i++)
		alloc_block(&g.forker_excl[i], LAB_GFP_KERNEL | LAB_GFP_NOWARN, 2 * i, CL_EXCL,
			    OWNER_FORKER, 10 + i);

	uint64_t next = now_ns();
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		set_state(r, ST_IDLE, 0);
		progress(r);
		if (now_ns() < next) {
			sleep_us(10000);
			continue;
		}
		next = now_ns() + (uint64_t)g.opt.fork_ms * 1000000ull;
		set_state(r, ST_FORK, 0);
		gate_close();
		pid_t pid = fork();
		if (pid == 0)
			child_main();
		gate_open();
		if (pid < 0) {
			say("labyrinth stress: fork: %s\n", strerror(errno));
			continue;
		}
		ADD(g.forks, 1);
		set_state(r, ST_CHILD, 0);
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (code == CHILD_OK) {
			ADD(g.fork_ok, 1);
			if (g.forker_excl[0].page || g.forker_excl[1].page)
				ADD(*((g.xin_force & LAB_ZONE_DONTFORK) ? &g.fork_excl_fault
				      : (g.xin_force & LAB_ZONE_WIPEONFORK) ? &g.fork_excl_zero
				      : &g.fork_excl_copy), 1);
		} else {
			if (code == CHILD_LOCK_INHERITED)
				ADD(g.fork_inherited_lock, 1);
			ADD(g.fork_failed, 1);
			violation("fork child: %s (status %#x)",
				  code == CHILD_BAD_STAMP ? "a block the parent held lost its stamp"
				  : code == CHILD_ATOMIC_HUNG ? "an ATOMIC/NOWAIT call hung"
				  : code == CHILD_LOCK_INHERITED ? "lab_zone_get_stats or lab_zone_check "
				    "hung: a lock inherited held"
				  : code == CHILD_VIOLATION ? "invariants broken (reported above)"
				  : code == CHILD_EXCL_VISIBLE ? "an exclusive block was visible"
				  : "died", status);
		}
	}
	set_state(r, ST_TEARDOWN, 0);
	gate_enter(r);
	for (unsigned i = 0; i < 4; i++)
		if (g.forker_blocks[i].page)
			free_block(&g.forker_blocks[i]);
	for (unsigned i = 0; i < 2; i++)
		if (g.forker_excl[i].page)
			free_block(&g.forker_excl[i]);
	gate_leave();
	set_state(r, ST_DONE, 0);
	return NULL;
}

/* ---- the watchdog -------------------------------------------------------- */

static _Atomic bool watchdog_stop;

/* A thread id as the tool knows it: "worker 3 (tid 1234)". */
static void thread_label(int tid, char *buf, size_t len)
{
	if (tid == 0) {
		snprintf(buf, len, "nobody");
		return;
	}
	if (tid < 0) {
		snprintf(buf, len, "a thread the library cannot name yet");
		return;
	}
	for (size_t i = 0; i < g.nr_recs; i++)
		if (atomic_load(&g.recs[i].tid) == tid) {
			snprintf(buf, len, "%s (tid %d)", g.recs[i].name, tid);
			return;
		}
	snprintf(buf, len, "tid %d", tid);
}

/* Who holds the zone's locks and who waits for which (lab_zone_get_locks). */
static void print_locks(const char *what, const struct lab_zone *z)
{
	struct lab_zone_locks l;
	lab_zone_get_locks(z, &l);
	char a[64], b[64], c[64], d[64];
	thread_label(l.zone_lock, a, sizeof(a));
	thread_label(l.reclaim_mutex, b, sizeof(b));
	thread_label(l.growth_mutex, c, sizeof(c));
	thread_label(l.oom_handler, d, sizeof(d));
	say("  %s zone locks: zone lock held by %s; %u per-CPU sets owned; reclaim mutex %s; "
	    "growth mutex %s; OOM handler %s\n", what, a, l.pcp_sets_owned, b, c, d);
	for (unsigned i = 0; i < l.nr_waits; i++) {
		const struct lab_lock_wait *w = &l.waits[i];
		thread_label(w->tid, a, sizeof(a));
		thread_label(w->holder_tid, b, sizeof(b));
		char cpu[16] = "";
		if (w->cpu >= 0)
			snprintf(cpu, sizeof(cpu), " %d", w->cpu);
		say("    %s waits for the %s%s, held by %s, for %.1f s\n", a, w->lock, cpu, b,
		    (double)w->waited_ns / 1e9);
	}
}

static void dump_threads(const struct thread_rec *stuck)
{
	uint64_t now = now_ns();
	say("\nlabyrinth stress: STALL: %s made no progress for %u s (seed %#llx); thread states:\n",
	    stuck->name, stuck->still, (unsigned long long)g.opt.seed);
	for (size_t i = 0; i < g.nr_recs; i++) {
		const struct thread_rec *r = &g.recs[i];
		int st = atomic_load(&r->state);
		unsigned d = atomic_load(&r->detail);
		char extra[64] = "";
		if (st == ST_ALLOC)
			snprintf(extra, sizeof(extra), " (%s, order %u)", class_names[d >> 8], d & 0xff);
		say("  %-12s tid %-7d %-32s%s progress %llu, still for %u s\n", r->name,
		    atomic_load(&r->tid), state_names[st], extra,
		    (unsigned long long)atomic_load(&r->progress), r->still);
	}
	print_locks("stress", g.zone);
	print_locks("exclusive", g.xzone);
	pthread_mutex_lock(&g.snap_lock);
	struct lab_zone_stats s = g.snap;
	pthread_mutex_unlock(&g.snap_lock);
	say("  last check (%.1f s into the run): free %zu, allocated %zu, managed %zu, deferred %zu, "
	    "marks %zu/%zu/%zu\n", (double)(now - g.start_ns) / 1e9, s.free, s.allocated,
	    s.managed, s.deferred, s.wmark_min, s.wmark_low, s.wmark_high);
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		sleep_us(1000000);
		for (size_t i = 0; i < g.nr_recs; i++) {
			struct thread_rec *r = &g.recs[i];
			uint64_t p = atomic_load(&r->progress);
			if (p != r->seen || atomic_load(&r->state) == ST_DONE) {
				r->seen = p;
				r->still = 0;
			} else if (++r->still >= g.opt.stall_s) {
				dump_threads(r);
				_exit(EXIT_STALL);
			}
		}
	}
	return NULL;
}

/* ---- display ------------------------------------------------------------- */

static uint64_t total_ops(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < g.opt.threads; i++)
		n += GET(g.workers[i].ops) + GET(g.workers[i].sig_runs);
	return n;
}

static uint64_t sum(_Atomic uint64_t *a, unsigned n)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < n; i++)
		s += GET(a[i]);
	return s;
}

static void show_progress(bool tty, double elapsed)
{
	pthread_mutex_lock(&g.snap_lock);
	size_t free_pages = g.snap.free, managed = g.snap.managed;
	pthread_mutex_unlock(&g.snap_lock);
	uint64_t ops_n = total_ops(), fails = sum(g.alloc_fail, NR_CLASSES);
	if (tty) {
		int width = 30, done = (int)(width * elapsed / g.opt.seconds);
		if (done > width)
			done = width;
		printf("\r  [%.*s%*s] %5.1f/%.0f s  ops %-10llu fails %-8llu free %5zu/%zu  "
		       "forks %llu  violations %llu\033[K",
		       done, "==============================", width - done, "", elapsed,
		       g.opt.seconds, (unsigned long long)ops_n, (unsigned long long)fails,
		       free_pages, managed, (unsigned long long)GET(g.forks),
		       (unsigned long long)GET(g.violations));
	} else {
		printf("stress: %6.1f/%.0f s  ops %llu  fails %llu  free %zu/%zu  checks %llu  "
		       "forks %llu  violations %llu\n",
		       elapsed, g.opt.seconds, (unsigned long long)ops_n, (unsigned long long)fails,
		       free_pages, managed, (unsigned long long)GET(g.checks),
		       (unsigned long long)GET(g.forks), (unsigned long long)GET(g.violations));
	}
	fflush(stdout);
}

/* ---- the end ------------------------------------------------------------- */

#define EXPECT_EQ(what, lib, tool)                                                     \
	do {                                                                           \
		unsigned long long l_ = (lib), t_ = (tool);                            \
		if (l_ != t_)                                                          \
			violation("%s: the library counts %llu, the tool %llu", what, l_, t_); \
	} while (0)

/*
 * An injected failure is counted in fail_injected and in no class: the tool,
 * which cannot tell it from a real one, compares the totals, and each class
 * can only have more failures in the tool's count than in the library's.
 * Sleeping callers are never failed on purpose (ignore_gfp_wait), so theirs
 * must match exactly.
 */
static void check_failures(const char *zone, const struct lab_zone_stats *st, uint64_t tool_total,
			   _Atomic uint64_t *tool_class)
{
	char what[96];
	snprintf(what, sizeof(what), "%s: failed allocations, real + injected", zone);
	EXPECT_EQ(what, st->alloc_fail + st->fail_injected, tool_total);
	uint64_t lib[3] = { st->fail_atomic, st->fail_nowait, st->fail_sleeping };
	uint64_t excess = 0;
	for (unsigned c = 0; c < 3; c++) {
		uint64_t t = GET(tool_class[c]);
		if (t < lib[c])
			violation("%s: class %u: the library counts %llu failures, the tool only %llu",
				  zone, c, (unsigned long long)lib[c], (unsigned long long)t);
		else
			excess += t - lib[c];
	}
	snprintf(what, sizeof(what), "%s: injected failures", zone);
	EXPECT_EQ(what, st->fail_injected, excess);
	snprintf(what, sizeof(what), "%s: failures of sleeping callers", zone);
	EXPECT_EQ(what, st->fail_sleeping, GET(tool_class[2]));
}

/*
 * Allocations and frees served by the per-CPU lists are counted by the lists'
 * commit words (each pop counts its hit in the store that commits it; frees
 * follow from the words and the blocks refills and drains moved, src/page/pcp.c):
 * exact in every mode, signal handlers included.
 */
static void check_pcp_counted(const char *what, uint64_t lib, uint64_t tool)
{
	EXPECT_EQ(what, lib, tool);
}

/* Everything freed: the library's counters must match the tool's tallies. */
static void final_checks(void)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(g.zone, &st);
	check_stats(&st);
	if (lab_zone_check(g.zone))
		violation("lab_zone_check after the run: invariants broken (reported above)");
	lab_zone_get_stats(g.zone, &st);
	EXPECT_EQ("pages still allocated (all but the deliberately leaked are freed)",
		  st.allocated, GET(g.expect_leaked));
	EXPECT_EQ("leaked pages", st.leaked, GET(g.expect_leaked));
	EXPECT_EQ("deferred pages", st.deferred, 0);
	check_pcp_counted("successful allocations", st.alloc_success,
			  sum(g.alloc_ok, NR_CLASSES) - GET(g.alloc_ok[CL_EXCL]));
	check_failures("stress", &st, sum(g.alloc_fail, NR_CLASSES) - GET(g.alloc_fail[CL_EXCL]),
		       g.lib_fail);
	check_pcp_counted("frees", st.free_calls, GET(g.frees));
	EXPECT_EQ("EINVAL rejections", st.alloc_einval, GET(g.expect_einval));
	EXPECT_EQ("Bad page reports", st.bad_page, GET(g.expect_bad_page));

	lab_zone_get_stats(g.xzone, &st);
	check_zone_stats("exclusive", &st, EXCL_PAGES, EXCL_PAGES);
	if (lab_zone_check(g.xzone))
		violation("lab_zone_check of the exclusive zone after the run: invariants broken");
	EXPECT_EQ("exclusive zone: pages still allocated", st.allocated, 0);
	check_pcp_counted("exclusive zone: successful allocations", st.alloc_success,
			  GET(g.alloc_ok[CL_EXCL]));
	EXPECT_EQ("exclusive zone: exclusive blocks handed out", st.exclusive_alloc,
		  GET(g.alloc_ok[CL_EXCL]));
	check_failures("exclusive", &st, GET(g.alloc_fail[CL_EXCL]), g.xlib_fail);
	check_pcp_counted("exclusive zone: frees", st.free_calls, GET(g.xfrees));
	EXPECT_EQ("exclusive zone: Bad page reports", st.bad_page, 0);
	EXPECT_EQ("exclusive zone: refusals to non-owners", st.owner_refused, 0);
}

/* Every hold of a pinned block's lock incremented its counter once; then
 * the pinned blocks go. */
static void release_pinned(void)
{
	for (unsigned i = 0; i < NR_PINNED; i++) {
		const uint64_t *count =
			(const uint64_t *)(const void *)((char *)lab_page_address(g.pinned[i].page) + 64);
		EXPECT_EQ("pinned block lock holds", *count, GET(g.pinned_holds[i]));
		if (lab_page_count(g.pinned[i].page) != 1)
			violation("pinned block %u: %d references", i, lab_page_count(g.pinned[i].page));
		free_block(&g.pinned[i]);
	}
}

static void summary(double elapsed)
{
	struct lab_zone_stats st, xst;
	lab_zone_get_stats(g.zone, &st);
	lab_zone_get_stats(g.xzone, &xst);
	printf("\nlabyrinth stress: %.1f s, %u workers, seed %#llx\n", elapsed, g.opt.threads,
	       (unsigned long long)g.opt.seed);
	/* Misuse and shrinker picks over their rate limit run free / alloc. */
	printf("operations picked:");
	for (unsigned i = 0; i < NR_OPS; i++)
		printf(" %s %llu", ops[i].name, (unsigned long long)GET(op_count[i]));
	uint64_t runs = 0, skipped = 0;
	for (unsigned i = 0; i < g.opt.threads; i++) {
		runs += GET(g.workers[i].sig_runs);
		skipped += GET(g.workers[i].sig_skipped);
	}
	printf("\nsignal handler runs: %llu (%llu skipped while forking)\n",
	       (unsigned long long)runs, (unsigned long long)skipped);
	printf("allocations by class (ok / ENOMEM):\n");
	for (unsigned c = 0; c < NR_CLASSES; c++)
		printf("  %-18s %10llu / %llu\n", class_names[c], (unsigned long long)GET(g.alloc_ok[c]),
		       (unsigned long long)GET(g.alloc_fail[c]));
	printf("frees: %llu; deliberate misuse: %llu (%llu Bad page reports and %llu EINVALs "
	       "expected, %llu pages leaked on purpose)\n",
	       (unsigned long long)GET(g.frees), (unsigned long long)GET(g.misuse),
	       (unsigned long long)GET(g.expect_bad_page), (unsigned long long)GET(g.expect_einval),
	       (unsigned long long)GET(g.expect_leaked));
	for (unsigned i = 0; i < 2; i++)
		printf("shrinker %u: %llu scans, %llu blocks freed\n", i,
		       (unsigned long long)GET(g.caches[i].scans), (unsigned long long)GET(g.caches[i].freed));
	printf("shrinker (un)registrations: %llu; pressure ballast peak: %zu blocks\n",
	       (unsigned long long)GET(g.toggles), g.ballast_max);
	printf("forks: %llu (%llu children checked the zone, %llu inherited a lock held, "
	       "%llu failed)\n", (unsigned long long)GET(g.forks),
	       (unsigned long long)GET(g.fork_ok), (unsigned long long)GET(g.fork_inherited_lock),
	       (unsigned long long)GET(g.fork_failed));
	printf("zone: managed %zu, reserve use %llu, highatomic use %llu, stalls %llu, direct "
	       "reclaim %llu, kswapd runs %llu, shrinker freed %llu, lock failures %llu, grow %llu\n",
	       st.managed, (unsigned long long)st.reserve_use, (unsigned long long)st.highatomic_use,
	       (unsigned long long)st.alloc_stall, (unsigned long long)st.direct_reclaim,
	       (unsigned long long)st.kswapd_run, (unsigned long long)st.shrinker_freed,
	       (unsigned long long)st.lock_fail, (unsigned long long)st.grow);
	/* Of the lock failures, frees that deferred and calls from a signal handler
	 * that interrupted its own thread's hold are by design; an allocation that
	 * spun out another thread's hold is not (issue 12's target: none). */
	printf("zone lock: %llu allocations gave up on another thread's hold (target 0); the "
	       "other %llu failures were frees that deferred or own-thread holds\n",
	       (unsigned long long)st.alloc_lock_fail,
	       (unsigned long long)(st.lock_fail - st.alloc_lock_fail));
	printf("page locks: %llu taken, %llu trylocks (%llu found held), %llu trylocks from the "
	       "signal handler, %llu unlocked by the thread that freed them\n",
	       (unsigned long long)GET(g.locks), (unsigned long long)GET(g.trylocks),
	       (unsigned long long)GET(g.trylock_busy), (unsigned long long)GET(g.sig_trylocks),
	       (unsigned long long)GET(g.cross_unlocks));
	printf("references: %llu gets, %llu last puts left to another worker\n",
	       (unsigned long long)GET(g.gets), (unsigned long long)GET(g.cross_puts));
	printf("fault injection: %llu setting changes, %llu fail-nth arms; injected failures "
	       "%llu (stress zone) + %llu (exclusive zone)\n",
	       (unsigned long long)GET(g.fault_changes), (unsigned long long)GET(g.fail_nth_armed),
	       (unsigned long long)st.fail_injected, (unsigned long long)xst.fail_injected);
	printf("exclusive zone (%s%s%s, in force %#x): %llu handed out, %llu transfers; fork "
	       "children found them faulting %llu, zero %llu, copied %llu times\n",
	       (g.xflags & LAB_ZONE_SECRET) ? "SECRET" : "",
	       (g.xflags & LAB_ZONE_DONTFORK) ? "DONTFORK" : "",
	       (g.xflags & LAB_ZONE_WIPEONFORK) ? "WIPEONFORK" : "", g.xin_force,
	       (unsigned long long)xst.exclusive_alloc, (unsigned long long)GET(g.xtransfers),
	       (unsigned long long)GET(g.fork_excl_fault), (unsigned long long)GET(g.fork_excl_zero),
	       (unsigned long long)GET(g.fork_excl_copy));
	printf("per-CPU list mode %s\n", lab_pcp_mode_name());
	printf("zone checks: %llu (beside the running threads; each report is a real break)\n",
	       (unsigned long long)GET(g.checks));
	printf("invariant violations: %llu\n", (unsigned long long)GET(g.violations));
	if (GET(g.violations))
		printf("replay: labyrinth stress --seed %#llx --threads %u --seconds %.0f --pages %zu\n",
		       (unsigned long long)g.opt.seed, g.opt.threads, g.opt.seconds, g.opt.pages);
}

/* ---- main ------------------------------------------------------------------ */

/* Options: 0 to run, else the exit status (--help: 0 after the text). */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "pages", required_argument, NULL, 'p' },
		{ "signal-hz", required_argument, NULL, 'H' },
		{ "fork-ms", required_argument, NULL, 'f' },
		{ "stall", required_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "grow", no_argument, NULL, 'g' },
		{ "long", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct options){
		.seconds = 10, .threads = 2 * (unsigned)(cpus > 0 ? cpus : 1),
		.seed = now_ns() ^ ((uint64_t)getpid() << 32), .pages = 16384,
		.signal_hz = 1000, .fork_ms = 1000, .stall_s = 20, .interval_s = 5,
	};
	const char *cmd = "stress";
	unsigned long v;
	bool ok = true, soak = false;
	unsigned given = 0;  /* the options named, which --long leaves alone */
	int c;
	optind = 0;
	while (ok && (c = cli_getopt(cmd, argc, argv, "h", longopts)) != -1) {
		given |= c == 's' ? 1u : c == 't' ? 2u : c == 'w' ? 4u : c == 'i' ? 8u : 0u;
		switch (c) {
		case 's': ok = cli_double(cmd, "--seconds", optarg, 0.001, 1e7, &o->seconds); break;
		case 't':
			ok = cli_ulong(cmd, "--threads", optarg, 1, 1024, &v);
			o->threads = (unsigned)v;
			break;
		case 'S':
			ok = cli_ulong(cmd, "--seed", optarg, 0, ULONG_MAX, &v);
			o->seed = v;
			break;
		case 'p':
			ok = cli_ulong(cmd, "--pages", optarg, 1024, 1ul << 32, &v);
			o->pages = v;
			break;
		case 'H':
			ok = cli_ulong(cmd, "--signal-hz", optarg, 0, 1000000, &v);
			o->signal_hz = (unsigned)v;
			break;
		case 'f':
			ok = cli_ulong(cmd, "--fork-ms", optarg, 0, 3600000, &v);
			o->fork_ms = (unsigned)v;
			break;
		case 'w':
			ok = cli_ulong(cmd, "--stall", optarg, 1, 86400, &v);
			o->stall_s = (unsigned)v;
			break;
		case 'i':
			ok = cli_double(cmd, "--interval", optarg, 0.001, 86400, &o->interval_s);
			break;
		case 'g': o->grow = true; break;
		case 'L': soak = true; break;
		case 'h': usage(stdout); return -1;
		default: return EXIT_USAGE;
		}
	}
	if (!ok || !cli_no_operands(cmd, argc, argv))
		return EXIT_USAGE;
	if (soak) {
		unsigned many = 2 * (unsigned)(cpus > 0 ? cpus : 1);
		if (!(given & 1))
			o->seconds = 600;
		if (!(given & 2))
			o->threads = many > 16 ? many : 16;
		if (!(given & 4))
			o->stall_s = 60;
		if (!(given & 8))
			o->interval_s = 30;
	}
	return 0;
}

/* Small zones beside the two, so that more than four exist and the address
 * API's lookups take the address map rather than the registry's walk. */
static struct lab_zone *neighbours[4];

static bool setup(void)
{
	static const char *const neighbour_names[] = { "neighbour0", "neighbour1",
						       "neighbour2", "neighbour3" };
	for (int i = 0; i < 4; i++) {
		struct lab_zone_config ncfg = { .name = neighbour_names[i], .pages = 64,
						.flags = LAB_ZONE_NO_KSWAPD };
		neighbours[i] = lab_zone_create(&ncfg);
	}
	struct lab_zone_config cfg = { .name = "stress", .pages = g.opt.pages };
	if (g.opt.grow) {
		cfg.flags = LAB_ZONE_GROW;
		cfg.pages = g.opt.pages / 2;
		cfg.max_pages = g.opt.pages;
	}
	g.zone = lab_zone_create(&cfg);
	if (!g.zone) {
		fprintf(stderr, "labyrinth stress: zone creation failed: %s\n", strerror(errno));
		return false;
	}
	g.page_size = lab_page_size();
	/* The exclusive zone's protection changes with the seed. */
	static const unsigned xflags[] = { LAB_ZONE_SECRET, LAB_ZONE_DONTFORK, LAB_ZONE_WIPEONFORK };
	g.xflags = xflags[(g.opt.seed >> 8) % 3];
	struct lab_zone_config xcfg = { .name = "exclusive", .pages = EXCL_PAGES,
					.flags = g.xflags };
	g.xzone = lab_zone_create(&xcfg);
	if (!g.xzone) {
		fprintf(stderr, "labyrinth stress: exclusive zone creation failed: %s\n",
			strerror(errno));
		return false;
	}
	struct lab_zone_stats xst;
	lab_zone_get_stats(g.xzone, &xst);
	g.xin_force = xst.prot_in_force;
	if (xst.prot_fallback)
		printf("labyrinth stress: exclusive zone: protections %#x fell back; fork children "
		       "expect what is in force (%#x)\n", xst.prot_fallback, xst.prot_in_force);
	g.xtoken = lab_owner_new();
	pthread_mutex_init(&g.xexchange_lock, NULL);
	for (unsigned i = 0; i < NR_PINNED; i++)
		if (!alloc_block(&g.pinned[i], LAB_GFP_KERNEL, 0, CL_PINNED, OWNER_PINNED, i + 1))
			return false;
	pthread_mutex_init(&g.exchange_lock, NULL);
	pthread_mutex_init(&g.snap_lock, NULL);
	lab_zone_get_stats(g.zone, &g.snap);
	g.ballast_cap = g.opt.pages;
	g.ballast = calloc(g.ballast_cap, sizeof(*g.ballast));
	g.workers = calloc(g.opt.threads, sizeof(*g.workers));
	g.nr_recs = g.opt.threads + NR_HELPER_RECS;
	g.recs = calloc(g.nr_recs, sizeof(*g.recs));
	if (!g.ballast || !g.workers || !g.recs)
		return false;
	for (unsigned i = 0; i < NR_OPS; i++)
		ops_total_weight += ops[i].weight;
	for (unsigned i = 0; i < 2; i++)
		cache_init(&g.caches[i], i, g.opt.pages / 16);
	for (unsigned i = 0; i < g.opt.threads; i++) {
		struct worker *w = &g.workers[i];
		w->id = i;
		w->rec = &g.recs[i];
		w->rng.s = g.opt.seed + 0x100000001b3ull * (i + 1);
		w->sig_rng.s = ~w->rng.s;
		snprintf(w->rec->name, sizeof(w->rec->name), "worker %u", i & 0xffffu);
	}
	static const char *const names[] = { "checker", "pressure", "forker", "main", "faults" };
	for (unsigned i = 0; i < NR_HELPER_RECS; i++)
		snprintf(helper_rec(i)->name, sizeof(helper_rec(i)->name), "%s", names[i]);
	atomic_store(&helper_rec(REC_MAIN)->tid, gettid());
	return true;
}

int stress_main(int argc, char **argv)
{
	int args = parse_options(argc, argv, &g.opt);
	if (args)
		return args < 0 ? 0 : args;
	printf("labyrinth stress: %.0f s, %u workers, zone of %zu pages%s, signal storm %u Hz per "
	       "worker, fork every %u ms, seed %#llx\n", g.opt.seconds, g.opt.threads, g.opt.pages,
	       g.opt.grow ? " (grows from half)" : "", g.opt.signal_hz, g.opt.fork_ms,
	       (unsigned long long)g.opt.seed);
	fflush(stdout);

	/* Only workers take the storm; every other thread inherits it blocked. */
	block_storm(SIG_BLOCK);
	struct sigaction sa = { .sa_handler = storm_handler, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(STORM_SIGNAL, &sa, NULL);

	if (!setup())
		return EXIT_VIOLATION;
	g.start_ns = now_ns();
	pthread_t checker, pressure, forker, watchdog, faults;
	pthread_create(&watchdog, NULL, watchdog_main, NULL);
	pthread_create(&faults, NULL, faults_main, NULL);
	pthread_create(&checker, NULL, checker_main, NULL);
	pthread_create(&pressure, NULL, pressure_main, NULL);
	if (g.opt.fork_ms)
		pthread_create(&forker, NULL, forker_main, NULL);
	else
		set_state(helper_rec(REC_FORKER), ST_DONE, 0);
	for (unsigned i = 0; i < g.opt.threads; i++)
		pthread_create(&g.workers[i].thread, NULL, worker_main, &g.workers[i]);

	struct thread_rec *me = helper_rec(REC_MAIN);
	bool tty = isatty(STDOUT_FILENO);
	uint64_t tick = tty ? 100000000ull : (uint64_t)(g.opt.interval_s * 1e9);
	uint64_t end = g.start_ns + (uint64_t)(g.opt.seconds * 1e9), next = g.start_ns + tick;
	for (;;) {
		uint64_t now = now_ns();
		set_state(me, ST_IDLE, 0);
		progress(me);
		if (now >= end)
			break;
		if (now >= next) {
			show_progress(tty, (double)(now - g.start_ns) / 1e9);
			next += tick;
		}
		/* At least once a second: the watchdog watches this thread too. */
		uint64_t wake = next < end ? next : end;
		if (wake > now + 1000000000ull)
			wake = now + 1000000000ull;
		sleep_us((unsigned)((wake - now) / 1000) + 1);
	}
	double elapsed = (double)(now_ns() - g.start_ns) / 1e9;
	show_progress(tty, elapsed);
	if (tty)
		putchar('\n');

	set_state(me, ST_TEARDOWN, 0);
	atomic_store(&g.stop, true);
	for (unsigned i = 0; i < g.opt.threads; i++)
		pthread_join(g.workers[i].thread, NULL);
	if (g.opt.fork_ms)
		pthread_join(forker, NULL);
	pthread_join(pressure, NULL);
	pthread_join(checker, NULL);
	pthread_join(faults, NULL);
	for (unsigned i = 0; i < 2; i++)
		cache_fini(&g.caches[i]);
	while (g.exchange_nr)
		free_block(&g.exchange[--g.exchange_nr]);
	lab_owner_t prev = lab_set_owner_token(g.xtoken);
	while (g.xexchange_nr)
		free_block(&g.xexchange[--g.xexchange_nr]);
	lab_set_owner_token(prev);
	release_pinned();
	final_checks();
	progress(me);
	atomic_store(&watchdog_stop, true);
	pthread_join(watchdog, NULL);

	summary(elapsed);
	lab_zone_destroy(g.zone);
	lab_zone_destroy(g.xzone);
	for (int i = 0; i < 4; i++)
		lab_zone_destroy(neighbours[i]);
	free(g.ballast);
	free(g.workers);
	free(g.recs);
	return GET(g.violations) ? EXIT_VIOLATION : 0;
}
