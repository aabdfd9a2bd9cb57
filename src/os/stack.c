/*
 * stack.c - stack capture and printing for every report.
 *
 * Capture is glibc's backtrace() (libgcc's DWARF unwinder), pre-warmed once
 * when a zone is created: the first call dlopens libgcc_s and allocates,
 * later ones neither allocate nor lock on glibc >= 2.35 with libgcc >= 12
 * (frames are found through _dl_find_object), so a capture is safe in atomic
 * context.  It was chosen over a frame-pointer walk because the caller's
 * code, which we do not build, usually has no frame pointers: a walk would
 * stop or wander there, the unwinder reads .eh_frame and does not.  It costs
 * ~1-2 us per capture, acceptable for a debugging option.
 *
 * The might_sleep report prints the unwinder's own view instead
 * (backtrace_symbols_fd), loaded at start-up when that check is on.
 */
#include "base/fmt.h"
#include "os/printk.h"
#include "os/stack.h"
#include "os/thread.h"

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<execinfo.h>)
#include <execinfo.h>
#define HAVE_BACKTRACE 1
#endif
#endif

#ifndef HAVE_BACKTRACE
/* A C library without backtrace(): captures are empty. */
static int backtrace(void **frames, int max)
{
	(void)frames, (void)max;
	return 0;
}
#endif

static lab__os_once_t warm_once = LAB_OS_ONCE_INIT;
static _Atomic bool unwinder_ready;

static void warm_unwinder(void)
{
	void *frames[4];
	backtrace(frames, 4);
	atomic_store_explicit(&unwinder_ready, true, memory_order_release);
}

/* Called where sleeping and allocating are fine (zone creation). */
void lab__os_stack_warm(void)
{
	lab__os_once(&warm_once, warm_unwinder);
}

/* Up to max frames of the caller's stack, without its skip innermost ones. */
__attribute__((noinline)) unsigned int lab__os_stack_capture(void **frames, unsigned int max,
							  unsigned int skip)
{
	void *buf[LAB_STACK_DEPTH + 8];
	if (max > LAB_STACK_DEPTH)
		max = LAB_STACK_DEPTH;
	if (skip > 7)
		skip = 7;
	/* Before any zone exists the first backtrace() would allocate: don't. */
	if (!atomic_load_explicit(&unwinder_ready, memory_order_acquire))
		return 0;
	int n = backtrace(buf, (int)(max + skip + 1));
	unsigned int first = skip + 1;  /* and this function's own frame */
	unsigned int got = n > (int)first ? (unsigned int)n - first : 0;
	if (got > max)
		got = max;
	memcpy(frames, buf + first, got * sizeof(void *));
	return got;
}

/*
 * " symbol+0xoff (object)" when pc is inside a symbol the dynamic linker
 * knows, else " object+0xoff" (for addr2line -e object): hidden and static
 * functions are not in the dynamic symbol table, and the nearest symbol
 * below them would be a wrong name.
 */
void lab__os_stack_format(void *pc, char *buf, size_t len)
{
	Dl_info info;
	void *extra = NULL;  /* the ElfW(Sym) of the symbol found */
	if (!dladdr1(pc, &info, &extra, RTLD_DL_SYMENT) || !info.dli_fname) {
		lab__snprintf(buf, len, " %p\n", pc);
		return;
	}
	const char *obj = strrchr(info.dli_fname, '/');
	obj = obj ? obj + 1 : info.dli_fname;
	if (!*obj)
		obj = "(main program)";
	const ElfW(Sym) *sym = extra;
	uintptr_t a = (uintptr_t)pc;
	if (info.dli_sname && info.dli_saddr && sym &&
	    a < (uintptr_t)info.dli_saddr + sym->st_size)
		lab__snprintf(buf, len, " %s+%#lx (%s)\n", info.dli_sname,
			 (unsigned long)(a - (uintptr_t)info.dli_saddr), obj);
	else
		lab__snprintf(buf, len, " %s+%#lx\n", obj,
			 (unsigned long)(a - (uintptr_t)info.dli_fbase));
}

void lab__os_stack_print(void *const *frames, unsigned int nr)
{
	char line[256];
	for (unsigned int i = 0; i < nr; i++) {
		lab__os_stack_format(frames[i], line, sizeof(line));
		lab__printk("%s", line);
	}
}

/* dump_stack(): the caller's stack on stderr. */
void lab__os_dump_stack(void)
{
	void *frames[LAB_STACK_DEPTH];
	unsigned int n = lab__os_stack_capture(frames, LAB_STACK_DEPTH, 1);
	if (!n)
		return;
	lab__printk("Call Trace:\n");
	lab__os_stack_print(frames, n);
}

/* ---- the unwinder's own view (the might_sleep report) ----------------- */

void lab__os_unwinder_load(void)
{
#ifdef HAVE_BACKTRACE
	void *warm[2];
	(void)backtrace(warm, 2);
#endif
}

void lab__os_print_symbol(void *ip)
{
#ifdef HAVE_BACKTRACE
	backtrace_symbols_fd(&ip, 1, 2);
#else
	lab__printk(" [<%p>]\n", ip);
#endif
}

void lab__os_print_backtrace(void)
{
#ifdef HAVE_BACKTRACE
	void *frames[32];
	int n = backtrace(frames, 32);
	backtrace_symbols_fd(frames, n, 2);
#else
	lab__printk(" (no backtrace support in this C library)\n");
#endif
}
