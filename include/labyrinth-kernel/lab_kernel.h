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
 * kmem_cache) comes from, made on first use: the slab layer's default zone
 * (lab_default_zone(), sized by LABYRINTH_ZONE), with its kmalloc caches.
 * Making it may sleep (mmap): the first call should not be
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
 * the module runner: inits by level, then in registration (link) order;
 * exits file by file in the reverse order of their files' inits, as modules
 * unload in the reverse order of loading.  file is the caller's __FILE__.
 * Called from constructors; not thread-safe. */
LAB_API void lab_kernel_add_initcall(int (*fn)(void), int level, const char *name,
				     const char *file);
LAB_API void lab_kernel_add_exitcall(void (*fn)(void), const char *name, const char *file);
/* module_param(): name, the variable, and its type's name ("int", "bool",
 * "charp" ...).  Set by the runner from NAME=VALUE arguments. */
LAB_API void lab_kernel_add_param(const char *name, void *arg, const char *type);

/* kstrtoull() and kstrtoll(): the kernel's rules (base 0 guesses 0x/0; a
 * trailing newline is allowed; nothing else).  0, -EINVAL or -ERANGE. */
LAB_API int lab_kernel_kstrtoull(const char *s, unsigned int base, unsigned long long *res);
LAB_API int lab_kernel_kstrtoll(const char *s, unsigned int base, long long *res);
LAB_API int lab_kernel_kstrtobool(const char *s, bool *res);

/*
 * Caches (linux/slab.h): the kernel's struct kmem_cache is a Labyrinth cache
 * on the kernel zone and what the kernel's flags ask of it.  flags are
 * SLAB_* (Labyrinth's LAB_SLAB_* bits), gfp the kernel's (Labyrinth's).
 * SLAB_TYPESAFE_BY_RCU is the slab layer's own, over the RCU below.  Create and destroy may sleep; alloc sleeps
 * only with LAB_GFP_DIRECT_RECLAIM; frees never sleep.
 */
struct lab_kmem_cache;
struct kmem_cache;
/* Less common arguments of kmem_cache_create(); zeroed fields are unused. */
struct kmem_cache_args {
	unsigned int align;
	unsigned int useroffset;	/* usercopy hardening: no meaning here */
	unsigned int usersize;
	unsigned int freeptr_offset;	/* the slab layer keeps its links outside objects */
	bool use_freeptr_offset;
	void (*ctor)(void *);
};
LAB_API struct kmem_cache *lab_kernel_kmem_cache_create(const char *name, unsigned int size,
							 const struct kmem_cache_args *args,
							 unsigned int flags);
LAB_API void lab_kernel_kmem_cache_destroy(struct kmem_cache *s);
LAB_API int lab_kernel_kmem_cache_shrink(struct kmem_cache *s);
LAB_API void *lab_kernel_kmem_cache_alloc(struct kmem_cache *s, lab_gfp_t gfp);
LAB_API void lab_kernel_kmem_cache_free(struct kmem_cache *s, void *obj);
LAB_API int lab_kernel_kmem_cache_alloc_bulk(struct kmem_cache *s, lab_gfp_t gfp, size_t nr,
					     void **objs);
LAB_API void lab_kernel_kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **objs);
LAB_API const char *lab_kernel_kmem_cache_name(const struct kmem_cache *s);
/* The Labyrinth cache under s (for lab_kmem_cache_get_stats and friends). */
LAB_API struct lab_kmem_cache *lab_kernel_kmem_cache_native(const struct kmem_cache *s);

/*
 * Mempools (linux/mempool.h), the kernel's algorithm: an allocation first
 * tries the pool's allocator without sleeping, then the reserve, then (if
 * gfp allows) the allocator with reclaim, and then waits for an element to
 * be freed (5 s at a time), so a sleeping allocation never fails.  A free
 * refills the reserve first and wakes a waiter (a futex wake, only when one
 * sleeps).  The reserve is under a lab_spinlock_t: alloc and free never
 * sleep without __GFP_DIRECT_RECLAIM, but a signal handler must not use a
 * pool whose lock the thread it interrupted holds (the spinlock's BUG).
 */
typedef void *(mempool_alloc_t)(lab_gfp_t gfp_mask, void *pool_data);
typedef void (mempool_free_t)(void *element, void *pool_data);
typedef struct mempool_s {
	lab_spinlock_t lock;
	int min_nr;			/* elements the reserve keeps */
	int curr_nr;			/* elements in it now */
	void **elements;
	void *pool_data;
	mempool_alloc_t *alloc;
	mempool_free_t *free;
	unsigned int lab_wait;		/* futex word: changes when an element comes back */
	unsigned int lab_waiters;	/* allocations asleep on it */
} mempool_t;
LAB_API int lab_kernel_mempool_init(mempool_t *pool, int min_nr, mempool_alloc_t *alloc_fn,
				    mempool_free_t *free_fn, void *pool_data, lab_gfp_t gfp);
LAB_API mempool_t *lab_kernel_mempool_create(int min_nr, mempool_alloc_t *alloc_fn,
					     mempool_free_t *free_fn, void *pool_data,
					     lab_gfp_t gfp);
LAB_API void lab_kernel_mempool_exit(mempool_t *pool);
LAB_API void lab_kernel_mempool_destroy(mempool_t *pool);
LAB_API int lab_kernel_mempool_resize(mempool_t *pool, int new_min_nr);
LAB_API void *lab_kernel_mempool_alloc(mempool_t *pool, lab_gfp_t gfp);
LAB_API void *lab_kernel_mempool_alloc_preallocated(mempool_t *pool);
LAB_API void lab_kernel_mempool_free(void *element, mempool_t *pool);

/*
 * RCU (linux/rcupdate.h) over liburcu-bp: read-side sections are atomic
 * context; callbacks run after a grace period, in atomic context, on
 * liburcu's call_rcu thread.  head is the kernel's struct callback_head
 * (rcu_head).  synchronize_rcu and rcu_barrier sleep; the others never do.
 */
struct callback_head;
LAB_API void lab_kernel_rcu_read_lock(void);
LAB_API void lab_kernel_rcu_read_unlock(void);
LAB_API bool lab_kernel_rcu_read_lock_held(void);
LAB_API void lab_kernel_synchronize_rcu(void);
LAB_API void lab_kernel_call_rcu(struct callback_head *head,
				 void (*func)(struct callback_head *head));
/* kfree(obj) after a grace period; head is inside obj. */
LAB_API void lab_kernel_kfree_rcu(struct callback_head *head, const void *obj);
/* synchronize_rcu(), then kfree(obj) (NULL: nothing).  May sleep. */
LAB_API void lab_kernel_kfree_rcu_mightsleep(const void *obj);
/* Wait until every callback queued so far has run. */
LAB_API void lab_kernel_rcu_barrier(void);

/*
 * The module runner (`labyrinth ktest`, or link liblabyrinth-ktest.a for its
 * main): sets module parameters from argv (NAME=VALUE), runs the initcalls,
 * then the exitcalls, prints what init returned, and checks that every page
 * came back to the zone (with the slab layer shrunk, every page still
 * allocated is the module's) and every object to its cache (each leaked one
 * named by its cache).  Returns the process's exit status: 0 when init
 * returned 0, nothing leaked and nothing warned; 1 otherwise; 2 for bad
 * arguments.
 */
LAB_API int lab_ktest_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* LAB_KERNEL_H */
