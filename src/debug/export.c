/*
 * export.c - statistics out of the process: the live export, a read-only
 * shared-memory file per process (/dev/shm/labyrinth.<pid>) that a
 * background thread refreshes so that `labyrinth stat PID` and `labyrinth top
 * PID` can show another process's zones and the slab layer's caches.  The
 * text dumps are in dump.c.
 *
 * Counting itself stays where it happens (zone_stat_inc, relaxed atomics);
 * lab_zone_get_stats() in page/stats.c takes the snapshot.  The export copies
 * snapshots under a sequence counter (odd while writing), so readers in other
 * processes never see a half-written zone and never block the writer.
 *
 * Exports lab_stats_export_enable/disable/sync, lab_stats_read_export(2),
 * lab_stats_remove_stale, lab_slab_read_export2, to zone.c
 * lab__stats_zone_add/del, and to the slab layer lab__export_set_caches.
 */
#include "base/fmt.h"
#include "os/env.h"
#include "os/os.h"
#include "os/printk.h"
#include "os/thread.h"
#include "debug/export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the live export -------------------------------------------------- */

#define EXPORT_MAGIC 0x315441545342414cull /* "LABSTAT1" */
#define EXPORT_VERSION 1
#define EXPORT_DEFAULT_MS 250

struct export_zone {
	char name[32];
	struct lab_zone_stats st;
};

/* The file.  Entries are name + stats_size bytes of stats: a reader built
 * with more or fewer (appended) stats fields reads it all the same.  The
 * version changes only when this layout does.
 *
 * After the zones, the caches' section, with a version of its own (a reader
 * of version 1 stops at the zones and never sees it): its header, then
 * LAB_EXPORT_MAX_CACHES entries of name + cache_stats_size bytes.  Where it
 * starts follows from the file's stats_size, whatever the reader's. */
struct export_caches {
	uint64_t magic;             /* CACHES_MAGIC */
	uint32_t version, cache_stats_size;
	uint32_t nr_caches, reserved;
	struct lab__export_cache caches[LAB_EXPORT_MAX_CACHES];
};

struct export_file {
	uint64_t magic;
	uint32_t version, stats_size;
	int32_t pid;
	uint32_t interval_ms;
	_Atomic uint64_t seq;       /* odd while the writer copies (zones and caches) */
	uint64_t taken_ns;
	uint32_t nr_zones, reserved;
	struct export_zone zones[LAB_EXPORT_MAX_ZONES];
	struct export_caches caches;
};

#define CACHES_MAGIC 0x3148434c53424c4cull /* "LLBSLCH1" */
#define CACHES_VERSION 1

static struct {
	lab__os_mutex_t lock;       /* zones[], file and the thread's life */
	struct lab_zone *zones[LAB_EXPORT_MAX_ZONES];
	unsigned int (*fill_caches)(struct lab__export_cache *out, unsigned int max);
	struct export_file *file;
	char name[40];
	int pid;                    /* the process that created file */
	lab__os_thread_t thread;
	bool running;
	_Atomic uint32_t wake;      /* futex: bumped to stop the thread */
	_Atomic bool stop;
	unsigned int interval_ms;
	bool atexit_done;
} ex = { .lock = LAB_OS_MUTEX_INIT };

static void export_name(char *buf, size_t len, int pid)
{
	lab__snprintf(buf, len, "/labyrinth.%d", pid);
}

/* Copy every zone's snapshot into the file.  Caller holds ex.lock. */
static void publish_locked(void)
{
	struct export_file *f = ex.file;
	if (!f || ex.pid != lab__os_getpid())
		return;
	atomic_fetch_add_explicit(&f->seq, 1, memory_order_acq_rel);
	atomic_thread_fence(memory_order_release);
	uint32_t n = 0;
	for (int i = 0; i < LAB_EXPORT_MAX_ZONES; i++) {
		struct lab_zone *z = ex.zones[i];
		if (!z)
			continue;
		lab__snprintf(f->zones[n].name, sizeof(f->zones[n].name), "%s", z->name);
		lab_zone_get_stats(z, &f->zones[n].st);
		n++;
	}
	f->nr_zones = n;
	f->caches.nr_caches = ex.fill_caches ? ex.fill_caches(f->caches.caches,
							      LAB_EXPORT_MAX_CACHES) : 0;
	f->taken_ns = lab__os_now_ns();
	atomic_fetch_add_explicit(&f->seq, 1, memory_order_release);
}

void lab__export_set_caches(unsigned int (*fill)(struct lab__export_cache *out,
						 unsigned int max))
{
	lab__os_mutex_lock(&ex.lock);
	ex.fill_caches = fill;
	lab__os_mutex_unlock(&ex.lock);
}

void lab__stats_zone_add(struct lab_zone *z)
{
	lab__os_mutex_lock(&ex.lock);
	for (int i = 0; i < LAB_EXPORT_MAX_ZONES; i++) {
		if (!ex.zones[i]) {
			ex.zones[i] = z;
			break;
		}
	}
	publish_locked();
	lab__os_mutex_unlock(&ex.lock);
}

void lab__stats_zone_del(struct lab_zone *z)
{
	lab__os_mutex_lock(&ex.lock);
	for (int i = 0; i < LAB_EXPORT_MAX_ZONES; i++)
		if (ex.zones[i] == z)
			ex.zones[i] = NULL;
	publish_locked();
	lab__os_mutex_unlock(&ex.lock);
}

/* ---- stale files -------------------------------------------------------- */

/* The pid in an export file's name ("/labyrinth.<pid>"), or 0. */
static int export_pid(const char *name)
{
	const char *p = name + strlen("/labyrinth.");
	long pid = 0;
	if (strncmp(name, "/labyrinth.", strlen("/labyrinth.")) || !*p)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || pid > 0x3fffffff)
			return 0;
		pid = pid * 10 + (*p - '0');
	}
	return (int)pid;
}

/* A process killed before its atexit handler ran leaves its file behind:
 * one whose process is gone is stale.  (A pid reused by a process that is
 * not exporting keeps the file: it cannot be told apart.) */
static int remove_if_stale(int pid)
{
	if (pid <= 0 || lab__os_process_alive(pid))
		return 0;
	char name[40];
	export_name(name, sizeof(name), pid);
	int rc = lab__os_shm_unlink(name);
	return rc ? rc : 1;
}

static void sweep_one(const char *name, void *arg)
{
	int *removed = arg;
	if (remove_if_stale(export_pid(name)) == 1)
		(*removed)++;
}

int lab_stats_remove_stale(int pid)
{
	if (pid < 0)
		return -EINVAL;
	if (pid)
		return remove_if_stale(pid);
	int removed = 0;
	int rc = lab__os_shm_each("labyrinth.", sweep_one, &removed);
	return rc ? rc : removed;
}

static void *export_main(void *arg)
{
	(void)arg;
	for (;;) {
		uint32_t seen = atomic_load(&ex.wake);
		if (atomic_load(&ex.stop))
			break;
		lab__os_mutex_lock(&ex.lock);
		publish_locked();
		lab__os_mutex_unlock(&ex.lock);
		lab__os_futex_wait(&ex.wake, seen, (int64_t)ex.interval_ms * 1000000);
	}
	return NULL;
}

static void export_at_exit(void)
{
	lab_stats_export_disable();
}

int lab_stats_export_enable(unsigned int interval_ms)
{
	int err = 0;
	lab__os_mutex_lock(&ex.lock);
	if (ex.running && ex.pid == lab__os_getpid()) {
		ex.interval_ms = interval_ms ? interval_ms : EXPORT_DEFAULT_MS;
		lab__os_mutex_unlock(&ex.lock);
		return 0;
	}
	ex.pid = lab__os_getpid();
	ex.interval_ms = interval_ms ? interval_ms : EXPORT_DEFAULT_MS;
	lab_stats_remove_stale(0);  /* files of killed processes, ours included */
	export_name(ex.name, sizeof(ex.name), ex.pid);
	ex.file = lab__os_shm_create(ex.name, sizeof(struct export_file), &err);
	if (!ex.file)
		goto out;
	ex.file->magic = EXPORT_MAGIC;
	ex.file->version = EXPORT_VERSION;
	ex.file->stats_size = sizeof(struct lab_zone_stats);
	ex.file->pid = ex.pid;
	ex.file->interval_ms = ex.interval_ms;
	ex.file->caches.magic = CACHES_MAGIC;
	ex.file->caches.version = CACHES_VERSION;
	ex.file->caches.cache_stats_size = sizeof(struct lab_kmem_cache_stats);
	publish_locked();
	atomic_store(&ex.stop, false);
	int rc = lab__os_thread_create(&ex.thread, export_main, NULL, "lab-export");
	if (rc) {
		err = rc;
		lab__os_unmap(ex.file, sizeof(struct export_file));
		lab__os_shm_unlink(ex.name);
		ex.file = NULL;
		goto out;
	}
	ex.running = true;
	if (!ex.atexit_done) {
		ex.atexit_done = true;
		lab__os_atexit(export_at_exit);
	}
out:
	lab__os_mutex_unlock(&ex.lock);
	return err;
}

void lab_stats_export_disable(void)
{
	lab__os_mutex_lock(&ex.lock);
	bool running = ex.running && ex.pid == lab__os_getpid();
	ex.running = false;
	lab__os_mutex_unlock(&ex.lock);
	if (!running)
		return;
	atomic_store(&ex.stop, true);
	atomic_fetch_add(&ex.wake, 1);
	lab__os_futex_wake(&ex.wake, 1);
	lab__os_thread_join(ex.thread);
	lab__os_mutex_lock(&ex.lock);
	lab__os_shm_unlink(ex.name);
	lab__os_unmap(ex.file, sizeof(struct export_file));
	ex.file = NULL;
	lab__os_mutex_unlock(&ex.lock);
}

void lab_stats_export_sync(void)
{
	lab__os_mutex_lock(&ex.lock);
	publish_locked();
	lab__os_mutex_unlock(&ex.lock);
}

/* fork(): the child has no export thread and must not write the parent's
 * file; the lock is taken around fork so the child's copy is consistent. */
static void fork_prepare(void)
{
	lab__os_mutex_lock(&ex.lock);
}

static void fork_parent(void)
{
	lab__os_mutex_unlock(&ex.lock);
}

static void fork_child(void)
{
	if (ex.file)
		lab__os_unmap(ex.file, sizeof(struct export_file));
	ex.file = NULL;
	ex.running = false;
	ex.pid = 0;
	lab__os_mutex_unlock(&ex.lock);
}

__attribute__((constructor)) static void export_from_environment(void)
{
	lab__os_atfork(fork_prepare, fork_parent, fork_child);
	if (lab__option_get(LAB_OPT_EXPORT) != 1)
		return;
	char err[96];
	int rc = lab_stats_export_enable(0);
	if (rc)
		lab__printk("labyrinth: LABYRINTH_EXPORT: cannot create /dev/shm/labyrinth.%d: %s\n",
			    (int)lab__os_getpid(), lab__os_strerror(-rc, err, sizeof(err)));
}

/*
 * A zone's place in a snapshot or file whose stats struct is stats_size
 * bytes: the zones array starts where the caller's struct says and each
 * entry is the name and then the stats (stats_size is a multiple of 8, the
 * struct's alignment, so entries need no padding).  The same for caches.
 */
#define SNAP_ZONES offsetof(struct lab_stats_snapshot, zones)
#define SNAP_CACHES offsetof(struct lab_slab_snapshot, caches)
#define FILE_ZONES offsetof(struct export_file, zones)
#define CACHES_ENTRIES offsetof(struct export_caches, caches)
#define NAME_BYTES sizeof(((struct export_zone *)0)->name)
static_assert(sizeof(struct export_zone) == NAME_BYTES + sizeof(struct lab_zone_stats),
	      "entries are name + stats, unpadded");
static_assert(sizeof(struct lab__export_cache) == NAME_BYTES + sizeof(struct lab_kmem_cache_stats),
	      "entries are name + stats, unpadded");
static_assert(_Alignof(struct lab_zone_stats) == 8 && _Alignof(struct lab_kmem_cache_stats) == 8,
	      "stats sizes are multiples of 8");
static_assert(SNAP_ZONES % 8 == 0 && SNAP_CACHES % 8 == 0 && CACHES_ENTRIES % 8 == 0,
	      "tables start aligned");

static bool stats_size_ok(size_t stats_size)
{
	return stats_size && stats_size % 8 == 0 && stats_size < 1u << 20;
}

/* pid's export mapped, its zones' part checked: 0, or what to return. */
static int map_export(int pid, const struct export_file **out, size_t *size)
{
	char name[40];
	int err = 0;
	export_name(name, sizeof(name), pid);
	const struct export_file *f = lab__os_shm_map_readonly(name, size, &err);
	if (!f)
		return err == -ENOENT ? -ENOENT : err;
	/* The exporter's stats may be older (smaller) or newer (larger) than
	 * ours: same format version, entries of its size. */
	size_t fss = *size >= FILE_ZONES ? f->stats_size : 0;
	int rc = 0;
	if (*size < FILE_ZONES || f->magic != EXPORT_MAGIC || f->version != EXPORT_VERSION ||
	    !stats_size_ok(fss) || *size < FILE_ZONES + LAB_EXPORT_MAX_ZONES * (NAME_BYTES + fss) ||
	    f->pid != pid)
		rc = -EPROTO;
	else if (!lab__os_process_alive(pid))
		rc = -ESRCH;
	if (rc) {
		lab__os_unmap(f, *size);
		return rc;
	}
	*out = f;
	return 0;
}

/* nr (at most max) entries of name + src_size bytes of stats into entries
 * of dst_size: what both have, zeros past what the exporter knows, names
 * ended.  Returns how many. */
static unsigned int copy_entries(char *dst, size_t dst_size, const char *src, size_t src_size,
				 unsigned int nr, unsigned int max)
{
	size_t copy = src_size < dst_size ? src_size : dst_size;
	nr = nr < max ? nr : max;
	for (unsigned int i = 0; i < nr; i++) {
		char *d = dst + i * (NAME_BYTES + dst_size);
		memcpy(d, src + i * (NAME_BYTES + src_size), NAME_BYTES + copy);
		memset(d + NAME_BYTES + copy, 0, dst_size - copy);
		d[NAME_BYTES - 1] = '\0';
	}
	return nr;
}

/* Seqlock read: copy(f, arg) again while the writer was in the middle of a
 * copy; -EAGAIN if it always was. */
static int seq_read(const struct export_file *f, void (*copy)(const struct export_file *f,
							       void *arg), void *arg)
{
	for (int tries = 0; tries <= 10000; tries++) {
		uint64_t s1 = atomic_load_explicit(&f->seq, memory_order_acquire);
		if (!(s1 & 1)) {
			copy(f, arg);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&f->seq, memory_order_relaxed) == s1)
				return 0;
		}
		lab__os_yield();
	}
	return -EAGAIN;
}

struct zones_read {
	struct lab_stats_snapshot *out;
	size_t stats_size;
};

static void copy_zones(const struct export_file *f, void *arg)
{
	struct zones_read *r = arg;
	r->out->pid = f->pid;
	r->out->interval_ms = f->interval_ms;
	r->out->taken_ns = f->taken_ns;
	r->out->nr_zones = copy_entries((char *)r->out + SNAP_ZONES, r->stats_size,
					(const char *)f + FILE_ZONES, f->stats_size, f->nr_zones,
					LAB_EXPORT_MAX_ZONES);
}

int lab_stats_read_export2(int pid, struct lab_stats_snapshot *out, size_t stats_size)
{
	const struct export_file *f = NULL;
	size_t size = 0;
	if (!out || pid <= 0 || !stats_size_ok(stats_size))
		return -EINVAL;
	int rc = map_export(pid, &f, &size);
	if (rc)
		return rc;
	struct zones_read r = { out, stats_size };
	rc = seq_read(f, copy_zones, &r);
	lab__os_unmap(f, size);
	return rc;
}

/* The caches' section of f, whose stats_size puts it after its zones. */
static const struct export_caches *caches_of(const struct export_file *f)
{
	return (const void *)((const char *)f + FILE_ZONES +
			      LAB_EXPORT_MAX_ZONES * (NAME_BYTES + f->stats_size));
}

struct caches_read {
	const struct export_caches *c;
	struct lab_slab_snapshot *out;
	size_t stats_size;
};

static void copy_caches(const struct export_file *f, void *arg)
{
	struct caches_read *r = arg;
	r->out->pid = f->pid;
	r->out->taken_ns = f->taken_ns;
	r->out->nr_caches = copy_entries((char *)r->out + SNAP_CACHES, r->stats_size,
					 (const char *)r->c + CACHES_ENTRIES, r->c->cache_stats_size,
					 r->c->nr_caches, LAB_EXPORT_MAX_CACHES);
}

int lab_slab_read_export2(int pid, struct lab_slab_snapshot *out, size_t stats_size)
{
	const struct export_file *f = NULL;
	size_t size = 0;
	if (!out || pid <= 0 || !stats_size_ok(stats_size))
		return -EINVAL;
	int rc = map_export(pid, &f, &size);
	if (rc)
		return rc;
	const struct export_caches *c = caches_of(f);
	size_t at = (size_t)((const char *)c - (const char *)f);
	size_t css = size >= at + CACHES_ENTRIES ? c->cache_stats_size : 0;
	if (size < at + CACHES_ENTRIES || c->magic != CACHES_MAGIC ||
	    c->version != CACHES_VERSION || !stats_size_ok(css) ||
	    size < at + CACHES_ENTRIES + LAB_EXPORT_MAX_CACHES * (NAME_BYTES + css)) {
		rc = -EPROTO;
	} else {
		struct caches_read r = { c, out, stats_size };
		rc = seq_read(f, copy_caches, &r);
	}
	lab__os_unmap(f, size);
	return rc;
}

/* 0.1.0's entry point, for binaries built against its header. */
#undef lab_stats_read_export
int lab_stats_read_export(int pid, struct lab_stats_snapshot *out)
{
	return lab_stats_read_export2(pid, out, LAB_ZONE_STATS_SIZE_0);
}
