#!/usr/bin/env bash
# run.sh CASE - one test of the 'kernel' suite (tests/kernel/meson.build):
# kernel source compiled with `labyrinth ktest` against this build's
# labyrinth-kernel (pkg-config, uninstalled) and run.
#
# Unmodified kernel files come from Debian's linux-source-6.12 package
# (scripts/deps.sh installs it): the files listed in KERNEL_FILES are
# unpacked from /usr/src/linux-source-6.12.tar.xz once (under a lock; tests
# run in parallel), into the build directory or LAB_KERNEL_SRC.  Without the package the cases
# that need it exit 77 (a counted skip).
#
# Environment (from meson): LAB_TEST_TOOL (the labyrinth command),
# LAB_BUILD_ROOT, LAB_SOURCE_ROOT, CC, KTEST_CFLAGS and KTEST_LDFLAGS (the
# build's sanitizer or coverage flags, so that modules link with its
# libraries).
set -uo pipefail

case=$1
tool=$LAB_TEST_TOOL
build=$LAB_BUILD_ROOT
src=$LAB_SOURCE_ROOT
tarball=${LAB_KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
# Where the kernel files are unpacked: once per build directory, or once
# for every build when LAB_KERNEL_SRC names a shared place (scripts/test.sh).
ksrc=${LAB_KERNEL_SRC:-$build/kernel-src}
work=$build/tests/kernel/work
mkdir -p "$work"
export PKG_CONFIG_PATH=$build/meson-uninstalled
export CFLAGS="${KTEST_CFLAGS:-} -Werror"
export LDFLAGS="${KTEST_LDFLAGS:-}"
export TMPDIR=$work

# The kernel files the cases use, relative to the top of the kernel tree.
KERNEL_FILES=(
	lib/test_free_pages.c
	lib/test_meminit.c
	lib/test_memcat_p.c
	lib/memcat_p.c
	lib/btree.c
	include/linux/btree.h
	include/linux/btree-type.h
	include/linux/btree-128.h
)

kernel_source() {
	if [ ! -r "$tarball" ]; then
		echo "SKIP: $tarball is missing (apt-get install linux-source-6.12)"
		exit 77
	fi
	local want stamp=$ksrc/.unpacked
	want="$(stat -c '%s %Y' "$tarball") ${KERNEL_FILES[*]}"
	mkdir -p "$(dirname "$ksrc")"
	exec 9>"$ksrc.lock"
	flock 9
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		rm -rf "$ksrc"
		mkdir -p "$ksrc"
		if ! tar -xJf "$tarball" -C "$ksrc" --strip-components=1 \
			"${KERNEL_FILES[@]/#/linux-source-6.12/}"; then
			echo "FAIL: cannot unpack ${KERNEL_FILES[*]} from $tarball"
			exit 1
		fi
		echo "$want" >"$stamp"
	fi
	flock -u 9
}

# ktest LOG [ktest arguments...]: run, keep the output in LOG and show it.
ktest() {
	local log=$work/$1
	shift
	"$tool" ktest "$@" >"$log" 2>&1
	local rc=$?
	cat "$log"
	return $rc
}

# expect LOG TEXT: the output has this line (fixed string).
expect() {
	if ! grep -qF -- "$2" "$work/$1"; then
		echo "FAIL: expected in the output: $2"
		return 1
	fi
}

# expect_re LOG REGEX: the output has a line that matches (extended regex).
expect_re() {
	if ! grep -qE -- "$2" "$work/$1"; then
		echo "FAIL: expected in the output, a line matching: $2"
		return 1
	fi
}

# expect_rc WHAT GOT WANTED
expect_rc() {
	if [ "$2" -ne "$3" ]; then
		echo "FAIL: $1: exit status $2, expected $3"
		return 1
	fi
}

case $case in
headers)
	# Each linux/ header alone, and the native header leaving those names free.
	bash "$src/tests/kernel/headers.sh" "$src/include/labyrinth-kernel"
	;;
free_pages)
	# lib/test_free_pages.c: a million get_page / free_pages / put_page rounds on
	# order-3 blocks, plain and compound; __free_pages must be a put, exactly
	# as the kernel's, or pages leak (or are freed twice).
	kernel_source
	ktest free_pages.log "$ksrc/lib/test_free_pages.c"
	rc=$?
	expect_rc test_free_pages $rc 0 &&
		expect free_pages.log "test_free_pages: Test completed" &&
		expect free_pages.log "0 pages leaked, 0 objects leaked, 0 bad pages, 0 warnings: PASS"
	;;
atomic_under_lock)
	CFLAGS="$CFLAGS -Wextra" ktest atomic_under_lock.log "$src/tests/kernel/atomic_under_lock.c"
	rc=$?
	expect_rc atomic_under_lock $rc 0 &&
		expect atomic_under_lock.log "GFP_ATOMIC" &&
		expect atomic_under_lock.log "PASS"
	;;
might_sleep)
	# The same module with sleep_under_lock=1: the GFP_KERNEL allocation under
	# the spinlock is stopped with the kernel's report, and the program aborts.
	CFLAGS="$CFLAGS -Wextra" ktest might_sleep.log "$src/tests/kernel/atomic_under_lock.c" \
		sleep_under_lock=1
	rc=$?
	expect_rc "atomic_under_lock sleep_under_lock=1" $rc 134 &&
		expect might_sleep.log \
			"BUG: sleeping function called from invalid context at $src/tests/kernel/atomic_under_lock.c:" &&
		expect might_sleep.log "in_atomic(): 1" &&
		expect might_sleep.log "died of signal 6"
	;;
first_kmalloc)
	# The first kmalloc of each class is GFP_ATOMIC under a spinlock: the
	# kmalloc caches come with the kernel zone, so none may sleep (made on
	# first use they would: might_sleep's BUG, signal 6).
	CFLAGS="$CFLAGS -Wextra" ktest first_kmalloc.log "$src/tests/kernel/first_kmalloc.c"
	rc=$?
	expect_rc first_kmalloc $rc 0 &&
		expect first_kmalloc.log "first kmallocs, GFP_ATOMIC under a spinlock: 14 of 14 sizes" &&
		expect first_kmalloc.log "0 warnings: PASS"
	;;
page_ops)
	prog=$work/page_ops
	CFLAGS="$CFLAGS -Wextra" ktest page_ops.log -o "$prog" "$src/tests/kernel/page_ops.c"
	rc=$?
	expect_rc page_ops $rc 0 &&
		expect page_ops.log "page operations checked" &&
		expect page_ops.log "0 warnings: PASS" || exit 1
	# init_on_free=1: freed blocks, a compound one freed by its last
	# put_page() included, read as zero, every page (/proc/self/mem).
	LABYRINTH_KERNEL_CMDLINE=init_on_free=1 "$prog" >"$work/page_ops-init_on_free.log" 2>&1
	expect_rc "page_ops init_on_free=1" $? 0 &&
		expect page_ops-init_on_free.log "init_on_free: freed blocks read as zero, every page" &&
		expect page_ops-init_on_free.log "0 warnings: PASS"
	;;
meminit)
	# lib/test_meminit.c: pages, kmalloc, vmalloc and caches (constructors,
	# SLAB_TYPESAFE_BY_RCU, bulk, __GFP_ZERO, GFP_ATOMIC inside rcu_read_lock)
	# read as zero when handed out; with init_on_alloc=1, then init_on_free=1.
	kernel_source
	for param in init_on_alloc=1 init_on_free=1; do
		LABYRINTH_KERNEL_CMDLINE=$param ktest "meminit-$param.log" "$ksrc/lib/test_meminit.c"
		rc=$?
		expect_rc "test_meminit $param" $rc 0 &&
			expect "meminit-$param.log" "test_meminit: all" &&
			expect "meminit-$param.log" "tests passed!" &&
			expect "meminit-$param.log" "0 warnings: PASS" || exit 1
	done
	;;
memcat_p)
	# lib/test_memcat_p.c with lib/memcat_p.c: kcalloc, kmalloc, kmalloc_array.
	kernel_source
	ktest memcat_p.log -o "$work/test_memcat_p" "$ksrc/lib/test_memcat_p.c" "$ksrc/lib/memcat_p.c"
	rc=$?
	expect_rc test_memcat_p $rc 0 &&
		expect memcat_p.log "test_memcat_p: test passed" &&
		expect memcat_p.log "0 warnings: PASS" || exit 1
	# Its error path, made to run by failslab (the 100th allocation fails):
	# init fails with -ENOMEM and everything it took is given back.
	LABYRINTH_FAILSLAB="probability=100,interval=100,times=1,ignore_gfp_wait=0,verbose=1" \
		"$work/test_memcat_p" >"$work/memcat_p-failslab.log" 2>&1
	expect_rc "test_memcat_p under failslab" $? 1 &&
		expect memcat_p-failslab.log "FAULT_INJECTION: forcing a failure." &&
		expect memcat_p-failslab.log "init test_memcat_p_init returned -12" &&
		expect memcat_p-failslab.log "0 pages leaked, 0 objects leaked, 0 bad pages, 0 warnings: FAIL"
	;;
btree)
	# lib/btree.c, unchanged, driven by btree_user.c: nodes from a mempool over
	# a kmem_cache, GFP_ATOMIC under a spinlock, then GFP_KERNEL.
	kernel_source
	ktest btree.log -I "$ksrc/include" "$ksrc/lib/btree.c" \
		"$src/tests/kernel/btree_user.c"
	rc=$?
	expect_rc btree $rc 0 &&
		expect btree.log "inserted with GFP_ATOMIC under the lock" &&
		expect btree.log "keys removed under the lock, the rest found" &&
		expect btree.log "0 warnings: PASS"
	;;
slab_ops)
	prog=$work/slab_ops
	CFLAGS="$CFLAGS -Wextra" ktest slab_ops.log -o "$prog" "$src/tests/kernel/slab_ops.c"
	rc=$?
	expect_rc slab_ops $rc 0 &&
		expect slab_ops.log "object operations checked" &&
		expect slab_ops.log "0 warnings: PASS" || exit 1
	# Misuse the runner must fail: __GFP_ZERO on a cache with a constructor
	# (the kernel's WARN, the object zeroed all the same), and a cache
	# destroyed with an object in use (the slab layer's report; kept).
	"$prog" ctor_zero=1 >"$work/slab_ops-ctor_zero.log" 2>&1
	expect_rc "slab_ops ctor_zero=1" $? 1 &&
		expect slab_ops-ctor_zero.log "__GFP_ZERO on cache item_misuse, which has a constructor" &&
		expect slab_ops-ctor_zero.log "1 warnings: FAIL" || exit 1
	"$prog" destroy_busy=1 >"$work/slab_ops-busy.log" 2>&1
	expect_rc "slab_ops destroy_busy=1" $? 1 &&
		expect slab_ops-busy.log "BUG item_misuse" &&
		expect slab_ops-busy.log "ktest: kmem_cache item_misuse was destroyed with objects in use (1 objects in use)" &&
		expect slab_ops-busy.log "1 objects of cache item_misuse were not freed"
	;;
runtime)
	# Parameters of every type, kstrto*, printk formats and levels, hex
	# dumps, interrupt state; then WARN, panic_on_warn, BUG and bad input.
	prog=$work/runtime_ops
	LABYRINTH_KERNEL_CMDLINE="loglevel=8" CFLAGS="$CFLAGS -Wextra" ktest runtime.log -o "$prog" \
		"$src/tests/kernel/runtime_ops.c" b=1 ib=1 s=text by=255 sh=-32768 us=65535 i=-7 \
		u=4294967295 hx=0x10 l=-9 ul=18446744073709551615 ull=18446744073709551615
	rc=$?
	expect_rc runtime_ops $rc 0 || exit 1
	for line in \
		"runtime_ops: params: b=1 ib=0 s=text by=255 sh=-32768 us=65535 i=-7 u=4294967295 hx=0x10 l=-9 ul=18446744073709551615 ull=18446744073709551615" \
		"runtime_ops: ints: -1 2 -3 -4 -5 -6 7 8 9 10 -11 12 13" \
		"runtime_ops: hex: ff 0xff 00000abc DEF 10|   42|42   |   7|abc|q|%" \
		"runtime_ops: pointers: 0000000000001000 0000000000002000 0000000000003000" \
		"runtime_ops: errors: -ENOMEM -EINVAL -4000" \
		"runtime_ops: phys: 0x0000000000001234" \
		"runtime_ops: hex bytes: de ad be ef 01|de:ad:be|de-ad|deadbeef|de ad be|de:ad" \
		"runtime_ops: symbol: lab_kernel_printk" \
		"runtime_ops: double: 2.50" \
		"runtime_ops: vaf: [answer=42]" \
		"runtime_ops: to be continued and continued" \
		"debug level line" \
		"dump: 00000000: 4c 61 62 79 72 69 6e 74 68 20 68 65 78 20 64 75  Labyrinth hex du" \
		"dump: 00000020: 67 21 00                                         g!." \
		"dump4: 7962614c 746e6972 65682068 75642078" \
		"Call Trace:" \
		"runtime_ops: runtime checked" \
		"0 warnings: PASS"; do
		expect runtime.log "$line" || exit 1
	done
	[ "$(grep -c 'printed once' "$work/runtime.log")" -eq 1 ] &&
		[ "$(grep -c 'ratelimited line' "$work/runtime.log")" -eq 10 ] &&
		! grep -q "pr_debug is compiled out" "$work/runtime.log" ||
		{ echo "FAIL: once, ratelimited or pr_debug lines"; exit 1; }
	# The default console level leaves KERN_DEBUG out.
	"$prog" >"$work/runtime-quiet.log" 2>&1
	! grep -q "debug level line" "$work/runtime-quiet.log" &&
		expect runtime-quiet.log "default level line" || exit 1
	"$prog" warn=1 >"$work/runtime-warn.log" 2>&1
	expect_rc "runtime_ops warn=1" $? 1 &&
		expect runtime-warn.log "------------[ cut here ]------------" &&
		expect runtime-warn.log "asked for a warning: 42" &&
		expect runtime-warn.log "WARNING: CPU:" &&
		expect runtime-warn.log "runtime_ops.c:" &&
		expect runtime-warn.log "1 warnings: FAIL" || exit 1
	LABYRINTH_KERNEL_CMDLINE="panic_on_warn=1" "$prog" warn=1 >"$work/runtime-panic.log" 2>&1
	expect_rc "runtime_ops warn=1 panic_on_warn=1" $? 134 &&
		expect runtime-panic.log "Kernel panic - not syncing: kernel: panic_on_warn set" || exit 1
	"$prog" bug=1 >"$work/runtime-bug.log" 2>&1
	expect_rc "runtime_ops bug=1" $? 134 &&
		expect runtime-bug.log "kernel BUG at $src/tests/kernel/runtime_ops.c:" || exit 1
	"$prog" i=abc >"$work/runtime-badparam.log" 2>&1
	expect_rc "runtime_ops i=abc" $? 2 &&
		expect runtime-badparam.log "\`abc' invalid for parameter \`i'" || exit 1
	"$prog" by=256 nosuch=1 >"$work/runtime-badparam2.log" 2>&1
	expect_rc "runtime_ops by=256" $? 2 &&
		expect runtime-badparam2.log "\`256' invalid for parameter \`by'" || exit 1
	"$prog" nosuch=1 >"$work/runtime-unknown.log" 2>&1
	expect_rc "runtime_ops nosuch=1" $? 2 &&
		expect runtime-unknown.log "Unknown parameter \`nosuch'" || exit 1
	"$prog" --help >"$work/runtime-help.log" 2>&1
	expect_rc "runtime_ops --help" $? 0 &&
		expect runtime-help.log "ullong" || exit 1
	LABYRINTH_KERNEL_CMDLINE="init_on_alloc=maybe loglevel=99 quiet init_on_free" "$prog" \
		>"$work/runtime-cmdline.log" 2>&1
	expect_rc "runtime_ops with a bad command line" $? 0 &&
		expect runtime-cmdline.log "LABYRINTH_KERNEL_CMDLINE: init_on_alloc: bad value 'maybe'" &&
		expect runtime-cmdline.log "LABYRINTH_KERNEL_CMDLINE: loglevel: bad value '99'" &&
		expect runtime-cmdline.log "LABYRINTH_KERNEL_CMDLINE: init_on_free: bad value ''" &&
		expect runtime-cmdline.log "heap alloc:off, heap free:off"
	;;
leak)
	# The runner's verdicts: pages leaked, an init that failed, an object
	# leaked (named by its cache; its slab is among the pages not freed).
	CFLAGS="$CFLAGS -Wextra" ktest leak.log "$src/tests/kernel/leak_page.c"
	rc=$?
	expect_rc leak_page $rc 1 &&
		expect leak.log "ktest: leak_page: 4 pages were not freed" &&
		expect leak.log "4 pages leaked, 0 objects leaked, 0 bad pages, 0 warnings: FAIL" || exit 1
	CFLAGS="$CFLAGS -Wextra" ktest leak-fail.log "$src/tests/kernel/leak_page.c" fail=1
	rc=$?
	expect_rc "leak_page fail=1" $rc 1 &&
		expect leak-fail.log "init leak_page_init returned -19" &&
		expect leak-fail.log "0 pages leaked" || exit 1
	CFLAGS="$CFLAGS -Wextra" ktest leak-object.log \
		"$src/tests/kernel/leak_page.c" object=1
	rc=$?
	expect_rc "leak_page object=1" $rc 1 &&
		expect leak-object.log "ktest: leak_page: 1 objects of cache kmalloc-128 were not freed" &&
		expect_re leak-object.log "init returned 0, [1-9][0-9]* pages leaked, 1 objects leaked"
	;;
*)
	echo "run.sh: unknown case '$case'"
	exit 2
	;;
esac
