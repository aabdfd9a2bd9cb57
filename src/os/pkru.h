/*
 * pkru.h - the protection-key rights register's layout, for the write
 * window and grants (secure/pkey.c): os/arch/<arch>/pkru.h; no bits where
 * protection keys are not used (lab__os_pkey_alloc() then never succeeds).
 */
#ifndef LAB_OS_PKRU_H
#define LAB_OS_PKRU_H

#include <stdint.h>

#if defined(__x86_64__)
#include "os/arch/x86_64/pkru.h"
#else
static inline uint32_t lab__os_pkru_deny_bits(int key)
{
	(void)key;
	return 0;
}
#endif

#endif /* LAB_OS_PKRU_H */
