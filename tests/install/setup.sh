#!/usr/bin/env bash
# setup.sh SRC WORK - the build needs no test framework and no liburcu: with
# every .pc file hidden from pkg-config, `meson setup` with default options
# succeeds and leaves out only the Criterion tests and the kernel layer;
# -Dtests=enabled fails naming Criterion, -Dkernel=enabled naming liburcu-bp;
# -Dtests=disabled defines no test at all.
set -euo pipefail
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work/no-pkgconfig"
export PKG_CONFIG_LIBDIR=$work/no-pkgconfig  # no .pc files: Criterion, liburcu-bp are not found
unset PKG_CONFIG_PATH

suites() {  # the suites of the tests a build directory defines, sorted
	meson introspect "$1" --tests |
		python3 -c 'import json,sys; print(" ".join(sorted({s.split(":")[-1] for t in json.load(sys.stdin) for s in t["suite"]})))'
}
criterion_tests() {  # the tests that run a Criterion program (tests/test_*)
	meson introspect "$1" --tests |
		python3 -c 'import json,os,sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin) if os.path.basename(t["cmd"][0]).startswith("test_"))))'
}

meson setup "$work/default" "$src" >"$work/default.log" 2>&1 ||
	{ cat "$work/default.log"; echo "FAIL: meson setup with default options needs Criterion or liburcu-bp"; exit 1; }
grep -q "kernel layer .*: False" "$work/default.log" ||
	{ echo "FAIL: the summary does not say the kernel layer is left out"; exit 1; }
grep -q "Criterion unit tests *: False" "$work/default.log" ||
	{ echo "FAIL: the summary does not say the Criterion tests are left out"; exit 1; }
got=$(suites "$work/default")
echo "default options, no Criterion: configured; suites: $got"
crit=$(criterion_tests "$work/default")
[ -z "$crit" ] || { echo "FAIL: Criterion tests defined: $crit"; exit 1; }
case " $got " in *" tools "*) ;; *) echo "FAIL: the other tests are missing"; exit 1 ;; esac

if meson setup "$work/enabled" "$src" -Dtests=enabled >"$work/enabled.log" 2>&1; then
	echo "FAIL: -Dtests=enabled configured without Criterion"
	exit 1
fi
grep -q 'Dependency "criterion" not found' "$work/enabled.log" ||
	{ cat "$work/enabled.log"; echo "FAIL: -Dtests=enabled failed for another reason"; exit 1; }
echo "-Dtests=enabled without Criterion: fails, naming it"

if meson setup "$work/kernel" "$src" -Dkernel=enabled -Dtests=disabled >"$work/kernel.log" 2>&1; then
	echo "FAIL: -Dkernel=enabled configured without liburcu-bp"
	exit 1
fi
grep -q 'Dependency "liburcu-bp" not found' "$work/kernel.log" ||
	{ cat "$work/kernel.log"; echo "FAIL: -Dkernel=enabled failed for another reason"; exit 1; }
echo "-Dkernel=enabled without liburcu-bp: fails, naming it"

meson setup "$work/disabled" "$src" -Dtests=disabled >"$work/disabled.log" 2>&1 ||
	{ cat "$work/disabled.log"; exit 1; }
got=$(suites "$work/disabled")
[ -z "$got" ] || { echo "FAIL: -Dtests=disabled still defines tests: $got"; exit 1; }
echo "-Dtests=disabled: configured, no tests"
rm -rf "$work"
