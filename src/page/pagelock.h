/*
 * pagelock.h - the page lock's hooks for tests (pagelock.c): called by a
 * lock waiter woken by a plain unlock before it tries the lock again; and
 * the page's wait-table bucket lock, to stand in for the moment a signal
 * interrupts its holder.
 */
#ifndef LAB_PAGE_PAGELOCK_H
#define LAB_PAGE_PAGELOCK_H

#include "page/page.h"

#include <stdbool.h>

extern void (*lab__page_lock_woken_hook)(const struct lab_page *page);
bool lab__page_waitqueue_lock(const struct lab_page *page);
void lab__page_waitqueue_unlock(const struct lab_page *page);

#endif /* LAB_PAGE_PAGELOCK_H */
