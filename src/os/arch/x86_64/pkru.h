/*
 * pkru.h (x86-64) - the layout of the PKRU register: two bits per key,
 * access-disable (bit 2k) and write-disable (bit 2k+1).
 */
#ifndef LAB_OS_ARCH_X86_64_PKRU_H
#define LAB_OS_ARCH_X86_64_PKRU_H

#include <stdint.h>

/* The bits of PKRU that deny the calling thread any access to key. */
static inline uint32_t lab__os_pkru_deny_bits(int key)
{
	return 3u << (2 * key);  /* access-disable and write-disable */
}

#endif /* LAB_OS_ARCH_X86_64_PKRU_H */
