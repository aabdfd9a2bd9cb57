#!/usr/bin/env bash
# test.sh - build and run the whole test suite: a debug build with
# AddressSanitizer and UndefinedBehaviorSanitizer (gcc), and a release build
# (clang); both with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
need_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

passed=0 failed=0
# Criterion prints "Synthesis: Tested: N | Passing: P | Failing: F | Crashing: C".
count() {
	local log=$1 line
	while read -r line; do
		set -- $(echo "$line" | grep -o '[0-9]\+')
		passed=$((passed + $2))
		failed=$((failed + $3 + $4))
	done < <(grep -a 'Synthesis: Tested' "$log" | sed 's/\x1b\[[0-9;]*m//g')
}

run_suite() {
	local dir=$1
	shift
	echo "== $dir: $*"
	setup_build "$dir" --werror "$@" || return 1
	ninja -C "$dir" >/dev/null || return 1
	local rc=0
	meson test -C "$dir" --print-errorlogs --num-processes 2 || rc=$?
	count "$dir/meson-logs/testlog.txt"
	return $rc
}

status=0
CC=gcc run_suite build/asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false || status=1
CC=clang run_suite build/clang-release --buildtype=release || status=1
echo "tests: $passed passed, $failed failed"
exit $status
