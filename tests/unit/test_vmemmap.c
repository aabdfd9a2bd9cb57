/* test_vmemmap.c - the descriptor range (zone.h, struct lab__vmemmap): every
 * zone's descriptors in a slot of one reservation, validated in O(1).  What
 * lies in the range but is no live descriptor is refused (a free slot,
 * beyond the zone's managed pages, inside a descriptor, a destroyed zone's);
 * the range is inaccessible and left out of core dumps where nothing is
 * committed (smaps); LAB_MAX_ZONES zones come and go twice; and the
 * fallbacks, in children under RLIMIT_AS: no range at all (every zone
 * validated by a walk), and a smaller range whose slots a large zone does
 * not fit (that zone alone walked). */
#include "helpers.h"
#include "page/zone.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16];

static uintptr_t range_base(void)
{
	return atomic_load(&lab__vmemmap.base);
}

static size_t slot_bytes(void)
{
	return (size_t)1 << atomic_load(&lab__vmemmap.shift);
}

static struct lab_zone *zone_cfg(size_t pages, size_t max_pages)
{
	struct lab_zone_config cfg = { .name = "vmemmap", .pages = pages,
		.flags = LAB_ZONE_NO_KSWAPD | (max_pages ? LAB_ZONE_GROW : 0),
		.max_pages = max_pages };
	return lab_zone_create(&cfg);
}

/* A zone, and the range in force in this process (a counted skip without). */
static struct lab_zone *zone_in_range(size_t pages)
{
	struct lab_zone *z = make_zone(pages, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	if (!atomic_load(&lab__vmemmap.bytes))
		cr_skip_test("no descriptor range in this process (address space refused)");
	return z;
}

/* The smaps entry holding addr: its permissions and whether VmFlags has dd. */
static bool smaps_at(const void *addr, char perms[8], bool *dontdump)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	cr_assert_not_null(f);
	char line[512];
	bool in = false, found = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char p[8];
		if (sscanf(line, "%lx-%lx %7s", &s, &e, p) == 3) {
			in = (uintptr_t)addr >= s && (uintptr_t)addr < e;
			if (in)
				memcpy(perms, p, 8);
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			*dontdump = strstr(line, " dd") != NULL;
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

Test(vmemmap, descriptors_lie_in_their_slot_committed_as_used_the_rest_inaccessible)
{
	struct lab_zone *z = zone_in_range(256);
	uintptr_t slot = (uintptr_t)z->pages - range_base();
	cr_assert_eq(slot % slot_bytes(), 0);
	cr_assert_eq(atomic_load(&lab__vmemmap.zone[slot / slot_bytes()]), z);
	cr_assert_not(z->desc_outside);
	struct lab_page *p = lab_alloc_page(z, LAB_GFP_KERNEL);
	cr_assert_eq(lab__zone_of_desc(p), z);
	cr_assert_eq(lab__zone_of_desc(&z->pages[255]), z);
	lab_free_page(p);
	if (running_on_valgrind())
		cr_skip_test("Valgrind's view of the mappings is its own");
	char perms[8];
	bool dd = false;
	cr_assert(smaps_at(z->pages, perms, &dd));
	cr_assert_str_eq(perms, "rw-p");
	cr_assert_not(dd, "committed descriptors are dumped, as before the range");
	uintptr_t after = ((uintptr_t)&z->pages[256] + lab_page_size() - 1) &
			  ~(uintptr_t)(lab_page_size() - 1);
	cr_assert(smaps_at((void *)after, perms, &dd));
	cr_assert_str_eq(perms, "---p");
	cr_assert(dd, "the reserved range is left out of core dumps");
	lab_zone_destroy(z);
	cr_assert(smaps_at((void *)(range_base() + slot), perms, &dd));
	cr_assert_str_eq(perms, "---p", "a destroyed zone's descriptors go back to PROT_NONE");
	cr_assert(dd);
}

Test(vmemmap, pointers_in_the_range_that_are_no_live_descriptor_are_refused)
{
	struct lab_zone *z = zone_in_range(64);
	struct lab_zone *gone = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *stale = lab_alloc_page(gone, LAB_GFP_KERNEL);
	cr_assert_eq(lab__zone_of_desc(stale), gone);
	lab_zone_destroy(gone);  /* reports the page still allocated */
	cr_assert_null(lab__zone_of_desc(stale), "a destroyed zone's descriptor");

	/* A free slot: the first one no zone holds. */
	int free_slot = -1;
	for (int i = 0; i < LAB_MAX_ZONES && free_slot < 0; i++)
		if (!atomic_load(&lab__registry[i]))
			free_slot = i;
	cr_assert_geq(free_slot, 0);
	uintptr_t in_free = range_base() + (uintptr_t)free_slot * slot_bytes();
	cr_assert_null(lab__zone_of_desc((void *)in_free));
	cr_assert_null(lab__zone_of_desc((void *)(in_free + slot_bytes() - 32)));
	/* Beyond managed, inside a descriptor, and the last byte of the range. */
	cr_assert_eq(lab__zone_of_desc(&z->pages[63]), z);
	cr_assert_null(lab__zone_of_desc(&z->pages[64]));
	cr_assert_null(lab__zone_of_desc((char *)&z->pages[5] + 8));
	cr_assert_null(lab__zone_of_desc((char *)&z->pages[5] + 31));
	cr_assert_null(lab__zone_of_desc((void *)(range_base() +
						  atomic_load(&lab__vmemmap.bytes) - 32)));
	cr_assert_null(lab__zone_of_desc((void *)(range_base() - 32)));
	uintptr_t end = range_base() + atomic_load(&lab__vmemmap.bytes);
	cr_assert_null(lab__zone_of_desc((void *)end));
	assert_zone_ok(z);
	struct lab_page *first = &z->pages[0];
	lab_zone_destroy(z);
	cr_assert_null(lab__zone_of_desc(first));
}

/* Growth commits more of the slot; the bound follows managed. */
Test(vmemmap, a_grown_zone_validates_its_new_descriptors)
{
	struct lab_zone *z = zone_cfg(64, 1024);
	cr_assert_not_null(z);
	if (!atomic_load(&lab__vmemmap.bytes))
		cr_skip_test("no descriptor range in this process (address space refused)");
	cr_assert_null(lab__zone_of_desc(&z->pages[64]));
	cr_assert_eq(lab__zone_add_pages(z, 64), 0);
	cr_assert_eq(lab__zone_of_desc(&z->pages[64]), z);
	cr_assert_eq(lab__zone_of_desc(&z->pages[127]), z);
	cr_assert_null(lab__zone_of_desc(&z->pages[128]));
	assert_zone_ok(z);
	lab_zone_destroy(z);
}

/* The bad descriptors reach the Bad page report through lab_free_pages. */
static void free_bad_descriptors(void *arg)
{
	(void)arg;
	struct lab_zone *z = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_zone *gone = make_zone(64, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_page *stale = lab_alloc_page(gone, LAB_GFP_KERNEL);
	lab_zone_destroy(gone);
	lab_free_pages(stale, 0);                      /* a destroyed zone's */
	lab_free_pages(&z->pages[64], 0);              /* beyond managed */
	lab_free_pages((struct lab_page *)(void *)((char *)&z->pages[3] + 16), 0);
	if (lab_zone_check(z) || zone_free_all(z) != 64)
		_exit(3);
	_exit(0);
}

Test(vmemmap, frees_of_bad_descriptors_are_reported_and_change_nothing)
{
	int status = run_in_child(free_bad_descriptors, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	cr_assert_eq(count_of(out, "not a page descriptor of any zone"), 3, "%s", out);
}

/* Every index, used and given back, twice: a slot comes back clean. */
Test(vmemmap, max_zones_created_used_and_destroyed_twice, .timeout = 120)
{
	struct lab_zone *zones[LAB_MAX_ZONES + 1];
	struct lab_page *last[LAB_MAX_ZONES];
	int live = 0;
	for (int i = 0; i < LAB_MAX_ZONES; i++)
		live += atomic_load(&lab__registry[i]) != NULL;
	for (int round = 0; round < 2; round++) {
		int n = 0;
		for (;;) {
			errno = 0;
			struct lab_zone *z = zone_cfg(32, 0);
			if (!z) {
				cr_assert_eq(errno, ENFILE);
				break;
			}
			cr_assert_lt(n, LAB_MAX_ZONES);
			zones[n++] = z;
		}
		cr_assert_eq(n + live, LAB_MAX_ZONES);
		for (int i = 0; i < n; i++) {
			struct lab_page *p = lab_alloc_pages(zones[i], LAB_GFP_KERNEL, 2);
			cr_assert_not_null(p);
			cr_assert_eq(lab__zone_of_desc(p), zones[i]);
			if (round)  /* a reused slot holds only the new zone's descriptors */
				cr_assert_eq(p, last[i]);
			last[i] = p;
			lab_free_pages(p, 2);
			assert_zone_ok(zones[i]);
		}
		for (int i = 0; i < n; i++) {
			lab_zone_destroy(zones[i]);
			cr_assert_null(lab__zone_of_desc(last[i]));
		}
	}
}

/* ---- the fallbacks, under RLIMIT_AS ------------------------------------ */

static uint64_t vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	CHILD_CHECK(f);
	char line[256];
	unsigned long long kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

static void limit_address_space(uint64_t more)
{
	CHILD_CHECK(!atomic_load(&lab__vmemmap.base));  /* no zone made in this process yet */
	uint64_t lim = vm_size() + more;
	struct rlimit rl = { lim, lim };
	CHILD_CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
}

/* Alloc, free and the refusals of a zone however its descriptors lie. */
static void use_zone(struct lab_zone *z)
{
	CHILD_CHECK(z);
	struct lab_page *p = lab_alloc_pages(z, LAB_GFP_KERNEL, 1);
	CHILD_CHECK(p && lab__zone_of_desc(p) == z);
	CHILD_CHECK(lab__zone_of_desc(&z->pages[atomic_load(&z->managed) - 1]) == z);
	CHILD_CHECK(!lab__zone_of_desc(&z->pages[atomic_load(&z->managed)]));
	CHILD_CHECK(!lab__zone_of_desc((char *)p + 8));
	lab_free_pages(p, 1);
	CHILD_CHECK(lab_zone_check(z) == 0);
}

static void no_range_child(void *arg)
{
	(void)arg;
	limit_address_space((uint64_t)256 << 20);  /* a small zone fits; the smallest range not */
	struct lab_zone *a = zone_cfg(64, 0), *b = zone_cfg(64, 0);
	CHILD_CHECK(!atomic_load(&lab__vmemmap.bytes));
	CHILD_CHECK(atomic_load(&lab__vmemmap.nr_outside) == 2);
	CHILD_CHECK(a && b && a->desc_outside && b->desc_outside);
	use_zone(a);
	use_zone(b);
	struct lab_page *stale = lab_alloc_page(b, LAB_GFP_KERNEL);
	lab_zone_destroy(b);
	CHILD_CHECK(!lab__zone_of_desc(stale));
	CHILD_CHECK(atomic_load(&lab__vmemmap.nr_outside) == 1);
	lab_zone_destroy(a);
	CHILD_CHECK(atomic_load(&lab__vmemmap.nr_outside) == 0);
	_exit(0);
}

/* Run child under its RLIMIT_AS (not where a tool maps memory of its own):
 * it passes its checks, and the refused range is reported once, saying
 * what it says. */
static void run_limited(void (*child)(void *), const char *says)
{
#if defined(__SANITIZE_THREAD__)
	cr_skip_test("the sanitizer maps memory of its own under RLIMIT_AS");
#endif
	if (running_on_valgrind())
		cr_skip_test("Valgrind emulates the address space");
	int status = run_in_child(child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, out);
	cr_assert_eq(count_of(out, "labyrinth: descriptor range: "), 1, "reported once:\n%s", out);
	cr_assert(strstr(out, says), "%s", out);
}

Test(vmemmap, without_the_range_every_zone_is_validated_by_a_walk, .timeout = 60)
{
	run_limited(no_range_child, "every zone maps its descriptors apart");
}

static void small_range_child(void *arg)
{
	(void)arg;
	limit_address_space((uint64_t)4 << 30);
	struct lab_zone *small = zone_cfg(64, 0);
	CHILD_CHECK(small);
	uintptr_t bytes = atomic_load(&lab__vmemmap.bytes);
	CHILD_CHECK(bytes && bytes < ((uint64_t)LAB_MAX_ZONES << LAB_VMEMMAP_FULL_SHIFT));
	CHILD_CHECK(!small->desc_outside);
	/* A zone whose descriptors (reserved for max_pages) exceed a slot. */
	size_t max = slot_bytes() / sizeof(struct lab_page) * 2;
	struct lab_zone *big = zone_cfg(64, max);
	CHILD_CHECK(big && big->desc_outside);
	CHILD_CHECK(atomic_load(&lab__vmemmap.nr_outside) == 1);
	use_zone(small);
	use_zone(big);
	/* The big zone's index has a slot too: nothing there is a descriptor. */
	uintptr_t big_slot = range_base() + (uintptr_t)big->slot * slot_bytes();
	CHILD_CHECK(!lab__zone_of_desc((void *)big_slot));
	lab_zone_destroy(big);
	CHILD_CHECK(atomic_load(&lab__vmemmap.nr_outside) == 0);
	lab_zone_destroy(small);
	_exit(0);
}

Test(vmemmap, a_zone_larger_than_a_smaller_range_s_slot_is_validated_by_a_walk, .timeout = 60)
{
	run_limited(small_range_child, "map their descriptors apart");
}
