/*
 * printk.h - the report writer (printk.c): format and write(2) to stderr,
 * no malloc, no stdio locks; async-signal-safe.
 */
#ifndef LAB_OS_PRINTK_H
#define LAB_OS_PRINTK_H

void lab__printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LAB_OS_PRINTK_H */
