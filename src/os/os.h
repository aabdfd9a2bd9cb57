/*
 * os.h - the one contract between Labyrinth and the operating system.
 *
 * Everything above this layer is plain data structures; every mmap, madvise,
 * futex, clock or process call goes through here (src/os/linux.c), as do
 * threads (thread.h), stacks (stack.h), the environment (env.h) and the
 * report writer (printk.h); architecture code is under src/os/arch/.
 * tests/layers.sh and tests/undefined.sh check that nothing else calls
 * them.  Functions return
 * 0 or a negative errno unless they say otherwise, and never print.  Every
 * name carries the library's internal prefix, lab__os_, so that the static
 * archive defines no symbol a program could already have (tests/symbols.sh).
 */
#ifndef LAB_OS_H
#define LAB_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The system page size, cached. */
size_t lab__os_page_size(void);

/* Reserve size bytes of address space aligned to align (a power of two),
 * inaccessible until committed.  Returns NULL and sets *err on failure. */
void *lab__os_reserve(size_t size, size_t align, int *err);
/* Make [addr, addr+size) readable and writable. */
int lab__os_commit(void *addr, size_t size);
/* Give [addr, addr+size) back to the OS (used at destroy). */
void lab__os_release(void *addr, size_t size);
/* Fault in [addr, addr+size) for writing now, so later use never faults.  In
 * steps of LAB_OS_PREFAULT_STEP; before each step of a large range the rest
 * must still fit (lab__os_mem_fits), else -ENOMEM with what was faulted left
 * for the caller to give back: a range larger than memory fails instead of
 * waking the OOM killer. */
int lab__os_prefault(void *addr, size_t size);
#define LAB_OS_PREFAULT_STEP ((size_t)64 << 20)
/*
 * May the process make bytes more memory resident now?  0, or -ENOMEM when
 * they would not fit: what the machine has available (MemAvailable, less a
 * reserve of 1/64 of its memory and at least 64 MiB, for the rest of the
 * system), the memory cgroup's limit less its usage at every level of the
 * process's cgroup (v2 memory.max, v1 memory.limit_in_bytes), or
 * RLIMIT_DATA less the data already mapped (VmData).  A fact that cannot be
 * read is no limit.  Reads /proc and /sys without allocating; may block.
 */
int lab__os_mem_fits(size_t bytes);

/* Futex on a 32-bit word.  Wait returns 0 when woken, -ETIMEDOUT,
 * -EAGAIN when *word != expected, -EINTR.  timeout_ns < 0 waits forever. */
int lab__os_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
/* Wake up to n waiters; never blocks. */
void lab__os_futex_wake(_Atomic uint32_t *word, int n);

/* Give up the CPU to another runnable thread. */
void lab__os_yield(void);
/* Monotonic clock in nanoseconds. */
uint64_t lab__os_now_ns(void);
/* The calling thread's kernel id. */
int lab__os_gettid(void);
/* The calling thread's name (comm) into buf. */
void lab__os_thread_name(char *buf, size_t len);
/* The message of errno err into buf (strerror_r); returns buf. */
const char *lab__os_strerror(int err, char *buf, size_t len);
/* Write all of buf to stderr with write(2): async-signal-safe. */
void lab__os_write_stderr(const char *buf, size_t len);
/* The same to descriptor fd (EINTR retried; stops at the first error). */
void lab__os_write_fd(int fd, const char *buf, size_t len);
/* A close-on-exec duplicate of fd numbered 3 or above (fcntl F_DUPFD_CLOEXEC),
 * or -errno: a copy of stderr that a program closing fd 2 leaves open. */
int lab__os_dup_cloexec(int fd);

/* Number of CPU ids the kernel may report: the highest CPU of the possible
 * mask (/sys/devices/system/cpu/possible) plus one, at least the CPUs
 * configured; the number of sets of every per-CPU array.  Found once. */
int lab__os_nr_cpus(void);
/* The same number, read by the restartable sequences (os/rseq_list.h): a
 * CPU id at or above it takes the locked path instead of indexing past the
 * sets.  0 until lab__os_nr_cpus() first runs (no per-CPU array exists
 * yet).  Only a test lowers it, before it creates the arrays it uses.
 * Hidden: the sequences address it relative to %rip, without a register. */
extern uint32_t lab__os_cpu_bound __attribute__((visibility("hidden")));
/* Pages of physical memory the machine has (0 if unknown). */
size_t lab__os_phys_pages(void);
/* Map size bytes of private memory, pre-faulted; NULL and *err on failure. */
void *lab__os_map_populated(size_t size, int *err);
/* Map size bytes of private read-write memory, faulted in when first touched
 * (zero until then).  noreserve: no commit charge (MAP_NORESERVE), for a
 * table touched sparsely.  One mmap(2): async-signal-safe, never waits for
 * a lock.  NULL and *err on failure.  Give it back with lab__os_unmap(). */
void *lab__os_map(size_t size, bool noreserve, int *err);
/* Resize the mapping [addr, addr+old_size) to new_size bytes, in place or
 * moved (mremap(2) with MREMAP_MAYMOVE; the contents come along).  The new
 * address, or NULL and *err with the old mapping untouched.  Async-signal-
 * safe. */
void *lab__os_remap(void *addr, size_t old_size, size_t new_size, int *err);

/*
 * rseq, as glibc registered it (glibc >= 2.35 exports __rseq_offset and
 * __rseq_size).  lab__os_rseq_self() is this thread's struct rseq, or NULL when
 * the thread is not registered (GLIBC_TUNABLES=glibc.pthread.rseq=0,
 * Valgrind, seccomp, old kernel): callers must then take another path.
 */
struct lab__os_rseq {
	uint32_t cpu_id_start;
	uint32_t cpu_id;       /* >= 0 when registered */
	uint64_t rseq_cs;      /* the current critical section descriptor */
	uint32_t flags;
};
#define LAB_OS_RSEQ_SIG 0x53053053  /* glibc's signature on x86 */
bool lab__os_rseq_registered(void);         /* glibc registered rseq for threads */
struct lab__os_rseq *lab__os_rseq_self(void);
/* Register for, and issue, membarrier(PRIVATE_EXPEDITED_RSEQ) on one CPU:
 * aborts any rseq critical section running there.  May block briefly. */
int lab__os_membarrier_rseq_register(void);
int lab__os_membarrier_rseq_cpu(int cpu);
/* Map the pages the kernel reads when it aborts a restartable sequence
 * (descriptors, abort signatures), so that no abort takes a page fault.
 * Per process: call where the sequences will run (zone creation) and again
 * in a fork child, whose file-backed mappings start unpopulated.  Cheap
 * (a few page reads), idempotent, async-signal-safe. */
void lab__os_rseq_prefault(void);

/* The definition of the function name that the dynamic linker finds after
 * the object calling this one (dlsym(RTLD_NEXT)): in a preloaded library,
 * the one it replaces.  NULL when there is none.  Takes the loader's lock
 * and may allocate: not for atomic paths. */
void *lab__os_next_symbol(const char *name);

/* ---- shared-memory files for the statistics export (debug/export.c) ---- */
/* Create (replacing any stale one) /dev/shm/<name> of size bytes, mode 0600,
 * mapped shared read-write.  Returns NULL and sets *err on failure. */
void *lab__os_shm_create(const char *name, size_t size, int *err);
/* Map /dev/shm/<name> read-only; *size gets its size.  NULL + *err. */
const void *lab__os_shm_map_readonly(const char *name, size_t *size, int *err);
/* Remove /dev/shm/<name>: 0 or -errno. */
int lab__os_shm_unlink(const char *name);
/* Call fn with the name (as shm_open takes it, "/<file>") of each file in
 * /dev/shm whose file name starts with prefix.  0, or -errno when the
 * directory cannot be read.  Allocates (opendir): not for atomic paths. */
int lab__os_shm_each(const char *prefix, void (*fn)(const char *name, void *arg), void *arg);
/* Unmap a mapping made by the two above. */
void lab__os_unmap(const void *addr, size_t size);
/* Does process pid exist?  (kill(pid, 0); EPERM counts as existing.) */
bool lab__os_process_alive(int pid);

/* ---- exclusive pages (src/secure/) ---------------------------------------- */

/* lab__os_reserve() with guard bytes of inaccessible address space kept on each
 * side; give it back with lab__os_release(start - guard, size + 2 * guard). */
void *lab__os_reserve_guarded(size_t size, size_t align, size_t guard, int *err);
/* Return committed [addr, addr+size) to the reserved, inaccessible state. */
void lab__os_decommit(void *addr, size_t size);
/* Back reserved [addr, addr+size) with a new memfd_secret file mapped shared:
 * out of the kernel's direct map, locked and not dumped by the kernel.  The
 * descriptor is closed (the mapping keeps the file).  -ENOSYS where the
 * kernel has no secretmem; on any failure the range stays reserved. */
int lab__os_map_secret(void *addr, size_t size);
/* mlock(2): resident now and never swapped. */
int lab__os_lock(void *addr, size_t size);
/* madvise(2) MADV_DONTDUMP, MADV_DODUMP (undoes it), MADV_DONTFORK,
 * MADV_WIPEONFORK.  A decommit (a fresh mapping) drops the first two. */
int lab__os_dontdump(void *addr, size_t size);
int lab__os_dodump(void *addr, size_t size);
int lab__os_dontfork(void *addr, size_t size);
int lab__os_wipeonfork(void *addr, size_t size);

/* Protection keys.  lab__os_pkey_alloc returns a key (the calling thread starts
 * with no access to it), -ENOTSUP where the CPU or kernel has none (and on
 * every architecture but x86-64), or -errno (-ENOSPC: all keys taken). */
int lab__os_pkey_alloc(void);
void lab__os_pkey_free(int key);
/* pkey_mprotect(2) read+write with key. */
int lab__os_pkey_protect(void *addr, size_t size, int key);
/* The calling thread's PKRU register: RDPKRU/WRPKRU, no syscall, usable in
 * signal handlers.  Only valid after lab__os_pkey_alloc() returned a key. */
uint32_t lab__os_pkru_read(void);
void lab__os_pkru_write(uint32_t pkru);

#endif /* LAB_OS_H */
