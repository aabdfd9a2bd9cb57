/*
 * compiler.h - compiler helpers every layer uses: branch hints and the
 * sanitizer facts the build depends on.  Pure C; includes nothing of the
 * project.
 */
#ifndef LAB_BASE_COMPILER_H
#define LAB_BASE_COMPILER_H

#define lab_likely(x)   __builtin_expect(!!(x), 1)
#define lab_unlikely(x) __builtin_expect(!!(x), 0)

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
