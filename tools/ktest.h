/* ktest.h - `labyrinth ktest` (tools/ktest.c). */
#ifndef LAB_TOOLS_KTEST_H
#define LAB_TOOLS_KTEST_H

/* argv[0] is "ktest"; returns the exit status. */
int lab_tool_ktest(int argc, char **argv);

#endif /* LAB_TOOLS_KTEST_H */
