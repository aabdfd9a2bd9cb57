/*
 * stack.h - the calling thread's stack, captured and printed for reports
 * (stack.c).  Capture neither allocates nor locks once warmed, so it is
 * safe in atomic context and signal handlers.
 */
#ifndef LAB_OS_STACK_H
#define LAB_OS_STACK_H

#include <stddef.h>

#define LAB_STACK_DEPTH 16

/* Load the unwinder (it allocates the first time): once, where allocating
 * and sleeping are fine (zone creation).  Captures return 0 until then. */
void lab__os_stack_warm(void);
/* Up to max (<= LAB_STACK_DEPTH) frames of the caller's stack, without its
 * skip innermost ones; how many were captured. */
unsigned int lab__os_stack_capture(void **frames, unsigned int max, unsigned int skip);
/* One frame as " symbol+0xoff (object)\n", or " object+0xoff\n" when no
 * symbol covers pc (for addr2line -e object). */
void lab__os_stack_format(void *pc, char *buf, size_t len);
/* Frames, one line each, to stderr. */
void lab__os_stack_print(void *const *frames, unsigned int nr);
/* dump_stack(): "Call Trace:" and the caller's stack on stderr. */
void lab__os_dump_stack(void);

/* The unwinder's own view, for the might_sleep report: load it now
 * (allocates); print one code address; print the whole stack. */
void lab__os_unwinder_load(void);
void lab__os_print_symbol(void *ip);
void lab__os_print_backtrace(void);

#endif /* LAB_OS_STACK_H */
