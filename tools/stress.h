/* stress.h - `labyrinth stress` (tools/stress.c), called by tools/main.c. */
#ifndef LAB_TOOLS_STRESS_H
#define LAB_TOOLS_STRESS_H

/* argv[0] is "stress"; returns the process exit status. */
int stress_main(int argc, char **argv);

#endif
