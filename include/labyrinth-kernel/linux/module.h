/*
 * linux/module.h - what a module declares: module_init/module_exit
 * (linux/init.h), parameters (linux/moduleparam.h), MODULE_* information
 * (kept in the ELF section .modinfo, as the kernel keeps it), and exports
 * (nothing to do in one program).  KBUILD_MODNAME comes from the build, as
 * in kbuild: `labyrinth ktest` defines it from the first file's name.
 */
#ifndef LAB_KERNEL_LINUX_MODULE_H
#define LAB_KERNEL_LINUX_MODULE_H

#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/moduleparam.h>
#include <linux/export.h>
#include <linux/stringify.h>

struct module;
#define THIS_MODULE		((struct module *)0)
#define try_module_get(module)	((void)(module), true)
#define module_put(module)	((void)(module))
#define __module_get(module)	((void)(module))

#define MODULE_INFO(tag, info) \
	static const char __UNIQUE_ID(modinfo)[] __used __section(".modinfo") = \
		__stringify(tag) "=" info
#define MODULE_LICENSE(license)		MODULE_INFO(license, license)
#define MODULE_AUTHOR(author)		MODULE_INFO(author, author)
#define MODULE_DESCRIPTION(desc)	MODULE_INFO(description, desc)
#define MODULE_ALIAS(alias)		MODULE_INFO(alias, alias)
#define MODULE_VERSION(version)		MODULE_INFO(version, version)
#define MODULE_SOFTDEP(dep)		MODULE_INFO(softdep, dep)
#define MODULE_FIRMWARE(fw)		MODULE_INFO(firmware, fw)
#define MODULE_IMPORT_NS(ns)		MODULE_INFO(import_ns, #ns)
#define MODULE_DEVICE_TABLE(type, name)

#endif /* LAB_KERNEL_LINUX_MODULE_H */
