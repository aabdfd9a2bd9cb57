/*
 * linux.c - the OS contract (os.h) on Linux: mmap/mprotect/madvise for zone
 * memory, futex for sleeping, and the few thread facts reports need; for
 * exclusive pages memfd_secret, mlock, madvise and protection keys.
 */
#include "os/os.h"
#include "os/rseq_list.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static size_t page_size_cached;

size_t lab__os_page_size(void)
{
	if (!page_size_cached)
		page_size_cached = (size_t)sysconf(_SC_PAGESIZE);
	return page_size_cached;
}

void *lab__os_reserve(size_t size, size_t align, int *err)
{
	return lab__os_reserve_guarded(size, align, 0, err);
}

void *lab__os_reserve_guarded(size_t size, size_t align, size_t guard, int *err)
{
	/* Over-reserve, then trim both ends so the start is aligned and guard
	 * bytes of the reservation stay on either side. */
	size_t span = size + align + 2 * guard;
	char *raw = mmap(NULL, span, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	uintptr_t start = ((uintptr_t)raw + guard + align - 1) & ~(uintptr_t)(align - 1);
	size_t head = start - guard - (uintptr_t)raw;
	if (head)
		munmap(raw, head);
	size_t tail = span - head - size - 2 * guard;
	if (tail)
		munmap((char *)start + size + guard, tail);
	return (void *)start;
}

int lab__os_commit(void *addr, size_t size)
{
	return mprotect(addr, size, PROT_READ | PROT_WRITE) ? -errno : 0;
}

void lab__os_release(void *addr, size_t size)
{
	munmap(addr, size);
}

static int prefault_step(char *addr, size_t size)
{
	if (madvise(addr, size, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Kernels before 5.14: touch one byte per page. */
	size_t ps = lab__os_page_size();
	for (size_t off = 0; off < size; off += ps)
		((volatile char *)addr)[off] = 0;
	return 0;
}

int lab__os_prefault(void *addr, size_t size)
{
	for (size_t done = 0; done < size;) {
		size_t step = size - done < LAB_OS_PREFAULT_STEP ? size - done : LAB_OS_PREFAULT_STEP;
		/* Memory may have gone elsewhere since the caller's check. */
		int rc = size - done > LAB_OS_PREFAULT_STEP ? lab__os_mem_fits(size - done) : 0;
		if (!rc)
			rc = prefault_step((char *)addr + done, step);
		if (rc)
			return rc;
		done += step;
	}
	return 0;
}

/* ---- how much memory the process may still use ------------------------- */

/* Read a small file whole into buf (NUL-terminated); its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t used = 0;
	while (used < len - 1) {
		ssize_t n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	return (ssize_t)used;
}

/* The number after "key" in text, times scale; false if there is none. */
static bool field(const char *text, const char *key, uint64_t scale, uint64_t *out)
{
	const char *p = text;
	size_t klen = strlen(key);
	while (p && *p) {
		if (!strncmp(p, key, klen)) {
			p += klen;
			while (*p == ' ' || *p == '\t' || *p == ':')
				p++;
			if (*p < '0' || *p > '9')
				return false;
			uint64_t v = 0;
			while (*p >= '0' && *p <= '9')
				v = v * 10 + (uint64_t)(*p++ - '0');
			*out = v * scale;
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* One number in a file of its own ("max" and unreadable: none). */
static bool file_number(const char *path, uint64_t *out)
{
	char buf[64];
	return read_small(path, buf, sizeof(buf)) > 0 && field(buf, "", 1, out);
}

/* Room under the memory cgroup at dir (root_len bytes of it name the
 * hierarchy's mount) and at every level above it up to the mount: the least
 * of limit - usage; UINT64_MAX where no level has a limit. */
static uint64_t cgroup_room(char *dir, size_t root_len, const char *max_file,
			    const char *use_file)
{
	uint64_t room = UINT64_MAX;
	for (;;) {
		char path[PATH_MAX];
		uint64_t max, use;
		size_t n = strlen(dir);
		if (n + 1 + strlen(max_file) + 1 > sizeof(path) ||
		    n + 1 + strlen(use_file) + 1 > sizeof(path))
			break;
		memcpy(path, dir, n);
		path[n] = '/';
		strcpy(path + n + 1, max_file);
		if (file_number(path, &max)) {
			strcpy(path + n + 1, use_file);
			if (file_number(path, &use)) {
				uint64_t r = use < max ? max - use : 0;
				if (r < room)
					room = r;
			}
		}
		char *slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < root_len)
			break;
		*slash = '\0';
	}
	return room;
}

/* The memory cgroup of this process: /proc/self/cgroup's v2 line ("0::path")
 * under /sys/fs/cgroup, or its v1 "memory" line under /sys/fs/cgroup/memory. */
static uint64_t cgroups_room(void)
{
	char text[2048];
	if (read_small("/proc/self/cgroup", text, sizeof(text)) <= 0)
		return UINT64_MAX;
	uint64_t room = UINT64_MAX;
	for (char *line = text; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 && c2[1] == '/') {
			bool v2 = c2 == c1 + 1;
			bool v1 = !v2 && strstr(c1 + 1, "memory") && strstr(c1 + 1, "memory") < c2;
			char dir[PATH_MAX];
			const char *root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
			size_t rl = strlen(root), pl = strlen(c2 + 1);
			if ((v1 || v2) && rl + pl < sizeof(dir)) {
				memcpy(dir, root, rl);
				memcpy(dir + rl, c2 + 1, pl + 1);
				if (dir[rl + pl - 1] == '/')
					dir[rl + pl - 1] = '\0';
				uint64_t r = v2 ? cgroup_room(dir, rl, "memory.max", "memory.current")
						: cgroup_room(dir, rl, "memory.limit_in_bytes",
							      "memory.usage_in_bytes");
				if (r < room)
					room = r;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return room;
}

int lab__os_mem_fits(size_t bytes)
{
	char text[4096];
	uint64_t avail, total, data;
	if (read_small("/proc/meminfo", text, sizeof(text)) > 0 &&
	    field(text, "MemAvailable", 1024, &avail) && field(text, "MemTotal", 1024, &total)) {
		uint64_t reserve = total / 64 > ((uint64_t)64 << 20) ? total / 64 : (uint64_t)64 << 20;
		if (bytes > avail || avail - bytes < reserve)
			return -ENOMEM;
	}
	if (bytes > cgroups_room())
		return -ENOMEM;
	struct rlimit rl;
	if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    read_small("/proc/self/status", text, sizeof(text)) > 0 &&
	    field(text, "VmData", 1024, &data) && (data > rl.rlim_cur || bytes > rl.rlim_cur - data))
		return -ENOMEM;
	return 0;
}

int lab__os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	long r = syscall(SYS_futex, (void *)(uintptr_t)word, FUTEX_WAIT_PRIVATE,
			 expected, tsp, NULL, 0);
	return r == 0 ? 0 : -errno;
}

void lab__os_futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, (void *)(uintptr_t)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

void lab__os_yield(void)
{
	sched_yield();
}

uint64_t lab__os_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int lab__os_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

void lab__os_thread_name(char *buf, size_t len)
{
	char name[17] = "";
	if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0)
		strcpy(name, "?");
	size_t n = strnlen(name, sizeof(name) - 1);
	if (n >= len)
		n = len - 1;
	memcpy(buf, name, n);
	buf[n] = '\0';
}

const char *lab__os_strerror(int err, char *buf, size_t len)
{
	return strerror_r(err, buf, len);  /* the GNU one: it may return a static string */
}

void lab__os_write_fd(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

void lab__os_write_stderr(const char *buf, size_t len)
{
	lab__os_write_fd(STDERR_FILENO, buf, len);
}

int lab__os_dup_cloexec(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return copy >= 0 ? copy : -errno;
}

uint32_t lab__os_cpu_bound;

/* The highest CPU id of the possible mask plus one ("0-3", "0,2-5"), or 0
 * when the file cannot be read.  CPU ids can be sparse: the count of CPUs
 * (sysconf) can be below the highest id + 1. */
static uint32_t possible_cpu_ids(void)
{
	char buf[4096];
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	uint32_t ids = 0;
	for (const char *p = buf; *p;) {
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		unsigned long v = 0;
		while (*p >= '0' && *p <= '9' && v < (1ul << 24))
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (v + 1 > ids)
			ids = (uint32_t)v + 1;
	}
	return ids;
}

int lab__os_nr_cpus(void)
{
	uint32_t n = __atomic_load_n(&lab__os_cpu_bound, __ATOMIC_RELAXED);
	if (n)
		return (int)n;
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	n = possible_cpu_ids();
	if (conf > 0 && (unsigned long)conf > n)
		n = (uint32_t)conf;
	if (!n)
		n = 1;
	__atomic_store_n(&lab__os_cpu_bound, n, __ATOMIC_RELAXED);
	return (int)n;
}

size_t lab__os_phys_pages(void)
{
	long n = sysconf(_SC_PHYS_PAGES);
	return n > 0 ? (size_t)n : 0;
}

void *lab__os_map_populated(size_t size, int *err)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	return p;
}

void *lab__os_map(size_t size, bool noreserve, int *err)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0), -1, 0);
	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	return p;
}

void *lab__os_remap(void *addr, size_t old_size, size_t new_size, int *err)
{
	void *p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);
	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	return p;
}

void *lab__os_next_symbol(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* glibc 2.35+ publishes where it registered each thread's rseq area.  Weak, so
 * an older glibc leaves them NULL and we report rseq as unavailable. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

bool lab__os_rseq_registered(void)
{
	return &__rseq_size && &__rseq_offset && __rseq_size >= 20;
}

struct lab__os_rseq *lab__os_rseq_self(void)
{
	if (!lab__os_rseq_registered())
		return NULL;
	char *tp;
#if defined(__x86_64__)
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
#else
	return NULL;
#endif
	struct lab__os_rseq *rs = (struct lab__os_rseq *)(tp + __rseq_offset);
	return (int32_t)rs->cpu_id >= 0 ? rs : NULL;
}

_Thread_local struct lab__os_rseq *lab__os_rseq_cache __attribute__((tls_model("initial-exec")));
_Thread_local bool lab__os_rseq_cache_known __attribute__((tls_model("initial-exec")));

/* rseq_list.h: for a thread without rseq, its slot among the per-CPU sets
 * (0: none yet), given round-robin from the counter. */
_Thread_local unsigned int lab__os_lock_slot __attribute__((tls_model("initial-exec")));
_Atomic unsigned int lab__os_lock_slot_next;

int lab__os_membarrier_rseq_register(void)
{
	long r = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0);
	return r == 0 ? 0 : -errno;
}

int lab__os_membarrier_rseq_cpu(int cpu)
{
	long r = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
			 MEMBARRIER_CMD_FLAG_CPU, cpu);
	return r == 0 ? 0 : -errno;
}

/*
 * The kernel reads a restartable sequence's descriptor (section __rseq_cs)
 * and the signature before its abort handler (__rseq_failure) from user
 * memory when it aborts one.  Code that never aborted has never touched
 * those pages: the first abort (a preemption, a migration, a signal) would
 * take a page fault inside an atomic allocation.  Read every page of both
 * sections once, so that they are mapped before any sequence runs.  The
 * bounds are the linker's, weak: no section, nothing to do.
 */
extern const char __start___rseq_cs[] __attribute__((weak, visibility("hidden")));
extern const char __stop___rseq_cs[] __attribute__((weak, visibility("hidden")));
extern const char __start___rseq_failure[] __attribute__((weak, visibility("hidden")));
extern const char __stop___rseq_failure[] __attribute__((weak, visibility("hidden")));

static void touch_pages(const char *start, const char *stop)
{
	/* The section bounds as plain addresses: gcc -O3 otherwise reads stop - 1
	 * as an index below an array of unknown size (-Warray-bounds). */
	__asm__("" : "+r"(start), "+r"(stop));
	if (!start || !stop || stop <= start)
		return;
	uintptr_t ps = lab__os_page_size();
	for (uintptr_t p = (uintptr_t)start; p < (uintptr_t)stop; p = (p & ~(ps - 1)) + ps)
		(void)*(const volatile char *)p;
	(void)*(const volatile char *)(stop - 1);
}

void lab__os_rseq_prefault(void)
{
	touch_pages(__start___rseq_cs, __stop___rseq_cs);
	touch_pages(__start___rseq_failure, __stop___rseq_failure);
}

void *lab__os_shm_create(const char *name, size_t size, int *err)
{
	shm_unlink(name);  /* a stale file of an earlier process with our pid */
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	void *p = MAP_FAILED;
	if (ftruncate(fd, (off_t)size) == 0)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		*err = -errno;
		close(fd);
		shm_unlink(name);
		return NULL;
	}
	close(fd);
	return p;
}

const void *lab__os_shm_map_readonly(const char *name, size_t *size, int *err)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	struct stat st;
	void *p = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	else
		errno = EPROTO;
	int e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		*err = -e;
		return NULL;
	}
	*size = (size_t)st.st_size;
	return p;
}

int lab__os_shm_unlink(const char *name)
{
	return shm_unlink(name) ? -errno : 0;
}

int lab__os_shm_each(const char *prefix, void (*fn)(const char *name, void *arg), void *arg)
{
	DIR *d = opendir("/dev/shm");
	if (!d)
		return -errno;
	size_t plen = strlen(prefix);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char name[NAME_MAX + 2];
		if (strncmp(e->d_name, prefix, plen))
			continue;
		size_t n = strnlen(e->d_name, NAME_MAX);
		name[0] = '/';
		memcpy(name + 1, e->d_name, n);
		name[n + 1] = '\0';
		fn(name, arg);
	}
	closedir(d);
	return 0;
}

void lab__os_unmap(const void *addr, size_t size)
{
	munmap((void *)(uintptr_t)addr, size);
}

bool lab__os_process_alive(int pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}
/* ---- exclusive pages -------------------------------------------------- */

void lab__os_decommit(void *addr, size_t size)
{
	/* A fresh inaccessible mapping drops the pages, whatever backed them. */
	mmap(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447  /* the same on x86-64 and the generic table (arm64) */
#endif

int lab__os_map_secret(void *addr, size_t size)
{
	int fd = (int)syscall(SYS_memfd_secret, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	/* A secretmem file's size can be set once: one file per section. */
	if (ftruncate(fd, (off_t)size) != 0) {
		rc = -errno;
	} else if (mmap(addr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0)
		   == MAP_FAILED) {
		rc = -errno;
		/* A failed MAP_FIXED may already have unmapped the range: reserve it again. */
		lab__os_decommit(addr, size);
	}
	close(fd);
	return rc;
}

int lab__os_lock(void *addr, size_t size)
{
	/* The raw syscall: AddressSanitizer's mlock() interceptor does nothing
	 * and returns success, which would be a silent failure. */
	return syscall(SYS_mlock, addr, size) ? -errno : 0;
}

static int advise(void *addr, size_t size, int advice)
{
	return madvise(addr, size, advice) ? -errno : 0;
}

int lab__os_dontdump(void *addr, size_t size)
{
	return advise(addr, size, MADV_DONTDUMP);
}

int lab__os_dodump(void *addr, size_t size)
{
	return advise(addr, size, MADV_DODUMP);
}

int lab__os_dontfork(void *addr, size_t size)
{
	return advise(addr, size, MADV_DONTFORK);
}

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

int lab__os_wipeonfork(void *addr, size_t size)
{
	return advise(addr, size, MADV_WIPEONFORK);
}

#if !defined(__x86_64__)
/* Protection keys are used on x86-64 only (os/arch/x86_64/pkey.c);
 * elsewhere zones report none. */
int lab__os_pkey_alloc(void)
{
	return -ENOTSUP;
}

void lab__os_pkey_free(int key)
{
	(void)key;
}

int lab__os_pkey_protect(void *addr, size_t size, int key)
{
	(void)addr, (void)size, (void)key;
	return -ENOTSUP;
}

uint32_t lab__os_pkru_read(void)
{
	return 0;
}

void lab__os_pkru_write(uint32_t pkru)
{
	(void)pkru;
}
#endif
