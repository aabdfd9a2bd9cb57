/*
 * pkey.c (x86-64) - protection keys: whether the CPU and kernel have them
 * (CPUID OSPKE), pkey_alloc/free/mprotect, and the thread's PKRU register
 * (RDPKRU/WRPKRU: no syscall, usable in signal handlers).  The register's
 * layout is pkru.h's.  Other architectures get os/linux.c's fallbacks.
 */
#include "os/os.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PKEY_DISABLE_ACCESS
#define PKEY_DISABLE_ACCESS 0x1
#endif

/* CPUID.(EAX=7,ECX=0):ECX bit 4 (OSPKE): the CPU has protection keys and
 * the kernel turned them on, so RDPKRU/WRPKRU will not fault. */
static bool pkeys_enabled(void)
{
	unsigned int a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return false;
	return c & (1u << 4);
}

int lab__os_pkey_alloc(void)
{
	if (!pkeys_enabled())
		return -ENOTSUP;
	long key = syscall(SYS_pkey_alloc, 0, PKEY_DISABLE_ACCESS);
	if (key < 0)
		return errno == ENOSYS || errno == EINVAL ? -ENOTSUP : -errno;
	return (int)key;
}

void lab__os_pkey_free(int key)
{
	syscall(SYS_pkey_free, key);
}

int lab__os_pkey_protect(void *addr, size_t size, int key)
{
	return syscall(SYS_pkey_mprotect, addr, size, PROT_READ | PROT_WRITE, key) ? -errno : 0;
}

uint32_t lab__os_pkru_read(void)
{
	uint32_t eax, edx;
	__asm__ __volatile__(".byte 0x0f, 0x01, 0xee"  /* rdpkru */
			     : "=a"(eax), "=d"(edx) : "c"(0));
	(void)edx;
	return eax;
}

void lab__os_pkru_write(uint32_t pkru)
{
	/* The memory clobber keeps the compiler from moving accesses across it. */
	__asm__ __volatile__(".byte 0x0f, 0x01, 0xef"  /* wrpkru */
			     : : "a"(pkru), "c"(0), "d"(0) : "memory");
}
#endif /* __x86_64__ */
