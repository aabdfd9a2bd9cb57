/*
 * linux/compiler.h - the kernel's compiler helpers and attributes for code
 * built over Labyrinth (labyrinth-kernel): likely/unlikely, barrier,
 * READ_ONCE/WRITE_ONCE, the __attribute__ shorthands and the sparse
 * annotations (which expand to nothing, as without sparse).
 *
 * Part of the labyrinth-kernel headers: kernel source that allocates compiles
 * against them unchanged.  They include only <labyrinth.h>, the C library and
 * the kernel's userspace (uapi) headers, and they are never included by
 * <labyrinth.h>.  Guards are LAB_KERNEL_*: some of these names exist in
 * /usr/include/linux as uapi headers, which are reached with #include_next.
 */
#ifndef LAB_KERNEL_LINUX_COMPILER_H
#define LAB_KERNEL_LINUX_COMPILER_H

#include <stdbool.h>
#include <stddef.h>

/* compiler_types.h and compiler_attributes.h: every name is here. */
#ifndef __always_inline
#define __always_inline		inline __attribute__((__always_inline__))
#endif
#define noinline		__attribute__((__noinline__))
#define __noinline		noinline
#define __cold			__attribute__((__cold__))
#define __hot			__attribute__((__hot__))
#define __pure			__attribute__((__pure__))
#define __weak			__attribute__((__weak__))
#define __used			__attribute__((__used__))
#define __maybe_unused		__attribute__((__unused__))
#define __always_unused		__attribute__((__unused__))
#define __packed		__attribute__((__packed__))
#define __aligned(x)		__attribute__((__aligned__(x)))
#define __aligned_largest	__attribute__((__aligned__))
#define __section(s)		__attribute__((__section__(s)))
#define __printf(a, b)		__attribute__((__format__(printf, a, b)))
#define __scanf(a, b)		__attribute__((__format__(scanf, a, b)))
#define __must_check		__attribute__((__warn_unused_result__))
#define __malloc		__attribute__((__malloc__))
#define __noreturn		__attribute__((__noreturn__))
#define __alias(s)		__attribute__((__alias__(#s)))
#define __mode(x)		__attribute__((__mode__(x)))
#define __visible		__attribute__((__externally_visible__))
#define __flatten		__attribute__((__flatten__))
#define __nonstring
#define __assume_aligned(a, ...) __attribute__((__assume_aligned__(a, ##__VA_ARGS__)))
#define __alloc_size(...)	__attribute__((__alloc_size__(__VA_ARGS__)))
#define __realloc_size(...)	__attribute__((__alloc_size__(__VA_ARGS__)))
#define __copy(symbol)
#define __no_sanitize_address
#define __no_kcsan
#define __no_stack_protector
#define __nocfi
#define notrace
#define __randomize_layout
#define __no_randomize_layout
#define randomized_struct_fields_start
#define randomized_struct_fields_end
#define __counted_by(member)
#define __diag_push()
#define __diag_pop()
#define __diag_ignore(compiler, version, option, comment)
#define __diag_ignore_all(option, comment)
#define inline_for_stack	noinline
#define __cleanup(func)		__attribute__((__cleanup__(func)))
#define __nostackprotector
#define __compiletime_error(msg)
#define __compiletime_warning(msg)
#define __latent_entropy
#define __ro_after_init
#define __read_mostly
#define __init_or_module
#define __noclone

#if defined(__clang__)
#define fallthrough		__attribute__((__fallthrough__))
#elif defined(__GNUC__) && __GNUC__ >= 7
#define fallthrough		__attribute__((__fallthrough__))
#else
#define fallthrough		do {} while (0)
#endif

/* sparse annotations: nothing without sparse, as in a kernel build. */
#define __user
#define __kernel
#define __iomem
#define __percpu
#define __rcu
#define __force
#define __nocast
#define __safe
#define __private
#define __acquires(x)
#define __releases(x)
#define __acquire(x)		(void)0
#define __release(x)		(void)0
#define __cond_acquires(x)
#define __must_hold(x)
#define ACCESS_PRIVATE(p, member) ((p)->member)

#ifndef likely
#define likely(x)		__builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x)		__builtin_expect(!!(x), 0)
#endif
#define likely_notrace(x)	likely(x)
#define unlikely_notrace(x)	unlikely(x)

#define barrier()		__asm__ __volatile__("" : : : "memory")
#define barrier_data(ptr)	__asm__ __volatile__("" : : "r"(ptr) : "memory")
#define OPTIMIZER_HIDE_VAR(var)	__asm__ ("" : "=r" (var) : "0" (var))
#define unreachable()		__builtin_unreachable()

#define __same_type(a, b)	__builtin_types_compatible_p(__typeof__(a), __typeof__(b))
#define __is_constexpr(x) \
	(sizeof(int) == sizeof(*(8 ? ((void *)((long)(x) * 0l)) : (int *)8)))
#define __UNIQUE_ID(prefix)	__PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)
#define ___PASTE(a, b)		a##b
#define __PASTE(a, b)		___PASTE(a, b)

/* The kernel is built with -std=gnu11, where typeof is a keyword; these
 * headers spell it __typeof__ so that they also compile with -std=c11. */
#define __unqual_scalar_typeof(x) __typeof__((x) + 0 ? (x) : (x))

/* One access of the right size, never torn, merged or repeated by the
 * compiler (the kernel's __READ_ONCE / __WRITE_ONCE for scalars). */
#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val)	do { *(volatile __typeof__(x) *)&(x) = (val); } while (0)
#define data_race(expr)		(expr)

/* Compile-time assertions (linux/build_bug.h has the rest). */
#define compiletime_assert(cond, msg)	do { _Static_assert(cond, msg); } while (0)

#define is_signed_type(type)	(((type)(-1)) < (type)1)
#define is_unsigned_type(type)	(!is_signed_type(type))

#endif /* LAB_KERNEL_LINUX_COMPILER_H */
