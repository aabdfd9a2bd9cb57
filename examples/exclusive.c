/* exclusive.c - the README's exclusive-pages example as a program: a zone
 * out of the kernel's direct map (memfd_secret), with guard pages and a
 * protection key, asked for strictly first; where this machine cannot give
 * all of it, the program says why and takes the best it can get, as
 * lab_zone_describe() shows.
 *
 *   cc exclusive.c $(pkg-config --cflags --libs labyrinth) -o exclusive && ./exclusive
 */
#include <errno.h>
#include <labyrinth.h>
#include <stdio.h>
#include <string.h>

/* Stands for real key material. */
static void derive_key(unsigned char *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (unsigned char)(i * 131 + 7);
}

int main(void)
{
	struct lab_zone_config cfg = {
		.name = "keys", .pages = 256,
		/* memfd_secret (implies locked, not dumped, not inherited), guard
		 * pages, a protection key; fail rather than fall back */
		.flags = LAB_ZONE_SECRET | LAB_ZONE_GUARD | LAB_ZONE_PKEY | LAB_ZONE_STRICT,
	};
	struct lab_zone *keys = lab_zone_create(&cfg);
	if (!keys) {
		/* e.g. ENOTSUP without protection keys, ENOSYS without memfd_secret,
		 * EAGAIN beyond RLIMIT_MEMLOCK */
		printf("strict zone: %s; taking what this machine gives instead\n",
		       strerror(errno));
		cfg.flags &= ~LAB_ZONE_STRICT;
		keys = lab_zone_create(&cfg);
		if (!keys) {
			perror("lab_zone_create");
			return 1;
		}
	}
	lab_zone_describe(keys, stdout);  /* what is in force, and why not */

	struct lab_page *page = lab_alloc_page(keys, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	if (!page) {
		fprintf(stderr, "no page\n");
		return 1;
	}
	lab_zone_grant(keys);             /* this thread may touch the pages */
	unsigned char *key = lab_page_address(page);
	derive_key(key, 32);
	int sum = 0;
	for (int i = 0; i < 32; i++)
		sum += key[i];
	lab_zone_revoke(keys);            /* WRPKRU: no syscall */
	lab_free_page(page);              /* scrubbed before anyone can get it */

	struct lab_zone_stats st;
	lab_zone_get_stats(keys, &st);
	printf("key checksum %d; exclusive blocks %llu, refused %llu\n", sum,
	       (unsigned long long)st.exclusive_alloc, (unsigned long long)st.owner_refused);
	int broken = lab_zone_check(keys);
	lab_zone_destroy(keys);
	return broken || st.exclusive_alloc != 1;
}
