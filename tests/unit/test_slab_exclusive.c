/* test_slab_exclusive.c - exclusive objects (lab_kmalloc with
 * LAB_GFP_EXCLUSIVE, LAB_SLAB_EXCLUSIVE caches) have the properties of
 * exclusive pages, checked through the OS: zeroed when handed out, scrubbed
 * when freed (read back through /proc/self/mem, not through our mapping),
 * absent in a forked child, unreadable through /proc/self/mem and
 * process_vm_readv where memfd_secret exists (and the fallback reported
 * where it does not); krealloc keeps a secret secret; any thread may free
 * them. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static bool machine_has_memfd_secret(void)
{
	int fd = (int)syscall(SYS_memfd_secret, 0);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool all_bytes(const void *p, size_t len, unsigned char c)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* Read len bytes at addr through the kernel (/proc/self/mem): -errno or len. */
static ssize_t kernel_read(const void *addr, void *buf, size_t len)
{
	int fd = open("/proc/self/mem", O_RDONLY);
	cr_assert_geq(fd, 0);
	ssize_t n = pread(fd, buf, len, (off_t)(uintptr_t)addr);
	int err = errno;
	close(fd);
	return n < 0 ? -err : n;
}

struct probe {
	const unsigned char *addr;
	size_t len;
};

/* In the child: 0 if it reads zeroes, 1 if it reads the parent's data. */
static int child_reads(void *arg)
{
	struct probe *p = arg;
	return all_bytes(p->addr, p->len, 0) ? 0 : 1;
}

Test(slab_exclusive, objects_are_zeroed_when_handed_out)
{
	static unsigned char *o[2000];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 2000; i++) {
			o[i] = lab_kmalloc(32, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
			cr_assert_not_null(o[i]);
			cr_assert(all_bytes(o[i], 32, 0), "round %d object %d not zero", round, i);
			memset(o[i], 0xa5, 32);
		}
		for (int i = 0; i < 2000; i++)
			lab_kfree(o[i]);
	}
	/* Every size class and the large blocks. */
	for (size_t size = 1; size <= 20000; size = size * 3 + 1) {
		unsigned char *p = lab_kmalloc(size, LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
		cr_assert_not_null(p, "size %zu", size);
		cr_assert(all_bytes(p, size, 0), "size %zu", size);
		cr_assert_eq(lab_page_zone(lab_virt_to_page(p)), lab_default_exclusive_zone());
		memset(p, 0x77, size);
		lab_kfree(p);
	}
}

Test(slab_exclusive, objects_are_scrubbed_when_freed)
{
	/* An exclusive cache on a plain zone, so that the kernel can show us
	 * the freed bytes (a secret zone would refuse to). */
	struct lab_zone *z = make_zone(256, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-scrub", 100, 0,
							 LAB_SLAB_EXCLUSIVE, NULL);
	cr_assert_not_null(c);
	unsigned char buf[100];
	unsigned char *o = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	cr_assert(all_bytes(o, 100, 0));
	memset(o, 0x5e, 100);
	cr_assert_eq(kernel_read(o, buf, 100), 100);
	cr_assert(all_bytes(buf, 100, 0x5e), "the control: the kernel reads the live object");
	lab_kmem_cache_free(c, o);
	cr_assert_eq(kernel_read(o, buf, 100), 100);
	cr_assert(all_bytes(buf, 100, 0), "the freed object still holds the secret");
	/* Shrunk away, the slab's page is scrubbed as a whole. */
	unsigned char *p = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	memset(p, 0x6f, 100);
	lab_kmem_cache_free(c, p);
	lab_kmem_cache_shrink(c);
	unsigned char page[4096];
	char *base = lab_page_address(lab_virt_to_page(p));
	cr_assert_eq(kernel_read(base, page, sizeof(page)), (ssize_t)sizeof(page));
	for (size_t i = 0; i < sizeof(page); i++)
		cr_assert_neq(page[i], 0x6f, "byte %zu of the slab's page", i);
	/* A large exclusive kmalloc block likewise. */
	unsigned char *big = lab_kmalloc(3 * lab_page_size(), LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
	memset(big, 0x3c, 3 * lab_page_size());
	lab_kfree(big);
	lab_kmem_cache_destroy(c);
	lab_zone_destroy(z);
}

Test(slab_exclusive, a_forked_child_cannot_see_them)
{
	unsigned char *small = lab_kmalloc(32, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	unsigned char *big = lab_kmalloc(2 * lab_page_size(), LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
	memset(small, 0x5a, 32);
	memset(big, 0x5a, 2 * lab_page_size());
	struct probe ps = { small, 32 }, pb = { big, 2 * lab_page_size() };
	int st = in_child(child_reads, &ps);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
		  "the child touched the secret object (status %#x)", st);
	st = in_child(child_reads, &pb);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x", st);
	cr_assert(all_bytes(small, 32, 0x5a), "the parent keeps its data");
	/* The control: an ordinary object is copied into the child. */
	unsigned char *plain = lab_kmalloc(32, LAB_GFP_ATOMIC);
	memset(plain, 0x5a, 32);
	struct probe pp = { plain, 32 };
	st = in_child(child_reads, &pp);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x", st);
	lab_kfree(plain);
	lab_kfree(small);
	lab_kfree(big);
}

Test(slab_exclusive, the_kernel_cannot_read_them_where_memfd_secret_exists)
{
	struct lab_zone *z = lab_default_exclusive_zone();
	cr_assert_not_null(z);
	struct lab_zone_stats st;
	lab_zone_get_stats(z, &st);
	unsigned char *o = lab_kmalloc(32, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	memset(o, 0x5a, 32);
	unsigned char buf[32] = { 0 };
	if (!machine_has_memfd_secret()) {
		/* The honest fallback: reported in the zone's statistics. */
		cr_assert(st.prot_fallback & LAB_ZONE_SECRET);
		cr_assert(st.prot_in_force & LAB_ZONE_DONTFORK);
		lab_kfree(o);
		cr_skip_test("no memfd_secret: the zone fell back (checked), the kernel can read it");
	}
	cr_assert(st.prot_in_force & LAB_ZONE_SECRET, "in force %#x", st.prot_in_force);
	cr_assert_lt(kernel_read(o, buf, 32), 0, "/proc/self/mem read a secret object");
	struct iovec local = { buf, 32 }, remote = { o, 32 };
	errno = 0;
	cr_assert_lt(process_vm_readv(getpid(), &local, 1, &remote, 1, 0), 0);
	cr_assert(all_bytes(buf, 32, 0), "secret bytes leaked into the buffer");
	/* The control: an ordinary object reads fine. */
	unsigned char *plain = lab_kmalloc(32, LAB_GFP_ATOMIC);
	memset(plain, 0x5a, 32);
	cr_assert_eq(kernel_read(plain, buf, 32), 32);
	cr_assert(all_bytes(buf, 32, 0x5a));
	lab_kfree(plain);
	lab_kfree(o);
}

Test(slab_exclusive, krealloc_keeps_a_secret_exclusive)
{
	unsigned char *o = lab_kmalloc(16, LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
	memset(o, 0x42, 16);
	unsigned char *p = lab_krealloc(o, 5000, LAB_GFP_KERNEL);  /* no EXCLUSIVE asked */
	cr_assert_not_null(p);
	cr_assert_eq(lab_page_zone(lab_virt_to_page(p)), lab_default_exclusive_zone(),
		     "moved to ordinary memory");
	cr_assert(all_bytes(p, 16, 0x42));
	cr_assert(all_bytes(p + 16, 5000 - 16, 0), "the rest is zero");
	lab_kfree_sensitive(p);
}

static void *free_it(void *arg)
{
	lab_kfree(arg);
	return NULL;
}

Test(slab_exclusive, any_thread_may_free_them)
{
	void *o = lab_kmalloc(64, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	void *big = lab_kmalloc(3 * lab_page_size(), LAB_GFP_KERNEL | LAB_GFP_EXCLUSIVE);
	pthread_t t;
	pthread_create(&t, NULL, free_it, o);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, free_it, big);
	pthread_join(t, NULL);
	struct lab_zone_stats st;
	lab_zone_get_stats(lab_default_exclusive_zone(), &st);
	cr_assert_eq(st.owner_refused, 0);
	cr_assert_eq(st.bad_page, 0);
}

Test(slab_exclusive, an_exclusive_cache_refuses_nothing_and_plain_gfp_works)
{
	struct lab_kmem_cache *c = lab_kmem_cache_create(NULL, "t-excl", 48, 0, LAB_SLAB_EXCLUSIVE,
							 NULL);
	cr_assert_not_null(c);
	void *a = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC);
	void *b = lab_kmem_cache_alloc(c, LAB_GFP_ATOMIC | LAB_GFP_EXCLUSIVE);
	cr_assert(a && b);
	cr_assert_eq(lab_page_zone(lab_virt_to_page(a)), lab_default_exclusive_zone(),
		     "a NULL zone means the exclusive zone");
	lab_kmem_cache_free(c, a);
	lab_kmem_cache_free(c, b);
	lab_kmem_cache_destroy(c);
}
