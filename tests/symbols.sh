#!/bin/bash
# symbols.sh - the library's link-time namespace, checked with nm.
#
# Usage: symbols.sh NM liblabyrinth.a liblabyrinth.so INCLUDE_DIR [coverage]
#        symbols.sh NM ARCHIVE LIB.so HEADER.h [coverage] PROVIDER.so
#
# The second form checks a library built over liblabyrinth's public ABI (the
# kernel layer's: liblabyrinth-kernel, its objects' archive, lab_kernel.h)
# the same way, except that the lab_ symbols it uses may come from PROVIDER
# (liblabyrinth.so), which must export them.
#
# 1. Every global symbol the static archive or the shared library defines
#    (T, D, B, R, W, V, ...) starts with lab_ (public) or lab__ (internal), so
#    that a program linking the archive can never clash with it (a program
#    with its own os_now_ns once failed to link).  Two kinds of symbol are
#    made by the toolchain, not by us, and are allowed by name:
#      _.stapsdt.base          USDT probes (<sys/sdt.h>): weak and hidden, one
#                              per object, never exported;
#      __odr_asan.lab_*        AddressSanitizer's one-definition-rule marker
#                              of one of our own prefixed globals;
#    and in a coverage build (5th argument "coverage", -Db_coverage=true) the
#    libgcov runtime that gcc links into the shared library: __gcov_* and
#    mangle_path.
# 2. The shared library exports (dynamic symbol table) only public API: lab_
#    names declared in the public headers (INCLUDE_DIR/labyrinth.h and
#    INCLUDE_DIR/labyrinth/*.h), no lab__ internal.
# 3. Undefined symbols: the shared library leaves no lab_ symbol to others,
#    and every lab_ symbol the archive's objects use is defined in it.
#
# Exit status: 0 clean, 1 with the offending symbols listed, 77 (skip) when nm
# is missing.
set -u
NM=$1 A=$2 SO=$3 INC=$4 MODE=${5:-} PROVIDER=${6:-}
if [ -f "$INC" ]; then
	HDRS=("$INC")
else
	HDRS=("$INC/labyrinth.h" "$INC"/labyrinth/*.h)
fi

command -v "$NM" >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
status=0
bad() {
	echo "FAIL: $1"
	sed 's/^/    /'
	status=1
}

allowed='_\.stapsdt\.base|__odr_asan\.lab_[A-Za-z0-9_]*'
[ "$MODE" = coverage ] && allowed+='|__gcov_[A-Za-z0-9_]*|mangle_path'
allowed_toolchain="^($allowed)\$"

for lib in "$A" "$SO"; do
	# --defined-only -g: global and weak definitions (not local, not undefined).
	defined=$("$NM" -g --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sort -u)
	[ -n "$defined" ] || { echo "FAIL: nm found no symbols in $lib" ; status=1; continue; }
	unprefixed=$(grep -v '^lab_' <<<"$defined" | grep -Ev "$allowed_toolchain")
	# Shared objects also carry the linker's own (_init, _fini, _end, ...).
	if [ "$lib" = "$SO" ]; then
		linker='^(_init|_fini|_end|_edata|__bss_start|_DYNAMIC|_GLOBAL_OFFSET_TABLE_'
		linker+='|__dso_handle|__TMC_END__|__GNU_EH_FRAME_HDR)$'
		unprefixed=$(grep -Ev "$linker" <<<"$unprefixed")
	fi
	[ -z "$unprefixed" ] ||
		bad "$(basename "$lib") defines global symbols without the lab_ prefix:" <<<"$unprefixed"
	echo "$(basename "$lib"): $(wc -l <<<"$defined") global definitions checked"
done

exported=$("$NM" -D --defined-only "$SO" | awk 'NF >= 3 { print $3 }' | sort -u)
[ -n "$exported" ] || { echo "FAIL: $SO exports nothing"; status=1; }
not_api=$(grep -v '^lab_[a-z0-9]' <<<"$exported" | grep -Ev "$allowed_toolchain" | grep -v '^$')
[ -z "$not_api" ] ||
	bad "$(basename "$SO") exports symbols that are not public lab_ API:" <<<"$not_api"
undeclared=$(grep '^lab_[a-z0-9]' <<<"$exported" | while read -r s; do
	grep -qw "$s" "${HDRS[@]}" || echo "$s"
done)
[ -z "$undeclared" ] ||
	bad "$(basename "$SO") exports lab_ symbols its headers do not declare:" <<<"$undeclared"
echo "$(basename "$SO"): $(wc -l <<<"$exported") exported symbols checked against" \
	"${#HDRS[@]} public headers"

# What the provider exports may be used (nothing without one).
provided=
[ -n "$PROVIDER" ] &&
	provided=$("$NM" -D --defined-only "$PROVIDER" | awk 'NF >= 3 { print $3 }' | sort -u)
so_undef=$("$NM" -D --undefined-only "$SO" | awk '{ print $NF }' | grep '^lab_' | sort -u)
so_undef=$(comm -23 <(echo "$so_undef") <(echo "$provided") | grep -v '^$')
[ -z "$so_undef" ] || bad "$(basename "$SO") leaves lab_ symbols undefined:" <<<"$so_undef"
a_defined=$( (
	"$NM" -g --defined-only "$A" | awk 'NF >= 3 { print $3 }'
	echo "$provided"
) | sort -u)
a_undef=$("$NM" -g --undefined-only "$A" | awk 'NF >= 2 { print $2 }' | grep '^lab_' | sort -u)
dangling=$(comm -23 <(echo "$a_undef") <(echo "$a_defined") | grep -v '^$')
[ -z "$dangling" ] ||
	bad "$(basename "$A") uses lab_ symbols it does not define:" <<<"$dangling"

exit $status
