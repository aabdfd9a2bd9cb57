#!/usr/bin/env bash
# headers.sh INCLUDE_DIR - every labyrinth-kernel header compiles on its own
# (included first and alone), with $CC (default cc), -Wall -Wextra -Werror,
# in gnu11 as kbuild compiles and in plain c11, and twice in one file (its
# guard).  Run by tests/kernel/run.sh (test kernel-headers).
set -uo pipefail
inc=$1
cc=${CC:-cc}
fail=0 n=0
native_cflags=$(pkg-config --cflags-only-I labyrinth 2>/dev/null)
cd "$inc"
for h in $(find . -name '*.h' ! -name 'lab_kernel.h' | sed 's|^\./||' | sort); do
	for std in gnu11 c11; do
		n=$((n + 1))
		if ! out=$(printf '#include <%s>\n#include <%s>\n' "$h" "$h" |
			$cc -std=$std -D_GNU_SOURCE -DKBUILD_MODNAME='"headers"' -Wall -Wextra -Werror \
			-I"$inc" $native_cflags \
			-fsyntax-only -x c - 2>&1); then
			echo "FAIL: <$h> alone (-std=$std):"
			echo "$out" | head -20
			fail=$((fail + 1))
		fi
	done
done
echo "headers: $n compilations, $fail failed ($cc)"
[ "$fail" -eq 0 ]
