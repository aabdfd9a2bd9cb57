/*
 * linux/atomic.h - atomic_t, atomic64_t and atomic_long_t operations, xchg
 * and cmpxchg, with the kernel's ordering: operations that return a value
 * are fully ordered, the others (and atomic_read/atomic_set) are relaxed.
 */
#ifndef LAB_KERNEL_LINUX_ATOMIC_H
#define LAB_KERNEL_LINUX_ATOMIC_H

#include <linux/compiler.h>
#include <linux/types.h>
#include <asm/barrier.h>

#define ATOMIC_INIT(i)		{ (i) }
#define ATOMIC64_INIT(i)	{ (i) }
#define ATOMIC_LONG_INIT(i)	{ (i) }

#define xchg(ptr, v)		__atomic_exchange_n(ptr, v, __ATOMIC_SEQ_CST)
#define cmpxchg(ptr, old, new) ({ \
	__typeof__(*(ptr)) __lab_old = (old); \
	__atomic_compare_exchange_n(ptr, &__lab_old, new, false, __ATOMIC_SEQ_CST, \
				    __ATOMIC_SEQ_CST); \
	__lab_old; })
#define try_cmpxchg(ptr, oldp, new) \
	__atomic_compare_exchange_n(ptr, oldp, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define cmpxchg_relaxed(ptr, old, new) ({ \
	__typeof__(*(ptr)) __lab_old = (old); \
	__atomic_compare_exchange_n(ptr, &__lab_old, new, false, __ATOMIC_RELAXED, \
				    __ATOMIC_RELAXED); \
	__lab_old; })

/* One family of operations per counter type (atomic, atomic64, atomic_long). */
#define __LAB_ATOMIC_OPS(pfx, atype, ctype) \
static inline ctype pfx##_read(const atype *v) \
{ return __atomic_load_n(&v->counter, __ATOMIC_RELAXED); } \
static inline ctype pfx##_read_acquire(const atype *v) \
{ return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE); } \
static inline void pfx##_set(atype *v, ctype i) \
{ __atomic_store_n(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_set_release(atype *v, ctype i) \
{ __atomic_store_n(&v->counter, i, __ATOMIC_RELEASE); } \
static inline void pfx##_add(ctype i, atype *v) \
{ __atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_sub(ctype i, atype *v) \
{ __atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_inc(atype *v) { pfx##_add(1, v); } \
static inline void pfx##_dec(atype *v) { pfx##_sub(1, v); } \
static inline void pfx##_and(ctype i, atype *v) \
{ __atomic_fetch_and(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_or(ctype i, atype *v) \
{ __atomic_fetch_or(&v->counter, i, __ATOMIC_RELAXED); } \
static inline void pfx##_xor(ctype i, atype *v) \
{ __atomic_fetch_xor(&v->counter, i, __ATOMIC_RELAXED); } \
static inline ctype pfx##_add_return(ctype i, atype *v) \
{ return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline ctype pfx##_sub_return(ctype i, atype *v) \
{ return __atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline ctype pfx##_inc_return(atype *v) { return pfx##_add_return(1, v); } \
static inline ctype pfx##_dec_return(atype *v) { return pfx##_sub_return(1, v); } \
static inline ctype pfx##_fetch_add(ctype i, atype *v) \
{ return __atomic_fetch_add(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline ctype pfx##_fetch_sub(ctype i, atype *v) \
{ return __atomic_fetch_sub(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline ctype pfx##_fetch_and(ctype i, atype *v) \
{ return __atomic_fetch_and(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline ctype pfx##_fetch_or(ctype i, atype *v) \
{ return __atomic_fetch_or(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline ctype pfx##_fetch_inc(atype *v) { return pfx##_fetch_add(1, v); } \
static inline ctype pfx##_fetch_dec(atype *v) { return pfx##_fetch_sub(1, v); } \
static inline bool pfx##_dec_and_test(atype *v) { return pfx##_dec_return(v) == 0; } \
static inline bool pfx##_inc_and_test(atype *v) { return pfx##_inc_return(v) == 0; } \
static inline bool pfx##_sub_and_test(ctype i, atype *v) { return pfx##_sub_return(i, v) == 0; } \
static inline bool pfx##_add_negative(ctype i, atype *v) { return pfx##_add_return(i, v) < 0; } \
static inline ctype pfx##_xchg(atype *v, ctype i) \
{ return __atomic_exchange_n(&v->counter, i, __ATOMIC_SEQ_CST); } \
static inline ctype pfx##_cmpxchg(atype *v, ctype old, ctype new) \
{ \
	__atomic_compare_exchange_n(&v->counter, &old, new, false, __ATOMIC_SEQ_CST, \
				    __ATOMIC_SEQ_CST); \
	return old; \
} \
static inline bool pfx##_try_cmpxchg(atype *v, ctype *old, ctype new) \
{ \
	return __atomic_compare_exchange_n(&v->counter, old, new, false, __ATOMIC_SEQ_CST, \
					   __ATOMIC_SEQ_CST); \
} \
/* Add a unless the counter is u; true when added. */ \
static inline bool pfx##_add_unless(atype *v, ctype a, ctype u) \
{ \
	ctype c = pfx##_read(v); \
	do { \
		if (c == u) \
			return false; \
	} while (!pfx##_try_cmpxchg(v, &c, c + a)); \
	return true; \
} \
static inline bool pfx##_inc_not_zero(atype *v) { return pfx##_add_unless(v, 1, 0); } \
static inline ctype pfx##_fetch_add_unless(atype *v, ctype a, ctype u) \
{ \
	ctype c = pfx##_read(v); \
	do { \
		if (c == u) \
			break; \
	} while (!pfx##_try_cmpxchg(v, &c, c + a)); \
	return c; \
}
__LAB_ATOMIC_OPS(atomic, atomic_t, int)
__LAB_ATOMIC_OPS(atomic64, atomic64_t, s64)
__LAB_ATOMIC_OPS(atomic_long, atomic_long_t, long)
#undef __LAB_ATOMIC_OPS

#endif /* LAB_KERNEL_LINUX_ATOMIC_H */
