/*
 * early_lib.c - a library whose constructor allocates before the program's
 * main and, depending on the load order, before liblabyrinth-malloc.so's
 * own constructor: calloc and realloc, dlsym (glibc's dlerror state is
 * calloc'd: jemalloc #443), dlopen of another library (the loader's own
 * allocations), a thread created and joined (glibc's thread control block
 * and TLS are allocated), and memory kept for main to check and free.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void *early_blocks[8];
int early_status;

static void *early_thread(void *arg)
{
	char *p = malloc(1000);
	if (!p)
		return NULL;
	memset(p, 7, 1000);
	free(p);
	return arg;
}

__attribute__((constructor)) static void early_constructor(void)
{
	early_blocks[0] = calloc(10, 100);
	early_blocks[1] = malloc(24);
	early_blocks[2] = realloc(malloc(10), 100000);
	void *fn = dlsym(RTLD_NEXT, "malloc");
	void *nonesuch = dlsym(RTLD_DEFAULT, "no_such_symbol_anywhere");
	const char *err = dlerror();
	void *h = dlopen("libm.so.6", RTLD_NOW);
	early_blocks[3] = malloc(5u << 20);
	pthread_t t;
	void *ret = NULL;
	int rc = pthread_create(&t, NULL, early_thread, early_blocks[1]);
	if (!rc)
		pthread_join(t, &ret);
	early_status = (!fn || nonesuch || !err || !h || rc || ret != early_blocks[1]) ? 1 : 0;
	for (int i = 0; i < 4; i++)
		if (!early_blocks[i])
			early_status = 2;
	if (!early_status) {
		memset(early_blocks[1], 0x11, 24);
		memset(early_blocks[2], 0x22, 100000);
		memset(early_blocks[3], 0x33, 5u << 20);
	}
}
