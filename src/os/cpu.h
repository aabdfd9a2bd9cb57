/*
 * cpu.h - the processor's spin-wait hint, for busy loops that wait for
 * another CPU (PAUSE on x86, YIELD on arm64).
 */
#ifndef LAB_OS_CPU_H
#define LAB_OS_CPU_H

static inline void lab__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* LAB_OS_CPU_H */
