/* cli.h - the argument conventions every `labyrinth` command keeps: GNU long
 * options (getopt_long), --help on stdout with exit status 0, and any bad,
 * missing or extra argument named on stderr as "labyrinth: COMMAND: ..."
 * with exit status 2, before the command does any work. */
#ifndef LAB_TOOL_CLI_H
#define LAB_TOOL_CLI_H

#include <getopt.h>
#include <stdbool.h>

#define CLI_EXIT_USAGE 2

/* getopt_long over argv (argv[0] is the command's name; set optind = 0
 * before the first call, GNU getopt's full reset) with getopt's own
 * messages off: returns the option's value, -1 after the last
 * option (the operands are then argv[optind..argc-1]), or '?' once a bad
 * option has been reported.  shortopts without the leading ':'; a leading
 * '+' stops at the first operand (a command's own options follow it). */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* Report a usage error: "labyrinth: CMD: MESSAGE" and a pointer to --help
 * (cmd NULL for the top level).  Returns CLI_EXIT_USAGE. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse the value of option opt as a number in [min, max]; a bad one is
 * reported (naming opt and the value) and gives false. */
bool cli_double(const char *cmd, const char *opt, const char *arg, double min, double max,
		double *out);
bool cli_ulong(const char *cmd, const char *opt, const char *arg, unsigned long min,
	       unsigned long max, unsigned long *out);

/* No operands left after the options: otherwise report the first one. */
bool cli_no_operands(const char *cmd, int argc, char **argv);

#endif
