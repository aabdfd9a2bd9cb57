/* hello.c - built against an installed Labyrinth by tests/install/install.sh,
 * once through pkg-config and once through CMake's find_package(labyrinth). */
#include <labyrinth.h>
#include <stdio.h>

int main(void)
{
	struct lab_zone_config cfg = { .name = "hello", .pages = 64 };
	struct lab_zone *z = lab_zone_create(&cfg);
	if (!z)
		return 1;
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_ATOMIC | LAB_GFP_ZERO);
	if (!p || *(char *)lab_page_address(p) != 0)
		return 2;
	lab_free_page(p);
	int broken = lab_zone_check(z);
	lab_zone_destroy(z);
	printf("hello from labyrinth %d.%d.%d (%s)\n", LAB_VERSION_MAJOR, LAB_VERSION_MINOR,
	       LAB_VERSION_PATCH, lab_pcp_mode_name());
	return broken ? 3 : 0;
}
