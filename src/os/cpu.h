/*
 * cpu.h - the processor's spin-wait hint, for busy loops that wait for
 * another CPU: os/arch/<arch>/cpu.h where there is one (PAUSE on x86-64),
 * YIELD on arm64, nothing elsewhere.
 */
#ifndef LAB_OS_CPU_H
#define LAB_OS_CPU_H

#if defined(__x86_64__)
#include "os/arch/x86_64/cpu.h"
#elif defined(__aarch64__)
static inline void lab__os_cpu_relax(void)
{
	__asm__ __volatile__("yield" ::: "memory");
}
#else
static inline void lab__os_cpu_relax(void)
{
}
#endif

#endif /* LAB_OS_CPU_H */
