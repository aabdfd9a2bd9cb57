/* extra.c - the benchmarks of other subsystems that `labyrinth bench` runs
 * after the allocator comparison. */
#include "bench.h"

void bench_extra(bool json)
{
	(void)json;
}
