/*
 * early.c - allocations before constructors and from the dynamic loader.
 * Linked with early_lib.c's library, whose constructor allocates (calloc,
 * realloc, dlsym, dlopen, a thread) possibly before liblabyrinth-malloc.so
 * is brought up by its own constructor; and a constructor of the program
 * itself does the same.  main checks the blocks they kept (intact, zeroed
 * where calloc'd, their usable sizes) and frees them, then allocates and
 * frees normally.  Run with LD_PRELOAD=liblabyrinth-malloc.so.
 *
 * Exit status: 0 pass, 1 fail.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *early_blocks[8];
extern int early_status;

static void *mine[2];

__attribute__((constructor(101))) static void program_constructor(void)
{
	mine[0] = strdup("made before main");
	mine[1] = aligned_alloc(4096, 8192);
}

static int all(const void *p, int c, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)c)
			return 0;
	return 1;
}

int main(void)
{
	int bad = 0;
	if (early_status) {
		printf("early: FAILED: the library constructor's calls failed (%d)\n", early_status);
		return 1;
	}
	if (!all(early_blocks[0], 0, 1000) || !all(early_blocks[1], 0x11, 24) ||
	    !all(early_blocks[2], 0x22, 100000) || !all(early_blocks[3], 0x33, 5u << 20)) {
		printf("early: FAILED: a block made by the constructor changed\n");
		bad++;
	}
	if (malloc_usable_size(early_blocks[2]) < 100000 ||
	    malloc_usable_size(early_blocks[3]) < (5u << 20)) {
		printf("early: FAILED: usable sizes of the constructor's blocks\n");
		bad++;
	}
	if (!mine[0] || strcmp(mine[0], "made before main") || !mine[1] ||
	    ((unsigned long)mine[1] & 4095)) {
		printf("early: FAILED: the program's constructor's blocks\n");
		bad++;
	}
	for (int i = 0; i < 4; i++)
		free(early_blocks[i]);
	free(mine[0]);
	free(mine[1]);
	/* And on as usual: dlsym and dlerror now, allocations of every size. */
	if (dlsym(RTLD_DEFAULT, "no_such_symbol") || !dlerror()) {
		printf("early: FAILED: dlsym/dlerror after start-up\n");
		bad++;
	}
	for (size_t n = 1; n < (16u << 20); n = n * 3 + 1) {
		char *p = malloc(n);
		if (!p) {
			printf("early: FAILED: malloc(%zu)\n", n);
			return 1;
		}
		p[0] = p[n - 1] = 1;
		free(p);
	}
	printf("early: allocations before main and from the loader %s\n", bad ? "FAILED" : "fine");
	return bad ? 1 : 0;
}
