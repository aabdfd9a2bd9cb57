/*
 * thread.c - the threads and process events of the OS contract (thread.h)
 * on POSIX threads.  Thin on purpose: the point is that nothing above
 * src/os calls pthreads, fork handlers or exit handlers itself.
 */
#include "os/thread.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void lab__os_mutex_init(lab__os_mutex_t *m)
{
	pthread_mutex_init(&m->m, NULL);
}

void lab__os_mutex_destroy(lab__os_mutex_t *m)
{
	pthread_mutex_destroy(&m->m);
}

void lab__os_mutex_lock(lab__os_mutex_t *m)
{
	pthread_mutex_lock(&m->m);
}

bool lab__os_mutex_trylock(lab__os_mutex_t *m)
{
	return pthread_mutex_trylock(&m->m) == 0;
}

bool lab__os_mutex_lock_for(lab__os_mutex_t *m, uint64_t ns)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);  /* pthread_mutex_timedlock's clock */
	until.tv_sec += (time_t)(ns / 1000000000u);
	until.tv_nsec += (long)(ns % 1000000000u);
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	return pthread_mutex_timedlock(&m->m, &until) == 0;
}

void lab__os_mutex_unlock(lab__os_mutex_t *m)
{
	pthread_mutex_unlock(&m->m);
}

void lab__os_rwlock_init(lab__os_rwlock_t *l)
{
	pthread_rwlock_init(&l->l, NULL);
}

void lab__os_rwlock_destroy(lab__os_rwlock_t *l)
{
	pthread_rwlock_destroy(&l->l);
}

void lab__os_rwlock_rdlock(lab__os_rwlock_t *l)
{
	pthread_rwlock_rdlock(&l->l);
}

void lab__os_rwlock_wrlock(lab__os_rwlock_t *l)
{
	pthread_rwlock_wrlock(&l->l);
}

void lab__os_rwlock_unlock(lab__os_rwlock_t *l)
{
	pthread_rwlock_unlock(&l->l);
}

void lab__os_once(lab__os_once_t *once, void (*fn)(void))
{
	pthread_once(&once->o, fn);
}

int lab__os_thread_create(lab__os_thread_t *t, void *(*fn)(void *), void *arg, const char *name)
{
	/* The thread inherits the creator's mask: every signal blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&t->t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	char comm[16];
	size_t n = strnlen(name, sizeof(comm) - 1);
	memcpy(comm, name, n);
	comm[n] = '\0';
	pthread_setname_np(t->t, comm);
	return 0;
}

void lab__os_thread_join(lab__os_thread_t t)
{
	pthread_join(t.t, NULL);
}

void lab__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	pthread_atfork(prepare, parent, child);
}

void lab__os_atexit(void (*fn)(void))
{
	atexit(fn);
}

int lab__os_getpid(void)
{
	return (int)getpid();
}
