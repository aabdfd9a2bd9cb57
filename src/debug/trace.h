/*
 * trace.h - USDT probes (provider "labyrinth") named after the kernel's
 * tracepoints: mm_page_alloc, mm_page_free, mm_page_alloc_zone_locked,
 * mm_page_alloc_fail, mm_vmscan_direct_reclaim_begin/end,
 * mm_vmscan_wakeup_kswapd, mm_vmscan_kswapd_wake/sleep.
 *
 * With <sys/sdt.h> (systemtap-sdt-dev; meson defines LAB_HAVE_SDT) each probe
 * is one nop plus a note in .note.stapsdt that perf, bpftrace and SystemTap
 * turn into a uprobe when asked: free when nobody listens.  Without the
 * header the probes compile to nothing.
 */
#ifndef LAB_TRACE_H
#define LAB_TRACE_H

#ifdef LAB_HAVE_SDT
#define SDT_USE_VARIADIC 1
/* Registers or constants, not "o": clang would otherwise store every
 * argument to the stack on each call, probe attached or not. */
#define STAP_SDT_ARG_CONSTRAINT nr
#include <sys/sdt.h>
#define lab_trace(name, ...) STAP_PROBEV(labyrinth, name, __VA_ARGS__)
#else
#define lab_trace(name, ...) do { } while (0)
#endif

#endif /* LAB_TRACE_H */
