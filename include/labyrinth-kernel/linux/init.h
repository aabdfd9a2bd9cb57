/*
 * linux/init.h - section markers (__init, __exit, __initdata: nothing here;
 * module code stays in memory) and the initcalls: module_init and the
 * *_initcall levels register their function with the runtime, which the
 * module runner (lab_ktest_main) calls by level, then in link order.
 */
#ifndef LAB_KERNEL_LINUX_INIT_H
#define LAB_KERNEL_LINUX_INIT_H

#include <lab_kernel.h>
#include <linux/compiler.h>

#define __init
#define __exit
#define __initdata
#define __exitdata
#define __initconst
#define __exitcall
#define __meminit
#define __meminitdata
#define __refdata
#define __ref
#define __init_memblock
#define __exit_p(x)	x
#define __initcall_name(fn)	#fn

typedef int (*initcall_t)(void);
typedef void (*exitcall_t)(void);

#define __lab_define_initcall(fn, level) \
	static __attribute__((constructor)) void __PASTE(__lab_initcall_, fn)(void) \
	{ \
		lab_kernel_add_initcall(fn, level, #fn, __FILE__); \
	}
#define early_initcall(fn)		__lab_define_initcall(fn, 0)
#define pure_initcall(fn)		__lab_define_initcall(fn, 0)
#define core_initcall(fn)		__lab_define_initcall(fn, 1)
#define postcore_initcall(fn)		__lab_define_initcall(fn, 2)
#define arch_initcall(fn)		__lab_define_initcall(fn, 3)
#define subsys_initcall(fn)		__lab_define_initcall(fn, 4)
#define fs_initcall(fn)			__lab_define_initcall(fn, 5)
#define rootfs_initcall(fn)		__lab_define_initcall(fn, 5)
#define device_initcall(fn)		__lab_define_initcall(fn, 6)
#define late_initcall(fn)		__lab_define_initcall(fn, 7)
#define late_initcall_sync(fn)		__lab_define_initcall(fn, 7)
#define __initcall(fn)			device_initcall(fn)

#ifndef module_init
#define module_init(fn)			device_initcall(fn)
#define module_exit(fn) \
	static __attribute__((constructor)) void __PASTE(__lab_exitcall_, fn)(void) \
	{ \
		lab_kernel_add_exitcall(fn, #fn, __FILE__); \
	}
#endif

#endif /* LAB_KERNEL_LINUX_INIT_H */
