/*
 * ktest_main.c - main() of a module run in userspace (liblabyrinth-ktest.a,
 * linked by `labyrinth ktest`): the module runner, lab_ktest_main().
 */
#include "lab_kernel.h"

int main(int argc, char **argv)
{
	return lab_ktest_main(argc, argv);
}
