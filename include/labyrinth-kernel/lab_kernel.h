/*
 * lab_kernel.h - what liblabyrinth-kernel exports to the linux/ headers headers:
 * the zone kernel-style allocations come from, the boot parameters
 * (LABYRINTH_KERNEL_CMDLINE), printk, WARN and BUG reports, interrupt-state
 * emulation, initcall and module-parameter registration and the module
 * runner.  Kernel code never calls these names itself; the linux/ headers
 * headers do.  Everything here is thread-safe unless it says otherwise.
 */
#ifndef LAB_KERNEL_H
#define LAB_KERNEL_H

#include <labyrinth.h>
#include <stdarg.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The zone every kernel-style allocation (alloc_pages, kmalloc, vmalloc,
 * kmem_cache) comes from, made on first use: 16384 pages (64 MiB) that
 * sleeping callers may grow to 262144 (1 GiB), poisoned on free with
 * init_on_free=1.  Making it may sleep (mmap): the first call should not be
 * in atomic context (the module runner makes it before any module code
 * runs).  Aborts if the zone cannot be made, as a kernel that cannot set up
 * its memory panics.  O(1) after the first call.
 */
LAB_API struct lab_zone *lab_kernel_zone_slow(void);
LAB_API extern struct lab_zone *lab_kernel_zone_ptr;
static inline struct lab_zone *lab_kernel_zone(void)
{
	struct lab_zone *z = __atomic_load_n(&lab_kernel_zone_ptr, __ATOMIC_ACQUIRE);
	return __builtin_expect(z != NULL, 1) ? z : lab_kernel_zone_slow();
}

/*
 * Boot parameters, from LABYRINTH_KERNEL_CMDLINE (space-separated, as the
 * kernel's command line), read when the library loads:
 *   init_on_alloc=0|1   zero every page and object when it is allocated
 *   init_on_free=0|1    wipe pages and objects when they are freed
 *   loglevel=N          print messages of level < N (default 7: no debug)
 *   panic_on_warn=0|1   a WARN aborts like a BUG
 * Unknown words are ignored, as the kernel passes them to init.
 */
LAB_API extern bool lab_kernel_init_on_alloc;
LAB_API extern bool lab_kernel_init_on_free;
LAB_API extern int lab_kernel_loglevel;

/*
 * printk: the level prefix (KERN_*) is taken off, the message printed to
 * stderr when its level is below the console level.  The kernel's %p
 * extensions are understood: %pS/%ps/%pF/%pB (symbol+offset), %pe (error
 * name), %px/%pK/%p (the address), %pa (a phys_addr_t), %*ph (hex bytes);
 * other %p<letters> print the address.  Uses stdio: not for signal
 * handlers, never on an allocation path.  Returns the characters printed.
 */
LAB_API int lab_kernel_vprintk(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
LAB_API int lab_kernel_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
LAB_API void lab_kernel_dump_stack(void);
LAB_API void lab_kernel_print_hex_dump(const char *level, const char *prefix, int prefix_type,
				       int rowsize, int groupsize, const void *buf, size_t len,
				       bool ascii);
/* printk_ratelimited() and friends: true while the site is under its burst
 * of 10 messages per 5 s.  state is the site's static ratelimit state. */
struct lab_kernel_ratelimit {
	long long begin_ns;
	int printed, missed;
};
LAB_API bool lab_kernel_ratelimit(struct lab_kernel_ratelimit *state);

/* WARN: the kernel's report (cut here, WARNING: ... at file:line, a call
 * trace); counted in lab_kernel_warnings(); aborts with panic_on_warn. */
LAB_API void lab_kernel_warn(const char *file, int line, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), cold));
/* BUG: "kernel BUG at file:line!", a call trace, abort(). */
LAB_API void lab_kernel_bug(const char *file, int line, const char *func)
	__attribute__((noreturn, cold));
/* WARNs so far in this process (the runner fails a module that warned). */
LAB_API unsigned long lab_kernel_warnings(void);

/*
 * Interrupt state, per thread.  Disabling interrupts enters atomic context
 * (lab_atomic_enter), so sleeping calls are reported as in the kernel; it
 * does not block signals.  Async-signal-safe, O(1), never sleep.
 */
LAB_API unsigned long lab_kernel_irq_save(void);
LAB_API void lab_kernel_irq_restore(unsigned long flags);
LAB_API bool lab_kernel_irqs_disabled(void);

/* Initcalls (module_init, *_initcall) and exitcalls (module_exit), run by
 * the module runner: inits by level, then in registration order; exits in
 * the reverse order.  Called from constructors; not thread-safe. */
LAB_API void lab_kernel_add_initcall(int (*fn)(void), int level, const char *name);
LAB_API void lab_kernel_add_exitcall(void (*fn)(void), const char *name);
/* module_param(): name, the variable, and its type's name ("int", "bool",
 * "charp" ...).  Set by the runner from NAME=VALUE arguments. */
LAB_API void lab_kernel_add_param(const char *name, void *arg, const char *type);

/* kstrtoull() and kstrtoll(): the kernel's rules (base 0 guesses 0x/0; a
 * trailing newline is allowed; nothing else).  0, -EINVAL or -ERANGE. */
LAB_API int lab_kernel_kstrtoull(const char *s, unsigned int base, unsigned long long *res);
LAB_API int lab_kernel_kstrtoll(const char *s, unsigned int base, long long *res);
LAB_API int lab_kernel_kstrtobool(const char *s, bool *res);

/*
 * The module runner (`labyrinth ktest`, or link liblabyrinth-ktest.a for its
 * main): sets module parameters from argv (NAME=VALUE), runs the initcalls,
 * then the exitcalls, prints what init returned, and checks that every page
 * came back to the zone.  Returns the process's exit status: 0 when init
 * returned 0, nothing leaked and nothing warned; 1 otherwise; 2 for bad
 * arguments.
 */
LAB_API int lab_ktest_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* LAB_KERNEL_H */
