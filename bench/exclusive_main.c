/* exclusive_main.c - the bench_exclusive executable: `bench_exclusive [--json]`. */
#include "bench_exclusive.h"

#include <string.h>

int main(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	return bench_exclusive_run(stdout, json) ? 1 : 0;
}
