/*
 * cpu.h (x86-64) - the spin-wait hint: PAUSE.
 */
#ifndef LAB_OS_ARCH_X86_64_CPU_H
#define LAB_OS_ARCH_X86_64_CPU_H

static inline void lab__os_cpu_relax(void)
{
	__builtin_ia32_pause();
}

#endif /* LAB_OS_ARCH_X86_64_CPU_H */
