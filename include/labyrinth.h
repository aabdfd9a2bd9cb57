/*
 * labyrinth.h - the public API of Labyrinth, a userspace page allocator with
 * the Linux kernel's semantics: zones of pages, a buddy system for blocks of
 * 2^order pages (order 0..LAB_MAX_ORDER), watermarks and emergency reserves,
 * background and direct reclaim through shrinkers, and the GFP contract.
 *
 * Every function is thread-safe unless it says otherwise.  "May sleep" means
 * the call can block the calling thread; a call that may not sleep is safe
 * inside a spinlock-style critical section.
 *
 * NULL (types.h): every function takes NULL for any pointer argument.
 */
#ifndef LABYRINTH_H
#define LABYRINTH_H

/* The API by group; each header is self-contained. */
#include <labyrinth/types.h>
#include <labyrinth/gfp.h>
#include <labyrinth/zone.h>
#include <labyrinth/page.h>
#include <labyrinth/stats.h>
#include <labyrinth/reclaim.h>
#include <labyrinth/mempool.h>
#include <labyrinth/exclusive.h>
#include <labyrinth/atomic.h>
#include <labyrinth/debug.h>
#include <labyrinth/slab.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#endif /* LABYRINTH_H */
