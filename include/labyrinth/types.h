/*
 * labyrinth/types.h - what every part of the API shares: the
 * export marker, the version, the largest order, the opaque zone and page.
 * Self-contained; <labyrinth.h> includes every group.
 */
#ifndef LABYRINTH_TYPES_H
#define LABYRINTH_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LABYRINTH_BUILD) && defined(__GNUC__)
#define LAB_API __attribute__((visibility("default")))
#else
#define LAB_API
#endif

#define LAB_VERSION_MAJOR 0
#define LAB_VERSION_MINOR 1
#define LAB_VERSION_PATCH 0

/* Largest order, inclusive, like the kernel's MAX_PAGE_ORDER: 1024 pages. */
#define LAB_MAX_ORDER 10
/* Orders above this are "costly": no OOM handler call, fewer retries. */
#define LAB_COSTLY_ORDER 3

struct lab_zone;
struct lab_page;

#ifdef __cplusplus
}
#endif

#endif /* LABYRINTH_TYPES_H */
