/*
 * runtime_ops.c - the runtime under the kernel headers, as kernel code uses
 * it (suite 'kernel'): module parameters of every type, kstrto*(), printk
 * and its formats (the kernel's %p extensions included), continuation
 * lines, levels, _once and _ratelimited, print_hex_dump, dump_stack, the
 * interrupt-state emulation, and, when asked by a parameter, WARN and BUG.
 * tests/kernel/run.sh compares the printed lines; the checks made here
 * are WARN_ONs, which fail the run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/spinlock.h>
#include <linux/kstrtox.h>

static bool b;
static bool ib;
static char *s = "default";
static unsigned char by;
static short sh;
static unsigned short us;
static int i;
static unsigned int u;
static unsigned int hx;
static long l;
static unsigned long ul;
static unsigned long long ull;
module_param(b, bool, 0444);
module_param(ib, invbool, 0444);
module_param(s, charp, 0444);
module_param(by, byte, 0444);
module_param(sh, short, 0444);
module_param(us, ushort, 0444);
module_param(i, int, 0444);
module_param(u, uint, 0444);
module_param(hx, hexint, 0444);
module_param(l, long, 0444);
module_param(ul, ulong, 0444);
module_param(ull, ullong, 0444);

static bool warn, bug;
module_param(warn, bool, 0444);
MODULE_PARM_DESC(warn, "end with a WARN_ON that fires");
module_param(bug, bool, 0444);
MODULE_PARM_DESC(bug, "end with a BUG_ON that fires");

static void check_kstrtox(void)
{
	unsigned long long ull_v;
	long long ll_v;
	unsigned int u_v;
	int i_v;
	u8 u8_v;
	s8 s8_v;
	bool b_v;

	WARN_ON(kstrtoull("18446744073709551615", 10, &ull_v) || ull_v != ULLONG_MAX);
	WARN_ON(kstrtoull("18446744073709551616", 10, &ull_v) != -ERANGE);
	WARN_ON(kstrtoull("0x1f\n", 0, &ull_v) || ull_v != 31);
	WARN_ON(kstrtoull("0X1F", 16, &ull_v) || ull_v != 31);
	WARN_ON(kstrtoull("017", 0, &ull_v) || ull_v != 15);
	WARN_ON(kstrtoull("+9", 10, &ull_v) || ull_v != 9);
	WARN_ON(kstrtoull("-9", 10, &ull_v) != -EINVAL);
	WARN_ON(kstrtoull("", 10, &ull_v) != -EINVAL);
	WARN_ON(kstrtoull("12a", 10, &ull_v) != -EINVAL);
	WARN_ON(kstrtoull("1\n\n", 10, &ull_v) != -EINVAL);
	WARN_ON(kstrtoull("z", 36, &ull_v) || ull_v != 35);
	WARN_ON(kstrtoull("1", 37, &ull_v) != -EINVAL);
	WARN_ON(kstrtoll("-9223372036854775808", 10, &ll_v) || ll_v != LLONG_MIN);
	WARN_ON(kstrtoll("-9223372036854775809", 10, &ll_v) != -ERANGE);
	WARN_ON(kstrtoll("9223372036854775808", 10, &ll_v) != -ERANGE);
	WARN_ON(kstrtoll("-x", 10, &ll_v) != -EINVAL);
	WARN_ON(kstrtouint("4294967296", 10, &u_v) != -ERANGE);
	WARN_ON(kstrtoint("-2147483648", 10, &i_v) || i_v != INT_MIN);
	WARN_ON(kstrtoint("2147483648", 10, &i_v) != -ERANGE);
	WARN_ON(kstrtoint("bad", 10, &i_v) != -EINVAL);
	WARN_ON(kstrtou8("256", 10, &u8_v) != -ERANGE);
	WARN_ON(kstrtos8("-128", 10, &s8_v) || s8_v != -128);
	WARN_ON(kstrtobool("on", &b_v) || !b_v);
	WARN_ON(kstrtobool("off", &b_v) || b_v);
	WARN_ON(kstrtobool("Yes", &b_v) || !b_v);
	WARN_ON(kstrtobool("0", &b_v) || b_v);
	WARN_ON(kstrtobool("o", &b_v) != -EINVAL);
	WARN_ON(kstrtobool("maybe", &b_v) != -EINVAL);
}

static void vaf_print(const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("vaf: [%pV]\n", &vaf);
	va_end(args);
}

static void check_printk(void)
{
	static const unsigned char bytes[] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };
	static const char text[] = "Labyrinth hex dump, 35 bytes long!";
	phys_addr_t phys = 0x1234;
	int n;

	pr_info("ints: %d %i %ld %lld %hd %hhd %u %lu %llu %zu %zd %td %ju\n", -1, 2, -3L,
		-4LL, (short)-5, (signed char)-6, 7u, 8ul, 9ull, (size_t)10, (ssize_t)-11,
		(ptrdiff_t)12, (uintmax_t)13);
	pr_info("hex: %x %#x %08lx %llX %o|%5d|%-5d|%*d|%.3s|%c|%%\n", 255, 255, 0xabcUL,
		0xdefULL, 8, 42, 42, 4, 7, "abcdef", 'q');
	pr_info("pointers: %p %px %pK\n", (void *)0x1000, (void *)0x2000, (void *)0x3000);
	pr_info("errors: %pe %pe %pe\n", ERR_PTR(-ENOMEM), ERR_PTR(-EINVAL), ERR_PTR(-4000));
	pr_info("phys: %pa\n", &phys);
	pr_info("hex bytes: %*ph|%*phC|%*phD|%*phN|%3ph|%2phC\n", 5, bytes, 3, bytes, 2, bytes, 4, bytes,
		bytes, bytes);
	pr_info("symbol: %ps\n", (void *)lab_kernel_printk);
	pr_info("double: %.2f\n", 2.5);
	vaf_print("%s=%d", "answer", 42);
	pr_info("to be continued ");
	pr_cont("and continued\n");
	printk(KERN_DEBUG "debug level line\n");
	printk("default level line\n");
	pr_debug("pr_debug is compiled out without DEBUG\n");
	for (n = 0; n < 3; n++)
		pr_info_once("printed once\n");
	for (n = 0; n < 20; n++)
		pr_info_ratelimited("ratelimited line\n");
	print_hex_dump(KERN_INFO, "dump: ", DUMP_PREFIX_OFFSET, 16, 1, text, sizeof(text), true);
	print_hex_dump(KERN_INFO, "dump4: ", DUMP_PREFIX_NONE, 16, 4, text, 16, false);
	print_hex_dump(KERN_INFO, "dumpaddr: ", DUMP_PREFIX_ADDRESS, 32, 2, text, 8, false);
	dump_stack();
}

static void check_irqs(void)
{
	static DEFINE_SPINLOCK(lock);
	unsigned long flags, inner;

	WARN_ON(irqs_disabled() || in_atomic());
	local_irq_save(flags);
	WARN_ON(!irqs_disabled() || !in_atomic());
	local_irq_save(inner);
	local_irq_restore(inner);
	WARN_ON(!irqs_disabled());
	lockdep_assert_irqs_disabled();
	local_irq_restore(flags);
	WARN_ON(irqs_disabled() || in_atomic());

	spin_lock_irq(&lock);
	WARN_ON(!irqs_disabled() || !spin_is_locked(&lock));
	assert_spin_locked(&lock);
	spin_unlock_irq(&lock);
	WARN_ON(!spin_trylock_irqsave(&lock, flags));
	spin_unlock_irqrestore(&lock, flags);
	spin_lock_bh(&lock);
	WARN_ON(!in_atomic());
	spin_unlock_bh(&lock);
	local_irq_disable();
	local_irq_disable();
	local_irq_enable();
	WARN_ON(irqs_disabled() || in_atomic() || !preemptible());
}

static int __init runtime_ops_init(void)
{
	pr_info("params: b=%d ib=%d s=%s by=%u sh=%d us=%u i=%d u=%u hx=%#x l=%ld ul=%lu ull=%llu\n",
		b, ib, s, by, sh, us, i, u, hx, l, ul, ull);
	check_kstrtox();
	check_printk();
	check_irqs();
	WARN(warn, "asked for a warning: %d\n", 42);
	BUG_ON(bug);
	pr_info("runtime checked\n");
	return 0;
}

module_init(runtime_ops_init);
MODULE_DESCRIPTION("The kernel headers' runtime: parameters, kstrto*, printk, interrupt state");
MODULE_LICENSE("MIT");
