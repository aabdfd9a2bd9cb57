/*
 * compiler.h - compiler helpers every layer uses: branch hints, barriers,
 * stringification and the sanitizer facts the build depends on.  Pure C; includes nothing of the
 * project.
 */
#ifndef LAB_BASE_COMPILER_H
#define LAB_BASE_COMPILER_H

#define lab_likely(x)   __builtin_expect(!!(x), 1)
#define lab_unlikely(x) __builtin_expect(!!(x), 0)

/* A macro's value as a string literal (for assembly). */
#define LAB_STRINGIFY_(x) #x
#define LAB_STRINGIFY(x)  LAB_STRINGIFY_(x)

/* Make the compiler believe the memory at p is read: a store just before
 * (a wipe of memory about to be freed) is not dropped as dead. */
#define lab_barrier_data(p) __asm__ __volatile__("" : : "r"(p) : "memory")

/* Hide x's value from the compiler, so that it cannot use another variable
 * it knows to be equal instead (one whose load comes later). */
#define lab_opaque(x) __asm__ __volatile__("" : "+r"(x))

/* ThreadSanitizer cannot see into restartable sequences (gcc says it is on
 * with __SANITIZE_THREAD__, clang with __has_feature). */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LAB_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define LAB_TSAN 1
#endif

#endif /* LAB_BASE_COMPILER_H */
