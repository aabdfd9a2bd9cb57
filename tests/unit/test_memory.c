/* test_memory.c - a zone the machine or the process cannot hold fails with
 * ENOMEM and gives the caller its process back: larger than the memory
 * available (provoked without filling it: the parent kills the child if its
 * resident memory passes 1 GiB), beyond RLIMIT_DATA or RLIMIT_AS; a growth
 * that fails half-way leaves nothing committed.  Every case runs in a child. */
#include "helpers.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static char out[16384];

/* A number from /proc/meminfo or /proc/self/status, in bytes. */
static uint64_t proc_kb(const char *file, const char *key)
{
	FILE *f = fopen(file, "r");
	cr_assert_not_null(f);
	char line[256];
	unsigned long long kb = 0;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			sscanf(line + klen + 1, "%llu", &kb);
	fclose(f);
	return (uint64_t)kb * 1024;
}

/* Run fn in a child; kill it if its resident memory passes limit bytes (the
 * bug under test would fill the machine).  Returns the wait status, and
 * *killed whether the watchdog fired. */
static int run_capped(void (*fn)(void *), void *arg, uint64_t limit, bool *killed)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	*killed = false;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	long ps = sysconf(_SC_PAGESIZE);
	int status;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		FILE *f = fopen(path, "r");
		unsigned long size = 0, resident = 0;
		if (f) {
			if (fscanf(f, "%lu %lu", &size, &resident) != 2)
				resident = 0;
			fclose(f);
		}
		if ((uint64_t)resident * (uint64_t)ps > limit && !*killed) {
			kill(pid, SIGKILL);
			*killed = true;
		}
		usleep(2000);
	}
	ssize_t n = read(fds[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	return status;
}

/* Twice the memory available now: the old code made it all writable and
 * pre-faulted it until the kernel's OOM killer ended the process. */
static void larger_than_memory_child(void *arg)
{
	size_t pages = (size_t)(*(uint64_t *)arg / (uint64_t)lab_page_size());
	errno = 0;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "huge",
		.pages = pages, .flags = LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(!z);
	CHILD_CHECK(errno == ENOMEM);
	/* The process is whole: a zone that fits still works. */
	z = lab_zone_create(&(struct lab_zone_config){ .name = "small", .pages = 256 });
	CHILD_CHECK(z);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	CHILD_CHECK(p);
	lab_free_page(p);
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_zone_destroy(z);
	_exit(0);
}

Test(memory, a_zone_larger_than_memory_fails_with_enomem, .timeout = 120)
{
	if (running_on_valgrind())
		cr_skip_test("Valgrind emulates the address space");
	uint64_t bytes = 2 * proc_kb("/proc/meminfo", "MemAvailable");
	cr_assert_gt(bytes, 0);
	bool killed;
	int status = run_capped(larger_than_memory_child, &bytes, (uint64_t)1 << 30, &killed);
	cr_assert(!killed, "the child made its zone of %llu MiB resident (killed at 1 GiB):\n%s",
		  (unsigned long long)(bytes >> 20), out);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
}

/* RLIMIT_DATA: a zone beyond it is ENOMEM, one within it works. */
static void rlimit_data_child(void *arg)
{
	(void)arg;
	uint64_t data = proc_kb("/proc/self/status", "VmData");
	struct rlimit rl = { data + (256u << 20), data + (256u << 20) };
	CHILD_CHECK(setrlimit(RLIMIT_DATA, &rl) == 0);
	errno = 0;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "data",
		.pages = (512u << 20) / lab_page_size(), .flags = LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(!z);
	CHILD_CHECK(errno == ENOMEM);
	z = lab_zone_create(&(struct lab_zone_config){ .name = "data", .pages = (64u << 20) /
		lab_page_size(), .flags = LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(z);
	CHILD_CHECK(lab_zone_check(z) == 0);
	lab_zone_destroy(z);
	_exit(0);
}

Test(memory, a_zone_beyond_rlimit_data_fails_with_enomem, .timeout = 60)
{
	bool killed;
	int status = run_capped(rlimit_data_child, NULL, (uint64_t)1 << 30, &killed);
	cr_assert(!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s",
		  status, out);
}

/* RLIMIT_AS: the reservation itself is refused. */
static void rlimit_as_child(void *arg)
{
	(void)arg;
	uint64_t vm = proc_kb("/proc/self/status", "VmSize");
	struct rlimit rl = { vm + (1u << 30), vm + (1u << 30) };
	CHILD_CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
	errno = 0;
	struct lab_zone *z = lab_zone_create(&(struct lab_zone_config){ .name = "as",
		.pages = ((size_t)2 << 30) / lab_page_size(), .flags = LAB_ZONE_NO_KSWAPD });
	CHILD_CHECK(!z);
	CHILD_CHECK(errno == ENOMEM);
	_exit(0);
}

Test(memory, a_zone_beyond_rlimit_as_fails_with_enomem, .timeout = 60)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	cr_skip_test("the sanitizer's shadow memory needs the address space RLIMIT_AS takes");
#endif
	if (running_on_valgrind())
		cr_skip_test("Valgrind emulates the address space");
	bool killed;
	int status = run_capped(rlimit_as_child, NULL, (uint64_t)1 << 30, &killed);
	cr_assert(!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s",
		  status, out);
}

/* The mapping that holds addr: its permissions ("rw-p", "---p"). */
static void perms_at(const void *addr, char perms[8])
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHILD_CHECK(f);
	char line[512];
	strcpy(perms, "none");
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char p[8];
		if (sscanf(line, "%lx-%lx %7s", &s, &e, p) == 3 && (uintptr_t)addr >= s &&
		    (uintptr_t)addr < e)
			strcpy(perms, p);
	}
	fclose(f);
}

/* From now on madvise(MADV_POPULATE_WRITE) of at most max_len bytes fails
 * with ENOMEM (a seccomp filter on the arguments): the pre-fault of a
 * growth's descriptors fails after its memory was committed. */
static int fail_small_populates(unsigned int max_len)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 7),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_POPULATE_WRITE, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max_len, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOMEM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(filter) / sizeof(filter[0]), filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) ? -errno : 0;
}

/* A growth that fails after committing its memory gives it back: the zone
 * is as it was, its next pages inaccessible, and a later growth (once the
 * cause is gone) works.  The failed growth stayed committed and pre-faulted. */
static void growth_undo_child(void *arg)
{
	(void)arg;
	struct lab_zone_config cfg = { .name = "grow", .pages = 1024, .max_pages = 8192,
				       .flags = LAB_ZONE_GROW | LAB_ZONE_NO_KSWAPD };
	struct lab_zone *z = lab_zone_create(&cfg);
	CHILD_CHECK(z);
	struct lab_page *first = lab_alloc_page(z, LAB_GFP_ATOMIC);
	char *base = lab_page_address(first);
	lab_free_page(first);
	char *next = base + 1024 * lab_page_size();
	CHILD_CHECK(fail_small_populates(256u << 10) == 0);
	struct lab_page *held[1024];
	for (int i = 0; i < 1024; i++)
		CHILD_CHECK((held[i] = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_MEMALLOC)));
	errno = 0;
	CHILD_CHECK(!lab_alloc_page(z, LAB_GFP_KERNEL | LAB_GFP_NORETRY | LAB_GFP_NOWARN));
	CHILD_CHECK(errno == ENOMEM);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	CHILD_CHECK(st.managed == 1024);
	CHILD_CHECK(st.grow == 0);
	CHILD_CHECK(st.sections == 1);
	char perms[8];
	perms_at(next, perms);
	if (strcmp(perms, "---p")) {
		fprintf(stderr, "the failed growth's memory is %s\n", perms);
		_exit(3);
	}
	CHILD_CHECK(lab_zone_check(z) == 0);
	for (int i = 0; i < 1024; i++)
		lab_free_page(held[i]);
	CHILD_CHECK(lab_zone_check(z) == 0);
	_exit(0);
}

Test(memory, a_growth_that_fails_half_way_leaves_nothing_committed, .timeout = 60)
{
	if (running_on_valgrind())
		cr_skip_test("seccomp under Valgrind");
	bool killed;
	int status = run_capped(growth_undo_child, NULL, (uint64_t)1 << 30, &killed);
	cr_assert(!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s",
		  status, out);
}
