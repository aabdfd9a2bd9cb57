#!/usr/bin/env bash
# peers_torture.sh - what the crash-handler torture does to other mallocs:
# the plain build of tests/malloc/torture.c run on glibc's malloc and on each
# peer that is installed (LD_PRELOAD), RUNS times each.  Not part of the test
# command (they are expected to deadlock or crash); the outcome is recorded
# in torture.c's comment and docs/MALLOC.md.
#   usage: tests/malloc/peers_torture.sh BUILD_DIR [RUNS]
set -u
dir=${1:?usage: peers_torture.sh BUILD_DIR [RUNS]}
runs=${2:-5}
bin=$dir/tests/malloc/malloc_torture_plain
ulimit -c 0
lib=/usr/lib/x86_64-linux-gnu
for subject in glibc "$lib/libjemalloc.so.2" "$lib/libtcmalloc_minimal.so.4" \
	"$lib/libmimalloc.so.2" "$dir/src/malloc/liblabyrinth-malloc.so"; do
	pre=
	[ "$subject" = glibc ] || pre=$subject
	[ -z "$pre" ] || [ -e "$pre" ] || { echo "$subject: not installed"; continue; }
	for i in $(seq "$runs"); do
		out=$(LD_PRELOAD=$pre timeout 60 "$bin" --seconds 20 --threads 2 --hz 5000 --stall 5 2>&1)
		rc=$?
		case $rc in
		0) what="survived 20 s";;
		3) what="deadlocked: $(grep -o 'no progress.*' <<<"$out" | head -1)";;
		124) what="hung (timeout)";;
		*) what="died, status $rc: $(grep -m1 -E 'VIOLATION|corrupt|abort|Segmentation' <<<"$out")";;
		esac
		echo "$(basename "$subject") run $i: $what"
	done
done
