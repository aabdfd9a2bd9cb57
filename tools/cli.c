/*
 * cli.c - argument parsing shared by the `labyrinth` commands (cli.h): one
 * error format, "labyrinth: COMMAND: what is wrong", each naming the
 * argument at fault, then "Try 'labyrinth COMMAND --help'."; exit status 2.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 2, 0)))
static void vreport(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "labyrinth: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'labyrinth%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
}

int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(cmd, fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

/* The long option that text ("--name" or "--name=value") names, if any. */
static const struct option *long_option(const struct option *longopts, const char *text)
{
	if (strncmp(text, "--", 2))
		return NULL;
	text += 2;
	size_t len = strcspn(text, "=");
	for (const struct option *o = longopts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, text, len))
			return o;
	return NULL;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char spec[64];
	/* ':' reports a missing value; it follows a leading '+' (stop at the
	 * first operand). */
	bool stop = shortopts[0] == '+';
	snprintf(spec, sizeof(spec), "%s:%s", stop ? "+" : "", shortopts + stop);
	opterr = 0;
	int c = getopt_long(argc, argv, spec, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	const char *text = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	char shortname[3] = { '-', (char)optopt, '\0' };
	/* A short option inside a cluster ("-xh"): name the letter itself. */
	if (optopt && strncmp(text, "--", 2))
		text = shortname;
	const struct option *o = long_option(longopts, text);
	if (c == ':')
		cli_error(cmd, "option '%s' needs a value", text);
	else if (o && o->has_arg == no_argument && strchr(text, '='))
		cli_error(cmd, "option '--%s' takes no value ('%s')", o->name, text);
	else
		cli_error(cmd, "unknown option '%s'", text);
	return '?';
}

bool cli_double(const char *cmd, const char *opt, const char *arg, double min, double max,
		double *out)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (end == arg || *end || errno || isnan(v) || v < min || v > max) {
		cli_error(cmd, "%s '%s': not a number from %g to %g", opt, arg, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool cli_ulong(const char *cmd, const char *opt, const char *arg, unsigned long min,
	       unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	/* strtoul would take "-1" as ULONG_MAX. */
	const char *p = arg + strspn(arg, " \t");
	unsigned long v = strtoul(arg, &end, 0);
	if (*p == '-' || end == arg || *end || errno || v < min || v > max) {
		cli_error(cmd, "%s '%s': not a whole number from %lu to %lu", opt, arg, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool cli_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind >= argc)
		return true;
	cli_error(cmd, "unexpected argument '%s'", argv[optind]);
	return false;
}
