#!/usr/bin/env bash
# cli.sh TOOL - the conventions every `labyrinth` command keeps (tools/cli.h):
# --help prints usage on stdout and exits 0; a bad, missing or extra argument
# is named on stderr as "labyrinth: COMMAND: ..." and exits 2 before any work
# (nothing on stdout).  One line per check; exit 1 if any failed.
set -uo pipefail
tool=$1
failed=0 checked=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# expect STATUS STDERR-PATTERN -- ARGS...: run the tool, check the status,
# that stderr's first line matches the pattern (fixed string, "" = empty
# stderr), and that a usage error printed nothing on stdout.
expect() {
	local want=$1 pattern=$2 rc=0
	shift 3
	timeout 60 "$tool" "$@" >"$out" 2>"$err" || rc=$?
	checked=$((checked + 1))
	local why=""
	[ "$rc" -eq "$want" ] || why="exit status $rc, expected $want"
	if [ -z "$why" ] && [ -z "$pattern" ] && [ -s "$err" ]; then
		why="unexpected stderr"
	fi
	if [ -z "$why" ] && [ -n "$pattern" ] && ! head -1 "$err" | grep -qF -- "$pattern"; then
		why="stderr does not start with: $pattern"
	fi
	if [ -z "$why" ] && [ "$want" -eq 2 ] && [ -s "$out" ]; then
		why="a usage error printed on stdout (work was done)"
	fi
	if [ -z "$why" ] && [ "$want" -eq 2 ] && ! grep -qF "Try 'labyrinth" "$err"; then
		why="no pointer to --help"
	fi
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		echo "FAIL: labyrinth $*: $why"
		sed 's/^/  stdout: /' "$out" | head -5
		sed 's/^/  stderr: /' "$err" | head -5
	else
		echo "ok:   labyrinth $* -> $rc"
	fi
}

# --help of every command: usage on stdout, exit 0.
for cmd in "" demo info bench stat top stress run ktest; do
	expect 0 "" -- $cmd --help
	if ! head -1 "$out" | grep -q "^usage: labyrinth $cmd"; then
		failed=$((failed + 1))
		echo "FAIL: labyrinth $cmd --help: stdout does not start with 'usage: labyrinth $cmd'"
	fi
done
expect 0 "" -- -h
expect 0 "" -- --version
grep -q '^labyrinth [0-9]' "$out" || { failed=$((failed + 1)); echo "FAIL: --version: $(cat "$out")"; }

# Unknown options, with the same prefix everywhere.
expect 2 "labyrinth: unknown command 'bogus'" -- bogus
expect 2 "labyrinth: unknown option '--bogus'" -- --bogus
expect 2 "labyrinth: unexpected argument 'extra' after '--help'" -- --help extra
for cmd in demo info bench stat top stress run ktest; do
	expect 2 "labyrinth: $cmd: unknown option '--bogus'" -- $cmd --bogus
	expect 2 "labyrinth: $cmd: unknown option '-x'" -- $cmd -x
	expect 2 "labyrinth: $cmd: option '--help' takes no value" -- $cmd --help=yes
done

# Extra and missing operands.
expect 2 "labyrinth: demo: unexpected argument 'extra'" -- demo extra
expect 2 "labyrinth: info: unexpected argument 'extra'" -- info extra
expect 2 "labyrinth: bench: unexpected argument 'extra'" -- bench --no-png extra
expect 2 "labyrinth: stress: unexpected argument 'extra'" -- stress --seconds 1 extra
expect 2 "labyrinth: stat: a process id is needed" -- stat
expect 2 "labyrinth: stat: 'notapid' is not a process id" -- stat notapid
expect 2 "labyrinth: stat: unexpected argument '2'" -- stat 1 2
expect 2 "labyrinth: top: a process id is needed" -- top --count 1
expect 2 "labyrinth: top: '-5' is not a process id" -- top -- -5
expect 2 "labyrinth: top: unexpected argument '2'" -- top 1 2
expect 2 "labyrinth: run: a command to run is needed" -- run
expect 2 "labyrinth: run: a command to run is needed" -- run --stats --
expect 2 "labyrinth: run: option '--stats' takes no value" -- run --stats=1 true
expect 2 "labyrinth: ktest: a module source FILE.c is needed" -- ktest
expect 2 "labyrinth: ktest: a module source FILE.c is needed" -- ktest verbose=1
expect 2 "labyrinth: ktest: 'module' is neither FILE.c nor PARAM=VALUE" -- ktest module
expect 2 "labyrinth: ktest: '/no/such/mod.c': No such file or directory" -- ktest /no/such/mod.c

# Values: each bad one names its option.
expect 2 "labyrinth: stress: --seconds '0'" -- stress --seconds 0
expect 2 "labyrinth: stress: --seconds 'abc'" -- stress --seconds abc
expect 2 "labyrinth: stress: --threads '0'" -- stress --threads 0
expect 2 "labyrinth: stress: --threads '2000'" -- stress --threads 2000
expect 2 "labyrinth: stress: --pages '100'" -- stress --pages 100
expect 2 "labyrinth: stress: --stall '0'" -- stress --stall 0
expect 2 "labyrinth: stress: --signal-hz '-1'" -- stress --signal-hz -1
expect 2 "labyrinth: stress: --interval '0'" -- stress --interval 0
expect 2 "labyrinth: stress: --seed 'x'" -- stress --seed x
expect 2 "labyrinth: stress: option '--seconds' needs a value" -- stress --seconds
expect 2 "labyrinth: stress: option '--grow' takes no value" -- stress --grow=1
expect 2 "labyrinth: stress: option '--long' takes no value" -- stress --long=1
expect 2 "labyrinth: top: --interval '0'" -- top 1 --interval 0
expect 2 "labyrinth: top: --count '0'" -- top 1 --count 0
expect 2 "labyrinth: top: --count 'many'" -- top 1 --count many
expect 2 "labyrinth: bench: option '--png' needs a value" -- bench --png
expect 2 "labyrinth: bench: --rounds '0'" -- bench --malloc --rounds 0
expect 2 "labyrinth: bench: --rounds '10': at most 9 with --malloc" -- bench --malloc --rounds 10
expect 2 "labyrinth: bench: --run-ms is not for --malloc" -- bench --malloc --run-ms 5
expect 2 "labyrinth: bench: --threads is not for --malloc" -- bench --threads 2 --malloc
expect 2 "labyrinth: bench: --malloc draws no chart" -- bench --malloc --no-png
expect 2 "labyrinth: bench: --quick and --rounds" -- bench --malloc --quick --rounds 2
expect 2 "labyrinth: ktest: option '-o' needs a value" -- ktest -o
expect 2 "labyrinth: ktest: option '--define' needs a value" -- ktest --define= x.c
expect 2 "labyrinth: ktest: option '--verbose' takes no value" -- ktest --verbose=1 x.c
expect 2 "labyrinth: ktest: option '--compile-only' needs '--output FILE'" -- ktest -c x.c
# The chart is drawn at the end of a long run: a path that cannot be
# written fails at once, naming it.
expect 2 "labyrinth: bench: --png '/no/such/dir/x.png': directory '/no/such/dir'" -- \
	bench --png /no/such/dir/x.png
expect 2 "labyrinth: bench: --png 'somewhere/': not a file name" -- bench --png somewhere/
# ktest checks its files before compiling anything.
src=$(mktemp --suffix=.c)
trap 'rm -f "$out" "$err" "$src"' EXIT
expect 2 "labyrinth: ktest: --output '/no/such/dir/m': directory '/no/such/dir'" -- \
	ktest -o /no/such/dir/m "$src"
expect 2 "labyrinth: ktest: --output 'somewhere/': not a file name" -- ktest -o somewhere/ "$src"

# Not usage errors: a process that exports nothing is a plain failure (1).
expect 1 "labyrinth: process 1 exports no statistics" -- stat 1

echo "cli: $checked runs, $failed failed"
[ "$failed" -eq 0 ]
