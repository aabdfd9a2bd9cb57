/*
 * debug.c - debugging of caches, as SLUB's slab_debug: F sanity checks,
 * Z red zones (0xbb around a free object, 0xcc around an allocated one),
 * P poisoning (a free object holds 0x6b with 0xa5 last), U user tracking
 * (who allocated and freed each object, with stacks), T tracing, A failslab;
 * the "BUG <cache>: <what>" reports in SLUB's shape; LABYRINTH_SLAB_DEBUG;
 * and the ASan/Valgrind view of objects.
 *
 * Every debugged cache keeps a state word per object (free, allocated, or
 * given up after a report), swapped atomically on each alloc and free: a
 * double free, even by two threads at once, is seen by exactly one of them.
 * An object a report is about is never handed out again: it stays "in use"
 * for good and counts in the cache's `leaked`.
 *
 * All of it runs where the caller runs, signal handlers and atomic context
 * included: no lock, no allocation.  Each report is formatted by base/fmt and
 * written whole, with one write(2) (lab__report_begin/_end), so that reports
 * of threads at the same time never interleave.
 *
 * Exports lab__slab_debug_* , lab__slab_report*, lab__slab_mark_free/used,
 * lab__slab_fail, lab__slab_track_size (slab.h).
 */
#include "base/fmt.h"
#include "os/env.h"
#include "os/printk.h"
#include "os/stack.h"
#include "os/thread.h"
#include "debug/poison.h"
#include "secure/hooks.h"
#include "slab/slab.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define DEBUG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEBUG_ASAN 1
#endif
#endif

#define POISON_FREE  0x6b
#define POISON_END   0xa5
#define RED_INACTIVE 0xbb
#define RED_ACTIVE   0xcc

#define STATE_FREE  0xf4eef4eef4eef4eeull
#define STATE_ALLOC 0xa110ca7eda110ca7ull
#define STATE_BAD   0xbad0bad0bad0bad0ull

/* ---- per-object metadata ------------------------------------------------- */

struct slab_track {
	uint64_t when;                  /* CLOCK_MONOTONIC ns; 0: never */
	int32_t tid;
	uint16_t cpu;
	uint8_t nr;                     /* frames */
	uint8_t spare;
	void *frames[LAB_STACK_DEPTH];
};
enum { TRACK_ALLOC, TRACK_FREE };

size_t lab__slab_track_size(void)
{
	return sizeof(struct slab_track);
}

static _Atomic uint64_t *state_of(const struct lab_kmem_cache *c, const void *obj)
{
	return (_Atomic uint64_t *)((char *)(uintptr_t)obj + c->state_offset);
}

static struct slab_track *track_of(const struct lab_kmem_cache *c, const void *obj, int which)
{
	return (struct slab_track *)((char *)(uintptr_t)obj + c->track_offset) + which;
}

/* Our own reads and writes of free objects and of metadata: ASan must not
 * check them (they are poisoned for the user), so no memset/memcmp here. */
SLAB_NO_ASAN static void fill(void *p, int byte, size_t len)
{
	volatile unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)byte;
}

/* The first byte of [p, p+len) that is not byte, or len. */
SLAB_NO_ASAN static size_t differs(const void *p, int byte, size_t len)
{
	const volatile unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != (unsigned char)byte)
			return i;
	return len;
}

SLAB_NO_ASAN static uint64_t state_swap(const struct lab_kmem_cache *c, void *obj, uint64_t to)
{
	return atomic_exchange_explicit(state_of(c, obj), to, memory_order_acq_rel);
}

SLAB_NO_ASAN static void state_set(const struct lab_kmem_cache *c, void *obj, uint64_t to)
{
	atomic_store_explicit(state_of(c, obj), to, memory_order_release);
}

/* Valgrind: the metadata around an object is unaddressable to the user;
 * open it while the library reads or writes it (ASan is handled by the
 * functions above). */
static void meta_open(const struct lab_kmem_cache *c, void *obj)
{
	if (!c->sanitize)
		return;
	char *slot = (char *)obj - c->red_left;
	if (c->red_left)
		lab__sanitizer_mark_allocated(slot, c->red_left, true);
	lab__sanitizer_mark_allocated((char *)obj + c->object_size,
				      c->size - c->red_left - c->object_size, true);
}

static void meta_close(const struct lab_kmem_cache *c, void *obj)
{
	if (!c->sanitize)
		return;
	char *slot = (char *)obj - c->red_left;
	if (c->red_left)
		lab__sanitizer_mark_free(slot, c->red_left);
	lab__sanitizer_mark_free((char *)obj + c->object_size,
				 c->size - c->red_left - c->object_size);
}

void lab__slab_mark_free(const struct lab_kmem_cache *c, void *obj)
{
	lab__sanitizer_mark_free((char *)obj - c->red_left, c->size);
}

void lab__slab_mark_used(const struct lab_kmem_cache *c, void *obj)
{
	/* A constructed object's contents mean something; others' do not yet. */
	lab__sanitizer_mark_allocated(obj, c->object_size, c->ctor != NULL);
}

/* ---- who and where ------------------------------------------------------- */

static _Thread_local int cached_tid;

static void forget_tid(void)
{
	cached_tid = 0;  /* a forked child's thread has another id */
}

__attribute__((constructor)) static void debug_init(void)
{
	lab__os_atfork(NULL, NULL, forget_tid);
}

static int my_tid(void)
{
	if (lab_unlikely(!cached_tid))
		cached_tid = lab__os_gettid();
	return cached_tid;
}

static unsigned int my_cpu(void)
{
	struct lab__os_rseq *rs = rseq_self();
	return rs ? rs->cpu_id_start : 0;
}

SLAB_NO_ASAN static void set_track(const struct lab_kmem_cache *c, void *obj, int which)
{
	struct slab_track *t = track_of(c, obj, which);
	void *frames[LAB_STACK_DEPTH];
	/* Skip the library's own frames: this, the debug hook, the path. */
	unsigned int n = lab__os_stack_capture(frames, LAB_STACK_DEPTH, 2);
	for (unsigned int i = 0; i < n; i++)
		t->frames[i] = frames[i];
	t->nr = (uint8_t)n;
	t->tid = my_tid();
	t->cpu = (uint16_t)my_cpu();
	t->when = lab__os_now_ns();
}

SLAB_NO_ASAN static void print_track(const struct lab_kmem_cache *c, const void *obj, int which)
{
	const struct slab_track *t = track_of(c, obj, which);
	const char *verb = which == TRACK_ALLOC ? "Allocated" : "Freed";
	if (!t->when) {
		lab__printk("INFO: %s: never\n", verb);
		return;
	}
	void *frames[LAB_STACK_DEPTH];
	unsigned int n = t->nr <= LAB_STACK_DEPTH ? t->nr : LAB_STACK_DEPTH;
	for (unsigned int i = 0; i < n; i++)
		frames[i] = t->frames[i];
	uint64_t now = lab__os_now_ns();
	lab__printk("INFO: %s age=%llu ns cpu=%u pid=%d:\n", verb,
		    (unsigned long long)(now > t->when ? now - t->when : 0), t->cpu, t->tid);
	lab__os_stack_print(frames, n);
}

/* ---- reports ------------------------------------------------------------- */

/* As bad_page(): at most 60 reports a minute; the rate limit counts the
 * rest and says how many when the next minute opens (or at exit). */
static bool may_report(void)
{
	static struct lab__ratelimit limit = LAB_RATELIMIT_INIT("BUG slab");
	return lab__ratelimit(&limit, 60, 60ull * 1000 * 1000 * 1000);
}

/* "Redzone 0x...: bb bb ...  " lines, 16 bytes each, at most max bytes. */
SLAB_NO_ASAN static void hex_dump(const char *label, const void *p, size_t len, size_t max)
{
	const unsigned char *b = p;
	if (len > max)
		len = max;
	for (size_t off = 0; off < len; off += 16) {
		char line[16 * 3 + 1];
		size_t k = 0;
		for (size_t i = off; i < len && i < off + 16; i++) {
			static const char hex[] = "0123456789abcdef";
			line[k++] = hex[b[i] >> 4];
			line[k++] = hex[b[i] & 15];
			line[k++] = ' ';
		}
		line[k ? k - 1 : 0] = '\0';
		lab__printk("%-8s %p: %s\n", label, (const void *)(b + off), line);
	}
}

static bool can_dump(const struct lab_kmem_cache *c)
{
#ifdef DEBUG_ASAN
	(void)c;
	return true;
#else
	return !c->sanitize;  /* under Valgrind the bytes are not ours to read */
#endif
}

/* The report, for a caller that has the object's metadata open (Valgrind). */
static void report_open(const struct lab_kmem_cache *c, const void *obj, const struct slab *s,
			const char *what, const char *fix)
{
	if (!may_report())
		return;
	int begun = lab__report_begin();
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	lab__printk("=============================================================================\n"
		    "BUG %s (Not tainted): %s\n"
		    "-----------------------------------------------------------------------------\n\n",
		    c->name, what);
	if (s && s->magic == SLAB_MAGIC && s->cache == c) {
		long idx = slab_index(c, obj);
		if (idx >= 0 && (c->debug & SLAB_DEBUG_USER)) {
			print_track(c, obj, TRACK_ALLOC);
			print_track(c, obj, TRACK_FREE);
		}
		lab__printk("INFO: Slab %p objects=%u used=%u fp=%p order=%u\n",
			    (const void *)s, s->nr_objects, s->inuse, s->freelist, s->order);
		if (idx >= 0) {
			lab__printk("INFO: Object %p @offset=%zu\n", obj,
				    (size_t)((const char *)obj - s->objects));
			if (can_dump(c)) {
				if (c->red_left)
					hex_dump("Redzone", (const char *)obj - c->red_left,
						 c->red_left, 16);
				hex_dump("Object", obj, c->object_size, 64);
				if (c->debug & SLAB_DEBUG_REDZONE)
					hex_dump("Redzone", (const char *)obj + c->object_size,
						 c->inuse_end - c->object_size, 16);
			}
		} else {
			lab__printk("INFO: Pointer %p is not the start of an object of this slab\n",
				    obj);
		}
	} else {
		lab__printk("INFO: Pointer %p\n", obj);
	}
	lab__printk("CPU: %u PID: %d Comm: %s\n", my_cpu(), my_tid(), comm);
	lab__os_dump_stack();
	lab__printk("FIX %s: %s\n", c->name, fix);
	lab__report_end(begun);
}

void lab__slab_report(const struct lab_kmem_cache *c, const void *obj, const struct slab *s,
		      const char *what, const char *fix)
{
	bool inside = s && s->magic == SLAB_MAGIC && s->cache == c && slab_index(c, obj) >= 0;
	if (inside)
		meta_open(c, (void *)(uintptr_t)obj);
	report_open(c, obj, s, what, fix);
	if (inside)
		meta_close(c, (void *)(uintptr_t)obj);
}

void lab__slab_report_pointer(const char *who, const void *ptr, const char *what)
{
	if (!may_report())
		return;
	int begun = lab__report_begin();
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	lab__printk("=============================================================================\n"
		    "BUG %s: Invalid pointer %p: %s\n"
		    "-----------------------------------------------------------------------------\n"
		    "CPU: %u PID: %d Comm: %s\n", who, ptr, what, my_cpu(), my_tid(), comm);
	lab__os_dump_stack();
	lab__printk("FIX %s: Nothing freed\n", who);
	lab__report_end(begun);
}

/* ---- the checks ----------------------------------------------------------- */

static void error(struct lab_kmem_cache *c)
{
	atomic_fetch_add_explicit(&c->stat.errors, 1, memory_order_relaxed);
}

/* Give obj up for good after a report: never handed out again. */
static void give_up(struct lab_kmem_cache *c, void *obj)
{
	state_set(c, obj, STATE_BAD);
	lab__slab_leak(c, obj);
}

SLAB_NO_ASAN static void set_redzones(const struct lab_kmem_cache *c, void *obj, int byte)
{
	if (c->red_left)
		fill((char *)obj - c->red_left, byte, c->red_left);
	fill((char *)obj + c->object_size, byte, c->inuse_end - c->object_size);
}

/* Both red zones hold byte; else the report is made and false returned. */
SLAB_NO_ASAN static bool check_redzones(struct lab_kmem_cache *c, struct slab *s, void *obj,
					int byte, const char *fix)
{
	size_t at = c->red_left ? differs((char *)obj - c->red_left, byte, c->red_left) : 0;
	bool left = c->red_left && at < c->red_left;
	size_t right_len = c->inuse_end - c->object_size;
	size_t rat = differs((char *)obj + c->object_size, byte, right_len);
	if (!left && rat == right_len)
		return true;
	char what[128];
	lab__snprintf(what, sizeof(what), "%s overwritten at byte %zd of the object%s",
		 left ? "Left Redzone" : "Right Redzone",
		 left ? (ssize_t)at - (ssize_t)c->red_left : (ssize_t)(c->object_size + rat),
		 byte == RED_ACTIVE ? " (written out of bounds)" : " (while free)");
	report_open(c, obj, s, what, fix);
	return false;
}

SLAB_NO_ASAN static void poison_object(const struct lab_kmem_cache *c, void *obj)
{
	fill(obj, POISON_FREE, c->object_size - 1);
	fill((char *)obj + c->object_size - 1, POISON_END, 1);
}

SLAB_NO_ASAN static bool check_poison(struct lab_kmem_cache *c, struct slab *s, void *obj)
{
	size_t at = differs(obj, POISON_FREE, c->object_size - 1);
	if (at == c->object_size - 1 &&
	    *((volatile unsigned char *)obj + c->object_size - 1) == POISON_END)
		return true;
	char what[128];
	lab__snprintf(what, sizeof(what), "Poison overwritten at byte %zu (written after free)", at);
	report_open(c, obj, s, what, "Object never reused");
	return false;
}

void lab__slab_debug_new_object(struct lab_kmem_cache *c, void *obj)
{
	if (c->debug & SLAB_DEBUG_REDZONE)
		set_redzones(c, obj, RED_INACTIVE);
	if (c->debug & SLAB_DEBUG_POISON)
		poison_object(c, obj);
	if (c->debug & SLAB_DEBUG_USER)
		fill(track_of(c, obj, 0), 0, 2 * sizeof(struct slab_track));
	state_set(c, obj, STATE_FREE);
}

SLAB_NO_ASAN static void trace(const struct lab_kmem_cache *c, const struct slab *s,
			       const void *obj, const char *what)
{
	int begun = lab__report_begin();
	lab__printk("TRACE %s %s %p inuse=%u fp=%p\n", c->name, what, obj,
		    s ? s->inuse : 0, s ? s->freelist : NULL);
	lab__os_dump_stack();
	lab__report_end(begun);
}

/* F: the slab around obj looks like one of c's. */
static bool check_slab(struct lab_kmem_cache *c, struct slab *s, void *obj)
{
	if (s && s->magic == SLAB_MAGIC && s->cache == c && s->inuse && s->inuse <= s->nr_objects &&
	    s->fresh <= s->nr_objects)
		return true;
	report_open(c, obj, s, "Slab header damaged (magic, cache or counts)",
			 "Object not freed (never reused)");
	return false;
}

bool lab__slab_debug_alloc(struct lab_kmem_cache *c, void *obj)
{
	struct slab *s = lab__slab_of(c, obj);
	bool ok = false;
	uint32_t saved = lab__zone_write_begin(c->zone);
	meta_open(c, obj);
	if (c->sanitize && (c->debug & SLAB_DEBUG_POISON))
		lab__sanitizer_mark_allocated(obj, c->object_size, true);
	uint64_t old = state_swap(c, obj, STATE_ALLOC);
	if (old != STATE_FREE) {
		if (old == STATE_BAD) {
			state_set(c, obj, STATE_BAD);  /* given up earlier: stays out */
		} else {
			error(c);
			report_open(c, obj, s, old == STATE_ALLOC
					 ? "Object handed out while already allocated (a double free?)"
					 : "Object state word overwritten (out-of-bounds write?)",
					 "Object never reused");
			give_up(c, obj);
		}
		goto out;
	}
	if ((c->debug & SLAB_DEBUG_REDZONE) &&
	    !check_redzones(c, s, obj, RED_INACTIVE, "Object never reused")) {
		error(c);
		give_up(c, obj);
		goto out;
	}
	if ((c->debug & SLAB_DEBUG_POISON) && !check_poison(c, s, obj)) {
		error(c);
		give_up(c, obj);
		goto out;
	}
	if (c->debug & SLAB_DEBUG_REDZONE)
		set_redzones(c, obj, RED_ACTIVE);
	if (c->debug & SLAB_DEBUG_USER)
		set_track(c, obj, TRACK_ALLOC);
	if (c->debug & SLAB_DEBUG_TRACE)
		trace(c, s, obj, "alloc");
	ok = true;
out:
	meta_close(c, obj);
	lab__zone_write_end(c->zone, saved);
	return ok;
}

bool lab__slab_debug_free(struct lab_kmem_cache *c, struct slab *s, void *obj)
{
	bool ok = false;
	uint32_t saved = lab__zone_write_begin(c->zone);
	meta_open(c, obj);
	if ((c->debug & SLAB_DEBUG_CHECKS) && !check_slab(c, s, obj)) {
		error(c);
		goto out;
	}
	uint64_t old = state_swap(c, obj, STATE_FREE);
	if (old != STATE_ALLOC) {
		error(c);
		if (old == STATE_FREE || old == STATE_BAD) {
			if (old == STATE_BAD)
				state_set(c, obj, STATE_BAD);
			report_open(c, obj, s, "Object already free (double free)",
					 "Object not freed again");
		} else {
			report_open(c, obj, s, "Object state word overwritten "
					 "(out-of-bounds write?)", "Object not freed (never reused)");
			give_up(c, obj);
		}
		goto out;
	}
	if ((c->debug & SLAB_DEBUG_REDZONE) &&
	    !check_redzones(c, s, obj, RED_ACTIVE, "Object not freed (never reused)")) {
		error(c);
		give_up(c, obj);
		goto out;
	}
	if (c->debug & SLAB_DEBUG_USER)
		set_track(c, obj, TRACK_FREE);
	if (c->debug & SLAB_DEBUG_TRACE)
		trace(c, s, obj, "free");
	if (c->exclusive)  /* the secret goes before anything else is written */
		fill(obj, 0, c->object_size);
	if (c->debug & SLAB_DEBUG_POISON)
		poison_object(c, obj);
	if (c->debug & SLAB_DEBUG_REDZONE)
		set_redzones(c, obj, RED_INACTIVE);
	ok = true;
out:
	meta_close(c, obj);
	lab__zone_write_end(c->zone, saved);
	return ok;
}

/* ---- objects left at destroy ------------------------------------------- */

struct leak_walk {
	struct lab_kmem_cache *c;
	size_t n;
};

static void report_one(void *arg, struct slab *s, void *obj)
{
	struct leak_walk *w = arg;
	if (w->n++ >= 16)
		return;
	lab__printk("INFO: Object %p @offset=%zu\n", obj, (size_t)((char *)obj - s->objects));
	if (w->c->debug & SLAB_DEBUG_USER) {
		meta_open(w->c, obj);
		print_track(w->c, obj, TRACK_ALLOC);
		meta_close(w->c, obj);
	}
}

void lab__slab_report_leaks(struct lab_kmem_cache *c)
{
	char comm[17];
	lab__os_thread_name(comm, sizeof(comm));
	atomic_fetch_add_explicit(&c->stat.errors, 1, memory_order_relaxed);
	int begun = lab__report_begin();
	lab__printk("=============================================================================\n"
		    "BUG %s (Not tainted): Objects remaining in %s on lab_kmem_cache_destroy()\n"
		    "-----------------------------------------------------------------------------\n\n",
		    c->name, c->name);
	struct leak_walk w = { c, 0 };
	lab__slab_for_each_allocated(c, report_one, &w);
	if (w.n > 16)
		lab__printk("INFO: ... and %zu more\n", w.n - 16);
	lab__printk("INFO: %zu objects remaining; the cache is kept so that they stay valid\n",
		    w.n);
	lab__os_dump_stack();
	lab__printk("FIX %s: Cache not destroyed (leaked)\n", c->name);
	lab__report_end(begun);
}

/* ---- failslab ------------------------------------------------------------ */

bool lab__slab_fail(struct lab_kmem_cache *c, lab_gfp_t gfp)
{
	return lab__should_failslab(gfp, c->object_size, c->failslab);
}

/* ---- LABYRINTH_SLAB_DEBUG ------------------------------------------------ */

static unsigned int letter_flag(char l)
{
	switch (l) {
	case 'F': case 'f': return LAB_SLAB_CONSISTENCY_CHECKS;
	case 'Z': case 'z': return LAB_SLAB_RED_ZONE;
	case 'P': case 'p': return LAB_SLAB_POISON;
	case 'U': case 'u': return LAB_SLAB_STORE_USER;
	case 'T': case 't': return LAB_SLAB_TRACE;
	case 'A': case 'a': return LAB_SLAB_FAILSLAB;
	case '-': return 0;
	default: return ~0u;
	}
}

#define ALL_DEBUG (LAB_SLAB_CONSISTENCY_CHECKS | LAB_SLAB_RED_ZONE | LAB_SLAB_POISON | \
		   LAB_SLAB_STORE_USER)

/* A cache name matches an item exactly, or its prefix when the item ends in '*'. */
static bool name_matches(const char *name, const char *item, size_t len)
{
	if (len && item[len - 1] == '*')
		return !strncmp(name, item, len - 1);
	return strlen(name) == len && !strncmp(name, item, len);
}

static _Atomic bool bad_spec_reported;

static void bad_spec(const char *spec, const char *why, char what)
{
	if (atomic_exchange(&bad_spec_reported, true))
		return;
	char err[160];
	lab__snprintf(err, sizeof(err), "bad value '%s': %s '%c' (flags: F Z P U T A, '-' for none)",
		      spec, why, what);
	lab__option_report(LAB_OPT_SLAB_DEBUG, err);
}

/*
 * The kernel's slab_debug= syntax: groups separated by ';', each
 * "<flags>[,<cache>[,<cache>...]]"; a group without caches applies to every
 * cache, empty flags mean FZPU, "1" alone means FZPU everywhere; a cache name
 * may end in '*'.  Later groups win for the caches they name.  Read at each
 * cache creation (no allocation).
 */
unsigned int lab__slab_debug_flags(const char *name, unsigned int flags)
{
	(void)flags;
	const char *spec = lab__option_string(LAB_OPT_SLAB_DEBUG);
	if (!spec)
		return 0;
	if (!strcmp(spec, "1") || !strcmp(spec, "all"))
		return ALL_DEBUG;
	unsigned int result = 0;
	for (const char *g = spec; *g;) {
		size_t glen = strcspn(g, ";");
		size_t flen = strcspn(g, ",;");
		unsigned int gf = flen ? 0 : ALL_DEBUG;
		bool ok = true;
		for (size_t i = 0; i < flen; i++) {
			unsigned int f = letter_flag(g[i]);
			if (f == ~0u) {
				bad_spec(spec, "unknown flag", g[i]);
				ok = false;
				break;
			}
			gf |= f;
		}
		bool applies = flen == glen;  /* no cache list: every cache */
		for (const char *item = g + flen; ok && item < g + glen && *item == ',';) {
			item++;
			size_t ilen = strcspn(item, ",;");
			if (name_matches(name, item, ilen))
				applies = true;
			item += ilen;
		}
		if (ok && applies)
			result = gf;
		g += glen;
		if (*g == ';')
			g++;
	}
	return result;
}
