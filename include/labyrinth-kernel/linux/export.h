/* linux/export.h - EXPORT_SYMBOL and friends: one program, nothing to export;
 * the symbol must still be declared, as kbuild checks. */
#ifndef LAB_KERNEL_LINUX_EXPORT_H
#define LAB_KERNEL_LINUX_EXPORT_H

#define EXPORT_SYMBOL(sym)		extern __typeof__(sym) sym
#define EXPORT_SYMBOL_GPL(sym)		extern __typeof__(sym) sym
#define EXPORT_SYMBOL_NS(sym, ns)	extern __typeof__(sym) sym
#define EXPORT_SYMBOL_NS_GPL(sym, ns)	extern __typeof__(sym) sym
#define EXPORT_SYMBOL_GPL_FOR_MODULES(sym, mods) extern __typeof__(sym) sym

#endif /* LAB_KERNEL_LINUX_EXPORT_H */
