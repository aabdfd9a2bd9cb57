/*
 * cxx.c - the C++ operators new and delete (the replaceable global ones of
 * C++17, all twenty), defined in C under their Itanium-ABI names so that the
 * library needs no C++ runtime.  They are used only by a C++ program that
 * does not define its own (the program's definitions come first in symbol
 * lookup).
 *
 * new must call the new-handler and throw std::bad_alloc when memory runs
 * out, which C cannot do: on failure we hand the request to the next
 * definition in lookup order (libstdc++'s, found once with dlsym), which
 * retries malloc (ours again), calls the handler and throws.  That happens
 * only when malloc failed, that is when the machine is out of memory (the
 * lookup takes the loader's lock: not async-signal-safe, as throwing is not).
 * The nothrow forms return NULL after the same detour.
 *
 * Exports _Znwm ... _ZdaPvmSt11align_val_t (mangled names, listed in
 * malloc.map).
 */
#include "malloc/malloc.h"
#include "os/os.h"

#include <stdlib.h>

typedef void *(*new_fn)(size_t);
typedef void *(*new_align_fn)(size_t, size_t);
typedef void *(*new_nothrow_fn)(size_t, const void *);
typedef void *(*new_align_nothrow_fn)(size_t, size_t, const void *);

/* The next definition of name, or a report and abort when there is none. */
static void *next(const char *name)
{
	void *fn = lab__os_next_symbol(name);
	if (!fn) {
		lab__malloc_say("operator new: out of memory, and no C++ runtime to throw "
				"std::bad_alloc (%s)\n", name);
		abort();
	}
	return fn;
}

#define EXPORT __attribute__((visibility("default")))

/* Prototypes (the names are the operators' mangled ones). */
EXPORT void *_Znwm(size_t n);
EXPORT void *_Znam(size_t n);
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *tag);
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *tag);
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t align);
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t align);
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *tag);
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *tag);
EXPORT void _ZdlPv(void *p);
EXPORT void _ZdaPv(void *p);
EXPORT void _ZdlPvm(void *p, size_t n);
EXPORT void _ZdaPvm(void *p, size_t n);
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *tag);
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *tag);
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align);
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align);
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t align);
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t align);
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag);
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag);

#define NEW(name)                                                       \
	void *name(size_t n)                                            \
	{                                                               \
		void *p = lab__malloc_new(n, 0);                        \
		return p ? p : ((new_fn)next(#name))(n);                \
	}
#define NEW_NOTHROW(name)                                               \
	void *name(size_t n, const void *tag)                           \
	{                                                               \
		void *p = lab__malloc_new(n, 0);                        \
		return p ? p : ((new_nothrow_fn)next(#name))(n, tag);   \
	}
#define NEW_ALIGN(name)                                                 \
	void *name(size_t n, size_t align)                              \
	{                                                               \
		void *p = lab__malloc_new(n, align);                    \
		return p ? p : ((new_align_fn)next(#name))(n, align);   \
	}
#define NEW_ALIGN_NOTHROW(name)                                         \
	void *name(size_t n, size_t align, const void *tag)             \
	{                                                               \
		void *p = lab__malloc_new(n, align);                    \
		return p ? p : ((new_align_nothrow_fn)next(#name))(n, align, tag); \
	}

NEW(_Znwm)
NEW(_Znam)
NEW_NOTHROW(_ZnwmRKSt9nothrow_t)
NEW_NOTHROW(_ZnamRKSt9nothrow_t)
NEW_ALIGN(_ZnwmSt11align_val_t)
NEW_ALIGN(_ZnamSt11align_val_t)
NEW_ALIGN_NOTHROW(_ZnwmSt11align_val_tRKSt9nothrow_t)
NEW_ALIGN_NOTHROW(_ZnamSt11align_val_tRKSt9nothrow_t)

/* Every delete is free(): the size and alignment are known from the pointer. */
void _ZdlPv(void *p) { lab__malloc_delete(p); }
void _ZdaPv(void *p) { lab__malloc_delete(p); }
void _ZdlPvm(void *p, size_t n) { (void)n; lab__malloc_delete(p); }
void _ZdaPvm(void *p, size_t n) { (void)n; lab__malloc_delete(p); }
void _ZdlPvRKSt9nothrow_t(void *p, const void *tag) { (void)tag; lab__malloc_delete(p); }
void _ZdaPvRKSt9nothrow_t(void *p, const void *tag) { (void)tag; lab__malloc_delete(p); }
void _ZdlPvSt11align_val_t(void *p, size_t align) { (void)align; lab__malloc_delete(p); }
void _ZdaPvSt11align_val_t(void *p, size_t align) { (void)align; lab__malloc_delete(p); }
void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t align)
{
	(void)n;
	(void)align;
	lab__malloc_delete(p);
}
void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t align)
{
	(void)n;
	(void)align;
	lab__malloc_delete(p);
}
void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
	(void)align;
	(void)tag;
	lab__malloc_delete(p);
}
void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
	(void)align;
	(void)tag;
	lab__malloc_delete(p);
}
