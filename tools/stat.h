/* stat.h - `labyrinth stat` and `labyrinth top`: another process's zones,
 * read from its live export (lab_stats_export_enable / LABYRINTH_EXPORT=1). */
#ifndef LAB_TOOL_STAT_H
#define LAB_TOOL_STAT_H

/* argv[0] is the command name; return the exit status. */
int lab_tool_stat(int argc, char **argv);
int lab_tool_top(int argc, char **argv);

#endif
