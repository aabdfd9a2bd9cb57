#!/usr/bin/env bash
# spin.sh MODEL.pml [-DNAME ...] - model-check a Promela model: exhaustive
# safety search (assertions and invalid end states), the model's variant
# chosen by the -D options given to spin.  Exit 77 (skipped) without spin.
set -euo pipefail
model=$(realpath "$1")
shift
command -v spin >/dev/null || { echo "spin not installed: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
spin -a "$@" "$model" >/dev/null
cc -O2 -DSAFETY -o pan pan.c
./pan -m100000 > out.txt 2>&1 || true
cat out.txt | grep -E "errors:|states, stored|assertion|invalid end" || true
grep -q "errors: 0" out.txt
