/*
 * ktest.c - `labyrinth ktest`: compile kernel module source against the
 * labyrinth-kernel headers (pkg-config), link it with the module runner's
 * main (liblabyrinth-ktest.a) and run it: init, exit, a leak check, a
 * verdict (src/kernel/module.c).  Its arguments follow cli.h: --help exits
 * 0; a bad, missing or extra argument is named as "labyrinth: ktest: ..."
 * and exits 2 before anything is compiled; its other errors are named the
 * same way.
 *
 * Exports lab_tool_ktest().
 */
#include "ktest.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define MAX_ARGS 512

struct argv {
	char *v[MAX_ARGS];
	int n;
};

static void push(struct argv *a, const char *s)
{
	if (a->n + 1 >= MAX_ARGS) {
		fprintf(stderr, "labyrinth: ktest: more than %d words in a command\n", MAX_ARGS - 1);
		exit(3);
	}
	a->v[a->n++] = strdup(s);
	a->v[a->n] = NULL;
}

/* Append the whitespace-separated words of s (CFLAGS, pkg-config output). */
static void push_words(struct argv *a, const char *s)
{
	char *copy = strdup(s ? s : ""), *save = NULL;
	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		push(a, w);
	free(copy);
}

static void clear(struct argv *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: labyrinth ktest [OPTIONS] FILE.c... [PARAM=VALUE...]\n"
		"\n"
		"Compile kernel module source against the labyrinth-kernel headers\n"
		"(pkg-config --cflags --libs labyrinth-kernel), run its module_init, then\n"
		"its module_exit, and check that every page and object came back.  Exit\n"
		"status: the module's (0 pass; 1 init failed, pages or objects leaked, a\n"
		"Bad page or a WARN; 2 a bad PARAM=VALUE), 128+N if it died of signal N;\n"
		"2 bad usage of ktest itself, 3 if the module did not compile.\n"
		"\n"
		"  -o, --output FILE     keep the program as FILE (run it again with\n"
		"                        PARAM=VALUE arguments)\n"
		"  -c, --compile-only    compile and link only (with --output)\n"
		"  -I, --include DIR     one more include directory (e.g. kernel headers of\n"
		"                        the module's own subsystem)\n"
		"  -D, --define NAME[=VALUE]  one more macro\n"
		"  -v, --verbose         print the commands\n"
		"  -h, --help            this text\n"
		"\n"
		"Environment: CC (default cc); CFLAGS (added to every command) and LDFLAGS\n"
		"(to the link); PKG_CONFIG; for the module, LABYRINTH_KERNEL_CMDLINE (boot\n"
		"parameters: \"init_on_alloc=1 init_on_free=1 loglevel=8 panic_on_warn=1\")\n"
		"and LABYRINTH_DEBUG, set to atomic_sleep when unset (might_sleep checks on,\n"
		"as in a debug kernel).\n");
}

/* Run argv; its exit status, 128+N for signal N, or 127 if it did not start. */
static int run(struct argv *a, bool verbose)
{
	if (verbose) {
		for (int i = 0; i < a->n; i++)
			fprintf(stderr, "%s%s", i ? " " : "+ ", a->v[i]);
		fprintf(stderr, "\n");
	}
	pid_t pid = fork();
	if (pid < 0)
		return 127;
	if (pid == 0) {
		execvp(a->v[0], a->v);
		fprintf(stderr, "labyrinth: ktest: cannot run %s: %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The output of a command (pkg-config), or NULL if it failed. */
static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	return pclose(p) == 0 ? buf : NULL;
}

/* "lib/test_free_pages.c" -> "test_free_pages"; kbuild's '-' -> '_'. */
static void base_name(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	snprintf(out, len, "%s", b);
	char *dot = strrchr(out, '.');
	if (dot)
		*dot = '\0';
	for (char *c = out; *c; c++)
		if (*c == '-')
			*c = '_';
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* Before any work: each source can be read, and --output written where asked
 * (its directory exists and is writable).  Reports and returns 2, or 0. */
static int check_files(const char *const *sources, int nsrc, const char *output)
{
	for (int i = 0; i < nsrc; i++)
		if (access(sources[i], R_OK) != 0)
			return cli_error("ktest", "'%s': %s", sources[i], strerror(errno));
	if (!output)
		return 0;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", output);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (!*output || output[strlen(output) - 1] == '/')
		return cli_error("ktest", "--output '%s': not a file name", output);
	if (access(dir, W_OK) != 0)
		return cli_error("ktest", "--output '%s': directory '%s': %s", output, dir,
				 strerror(errno));
	return 0;
}

int lab_tool_ktest(int argc, char **argv)
{
	const char *output = NULL;
	bool compile_only = false, verbose = false;
	struct argv extra = { .n = 0 };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "compile-only", no_argument, NULL, 'c' },
		{ "include", required_argument, NULL, 'I' },
		{ "define", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;
	while ((c = cli_getopt("ktest", argc, argv, "o:cI:D:vh", longopts)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'c':
			compile_only = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'I':
		case 'D': {
			if (!*optarg) {
				clear(&extra);
				return cli_error("ktest", "option '%s' needs a value",
						 c == 'I' ? "--include" : "--define");
			}
			char opt[3] = { '-', (char)c, '\0' };
			push(&extra, opt);
			push(&extra, optarg);
			break;
		}
		case 'h':
			clear(&extra);
			usage(stdout);
			return 0;
		default:
			clear(&extra);
			return CLI_EXIT_USAGE;
		}
	}
	const char *sources[MAX_ARGS];
	const char *params[MAX_ARGS];
	int nsrc = 0, nparam = 0;
	int rc = 0;
	if (argc - optind >= MAX_ARGS)
		rc = cli_error("ktest", "more than %d files and parameters", MAX_ARGS - 1);
	for (int i = optind; i < argc && !rc; i++) {
		if (ends_with(argv[i], ".c"))
			sources[nsrc++] = argv[i];
		else if (strchr(argv[i], '=') && argv[i][0] != '=')
			params[nparam++] = argv[i];
		else
			rc = cli_error("ktest", "'%s' is neither FILE.c nor PARAM=VALUE", argv[i]);
	}
	if (!rc && !nsrc)
		rc = cli_error("ktest", "a module source FILE.c is needed");
	if (!rc && compile_only && !output)
		rc = cli_error("ktest", "option '--compile-only' needs '--output FILE'");
	if (!rc)
		rc = check_files(sources, nsrc, output);
	if (rc) {
		clear(&extra);
		return rc;
	}

	const char *pc = getenv("PKG_CONFIG") ? getenv("PKG_CONFIG") : "pkg-config";
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s --cflags labyrinth-kernel", pc);
	char *cflags_pc = capture(cmd);
	cflags_pc = cflags_pc ? strdup(cflags_pc) : NULL;
	snprintf(cmd, sizeof(cmd), "%s --libs labyrinth-kernel", pc);
	char *libs_pc = capture(cmd);
	libs_pc = libs_pc ? strdup(libs_pc) : NULL;
	if (!cflags_pc || !libs_pc) {
		fprintf(stderr, "labyrinth: ktest: `%s --cflags --libs labyrinth-kernel` failed: is "
			"Labyrinth installed (or PKG_CONFIG_PATH set)?\n", pc);
		free(cflags_pc);
		free(libs_pc);
		clear(&extra);
		return 3;
	}

	char dir[] = "/tmp/labyrinth-ktest.XXXXXX";
	const char *tmp = getenv("TMPDIR");
	char dirbuf[4096];
	snprintf(dirbuf, sizeof(dirbuf), "%s/labyrinth-ktest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *work = mkdtemp(dirbuf);
	if (!work)
		work = mkdtemp(dir);
	if (!work) {
		fprintf(stderr, "labyrinth: ktest: cannot make a work directory: %s\n",
			strerror(errno));
		free(cflags_pc);
		free(libs_pc);
		clear(&extra);
		return 3;
	}
	char modname[256], program[4096];
	base_name(sources[0], modname, sizeof(modname));
	if (output)
		snprintf(program, sizeof(program), "%s", output);
	else
		snprintf(program, sizeof(program), "%s/%s", work, modname);

	const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
	struct argv link = { .n = 0 };
	push_words(&link, cc);
	for (int i = 0; i < nsrc && !rc; i++) {
		char base[256], def[600], obj[4096];
		base_name(sources[i], base, sizeof(base));
		snprintf(obj, sizeof(obj), "%s/%d-%s.o", work, i, base);
		struct argv a = { .n = 0 };
		push_words(&a, cc);
		/* The language and semantics kbuild compiles the kernel with. */
		push_words(&a, "-std=gnu11 -O2 -g -Wall -fno-strict-aliasing -fno-strict-overflow "
			       "-fno-delete-null-pointer-checks -fno-common -DMODULE");
		snprintf(def, sizeof(def), "-DKBUILD_MODNAME=\"%s\"", modname);
		push(&a, def);
		snprintf(def, sizeof(def), "-DKBUILD_BASENAME=\"%s\"", base);
		push(&a, def);
		for (int j = 0; j < extra.n; j++)
			push(&a, extra.v[j]);
		push_words(&a, cflags_pc);
		push_words(&a, getenv("CFLAGS"));
		push(&a, "-c");
		push(&a, sources[i]);
		push(&a, "-o");
		push(&a, obj);
		rc = run(&a, verbose);
		clear(&a);
		push(&link, obj);
	}
	if (!rc) {
		/* -rdynamic: %pS and the call traces name the module's functions. */
		push(&link, "-rdynamic");
		push(&link, "-o");
		push(&link, program);
		push(&link, "-llabyrinth-ktest");
		push_words(&link, libs_pc);
		/* Find the libraries where pkg-config found them (a build tree). */
		struct argv libs = { .n = 0 };
		push_words(&libs, libs_pc);
		for (int j = 0; j < libs.n; j++) {
			if (!strncmp(libs.v[j], "-L", 2)) {
				char rpath[4200];
				snprintf(rpath, sizeof(rpath), "-Wl,-rpath,%s", libs.v[j] + 2);
				push(&link, rpath);
			}
		}
		clear(&libs);
		push_words(&link, getenv("CFLAGS"));
		push_words(&link, getenv("LDFLAGS"));
		rc = run(&link, verbose);
	}
	if (rc) {
		fprintf(stderr, "labyrinth: ktest: %s did not compile\n", sources[0]);
		rc = 3;
	} else if (!compile_only) {
		struct argv a = { .n = 0 };
		push(&a, program);
		for (int j = 0; j < nparam; j++)
			push(&a, params[j]);
		setenv("LABYRINTH_DEBUG", "atomic_sleep", 0);
		fflush(NULL);
		rc = run(&a, verbose);
		clear(&a);
		if (rc > 128)
			fprintf(stderr, "labyrinth: ktest: %s died of signal %d (%s)\n", modname,
				rc - 128, strsignal(rc - 128));
		else if (rc == 127)
			fprintf(stderr, "labyrinth: ktest: could not run %s\n", program);
	}
	/* The work directory holds object files and, without -o, the program. */
	struct argv rm = { .n = 0 };
	push(&rm, "rm");
	push(&rm, "-rf");
	push(&rm, work);
	run(&rm, false);
	clear(&rm);
	clear(&link);
	clear(&extra);
	free(cflags_pc);
	free(libs_pc);
	return rc;
}
