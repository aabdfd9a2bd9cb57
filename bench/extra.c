/* extra.c - the benchmarks of other subsystems that `labyrinth bench` runs
 * after the allocator comparison. */
#include "bench.h"
#include "bench_exclusive.h"
#include "bench_slab.h"

#include <stdio.h>

void bench_extra(bool json)
{
	if (json)
		printf(", \"exclusive\": ");
	else
		printf("\nExclusive pages against libsodium and OpenSSL's secure heap:\n\n");
	fflush(stdout);
	bench_exclusive_run(stdout, json);
	if (json)
		printf(", \"slab\": ");
	else
		printf("\nObjects (the slab layer) against malloc, libsodium and OpenSSL:\n\n");
	fflush(stdout);
	bench_slab_run(stdout, json, false);
}
