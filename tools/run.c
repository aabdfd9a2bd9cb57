/*
 * run.c - `labyrinth run [--stats] [--secure] [--] CMD [ARGS...]`: run a
 * command with liblabyrinth-malloc.so preloaded (LD_PRELOAD, ahead of
 * whatever was preloaded already), so that malloc in it and in everything
 * it starts is Labyrinth's.  --stats and --secure set LABYRINTH_MALLOC_STATS
 * and LABYRINTH_MALLOC_SECURE.  The library is looked for in
 * $LABYRINTH_MALLOC_LIB, then beside this binary in its build tree, then
 * where `meson install` puts it.  Options end at the first operand (the
 * command's own options follow it), with the conventions of cli.h.
 *
 * Exports lab_tool_run and lab_tool_malloc_lib (run.h).
 */
#include "run.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LAB_MALLOC_BUILT
#define LAB_MALLOC_BUILT ""
#endif
#ifndef LAB_MALLOC_INSTALLED
#define LAB_MALLOC_INSTALLED ""
#endif
#ifndef LAB_BUILD_ROOT
#define LAB_BUILD_ROOT ""
#endif

static void usage(void)
{
	printf("usage: labyrinth run [--stats] [--secure] [--] CMD [ARGS...]\n"
	       "  run CMD with liblabyrinth-malloc.so preloaded (its malloc, free, ... and\n"
	       "  the C++ operators are Labyrinth's, async-signal-safe)\n"
	       "  --stats   LABYRINTH_MALLOC_STATS=1: a line of statistics on stderr at exit\n"
	       "  --secure  LABYRINTH_MALLOC_SECURE=1: every allocation exclusive\n"
	       "  the library: $LABYRINTH_MALLOC_LIB, else %s, else %s\n",
	       *LAB_MALLOC_BUILT ? LAB_MALLOC_BUILT : "(no build tree)",
	       *LAB_MALLOC_INSTALLED ? LAB_MALLOC_INSTALLED : "(not installable in this build)");
}

/* Is this binary the one in the build tree the library was built in? */
static int running_from_build_tree(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || !*LAB_BUILD_ROOT)
		return 0;
	exe[n] = 0;
	size_t root = strlen(LAB_BUILD_ROOT);
	return !strncmp(exe, LAB_BUILD_ROOT, root) && exe[root] == '/';
}

const char *lab_tool_malloc_lib(void)
{
	const char *env = getenv("LABYRINTH_MALLOC_LIB");
	if (env && *env)
		return access(env, R_OK) == 0 ? env : NULL;
	if (*LAB_MALLOC_BUILT && running_from_build_tree() && access(LAB_MALLOC_BUILT, R_OK) == 0)
		return LAB_MALLOC_BUILT;
	if (*LAB_MALLOC_INSTALLED && access(LAB_MALLOC_INSTALLED, R_OK) == 0)
		return LAB_MALLOC_INSTALLED;
	return NULL;
}

int lab_tool_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "secure", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool stats = false, secure = false;
	int c;
	optind = 0;
	/* '+': options stop at the command, whose own options follow it. */
	while ((c = cli_getopt("run", argc, argv, "+h", longopts)) != -1) {
		switch (c) {
		case 's': stats = true; break;
		case 'S': secure = true; break;
		case 'h': usage(); return 0;
		default: return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_error("run", "a command to run is needed");
	const char *lib = lab_tool_malloc_lib();
	if (!lib) {
		const char *env = getenv("LABYRINTH_MALLOC_LIB");
		if (env && *env)
			fprintf(stderr, "labyrinth: run: LABYRINTH_MALLOC_LIB=%s is not readable\n", env);
		else
			fprintf(stderr, "labyrinth: run: liblabyrinth-malloc.so not found (not built "
				"here: sanitizer builds make none; and not installed)\n");
		return 127;
	}
	if (stats)
		setenv("LABYRINTH_MALLOC_STATS", "1", 1);
	if (secure)
		setenv("LABYRINTH_MALLOC_SECURE", "1", 1);
	const char *old = getenv("LD_PRELOAD");
	size_t len = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
	char *preload = malloc(len);
	if (!preload)
		return 127;
	snprintf(preload, len, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
	setenv("LD_PRELOAD", preload, 1);
	free(preload);
	execvp(argv[optind], argv + optind);
	int err = errno;
	fprintf(stderr, "labyrinth: run: %s: %s\n", argv[optind], strerror(err));
	return err == ENOENT ? 127 : 126;
}
