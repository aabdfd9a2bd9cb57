#!/usr/bin/env bash
# pagelock.sh MODEL WORKDIR - model-check tests/model/pagelock.pml, the page lock
# protocol, with spin: safety (mutual exclusion, the steal bound, no lost
# wake-up or deadlock) and liveness (no starvation under weak fairness), and
# two mutations the checks must catch, so a vacuous model cannot pass.
# Exits 77 (meson: skipped) when spin or a C compiler is missing.
set -euo pipefail

command -v spin >/dev/null || { echo "spin is not installed (apt-get install spin): skipped"; exit 77; }
cc=$(command -v gcc || command -v cc) || { echo "no C compiler for spin's verifier: skipped"; exit 77; }
model=$(realpath "$1")
work=$(mktemp -d "$2/pagelock-model.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$model" pagelock.pml

status=0
# check NAME EXPECT MODE DEFINE...: EXPECT is pass or fail; MODE is safety
# (assertions, invalid end states) or liveness (the LTL claim, -a -f).
check() {
	local name=$1 expect=$2 mode=$3 out errors
	shift 3
	spin -a "$@" pagelock.pml >/dev/null
	if [ "$mode" = safety ]; then
		"$cc" -O1 -w -DSAFETY -DNOCLAIM -o pan pan.c
		out=$(./pan -m200000 -w22 2>&1) || true
	else
		"$cc" -O1 -w -DNFAIR=3 -o pan pan.c
		out=$(./pan -a -f -m2000000 -w22 2>&1) || true
	fi
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' <<<"$out")
	local states
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' <<<"$out")
	if grep -q "max search depth too small" <<<"$out"; then
		echo "FAIL $name: search truncated (depth limit)"
		status=1
	elif [ -z "$errors" ]; then
		echo "FAIL $name: no verdict from pan:"
		echo "$out"
		status=1
	elif [ "$expect" = pass ] && [ "$errors" != 0 ]; then
		echo "FAIL $name: $errors error(s):"
		echo "$out" | head -20
		spin -t "$@" -p pagelock.pml | tail -40 || true
		status=1
	elif [ "$expect" = fail ] && [ "$errors" = 0 ]; then
		echo "FAIL $name: the mutation went unnoticed"
		status=1
	else
		echo "ok   $name ($states states, errors: $errors as expected)"
	fi
	LAST_OUT=$out
}

# Safety.  Two lockers, three rounds and a bound of 2 reach every statement,
# the handoff included (checked below); three lockers with one round.
check "safety: 2 lockers x 3 rounds + waiter, bound 2" pass safety \
	-DNLOCKERS=2 -DROUNDS=3 -DUNFAIRNESS=2
if grep -q '"state\[first\] = 2"\|"handoff\[me\] = 1"' <<<"$LAST_OUT"; then
	echo "FAIL coverage: the handoff was never reached"
	status=1
fi
check "safety: 3 lockers x 1 round + waiter, bound 2" pass safety \
	-DNLOCKERS=3 -DROUNDS=1 -DUNFAIRNESS=2

# Liveness: locker 0 always gets the lock it asks for.
check "liveness: 2 lockers + waiter, bound 2" pass liveness \
	-DROUNDS=0 -DNLOCKERS=2 -DUNFAIRNESS=2
check "liveness: 3 lockers, bound 2" pass liveness \
	-DROUNDS=0 -DNLOCKERS=3 -DNWATCHERS=0 -DUNFAIRNESS=2
check "liveness: 2 lockers, bound 5 (the code's)" pass liveness \
	-DROUNDS=0 -DNLOCKERS=2 -DNWATCHERS=0 -DUNFAIRNESS=5

# Mutations: without the handoff a waiter starves; without the recheck
# after setting PG_waiters a wake-up is lost.
check "mutation: no handoff starves a waiter" fail liveness \
	-DROUNDS=0 -DNLOCKERS=2 -DNWATCHERS=0 -DNO_HANDOFF
check "mutation: no recheck loses a wake-up" fail safety \
	-DNLOCKERS=2 -DROUNDS=3 -DNO_RECHECK

exit $status
