/* run.h - `labyrinth run` (tools/run.c). */
#ifndef LAB_TOOL_RUN_H
#define LAB_TOOL_RUN_H

/* argv[0] is "run".  Execs the command; returns only on error (2 usage,
 * 126/127 as a shell does). */
int lab_tool_run(int argc, char **argv);
/* The library `labyrinth run` preloads, or NULL if none is found. */
const char *lab_tool_malloc_lib(void);

#endif
