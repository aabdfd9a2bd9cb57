/*
 * boot.c - what a kernel sets up before any module runs: the boot
 * parameters (LABYRINTH_KERNEL_CMDLINE, read when the library loads), the
 * zone kernel-style allocations come from, with its kmalloc caches, and
 * RCU's callback thread (made on first use).
 *
 * Exports lab_kernel_init_on_alloc, lab_kernel_init_on_free,
 * lab_kernel_loglevel, lab__kernel_panic_on_warn, lab_kernel_zone_ptr and
 * lab_kernel_zone_slow().
 */
#include "kernel.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lab_kernel_init_on_alloc;
bool lab_kernel_init_on_free;
int lab_kernel_loglevel = 7;	/* CONSOLE_LOGLEVEL_DEFAULT: all but debug */
bool lab__kernel_panic_on_warn;

struct lab_zone *lab_kernel_zone_ptr;
static pthread_once_t zone_once = PTHREAD_ONCE_INIT;

/*
 * The kernel zone: the slab layer's default zone, so that pages, kmalloc and
 * caches share one zone, as in the kernel (its size and flags from
 * LABYRINTH_ZONE).
 */
static void zone_create(void)
{
	/* The zone comes with its kmalloc caches, as the kernel makes them at
	 * boot (create_kmalloc_caches()): a module's first kmalloc may be
	 * GFP_ATOMIC under a spinlock. */
	struct lab_zone *z = lab_default_zone();
	if (!z) {
		fprintf(stderr, "Kernel panic - not syncing: labyrinth-kernel: cannot create the "
			"kernel zone: %s\n", strerror(errno));
		abort();
	}
	/* RCU's callback thread, and the grace period of TYPESAFE_BY_RCU caches:
	 * before any cache is made. */
	lab__kernel_rcu_boot();
	__atomic_store_n(&lab_kernel_zone_ptr, z, __ATOMIC_RELEASE);
}

struct lab_zone *lab_kernel_zone_slow(void)
{
	pthread_once(&zone_once, zone_create);
	return lab_kernel_zone_ptr;
}

/* One "key=value" word of the command line; unknown keys are not ours. */
static void boot_param(const char *key, const char *val)
{
	bool *flag = NULL;
	if (!strcmp(key, "init_on_alloc"))
		flag = &lab_kernel_init_on_alloc;
	else if (!strcmp(key, "init_on_free"))
		flag = &lab_kernel_init_on_free;
	else if (!strcmp(key, "panic_on_warn"))
		flag = &lab__kernel_panic_on_warn;
	if (flag) {
		if (!val || lab_kernel_kstrtobool(val, flag))
			fprintf(stderr, "labyrinth-kernel: LABYRINTH_KERNEL_CMDLINE: %s: bad value "
				"'%s' (expected 0 or 1); left %s\n", key, val ? val : "",
				*flag ? "on" : "off");
		return;
	}
	if (!strcmp(key, "loglevel")) {
		long long level;
		if (!val || lab_kernel_kstrtoll(val, 10, &level) || level < 0 || level > 15)
			fprintf(stderr, "labyrinth-kernel: LABYRINTH_KERNEL_CMDLINE: loglevel: bad "
				"value '%s' (expected 0..15); left %d\n", val ? val : "",
				lab_kernel_loglevel);
		else
			lab_kernel_loglevel = (int)level;
	}
}

__attribute__((constructor)) static void boot(void)
{
	if (lab_page_size() != LAB_KERNEL_PAGE_SIZE) {
		fprintf(stderr, "Kernel panic - not syncing: labyrinth-kernel: the kernel headers "
			"have PAGE_SIZE %d, this system %zu\n", LAB_KERNEL_PAGE_SIZE,
			lab_page_size());
		abort();
	}
	const char *cmdline = getenv("LABYRINTH_KERNEL_CMDLINE");
	if (!cmdline)
		return;
	char buf[1024];
	if (strlen(cmdline) >= sizeof(buf)) {
		fprintf(stderr, "labyrinth-kernel: LABYRINTH_KERNEL_CMDLINE: longer than %zu "
			"characters; ignored\n", sizeof(buf) - 1);
		return;
	}
	strcpy(buf, cmdline);
	char *save = NULL;
	for (char *word = strtok_r(buf, " \t\n", &save); word; word = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(word, '=');
		if (eq)
			*eq++ = '\0';
		boot_param(word, eq);
	}
}
