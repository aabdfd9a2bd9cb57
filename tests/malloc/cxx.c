/*
 * cxx.c - the C++ operators new and delete that liblabyrinth-malloc.so
 * defines in C (src/malloc/cxx.c), called by their mangled names as a C++
 * program's calls would reach them (run with LD_PRELOAD): they are the
 * library's; new, new[], the nothrow and aligned forms hand out what malloc
 * would (aligned as asked); every delete form frees it; out of memory, the
 * nothrow forms return NULL after the C++ runtime's new-handler and
 * std::bad_alloc machinery (libstdc++ loaded here as a C++ program has it);
 * and a delete of a pointer new did not hand out is reported and aborts.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no libstdc++ to load).
 */
#include <dlfcn.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("cxx: FAILED: %s\n", what);
		failures++;
	}
}

static void *sym(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);
	if (!f) {
		printf("cxx: FAILED: %s not found\n", name);
		exit(1);
	}
	return f;
}

typedef void *(*new_fn)(size_t);
typedef void *(*new_nt_fn)(size_t, const void *);
typedef void *(*new_al_fn)(size_t, size_t);
typedef void *(*new_al_nt_fn)(size_t, size_t, const void *);
typedef void (*del_fn)(void *);
typedef void (*del_sz_fn)(void *, size_t);
typedef void (*del_al_fn)(void *, size_t);
typedef void (*del_sz_al_fn)(void *, size_t, size_t);

int main(void)
{
	void *cxx = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
	if (!cxx) {
		printf("SKIP: no libstdc++.so.6 to load\n");
		return 77;
	}
	const void *nothrow = sym("_ZSt7nothrow");
	new_fn nw = (new_fn)sym("_Znwm"), na = (new_fn)sym("_Znam");
	new_nt_fn nw_nt = (new_nt_fn)sym("_ZnwmRKSt9nothrow_t");
	new_al_fn nw_al = (new_al_fn)sym("_ZnwmSt11align_val_t");
	new_al_nt_fn na_al_nt = (new_al_nt_fn)sym("_ZnamSt11align_val_tRKSt9nothrow_t");
	del_fn dl = (del_fn)sym("_ZdlPv"), da = (del_fn)sym("_ZdaPv");
	del_sz_fn dl_sz = (del_sz_fn)sym("_ZdlPvm");
	del_al_fn dl_al = (del_al_fn)sym("_ZdlPvSt11align_val_t");
	del_sz_al_fn da_sz_al = (del_sz_al_fn)sym("_ZdaPvmSt11align_val_t");

	/* They are the library's, found before libstdc++'s. */
	Dl_info info;
	check(dladdr((void *)(uintptr_t)nw, &info) && info.dli_fname &&
	      strstr(info.dli_fname, "liblabyrinth-malloc"), "operator new is not the library's");
	check(dladdr((void *)(uintptr_t)dl_sz, &info) && info.dli_fname &&
	      strstr(info.dli_fname, "liblabyrinth-malloc"), "sized delete is not the library's");

	char *p = nw(100), *q = na(5000), *r = nw_nt(24, nothrow);
	check(p && q && r, "new returned NULL");
	check(malloc_usable_size(p) >= 100 && malloc_usable_size(q) >= 5000, "usable sizes");
	memset(p, 1, 100);
	memset(q, 2, 5000);
	dl_sz(p, 100);
	da(q);
	dl(r);
	static const size_t aligns[] = { 32, 64, 4096, 65536, 8u << 20 };
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		char *a = nw_al(200, aligns[i]);
		char *b = na_al_nt(3 * aligns[i], aligns[i], nothrow);
		check(a && !((uintptr_t)a & (aligns[i] - 1)), "aligned new misaligned");
		check(b && !((uintptr_t)b & (aligns[i] - 1)), "aligned nothrow new[] misaligned");
		dl_al(a, aligns[i]);
		da_sz_al(b, 3 * aligns[i], aligns[i]);
	}
	/* Out of memory: the nothrow form says NULL, through libstdc++. */
	check(nw_nt(SIZE_MAX / 2, nothrow) == NULL, "nothrow new of SIZE_MAX/2 did not return NULL");
	check(na_al_nt(SIZE_MAX / 2, 64, nothrow) == NULL,
	      "aligned nothrow new[] of SIZE_MAX/2 did not return NULL");

	/* delete of what new did not hand out: a report and abort. */
	fflush(stdout);
	int fds[2];
	if (pipe(fds))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		char *x = nw(64);
		dl(x + 16);
		_exit(0);
	}
	close(fds[1]);
	char out[8192];
	ssize_t n = read(fds[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = 0;
	int st;
	waitpid(pid, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(out, "operator delete("),
	      "delete of an interior pointer was not reported and fatal");
	printf("cxx: operators new and delete (20 forms, called by their mangled names): %s\n",
	       failures ? "FAILED" : "the library's, aligned, freed, NULL when out of memory, "
	       "misuse reported");
	return failures ? 1 : 0;
}
