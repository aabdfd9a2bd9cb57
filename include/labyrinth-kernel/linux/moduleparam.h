/*
 * linux/moduleparam.h - module parameters: module_param(name, type, perm)
 * registers the variable; the module runner sets it from a NAME=VALUE
 * argument (`labyrinth ktest mod.c -- name=value`), as insmod does.  Types:
 * bool, invbool, charp, byte, short, ushort, int, uint, hexint, long,
 * ulong, ullong; the variable's type is checked at compile time.
 */
#ifndef LAB_KERNEL_LINUX_MODULEPARAM_H
#define LAB_KERNEL_LINUX_MODULEPARAM_H

#include <lab_kernel.h>
#include <linux/compiler.h>
#include <linux/types.h>

#define __lab_param_check(name, p, type) \
	static inline __attribute__((unused)) type *__check_##name(void) { return (p); }
#define param_check_bool(name, p)	__lab_param_check(name, p, bool)
#define param_check_invbool(name, p)	__lab_param_check(name, p, bool)
#define param_check_charp(name, p)	__lab_param_check(name, p, char *)
#define param_check_byte(name, p)	__lab_param_check(name, p, unsigned char)
#define param_check_short(name, p)	__lab_param_check(name, p, short)
#define param_check_ushort(name, p)	__lab_param_check(name, p, unsigned short)
#define param_check_int(name, p)	__lab_param_check(name, p, int)
#define param_check_uint(name, p)	__lab_param_check(name, p, unsigned int)
#define param_check_hexint(name, p)	__lab_param_check(name, p, unsigned int)
#define param_check_long(name, p)	__lab_param_check(name, p, long)
#define param_check_ulong(name, p)	__lab_param_check(name, p, unsigned long)
#define param_check_ullong(name, p)	__lab_param_check(name, p, unsigned long long)

/* type is pasted and stringified at the first level: bool is a macro of
 * <stdbool.h> (the kernel's is a typedef) and must not be expanded first. */
#define __lab_module_param(name, value, check, type_name) \
	check(name, &(value)) \
	static __attribute__((constructor)) void __lab_param_##name(void) \
	{ \
		lab_kernel_add_param(#name, &(value), type_name); \
	}
#define module_param_named(name, value, type, perm) \
	__lab_module_param(name, value, param_check_##type, #type)
#define module_param(name, type, perm) \
	__lab_module_param(name, name, param_check_##type, #type)
#define module_param_unsafe(name, type, perm)	module_param(name, type, perm)
#define MODULE_PARM_DESC(parm, desc) \
	static const char __UNIQUE_ID(modinfo)[] __used __section(".modinfo") = \
		"parm=" #parm ":" desc

#endif /* LAB_KERNEL_LINUX_MODULEPARAM_H */
