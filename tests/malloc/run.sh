#!/usr/bin/env bash
# run.sh - `labyrinth run`: the command runs with liblabyrinth-malloc.so
# preloaded ahead of what was preloaded already, --stats gives the
# statistics line, --secure reaches the library, the exit status is the
# command's, a missing command is 127, bad usage 2.
#   usage: run.sh LABYRINTH_BINARY
set -u
tool=${1:?usage: run.sh LABYRINTH_BINARY}
fail() { echo "FAILED: $*"; exit 1; }

# What was preloaded stays, after the library (here the library itself again).
lib=$(LABYRINTH_MALLOC_LIB= "$tool" run -- sh -c 'echo "${LD_PRELOAD%%:*}"')
# (env, not sh: dash leaves with _exit, where no statistics line is printed)
out=$(LD_PRELOAD=$lib "$tool" run --stats -- env 2>&1)
first=$(grep '^LD_PRELOAD=' <<<"$out")
case $first in
LD_PRELOAD=*/liblabyrinth-malloc.so:*/liblabyrinth-malloc.so) ;;
*) fail "LD_PRELOAD in the command: '$first'" ;;
esac
grep -q '^labyrinth-malloc: pid [0-9]* calls: malloc' <<<"$out" || fail "no statistics line: $out"
echo "run --stats: $first; statistics line printed"

out=$("$tool" run --secure -- sh -c 'echo "$LABYRINTH_MALLOC_SECURE"; exit 3')
rc=$?
[ "$rc" = 3 ] || fail "exit status $rc, want the command's 3"
[ "$out" = 1 ] || fail "--secure: LABYRINTH_MALLOC_SECURE='$out'"
echo "run --secure: LABYRINTH_MALLOC_SECURE=1, the command's exit status 3"

"$tool" run -- /nonexistent/command 2>/dev/null
rc=$?
[ "$rc" = 127 ] || fail "a missing command: status $rc, want 127"
"$tool" run 2>/dev/null
rc=$?
[ "$rc" = 2 ] || fail "no command: status $rc, want 2"
"$tool" run --bogus true 2>/dev/null
rc=$?
[ "$rc" = 2 ] || fail "unknown option: status $rc, want 2"
LABYRINTH_MALLOC_LIB=/nonexistent.so "$tool" run true 2>/dev/null
rc=$?
[ "$rc" = 127 ] || fail "LABYRINTH_MALLOC_LIB unreadable: status $rc, want 127"
echo "run: missing command 127, bad usage 2, unreadable LABYRINTH_MALLOC_LIB 127"
