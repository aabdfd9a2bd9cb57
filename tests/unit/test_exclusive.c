/* test_exclusive.c - exclusive pages, checked through the operating system
 * rather than through the library's word: /proc/self/smaps and maps,
 * forked children, /proc/self/mem and process_vm_readv, protection-key
 * faults in threads and signal handlers, seccomp for "no syscall",
 * getrusage for "no page fault", fallbacks forced with a lowered
 * RLIMIT_MEMLOCK and exhausted keys, owner checks with their reports. */
#include "helpers.h"
#include "page/zone.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif

/* ---- helpers ------------------------------------------------------------ */

static struct lab_zone *zone_with(size_t pages, unsigned int flags)
{
	struct lab_zone_config cfg = { .name = "excl", .pages = pages,
				       .flags = flags | LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z, "lab_zone_create(%#x): %s", flags, strerror(errno));
	return z;
}

static char *zone_base(const struct lab_zone *z)
{
	return lab_page_address(lab_pfn_to_page(z, 0));
}

static size_t zone_bytes(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st.managed * lab_page_size();
}

static struct lab_zone_stats stats_of(const struct lab_zone *z)
{
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	return st;
}

static bool machine_has_pkeys(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "flags", 5) && strstr(line, " ospke");
	if (f)
		fclose(f);
	return found;
}

static bool machine_has_memfd_secret(void)
{
	int fd = (int)syscall(SYS_memfd_secret, 0);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Without memfd_secret: a counted skip;
 * secret_zone_without_memfd_secret_falls_back_and_says_so tests the fallback
 * (on every machine). */
#define SKIP_WITHOUT_MEMFD_SECRET()                                                      \
	do {                                                                             \
		if (!machine_has_memfd_secret())                                         \
			cr_skip_test("no memfd_secret (ENOSYS, or secretmem.enable=0); "  \
				     "exclusive/secret_zone_without_memfd_secret_falls_back_" \
				     "and_says_so tests the fallback");                   \
	} while (0)

/* One mapping of /proc/self/smaps. */
struct vma {
	uintptr_t start, end;
	char perms[8];
	char name[128];
	char flags[160];
};

/* The mappings overlapping [lo, hi), in address order. */
static size_t read_vmas(uintptr_t lo, uintptr_t hi, struct vma *out, size_t max)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	cr_assert_not_null(f);
	char line[512];
	size_t n = 0;
	struct vma *cur = NULL;
	while (fgets(line, sizeof(line), f)) {
		struct vma v = { 0 };
		unsigned long s, e;
		int got = sscanf(line, "%lx-%lx %7s %*s %*s %*s %127s", &s, &e, v.perms, v.name);
		if (got >= 3) {
			cur = NULL;
			if (s < hi && e > lo && n < max) {
				v.start = s;
				v.end = e;
				out[n] = v;
				cur = &out[n++];
			}
		} else if (cur && !strncmp(line, "VmFlags:", 8)) {
			snprintf(cur->flags, sizeof(cur->flags), "%.150s", line + 8);
		}
	}
	fclose(f);
	return n;
}

static bool has_vmflag(const struct vma *v, const char *flag)
{
	char copy[160], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", v->flags);
	for (char *t = strtok_r(copy, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (!strcmp(t, flag))
			return true;
	return false;
}

/* Assert that the mappings covering the zone's memory all have (or all lack)
 * a VmFlags entry, and that they cover it whole. */
static void assert_zone_vmflag(const struct lab_zone *z, const char *flag, bool want)
{
	struct vma v[16];
	uintptr_t lo = (uintptr_t)zone_base(z), hi = lo + zone_bytes(z);
	size_t n = read_vmas(lo, hi, v, 16);
	cr_assert_gt(n, 0);
	cr_assert_leq(v[0].start, lo, "zone start not mapped");
	cr_assert_geq(v[n - 1].end, hi, "zone end not mapped");
	for (size_t i = 0; i < n; i++) {
		if (i)
			cr_assert_eq(v[i].start, v[i - 1].end, "hole in the zone's mappings");
		cr_assert_eq(has_vmflag(&v[i], flag), want, "mapping %#lx-%#lx VmFlags [%s]: '%s' %s",
			     (unsigned long)v[i].start, (unsigned long)v[i].end, v[i].flags, flag,
			     want ? "missing" : "present");
	}
}

/* The mapping holding addr. */
static struct vma vma_at(const void *addr)
{
	struct vma v;
	cr_assert_eq(read_vmas((uintptr_t)addr, (uintptr_t)addr + 1, &v, 1), 1,
		     "%p is not mapped", addr);
	return v;
}

static void assert_killed_by_segv(int status)
{
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		  "expected death by SIGSEGV, got status %#x", status);
}

static void assert_exit_zero(int status, const char *out)
{
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x; its stderr:\n%s", status, out ? out : "");
}

/* Inside a child: report a failed check on stderr and exit non-zero. */
#define CHILD_CHECK_MSG(cond, ...)                                               \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "CHECK FAILED line %d: %s: ", __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
			_exit(3);                                                \
		}                                                                \
	} while (0)

static bool all_bytes(const void *p, size_t len, unsigned char c)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* ---- configuration and smaps -------------------------------------------- */

Test(exclusive, contradictory_flags_are_einval)
{
	unsigned int bad[] = { LAB_ZONE_WIPEONFORK | LAB_ZONE_DONTFORK,
			       LAB_ZONE_WIPEONFORK | LAB_ZONE_SECRET, 0x400000u };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lab_zone_config cfg = { .pages = 64, .flags = bad[i] | LAB_ZONE_NO_KSWAPD };
		errno = 0;
		cr_assert_null(lab_zone_create(&cfg), "flags %#x accepted", bad[i]);
		cr_assert_eq(errno, EINVAL);
	}
}

Test(exclusive, plain_zone_has_no_protection_vmflags)
{
	struct lab_zone *z = zone_with(256, 0);
	assert_zone_vmflag(z, "lo", false);
	assert_zone_vmflag(z, "dd", false);
	assert_zone_vmflag(z, "wf", false);
	assert_zone_vmflag(z, "dc", false);
	struct lab_zone_stats st = stats_of(z);
	cr_assert_eq(st.prot_wanted, 0);
	cr_assert_eq(st.prot_in_force, 0);
	cr_assert_eq(st.pkey, -1);
	lab_zone_destroy(z);
}

Test(exclusive, locked_nodump_wipeonfork_show_in_smaps)
{
	unsigned int f = LAB_ZONE_LOCKED | LAB_ZONE_NODUMP | LAB_ZONE_WIPEONFORK;
	struct lab_zone *z = zone_with(256, f);
	assert_zone_vmflag(z, "lo", true);
	assert_zone_vmflag(z, "dd", true);
	assert_zone_vmflag(z, "wf", true);
	assert_zone_vmflag(z, "dc", false);
	struct lab_zone_stats st = stats_of(z);
	cr_assert_eq(st.prot_in_force, f);
	cr_assert_eq(st.prot_fallback, 0);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

Test(exclusive, dontfork_shows_in_smaps)
{
	struct lab_zone *z = zone_with(256, LAB_ZONE_DONTFORK);
	assert_zone_vmflag(z, "dc", true);
	assert_zone_vmflag(z, "wf", false);
	lab_zone_destroy(z);
}

Test(exclusive, secret_zone_is_secretmem_locked_not_dumped_not_inherited)
{
	struct lab_zone *z = zone_with(256, LAB_ZONE_SECRET);
	struct lab_zone_stats st = stats_of(z);
	cr_assert_eq(st.prot_wanted, LAB_ZONE_SECRET | LAB_ZONE_LOCKED | LAB_ZONE_NODUMP |
				      LAB_ZONE_DONTFORK);
	if (machine_has_memfd_secret()) {
		cr_assert_eq(st.prot_in_force, st.prot_wanted, "in force %#x", st.prot_in_force);
		cr_assert_eq(st.prot_fallback, 0);
		/* What the kernel shows for a memfd_secret mapping: shared, locked,
		 * not dumped, and our DONTFORK. */
		struct vma v = vma_at(zone_base(z));
		cr_assert_str_eq(v.name, "/secretmem", "mapping name '%s'", v.name);
		cr_assert_eq(v.perms[3], 's', "perms %s", v.perms);
	} else {
		cr_assert(st.prot_fallback & LAB_ZONE_SECRET);
		cr_assert_neq(st.prot_errno[__builtin_ctz(LAB_ZONE_SECRET)], 0);
	}
	assert_zone_vmflag(z, "lo", true);
	assert_zone_vmflag(z, "dd", true);
	assert_zone_vmflag(z, "dc", true);
	lab_zone_destroy(z);
}

Test(exclusive, each_grown_section_has_its_own_secret_mapping_and_no_fd_is_kept)
{
	SKIP_WITHOUT_MEMFD_SECRET();
	int fd_before = dup(0);
	close(fd_before);
	/* 4 MiB at most: within the default 8 MiB RLIMIT_MEMLOCK of a non-root user. */
	struct lab_zone_config cfg = { .name = "grow", .pages = 256, .max_pages = 1024,
				       .flags = LAB_ZONE_SECRET | LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	struct held h;
	held_init(&h, 300);
	for (int i = 0; i < 300; i++) {
		struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
		cr_assert_not_null(p, "page %d", i);
		held_push(&h, p);
	}
	struct lab_zone_stats st = stats_of(z);
	cr_assert_geq(st.sections, 2);
	cr_assert_eq(st.prot_in_force & LAB_ZONE_SECRET, LAB_ZONE_SECRET);
	struct vma v[8];
	size_t n = read_vmas((uintptr_t)zone_base(z), (uintptr_t)zone_base(z) + zone_bytes(z), v, 8);
	cr_assert_eq(n, st.sections, "%zu mappings for %zu sections", n, st.sections);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(v[i].name, "/secretmem");
	/* The secretmem descriptors were closed after mmap: the lowest free fd
	 * is where it was. */
	int fd_after = dup(0);
	close(fd_after);
	cr_assert_eq(fd_after, fd_before);
	assert_zone_ok(z);
	held_free_all(&h);
	free(h.pages);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- children ------------------------------------------------------------ */

struct child_read {
	const unsigned char *addr;
	size_t len;
};

/* Exit 0 if the child sees zeroes, 1 if it sees the parent's data. */
static int child_reads(void *arg)
{
	struct child_read *r = arg;
	return all_bytes(r->addr, r->len, 0) ? 0 : 1;
}

static void *dirty_exclusive_page(struct lab_zone *z, struct lab_page **out)
{
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	cr_assert_not_null(p);
	lab_zone_grant(z);
	memset(lab_page_address(p), 0x5a, lab_page_size());
	*out = p;
	return lab_page_address(p);
}

Test(exclusive, wipeonfork_child_sees_zeroes_parent_keeps_data)
{
	struct lab_zone *z = zone_with(256, LAB_ZONE_WIPEONFORK);
	struct lab_page *p;
	struct child_read r = { dirty_exclusive_page(z, &p), lab_page_size() };
	int status = in_child(child_reads, &r);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw the data (%#x)", status);
	cr_assert(all_bytes(r.addr, r.len, 0x5a), "parent lost its data");
	lab_free_page(p);
	lab_zone_destroy(z);
}

Test(exclusive, plain_zone_child_sees_the_data)
{
	/* The control for the fork tests: without a protection the child reads it. */
	struct lab_zone *z = zone_with(256, 0);
	struct lab_page *p;
	struct child_read r = { dirty_exclusive_page(z, &p), lab_page_size() };
	int status = in_child(child_reads, &r);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x", status);
	lab_free_page(p);
	lab_zone_destroy(z);
}

Test(exclusive, dontfork_child_faults)
{
	struct lab_zone *z = zone_with(256, LAB_ZONE_DONTFORK);
	struct lab_page *p;
	struct child_read r = { dirty_exclusive_page(z, &p), lab_page_size() };
	assert_killed_by_segv(in_child(child_reads, &r));
	lab_free_page(p);
	lab_zone_destroy(z);
}

Test(exclusive, secret_child_faults)
{
	struct lab_zone *z = zone_with(256, LAB_ZONE_SECRET);
	struct lab_page *p;
	struct child_read r = { dirty_exclusive_page(z, &p), lab_page_size() };
	assert_killed_by_segv(in_child(child_reads, &r));
	lab_free_page(p);
	lab_zone_destroy(z);
}

/* ---- other processes and the kernel ------------------------------------- */

/* Read len bytes at addr through /proc/self/mem and process_vm_readv. */
static void read_via_kernel(const void *addr, size_t len, ssize_t *mem_rc, int *mem_err,
			    ssize_t *vm_rc, int *vm_err, char *buf)
{
	int fd = open("/proc/self/mem", O_RDONLY);
	cr_assert_geq(fd, 0);
	errno = 0;
	*mem_rc = pread(fd, buf, len, (off_t)(uintptr_t)addr);
	*mem_err = errno;
	close(fd);
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	errno = 0;
	*vm_rc = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	*vm_err = errno;
}

Test(exclusive, secret_page_unreadable_through_proc_mem_and_process_vm_readv)
{
	SKIP_WITHOUT_MEMFD_SECRET();
	char buf[64];
	ssize_t mem_rc, vm_rc;
	int mem_err, vm_err;

	/* Control: a plain zone's page reads fine both ways. */
	struct lab_zone *plain = zone_with(64, 0);
	struct lab_page *pp;
	char *pa = dirty_exclusive_page(plain, &pp);
	read_via_kernel(pa, sizeof(buf), &mem_rc, &mem_err, &vm_rc, &vm_err, buf);
	cr_assert_eq(mem_rc, (ssize_t)sizeof(buf), "/proc/self/mem: %s", strerror(mem_err));
	cr_assert_eq(vm_rc, (ssize_t)sizeof(buf), "process_vm_readv: %s", strerror(vm_err));
	cr_assert(all_bytes(buf, sizeof(buf), 0x5a));

	struct lab_zone *z = zone_with(64, LAB_ZONE_SECRET);
	struct lab_page *p;
	char *a = dirty_exclusive_page(z, &p);
	memset(buf, 0, sizeof(buf));
	read_via_kernel(a, sizeof(buf), &mem_rc, &mem_err, &vm_rc, &vm_err, buf);
	cr_assert_lt(mem_rc, 0, "/proc/self/mem read a secret page");
	cr_assert_lt(vm_rc, 0, "process_vm_readv read a secret page");
	cr_assert(all_bytes(buf, sizeof(buf), 0), "secret bytes leaked into the buffer");
	lab_free_page(p);
	lab_free_page(pp);
	lab_zone_destroy(z);
	lab_zone_destroy(plain);
}

/* ---- protection keys ---------------------------------------------------- */

struct pk_thread {
	struct lab_zone *z;
	const volatile char *addr;
	pthread_barrier_t go;
	bool grant;
	char seen;
};

static void *pk_reader(void *arg)
{
	struct pk_thread *t = arg;
	pthread_barrier_wait(&t->go);  /* until the main thread has written */
	if (t->grant)
		lab_zone_grant(t->z);
	t->seen = t->addr[0];
	if (t->grant)
		lab_zone_revoke(t->z);
	return NULL;
}

/* The reader thread is created before the main thread's grant, so it starts
 * with the zone's key disabled (threads inherit their creator's PKRU). */
static void pk_run(struct pk_thread *t, bool grant)
{
	pthread_t th;
	t->z = zone_with(64, LAB_ZONE_PKEY | LAB_ZONE_STRICT);
	t->grant = grant;
	pthread_barrier_init(&t->go, NULL, 2);
	cr_assert_eq(pthread_create(&th, NULL, pk_reader, t), 0);
	struct lab_page *p = lab_alloc_page(t->z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	cr_assert_not_null(p);
	lab_zone_grant(t->z);
	char *a = lab_page_address(p);
	a[0] = 'k';
	t->addr = a;
	pthread_barrier_wait(&t->go);
	pthread_join(th, NULL);
}

/* In a child: a thread without a grant reads a page of a keyed zone.  Exit
 * 0 means it read the page; the fault (SIGSEGV) kills the child. */
static int child_reader_without_grant(void *arg)
{
	(void)arg;
	struct pk_thread t = { .grant = false };
	struct lab_zone_config cfg = { .name = "pkey", .pages = 64 };
	cfg.flags = LAB_ZONE_PKEY | LAB_ZONE_STRICT | LAB_ZONE_NO_KSWAPD;
	t.z = lab_zone_create(&cfg);
	CHILD_CHECK_MSG(t.z, "create: %s", strerror(errno));
	pthread_t th;
	pthread_barrier_init(&t.go, NULL, 2);
	CHILD_CHECK_MSG(pthread_create(&th, NULL, pk_reader, &t) == 0, "pthread_create");
	struct lab_page *p = lab_alloc_page(t.z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	CHILD_CHECK_MSG(p, "alloc");
	lab_zone_grant(t.z);
	char *a = lab_page_address(p);
	a[0] = 'k';  /* granted: the main thread may */
	t.addr = a;
	pthread_barrier_wait(&t.go);
	pthread_join(th, NULL);
	return 0;
}

/* Without keys: a counted skip; pkey_zone_without_keys_falls_back_and_says_so
 * tests what such a machine gets instead. */
#define SKIP_WITHOUT_PKEYS()                                                              \
	do {                                                                              \
		if (!machine_has_pkeys())                                                 \
			cr_skip_test("no protection keys (no ospke in /proc/cpuinfo); "   \
				     "exclusive/pkey_zone_without_keys_falls_back_and_says_so " \
				     "tests the fallback");                                \
	} while (0)

Test(exclusive, pkey_thread_without_grant_faults)
{
	SKIP_WITHOUT_PKEYS();
	/* In a child, so that a skip or a failure is never mistaken for the
	 * expected death (Criterion's .signal counts a skip as a failure). */
	assert_killed_by_segv(in_child(child_reader_without_grant, NULL));
}

Test(exclusive, pkey_granted_thread_reads)
{
	SKIP_WITHOUT_PKEYS();
	struct pk_thread t;
	pk_run(&t, true);
	cr_assert_eq(t.seen, 'k');
	cr_assert_eq(t.addr[0], 'k', "the main thread holds a grant");
	struct lab_zone_stats st = stats_of(t.z);
	cr_assert(st.prot_in_force & LAB_ZONE_PKEY);
	cr_assert_gt(st.pkey, 0);
	lab_free_page(lab_virt_to_page((const void *)(uintptr_t)t.addr));
	lab_zone_destroy(t.z);
}

static struct lab_zone *pk_zone;
static volatile char *pk_addr;
static int pk_key;

static void pkerr_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (si->si_code != SEGV_PKUERR)
		_exit(43);
	if (si->si_addr != (const void *)(uintptr_t)pk_addr)
		_exit(44);
	_exit((int)si->si_pkey == pk_key ? 42 : 45);
}

static int child_pkey_fault(void *arg)
{
	(void)arg;
	struct sigaction sa = { .sa_sigaction = pkerr_handler, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	lab_zone_revoke(pk_zone);
	return pk_addr[0];  /* faults */
}

Test(exclusive, pkey_fault_is_segv_pkuerr)
{
	SKIP_WITHOUT_PKEYS();
	pk_zone = zone_with(64, LAB_ZONE_PKEY | LAB_ZONE_STRICT);
	struct lab_page *p = lab_alloc_page(pk_zone, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	cr_assert_not_null(p);
	pk_addr = lab_page_address(p);
	pk_key = stats_of(pk_zone).pkey;
	int status = in_child(child_pkey_fault, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42,
		  "no SEGV_PKUERR fault at the page (status %#x)", status);
	lab_free_page(p);
	lab_zone_destroy(pk_zone);
}

static struct lab_page *sig_freed, *sig_got;

static void alloc_in_handler(int sig)
{
	(void)sig;
	/* A handler starts with the kernel's initial PKRU: the key disabled. */
	lab_free_page(sig_freed);  /* scrubs */
	sig_got = lab_alloc_page(pk_zone, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);  /* zeroes */
}

Test(exclusive, library_writes_work_without_grant_and_in_signal_handlers)
{
	SKIP_WITHOUT_PKEYS();
	pk_zone = zone_with(64, LAB_ZONE_PKEY | LAB_ZONE_STRICT);
	/* No grant: allocation zeroes, free scrubs, neither faults. */
	struct lab_page *p = lab_alloc_page(pk_zone, LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
	cr_assert_not_null(p);
	lab_free_page(p);

	sig_freed = lab_alloc_page(pk_zone, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	lab_zone_grant(pk_zone);
	memset(lab_page_address(sig_freed), 0x77, lab_page_size());
	lab_zone_revoke(pk_zone);
	signal(SIGUSR1, alloc_in_handler);
	raise(SIGUSR1);
	cr_assert_not_null(sig_got);
	cr_assert_eq(sig_got, sig_freed, "LIFO reuse expected");
	lab_zone_grant(pk_zone);
	cr_assert(all_bytes(lab_page_address(sig_got), lab_page_size(), 0));
	cr_assert_eq(lab_page_owner(sig_got), lab_owner_self(), "the handler ran in this thread");
	lab_free_page(sig_got);
	assert_zone_ok(pk_zone);
	lab_zone_destroy(pk_zone);
}

static void *touch_without_grant(void *arg)
{
	volatile char *a = arg;
	a[0] = 1;
	return NULL;
}

/* In a child whose zones can get no key: STRICT fails with want_errno, the
 * fallback reports itself, grants do nothing and any thread may touch. */
static void pkey_fallback_checks(int want_errno)
{
	struct lab_zone_config cfg = { .name = "nokey", .pages = 64 };
	cfg.flags = LAB_ZONE_PKEY | LAB_ZONE_STRICT | LAB_ZONE_NO_KSWAPD;
	errno = 0;
	CHILD_CHECK_MSG(!lab_zone_create(&cfg) && errno == want_errno, "STRICT: errno %d, want %d",
		    errno, want_errno);
	cfg.flags &= ~LAB_ZONE_STRICT;
	struct lab_zone *z = lab_zone_create(&cfg);
	CHILD_CHECK_MSG(z, "create: %s", strerror(errno));
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.pkey == -1 && !(st.prot_in_force & LAB_ZONE_PKEY) &&
		    (st.prot_fallback & LAB_ZONE_PKEY) &&
		    st.prot_errno[__builtin_ctz(LAB_ZONE_PKEY)] == want_errno,
		    "pkey %d in force %#x fallback %#x errno %d", st.pkey, st.prot_in_force,
		    st.prot_fallback, st.prot_errno[__builtin_ctz(LAB_ZONE_PKEY)]);
	CHILD_CHECK_MSG(lab_zone_grant(z) == 0 && lab_zone_revoke(z) == 0, "grant");
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	CHILD_CHECK_MSG(p, "alloc");
	/* What the fallback means: a thread without a grant touches the page. */
	pthread_t th;
	pthread_create(&th, NULL, touch_without_grant, lab_page_address(p));
	pthread_join(th, NULL);
	lab_zone_describe(z, stderr);
	lab_free_page(p);
	CHILD_CHECK_MSG(lab_zone_check(z) == 0, "check");
	lab_zone_destroy(z);
}

/* No keys, on any machine: where the CPU has them, a seccomp filter makes
 * pkey_alloc fail with EINVAL, as the kernel does without hardware support;
 * where it has none, the library finds out from CPUID first. */
static void child_without_keys(void *arg)
{
	(void)arg;
	if (machine_has_pkeys())
		CHILD_CHECK_MSG(fail_syscall(SYS_pkey_alloc, EINVAL) == 0, "seccomp: %s",
			    strerror(errno));
	errno = 0;
	CHILD_CHECK_MSG(syscall(SYS_pkey_alloc, 0, 0) < 0 && errno == EINVAL,
		    "raw pkey_alloc: errno %d", errno);
	fprintf(stderr, "keys taken away by seccomp: %s\n", machine_has_pkeys() ? "yes" : "no");
	pkey_fallback_checks(ENOTSUP);
}

Test(exclusive, pkey_zone_without_keys_falls_back_and_says_so)
{
	char out[8192];
	int status = run_in_child(child_without_keys, NULL, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "LAB_ZONE_PKEY not in force: pkey_alloc: Operation not supported"),
		  "%s", out);
	cr_assert(strstr(out, "PKEY        MISSING    lab_zone_grant() does nothing"), "%s", out);
}

/* Every key taken (the hardware has 16, the kernel keeps some): ENOSPC. */
static void child_pkeys_exhausted(void *arg)
{
	(void)arg;
	while (syscall(SYS_pkey_alloc, 0, 0) >= 0)
		;
	CHILD_CHECK_MSG(errno == ENOSPC, "pkey_alloc: %s", strerror(errno));
	pkey_fallback_checks(ENOSPC);
}

Test(exclusive, pkey_zone_falls_back_when_the_keys_run_out)
{
	SKIP_WITHOUT_PKEYS();
	char out[8192];
	int status = run_in_child(child_pkeys_exhausted, NULL, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "LAB_ZONE_PKEY not in force: pkey_alloc: No space left on device"),
		  "%s", out);
	cr_assert(strstr(out, "PKEY        MISSING"), "%s", out);
}

/* ---- scrub and zero ----------------------------------------------------- */

Test(exclusive, freed_exclusive_block_is_zero_when_handed_out_again)
{
	struct lab_zone *z = zone_with(1024, 0);
	for (unsigned int order = 0; order <= 3; order++) {
		size_t len = lab_page_size() << order;
		/* Control: a plain block keeps its bytes across free and reuse. */
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, order);
		memset(lab_page_address(p), 0xa5, len);
		lab_free_pages(p, order);
		struct lab_page *q = lab_alloc_pages(z, LAB_GFP_ATOMIC, order);
		cr_assert_eq(q, p, "order %u: LIFO reuse expected", order);
		cr_assert(all_bytes(lab_page_address(q), len, 0xa5));
		lab_free_pages(q, order);

		p = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE, order);
		cr_assert_eq(p, q);
		memset(lab_page_address(p), 0xa5, len);
		lab_free_pages(p, order);
		q = lab_alloc_pages(z, LAB_GFP_ATOMIC, order);  /* no ZERO */
		cr_assert_eq(q, p, "order %u: LIFO reuse expected", order);
		cr_assert(all_bytes(lab_page_address(q), len, 0), "order %u: not scrubbed", order);
		lab_free_pages(q, order);
		assert_zone_ok(z);
	}
	lab_zone_destroy(z);
}

/* A SECRET zone wipes every block on its way back, plain or exclusive, by
 * every path (the kernel's init_on_free): it hands out zeroes without a
 * second wipe.  Dirty blocks go back by a free of each order, a put of the
 * last reference, a mempool's reserve and an owner's exclusive free; then
 * every page of the zone, taken without ZERO, must read zero.  Without the
 * scrub on free the plain blocks come back dirty. */
Test(exclusive, a_secret_zone_wipes_every_block_on_every_way_back)
{
	struct lab_zone *z = zone_with(256, LAB_ZONE_SECRET);
	/* Under ASan or Valgrind free pages are marked for the tool, and such a
	 * zone wipes on hand-out instead (exclusive_block_is_zeroed_and_owned
	 * tests that). */
	if (z->debug & ZONE_DEBUG_SANITIZE) {
		lab_zone_destroy(z);
		cr_skip_test("free pages are marked for ASan or Valgrind: the zone wipes on "
			     "hand-out instead");
	}
	cr_assert(z->zero_on_free, "a SECRET zone without poisoning wipes on free");
	size_t ps = lab_page_size();
	for (unsigned int order = 0; order <= 5; order++) {  /* per-CPU lists and buddy */
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, order);
		cr_assert_not_null(p);
		memset(lab_page_address(p), 0x5a, ps << order);
		lab_free_pages(p, order);
	}
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	memset(lab_page_address(p), 0x5b, 2 * ps);
	lab_get_page(p);
	lab_put_page(p);
	lab_put_page(p);  /* the last reference frees it */
	p = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE, 0);
	memset(lab_page_address(p), 0x5c, ps);
	lab_free_pages(p, 0);
	/* A mempool's reserve: with the zone exhausted, its blocks come from the
	 * reserve and go back into it. */
	struct lab_mempool *pool = lab_mempool_create(z, 2, 0);
	cr_assert_not_null(pool);
	struct lab_page *held[256], *m[2];
	size_t nheld = 0;
	while (nheld < 256 && (held[nheld] = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_HIGH |
							      LAB_GFP_NOWARN, 0)))
		nheld++;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2; i++) {
			m[i] = lab_mempool_alloc(pool, LAB_GFP_ATOMIC | LAB_GFP_NOWARN);
			cr_assert_not_null(m[i], "round %d: the reserve", round);
			cr_assert(all_bytes(lab_page_address(m[i]), ps, 0),
				  "round %d: a pooled block kept its bytes", round);
			memset(lab_page_address(m[i]), 0x5d, ps);
		}
		for (int i = 0; i < 2; i++)
			lab_mempool_free(m[i], pool);  /* back into the reserve */
	}
	for (size_t i = 0; i < nheld; i++)
		lab_free_pages(held[i], 0);
	lab_mempool_destroy(pool);
	lab_drain_all_pages(z);

	struct lab_page *all[256];
	size_t n = 0;
	while (n < 256 && (all[n] = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_HIGH | LAB_GFP_NOWARN, 0)))
		n++;
	cr_assert_geq(n, 200, "only %zu pages", n);
	for (size_t i = 0; i < n; i++)
		cr_assert(all_bytes(lab_page_address(all[i]), ps, 0), "page %zu of %zu is dirty", i, n);
	for (size_t i = 0; i < n; i++)
		lab_free_pages(all[i], 0);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* Exclusive allocations are counted per CPU by a restartable sequence where
 * rseq runs (else in atomic stripes): none lost to a signal handler that
 * allocates between the sequence's load and store, nor to the aborts. */
static struct {
	struct lab_zone *z;
	_Atomic unsigned long made;
} counting;

static void count_one_pair(void)
{
	struct lab_page *p = lab_alloc_pages(counting.z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE |
						     LAB_GFP_NOWARN, 0);
	if (!p)
		return;
	atomic_fetch_add(&counting.made, 1);
	lab_free_pages(p, 0);
}

static void count_handler(int sig)
{
	(void)sig;
	count_one_pair();
}

static void *count_worker(void *arg)
{
	(void)arg;
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	for (int i = 0; i < 30000; i++)
		count_one_pair();
	return NULL;
}

Test(exclusive, exclusive_allocations_are_counted_exactly_under_signals)
{
	counting.z = zone_with(1024, LAB_ZONE_SECRET);
	uint64_t before = stats_of(counting.z).exclusive_alloc;
	signal_burst(count_handler, count_worker, 200);
	unsigned long made = atomic_load(&counting.made);
	cr_assert_geq(made, 60000);
	cr_assert_eq(stats_of(counting.z).exclusive_alloc - before, made,
		     "%lu exclusive allocations made, %lu counted", made,
		     (unsigned long)(stats_of(counting.z).exclusive_alloc - before));
	assert_zone_ok(counting.z);
	lab_zone_destroy(counting.z);
}

Test(exclusive, exclusive_block_is_zeroed_and_owned)
{
	struct lab_zone *z = zone_with(256, 0);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC, 2);
	memset(lab_page_address(p), 0xee, 4 * lab_page_size());
	cr_assert_eq(lab_page_owner(p), LAB_OWNER_NONE, "not exclusive");
	lab_free_pages(p, 2);
	struct lab_page *q = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE, 2);
	cr_assert_eq(q, p);
	cr_assert(all_bytes(lab_page_address(q), 4 * lab_page_size(), 0));
	cr_assert_eq(lab_page_owner(q), lab_owner_self());
	cr_assert_neq(lab_owner_self(), LAB_OWNER_NONE);
	cr_assert_eq(stats_of(z).exclusive_alloc, 1);
	lab_free_pages(q, 2);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- guard pages -------------------------------------------------------- */

static struct lab_zone *guarded_grown_zone(void)
{
	struct lab_zone_config cfg = { .name = "guard", .pages = 1024, .max_pages = 8192,
				       .flags = LAB_ZONE_GUARD | LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	cr_assert_not_null(z);
	/* Fill the first section and one page more: the zone grows once. */
	for (int i = 0; i < 1025; i++)
		cr_assert_not_null(lab_alloc_page(z, LAB_GFP_KERNEL));
	cr_assert_eq(stats_of(z).sections, 2);
	return z;
}

Test(exclusive, guard_pages_are_inaccessible_mappings)
{
	struct lab_zone *z = guarded_grown_zone();
	size_t ps = lab_page_size();
	char *base = zone_base(z);
	struct lab_zone_stats st = stats_of(z);
	cr_assert_eq(st.guard_pfns, 1);
	cr_assert(st.prot_in_force & LAB_ZONE_GUARD);
	cr_assert_str_eq(vma_at(base - 1).perms, "---p");
	cr_assert_str_eq(vma_at(base + 1024 * ps).perms, "---p", "guard pfn between sections");
	cr_assert_str_eq(vma_at(base + 1025 * ps).perms, "rw-p");
	cr_assert_str_eq(vma_at(base + st.managed * ps).perms, "---p");
	cr_assert_str_eq(vma_at(base + 8192 * ps).perms, "---p", "above the largest zone");
	/* The guard pfn is allocated for good: the zone is consistent and it
	 * fully tiles; the grown section still had an aligned max-order block. */
	assert_zone_ok(z);
	cr_assert_gt(st.nr_free[LAB_MAX_ORDER], 0);
	cr_assert_eq(st.free + st.allocated, st.managed);
	lab_zone_destroy(z);  /* reports the 1025 pages this test keeps */
}

Test(exclusive, guard_below_the_zone_faults, .signal = SIGSEGV)
{
	signal(SIGSEGV, SIG_DFL);
	struct lab_zone *z = zone_with(64, LAB_ZONE_GUARD);
	volatile char *below = zone_base(z) - 1;
	(void)*below;
}

Test(exclusive, guard_above_the_zone_faults, .signal = SIGSEGV)
{
	signal(SIGSEGV, SIG_DFL);
	struct lab_zone *z = zone_with(64, LAB_ZONE_GUARD);
	volatile char *above = zone_base(z) + zone_bytes(z);
	(void)*above;
}

Test(exclusive, guard_between_sections_faults, .signal = SIGSEGV)
{
	signal(SIGSEGV, SIG_DFL);
	struct lab_zone *z = guarded_grown_zone();
	volatile char *between = zone_base(z) + 1024 * lab_page_size();
	(void)*between;
}

static void free_guard_pfn(void *arg)
{
	struct lab_zone *z = arg;
	lab_free_page(lab_pfn_to_page(z, 1024));
	fprintf(stderr, "check=%d\n", lab_zone_check(z));
}

Test(exclusive, freeing_a_guard_pfn_is_a_bad_page)
{
	struct lab_zone *z = guarded_grown_zone();
	char out[4096];
	int status = run_in_child(free_guard_pfn, z, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "BUG: Bad page state in process"), "%s", out);
	cr_assert(strstr(out, "free of a guard page"), "%s", out);
	cr_assert(strstr(out, "check=0"), "%s", out);
}

/* ---- fallbacks forced --------------------------------------------------- */

/* Drop CAP_IPC_LOCK (we may be root) and lower RLIMIT_MEMLOCK, so that
 * memfd_secret's mmap and mlock fail as they do for an ordinary user. */
static void lower_memlock(rlim_t bytes)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	CHILD_CHECK_MSG(syscall(SYS_capget, &hdr, data) == 0, "capget: %s", strerror(errno));
	data[0].effective &= ~(1u << CAP_IPC_LOCK);
	data[0].permitted &= ~(1u << CAP_IPC_LOCK);
	data[0].inheritable &= ~(1u << CAP_IPC_LOCK);
	CHILD_CHECK_MSG(syscall(SYS_capset, &hdr, data) == 0, "capset: %s", strerror(errno));
	struct rlimit rl = { bytes, bytes };
	CHILD_CHECK_MSG(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit: %s", strerror(errno));
}

static int bit(unsigned int flag)
{
	return __builtin_ctz(flag);
}

static void secret_fallback_child(void *arg)
{
	(void)arg;
	lower_memlock(64 * 1024);
	struct lab_zone_config cfg = { .name = "fallback", .pages = 256,
				       .flags = LAB_ZONE_SECRET | LAB_ZONE_STRICT | LAB_ZONE_NO_KSWAPD };
	errno = 0;
	CHILD_CHECK_MSG(!lab_zone_create(&cfg), "STRICT secret zone created beyond the memlock limit");
	int strict_errno = errno;
	CHILD_CHECK_MSG(strict_errno == EAGAIN || strict_errno == ENOSYS || strict_errno == EPERM ||
		    strict_errno == ENOMEM, "errno %d", strict_errno);

	cfg.flags &= ~LAB_ZONE_STRICT;
	struct lab_zone *z = lab_zone_create(&cfg);
	CHILD_CHECK_MSG(z, "fallback zone: %s", strerror(errno));
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.prot_fallback & LAB_ZONE_SECRET, "fallback %#x", st.prot_fallback);
	CHILD_CHECK_MSG(st.prot_errno[bit(LAB_ZONE_SECRET)] == strict_errno, "errno %d vs %d",
		    st.prot_errno[bit(LAB_ZONE_SECRET)], strict_errno);
	/* mlock of the anonymous substitute fails under the same limit. */
	CHILD_CHECK_MSG((st.prot_fallback & LAB_ZONE_LOCKED) &&
		    st.prot_errno[bit(LAB_ZONE_LOCKED)] == ENOMEM, "fallback %#x", st.prot_fallback);
	CHILD_CHECK_MSG(st.prot_in_force == (LAB_ZONE_NODUMP | LAB_ZONE_DONTFORK),
		    "in force %#x", st.prot_in_force);
	/* What the kernel says about the substitute: anonymous, private, not
	 * dumped, not inherited, not locked. */
	struct vma v;
	CHILD_CHECK_MSG(read_vmas((uintptr_t)zone_base(z), (uintptr_t)zone_base(z) + 1, &v, 1) == 1,
		    "unmapped");
	CHILD_CHECK_MSG(!strstr(v.name, "secretmem") && v.perms[3] == 'p', "%s %s", v.name, v.perms);
	CHILD_CHECK_MSG(has_vmflag(&v, "dd") && has_vmflag(&v, "dc") && !has_vmflag(&v, "lo"),
		    "VmFlags %s", v.flags);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	CHILD_CHECK_MSG(p, "alloc");
	lab_free_page(p);
	lab_zone_describe(z, stderr);
	lab_zone_destroy(z);

	/* LOCKED on its own: the same story for mlock. */
	cfg.flags = LAB_ZONE_LOCKED | LAB_ZONE_STRICT | LAB_ZONE_NO_KSWAPD;
	errno = 0;
	CHILD_CHECK_MSG(!lab_zone_create(&cfg) && errno == ENOMEM, "STRICT LOCKED: errno %d", errno);
	cfg.flags &= ~LAB_ZONE_STRICT;
	z = lab_zone_create(&cfg);
	CHILD_CHECK_MSG(z, "LOCKED fallback zone");
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.prot_fallback == LAB_ZONE_LOCKED && st.prot_in_force == 0,
		    "fallback %#x in force %#x", st.prot_fallback, st.prot_in_force);
	lab_zone_destroy(z);
}

Test(exclusive, secret_and_mlock_fallbacks_report_themselves_and_strict_fails)
{
	char out[8192];
	int status = run_in_child(secret_fallback_child, NULL, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "zone fallback: LAB_ZONE_SECRET not in force: memfd_secret:"),
		  "%s", out);
	cr_assert(strstr(out, "falling back to locked, not dumped, not inherited"), "%s", out);
	cr_assert(strstr(out, "LAB_ZONE_LOCKED not in force: mlock: Cannot allocate memory"),
		  "%s", out);
	cr_assert(strstr(out, "SECRET      FELL BACK"), "%s", out);
	cr_assert(strstr(out, "LOCKED      MISSING"), "%s", out);
	cr_assert(strstr(out, "NODUMP      in force"), "%s", out);
	cr_assert(strstr(out, "DONTFORK    in force"), "%s", out);
}

/* memfd_secret taken away by seccomp (ENOSYS, what a kernel without
 * CONFIG_SECRETMEM says): the fallback on any machine. */
static void child_without_memfd_secret(void *arg)
{
	(void)arg;
	CHILD_CHECK_MSG(fail_syscall(SYS_memfd_secret, ENOSYS) == 0, "seccomp: %s", strerror(errno));
	CHILD_CHECK_MSG(syscall(SYS_memfd_secret, 0) < 0 && errno == ENOSYS,
		    "memfd_secret still there");
	struct lab_zone_config cfg = { .name = "nosecret", .pages = 256 };
	cfg.flags = LAB_ZONE_SECRET | LAB_ZONE_STRICT | LAB_ZONE_NO_KSWAPD;
	errno = 0;
	CHILD_CHECK_MSG(!lab_zone_create(&cfg) && errno == ENOSYS, "STRICT: errno %d", errno);
	cfg.flags &= ~LAB_ZONE_STRICT;
	struct lab_zone *z = lab_zone_create(&cfg);
	CHILD_CHECK_MSG(z, "fallback zone: %s", strerror(errno));
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.prot_fallback == LAB_ZONE_SECRET &&
		    st.prot_errno[bit(LAB_ZONE_SECRET)] == ENOSYS, "fallback %#x errno %d",
		    st.prot_fallback, st.prot_errno[bit(LAB_ZONE_SECRET)]);
	CHILD_CHECK_MSG(st.prot_in_force == (LAB_ZONE_LOCKED | LAB_ZONE_NODUMP | LAB_ZONE_DONTFORK),
		    "in force %#x", st.prot_in_force);
	/* The substitute as the kernel shows it: anonymous, private, locked, not
	 * dumped, not inherited. */
	struct vma v;
	CHILD_CHECK_MSG(read_vmas((uintptr_t)zone_base(z), (uintptr_t)zone_base(z) + 1, &v, 1) == 1,
		    "unmapped");
	CHILD_CHECK_MSG(!strstr(v.name, "secretmem") && v.perms[3] == 'p', "%s %s", v.name, v.perms);
	CHILD_CHECK_MSG(has_vmflag(&v, "lo") && has_vmflag(&v, "dd") && has_vmflag(&v, "dc"),
		    "VmFlags %s", v.flags);
	/* What it does not give: the kernel reads it through /proc/self/mem. */
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	CHILD_CHECK_MSG(p, "alloc");
	memset(lab_page_address(p), 0x5a, 64);
	char buf[64];
	ssize_t mem_rc, vm_rc;
	int mem_err, vm_err;
	read_via_kernel(lab_page_address(p), sizeof(buf), &mem_rc, &mem_err, &vm_rc, &vm_err, buf);
	CHILD_CHECK_MSG(mem_rc == (ssize_t)sizeof(buf) && all_bytes(buf, sizeof(buf), 0x5a),
		    "/proc/self/mem: %zd", mem_rc);
	lab_free_page(p);
	lab_zone_describe(z, stderr);
	CHILD_CHECK_MSG(lab_zone_check(z) == 0, "check");
	lab_zone_destroy(z);
}

Test(exclusive, secret_zone_without_memfd_secret_falls_back_and_says_so)
{
	char out[8192];
	int status = run_in_child(child_without_memfd_secret, NULL, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "LAB_ZONE_SECRET not in force: memfd_secret: Function not "
			      "implemented; falling back to locked, not dumped, not inherited"),
		  "%s", out);
	cr_assert(strstr(out, "SECRET      FELL BACK  anonymous memory instead"), "%s", out);
	cr_assert(strstr(out, "LOCKED      in force   implied by SECRET"), "%s", out);
	cr_assert(strstr(out, "DONTFORK    in force"), "%s", out);
}

/* ---- owners ------------------------------------------------------------- */

struct other_thread {
	struct lab_page *page;
	lab_owner_t token;   /* set before acting, if not NONE */
	lab_owner_t self;    /* what the thread is */
	int transfer_rc;
	lab_owner_t transfer_to;
	bool do_free;
	bool do_put;
};

static void *other_thread_main(void *arg)
{
	struct other_thread *t = arg;
	if (t->token)
		lab_set_owner_token(t->token);
	t->self = lab_owner_self();
	if (t->transfer_to)
		t->transfer_rc = lab_page_transfer(t->page, t->transfer_to);
	if (t->do_free)
		lab_free_page(t->page);
	if (t->do_put)
		lab_put_page(t->page);
	return NULL;
}

static void in_other_thread(struct other_thread *t)
{
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, other_thread_main, t), 0);
	pthread_join(th, NULL);
}

static void non_owner_free_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = zone_with(64, 0);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	lab_owner_t me = lab_owner_self();
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	size_t allocated = st.allocated;
	struct other_thread t = { .page = p, .do_free = true };
	in_other_thread(&t);
	CHILD_CHECK_MSG(t.self != me, "threads share an owner id");
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.allocated == allocated && st.owner_refused == 1 && st.leaked == 0,
		    "allocated %zu refused %llu", st.allocated, (unsigned long long)st.owner_refused);
	CHILD_CHECK_MSG(lab_page_owner(p) == me, "owner changed");
	lab_free_page(p);  /* the owner's free works: the page was kept */
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.allocated == allocated - 1 && st.bad_page == 1, "owner free failed");
	CHILD_CHECK_MSG(lab_zone_check(z) == 0, "check");
}

Test(exclusive, non_owner_free_is_refused_with_a_report_and_page_kept)
{
	char out[4096];
	int status = run_in_child(non_owner_free_child, NULL, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "BUG: Bad page state in process"), "%s", out);
	cr_assert(strstr(out, "free of an exclusive page by a non-owner"), "%s", out);
	cr_assert(strstr(out, "flags: 0x28(allocated|exclusive)"), "%s", out);
}

/* A put is a free of a reference: the owner check is the free's.  (A
 * non-owner's lab_put_page() freed and scrubbed the owner's block.) */
static void non_owner_put_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = zone_with(64, 0);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE, 1);
	memset(lab_page_address(p), 0x5e, 2 * lab_page_size());
	struct other_thread t = { .page = p, .do_put = true };
	in_other_thread(&t);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.allocated == 2 && st.owner_refused == 1 && st.leaked == 0,
			"allocated %zu refused %llu", st.allocated, (unsigned long long)st.owner_refused);
	CHILD_CHECK_MSG(lab_page_count(p) == 1, "count %d", lab_page_count(p));
	CHILD_CHECK_MSG(all_bytes(lab_page_address(p), 2 * lab_page_size(), 0x5e), "scrubbed");
	lab_get_page(p);
	lab_put_page(p);           /* the owner's puts work */
	lab_put_page(p);
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.allocated == 0 && st.owner_refused == 1, "allocated %zu", st.allocated);
	CHILD_CHECK_MSG(lab_zone_check(z) == 0, "check");
}

Test(exclusive, non_owner_put_is_refused_like_a_free)
{
	char out[4096];
	int status = run_in_child(non_owner_put_child, NULL, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "put of an exclusive page by a non-owner"), "%s", out);
}

Test(exclusive, owner_token_lets_a_cooperating_thread_free)
{
	struct lab_zone *z = zone_with(64, 0);
	lab_owner_t token = lab_owner_new(), other = lab_owner_new();
	cr_assert_neq(token, LAB_OWNER_NONE);
	cr_assert_neq(token, other);
	cr_assert_neq(token, lab_owner_self());
	cr_assert_eq(lab_set_owner_token(token), LAB_OWNER_NONE);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	cr_assert_eq(lab_page_owner(p), token);
	cr_assert_eq(lab_set_owner_token(LAB_OWNER_NONE), token);
	struct other_thread t = { .page = p, .token = token, .do_free = true };
	in_other_thread(&t);
	struct lab_zone_stats st = stats_of(z);
	cr_assert_eq(st.owner_refused, 0);
	cr_assert_eq(st.allocated, 0, "the token holder's free did not go through");
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

static void transfer_child(void *arg)
{
	(void)arg;
	struct lab_zone *z = zone_with(64, 0);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	struct lab_page *plain = lab_alloc_page(z, LAB_GFP_ATOMIC);
	lab_owner_t me = lab_owner_self(), stranger = lab_owner_new();
	CHILD_CHECK_MSG(lab_page_transfer(plain, stranger) == -EINVAL, "non-exclusive page");
	CHILD_CHECK_MSG(lab_page_transfer(p, LAB_OWNER_NONE) == -EINVAL, "owner none");
	/* To a token: the allocating thread loses the page. */
	CHILD_CHECK_MSG(lab_page_transfer(p, stranger) == 0, "transfer");
	CHILD_CHECK_MSG(lab_page_owner(p) == stranger, "owner %u", lab_page_owner(p));
	lab_free_page(p);  /* refused: reported */
	CHILD_CHECK_MSG(lab_page_transfer(p, me) == -EPERM, "a non-owner took it back");
	CHILD_CHECK_MSG(lab_page_owner(p) == stranger, "owner changed by a refused transfer");
	/* The token holder hands it to this thread, which frees it. */
	lab_set_owner_token(stranger);
	CHILD_CHECK_MSG(lab_page_transfer(p, me) == 0, "transfer back");
	lab_set_owner_token(LAB_OWNER_NONE);
	lab_free_page(p);
	lab_free_page(plain);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK_MSG(st.allocated == 0 && st.owner_refused == 2, "allocated %zu refused %llu",
		    st.allocated, (unsigned long long)st.owner_refused);
	CHILD_CHECK_MSG(lab_zone_check(z) == 0, "check");
}

Test(exclusive, transfer_hands_ownership_on_and_only_the_owner_may)
{
	char out[8192];
	int status = run_in_child(transfer_child, NULL, out, sizeof(out));
	assert_exit_zero(status, out);
	cr_assert(strstr(out, "free of an exclusive page by a non-owner"), "%s", out);
	cr_assert(strstr(out, "transfer of an exclusive page by a non-owner"), "%s", out);
}

struct receiver {
	pthread_barrier_t known, given;
	lab_owner_t self;
	struct lab_page *page;
};

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	r->self = lab_owner_self();
	pthread_barrier_wait(&r->known);
	pthread_barrier_wait(&r->given);
	lab_free_page(r->page);
	return NULL;
}

Test(exclusive, transfer_to_another_thread)
{
	struct lab_zone *z = zone_with(64, 0);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	struct receiver r = { .page = p };
	pthread_t th;
	pthread_barrier_init(&r.known, NULL, 2);
	pthread_barrier_init(&r.given, NULL, 2);
	cr_assert_eq(pthread_create(&th, NULL, receiver_main, &r), 0);
	pthread_barrier_wait(&r.known);  /* the receiver has told its id */
	cr_assert_eq(lab_page_transfer(p, r.self), 0);
	cr_assert_eq(lab_page_owner(p), r.self);
	pthread_barrier_wait(&r.given);
	pthread_join(th, NULL);
	cr_assert_eq(stats_of(z).allocated, 0, "the receiver's free did not go through");
	cr_assert_eq(stats_of(z).owner_refused, 0);
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* ---- the atomic path stays atomic --------------------------------------- */

static struct lab_zone *strict_zone;

static void no_syscall_child(void *arg)
{
	/* Created here: a SECRET zone is not inherited by a child. */
	struct lab_zone_config cfg = { .name = "seccomp", .pages = 256,
				       .flags = *(unsigned int *)arg | LAB_ZONE_NO_KSWAPD };
	strict_zone = lab_zone_create(&cfg);
	if (!strict_zone)
		syscall(SYS_exit, 4);
	/* From here only read, write, _exit and sigreturn are allowed; any other
	 * syscall kills the process with SIGKILL. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
		syscall(SYS_exit, 2);
	for (int i = 0; i < 1000; i++) {
		struct lab_page *p = lab_alloc_pages(strict_zone, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE,
						     (unsigned int)i % 3);
		if (!p)
			syscall(SYS_exit, 3);
		lab_zone_grant(strict_zone);
		*(volatile char *)lab_page_address(p) = 1;
		lab_zone_revoke(strict_zone);
		lab_free_pages(p, (unsigned int)i % 3);
	}
	syscall(SYS_exit, 0);
}

Test(exclusive, atomic_exclusive_pair_makes_no_syscall)
{
	/* PKEY in force where the machine has keys; elsewhere its fallback
	 * (grant and revoke do nothing), which must not make a syscall either. */
	unsigned int f = LAB_ZONE_SECRET | LAB_ZONE_GUARD | LAB_ZONE_LOCKED | LAB_ZONE_PKEY;
	char out[1024];
	int status = run_in_child(no_syscall_child, &f, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x (SIGKILL = a syscall was made); stderr: %s", status, out);
}

static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* No Criterion assertion inside the loop: the runner's own bookkeeping
 * could fault. */
static bool exclusive_pairs(struct lab_zone *z, int n)
{
	for (int i = 0; i < n; i++) {
		struct lab_page *p = lab_alloc_pages(z, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE,
						     (unsigned int)i % 4);
		if (!p)
			return false;
		lab_zone_grant(z);
		memset(lab_page_address(p), 0x11, lab_page_size());
		lab_zone_revoke(z);
		lab_free_pages(p, (unsigned int)i % 4);
	}
	return true;
}

Test(exclusive, atomic_exclusive_pair_makes_no_page_fault)
{
	unsigned int f = LAB_ZONE_SECRET | LAB_ZONE_GUARD | LAB_ZONE_PKEY;  /* as above */
	struct lab_zone *z = zone_with(256, f);
	cr_assert(exclusive_pairs(z, 100));  /* warm up the code and our own stack */
	warm_stack(64 << 10);  /* and deeper paths' frames (refill, reports) */
	long before = minor_faults();
	bool ok = exclusive_pairs(z, 10000);
	long after = minor_faults();
	cr_assert(ok);
	cr_assert_eq(after, before, "%ld page faults in 10000 exclusive pairs", after - before);
	lab_zone_destroy(z);
}

/* ---- reporting ---------------------------------------------------------- */

Test(exclusive, describe_names_every_protection_and_its_state)
{
	unsigned int f = LAB_ZONE_SECRET | LAB_ZONE_GUARD;
	struct lab_zone *z = zone_with(64, f);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	lab_zone_describe(z, mem);
	fclose(mem);
	struct lab_zone_stats st = stats_of(z);
	const char *names[] = { "SECRET", "LOCKED", "NODUMP", "DONTFORK", "WIPEONFORK",
				"GUARD", "PKEY" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert(strstr(buf, names[i]), "%s missing in:\n%s", names[i], buf);
	if (st.prot_in_force & LAB_ZONE_SECRET)
		cr_assert(strstr(buf, "SECRET      in force   memfd_secret"), "%s", buf);
	cr_assert(strstr(buf, "LOCKED      in force   implied by SECRET"), "%s", buf);
	cr_assert(strstr(buf, "GUARD       in force"), "%s", buf);
	cr_assert(strstr(buf, "WIPEONFORK  -          not requested"), "%s", buf);
	cr_assert(strstr(buf, "PKEY        -          not requested"), "%s", buf);
	free(buf);
	lab_zone_destroy(z);
}
