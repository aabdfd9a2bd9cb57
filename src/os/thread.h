/*
 * thread.h - threads, locks that sleep, and process events, as the OS
 * contract gives them (thread.c): the only way the layers above reach
 * pthreads, fork handlers, exit handlers and the process id.
 *
 * Mutexes and reader-writer locks may sleep: never on a path that cannot.
 * Every call returns 0 or a negative errno unless it says otherwise.
 */
#ifndef LAB_OS_THREAD_H
#define LAB_OS_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A mutex that sleeps; static ones start as LAB_OS_MUTEX_INIT. */
typedef struct {
	pthread_mutex_t m;
} lab__os_mutex_t;
#define LAB_OS_MUTEX_INIT { PTHREAD_MUTEX_INITIALIZER }
void lab__os_mutex_init(lab__os_mutex_t *m);
void lab__os_mutex_destroy(lab__os_mutex_t *m);
void lab__os_mutex_lock(lab__os_mutex_t *m);
void lab__os_mutex_unlock(lab__os_mutex_t *m);
/* Take m if free now / within ns nanoseconds; false when not taken. */
bool lab__os_mutex_trylock(lab__os_mutex_t *m);
bool lab__os_mutex_lock_for(lab__os_mutex_t *m, uint64_t ns);

/* A reader-writer lock that sleeps. */
typedef struct {
	pthread_rwlock_t l;
} lab__os_rwlock_t;
void lab__os_rwlock_init(lab__os_rwlock_t *l);
void lab__os_rwlock_destroy(lab__os_rwlock_t *l);
void lab__os_rwlock_rdlock(lab__os_rwlock_t *l);
void lab__os_rwlock_wrlock(lab__os_rwlock_t *l);
void lab__os_rwlock_unlock(lab__os_rwlock_t *l);

/* Run fn once per process however many threads race here; static ones
 * start as LAB_OS_ONCE_INIT. */
typedef struct {
	pthread_once_t o;
} lab__os_once_t;
#define LAB_OS_ONCE_INIT { PTHREAD_ONCE_INIT }
void lab__os_once(lab__os_once_t *once, void (*fn)(void));

/* A thread of the library's own (kswapd, the export), named name (at most
 * 15 characters are kept), with every signal blocked: a process-directed
 * signal never runs the program's handler on it, where the handler would
 * find the zone's locks held by its own thread (the kernel's own threads
 * take no signals either).  May allocate (the thread's stack and TLS). */
typedef struct {
	pthread_t t;
} lab__os_thread_t;
int lab__os_thread_create(lab__os_thread_t *t, void *(*fn)(void *), void *arg, const char *name);
void lab__os_thread_join(lab__os_thread_t t);

/* fork(): prepare runs in the forking thread before, parent and child after
 * (any may be NULL), as pthread_atfork: prepare handlers in the reverse
 * order of registration, the others in order. */
void lab__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
/* At exit(), in the reverse order of registration. */
void lab__os_atexit(void (*fn)(void));
/* The calling process's id. */
int lab__os_getpid(void);

#endif /* LAB_OS_THREAD_H */
