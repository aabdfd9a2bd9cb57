/* test_slab_rcu.c - LAB_SLAB_TYPESAFE_BY_RCU caches, as the kernel-compat
 * layer relies on them: a freed object keeps its contents and is handed out
 * again at once, for the same cache; a slab's pages go back to the zone only
 * when the caller's grace period (lab_slab_set_grace_period) is over, and a
 * destroyed cache's own memory only after its last slab's; the rules of
 * creation. */
#include "helpers.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

/* The test's grace period: callbacks wait on a list until the test says the
 * grace period is over. */
static _Atomic(struct lab_rcu_head *) waiting;
static _Atomic int deferred;

static void defer(struct lab_rcu_head *head, void (*fn)(struct lab_rcu_head *head))
{
	head->func = fn;
	struct lab_rcu_head *old = atomic_load(&waiting);
	do
		head->next = old;
	while (!atomic_compare_exchange_weak(&waiting, &old, head));
	atomic_fetch_add(&deferred, 1);
}

/* Every reader is done: run the callbacks; how many ran. */
static int grace_period_ends(void)
{
	int n = 0;
	for (struct lab_rcu_head *h = atomic_exchange(&waiting, NULL), *next; h; h = next) {
		next = h->next;
		h->func(h);
		n++;
	}
	return n;
}

static struct lab_kmem_cache_stats cstats(const struct lab_kmem_cache *c)
{
	struct lab_kmem_cache_stats st;
	lab_kmem_cache_get_stats(c, &st);
	return st;
}

static struct lab_zone *quiet_zone(size_t pages)
{
	return make_zone(pages, 0, 0, 0, LAB_ZONE_NO_KSWAPD);
}

struct thing {
	uint64_t key;
	char payload[40];
};

Test(slab_rcu, needs_a_grace_period_and_is_not_exclusive)
{
	struct lab_zone *z = quiet_zone(512);
	lab_slab_set_grace_period(NULL);
	errno = 0;
	cr_assert_null(lab_kmem_cache_create(z, "t-rcu", sizeof(struct thing), 0,
					     LAB_SLAB_TYPESAFE_BY_RCU, NULL));
	cr_assert_eq(errno, EINVAL, "no grace period registered");
	lab_slab_set_grace_period(defer);
	errno = 0;
	cr_assert_null(lab_kmem_cache_create(NULL, "t-rcu-x", 32, 0,
					     LAB_SLAB_TYPESAFE_BY_RCU | LAB_SLAB_EXCLUSIVE, NULL));
	cr_assert_eq(errno, EINVAL, "an exclusive object is scrubbed on free");
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-rcu", sizeof(struct thing), 0,
							 LAB_SLAB_TYPESAFE_BY_RCU, NULL);
	cr_assert_not_null(c);
	lab_kmem_cache_destroy(c);
	cr_assert_eq(grace_period_ends(), 0, "no slab was ever made");
	lab_zone_destroy(z);
}

/* Even with poisoning asked for: what a reader sees after a free stays. */
Test(slab_rcu, a_freed_object_keeps_its_contents_and_comes_back_at_once)
{
	lab_slab_set_grace_period(defer);
	struct lab_zone *z = quiet_zone(512);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-rcu", sizeof(struct thing), 0,
							 LAB_SLAB_TYPESAFE_BY_RCU |
							 LAB_SLAB_POISON, NULL);
	cr_assert_not_null(c);
	for (int i = 0; i < 100; i++) {
		struct thing *t = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
		cr_assert_not_null(t);
		t->key = 0x1234567800000000ull + (uint64_t)i;
		memset(t->payload, 'a' + i % 26, sizeof(t->payload));
		lab_kmem_cache_free(c, t);
		/* A reader that found t before the free reads it whole. */
		cr_assert_eq(t->key, 0x1234567800000000ull + (uint64_t)i);
		for (size_t k = 0; k < sizeof(t->payload); k++)
			cr_assert_eq(t->payload[k], 'a' + i % 26);
		/* And the same object is handed out again, no grace period needed. */
		struct thing *again = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
		cr_assert_eq(again, t);
		lab_kmem_cache_free(c, again);
	}
	cr_assert_eq(atomic_load(&deferred), 0, "nothing waited on a grace period");
	lab_kmem_cache_destroy(c);
	grace_period_ends();
	lab_zone_destroy(z);
}

#define MANY 3000

Test(slab_rcu, slab_pages_go_back_only_after_the_grace_period)
{
	lab_slab_set_grace_period(defer);
	struct lab_zone *z = quiet_zone(1024);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-rcu", sizeof(struct thing), 0,
							 LAB_SLAB_TYPESAFE_BY_RCU, NULL);
	static struct thing *t[MANY];
	for (int i = 0; i < MANY; i++) {
		cr_assert_not_null(t[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL));
		t[i]->key = (uint64_t)i;
	}
	size_t slabs = cstats(c).slabs, pages = cstats(c).pages;
	cr_assert_gt(slabs, 2);
	size_t free_before = zone_free_all(z);
	for (int i = 0; i < MANY; i++)
		lab_kmem_cache_free(c, t[i]);
	/* Empty slabs leave as the frees empty them (but two); shrinking, the rest. */
	cr_assert_gt(lab_kmem_cache_shrink(c), 0);
	cr_assert_eq(cstats(c).slabs, 0, "every slab left the cache");
	cr_assert_eq(atomic_load(&deferred), (int)slabs, "each slab waits on a grace period");
	cr_assert_eq(zone_free_all(z), free_before, "and its pages are not back yet");
	/* Readers that found objects before the frees still read them. */
	for (int i = 0; i < MANY; i += 7)
		cr_assert_eq(t[i]->key, (uint64_t)i);
	cr_assert_eq(grace_period_ends(), (int)slabs);
	cr_assert_eq(zone_free_all(z), free_before + pages, "back once the grace period is over");
	assert_zone_ok(z);
	/* The cache goes on as before. */
	struct thing *x = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	cr_assert_not_null(x);
	lab_kmem_cache_free(c, x);
	lab_kmem_cache_destroy(c);
	grace_period_ends();
	cr_assert_eq(zone_free_all(z), 1024);
	lab_zone_destroy(z);
}

/* The cache's own memory is a block of the default zone that starts with
 * the cache (docs/SLAB.md): lab_page_order() says whether it is allocated. */
Test(slab_rcu, a_destroyed_cache_waits_for_its_last_slab)
{
	lab_slab_set_grace_period(defer);
	struct lab_zone *z = quiet_zone(1024);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-rcu", sizeof(struct thing), 0,
							 LAB_SLAB_TYPESAFE_BY_RCU, NULL);
	struct lab_page *meta = lab_virt_to_page(c);
	cr_assert_not_null(meta);
	cr_assert_eq(lab_page_address(meta), (void *)c);
	cr_assert_geq(lab_page_order(meta), 0);
	static struct thing *t[MANY];
	for (int i = 0; i < MANY; i++)
		t[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	for (int i = 0; i < MANY; i++)
		lab_kmem_cache_free(c, t[i]);
	lab_kmem_cache_destroy(c);
	cr_assert_gt(atomic_load(&deferred), 0);
	cr_assert_lt(zone_free_all(z), 1024, "the slabs wait");
	cr_assert_geq(lab_page_order(meta), 0, "and so does the cache");
	grace_period_ends();
	cr_assert_eq(zone_free_all(z), 1024);
	cr_assert_eq(lab_page_order(meta), -1, "the last callback gave the cache back");
	lab_zone_destroy(z);
}

/* During the grace period the memory is no slab any more: a late free of one
 * of its objects is a report, and nothing is freed. */
static void late_free_child(void *arg)
{
	(void)arg;
	lab_slab_set_grace_period(defer);
	struct lab_zone *z = quiet_zone(1024);
	struct lab_kmem_cache *c = lab_kmem_cache_create(z, "t-rcu", sizeof(struct thing), 0,
							 LAB_SLAB_TYPESAFE_BY_RCU, NULL);
	static struct thing *t[MANY];
	for (int i = 0; i < MANY; i++)
		t[i] = lab_kmem_cache_alloc(c, LAB_GFP_KERNEL);
	for (int i = 0; i < MANY; i++)
		lab_kmem_cache_free(c, t[i]);
	lab_kmem_cache_shrink(c);
	lab_kmem_cache_free(c, t[5]);
	lab_kfree(t[6]);
	if (cstats(c).slabs != 0 || grace_period_ends() <= 0 || zone_free_all(z) != 1024)
		_exit(3);
	_exit(0);
}

Test(slab_rcu, a_free_during_the_grace_period_is_refused)
{
	static char out[8192];
	int status = run_in_child(late_free_child, NULL, out, sizeof(out));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x\n%s", status, out);
	cr_assert_eq(count_of(out, "BUG "), 2, "%s", out);
	cr_assert_not_null(strstr(out, "BUG t-rcu (Not tainted): Invalid object pointer"), "%s", out);
}
