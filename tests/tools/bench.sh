#!/usr/bin/env bash
# bench.sh TOOL - the shape of `labyrinth bench`'s report, never its times:
# a short run of the pages and orders groups, as JSON and as text.  Every
# statistic keeps its keys (median, min, max) and has a "best": a subject's
# best is its minimum over the rounds (equal to "min": every figure is a
# time); a ratio's best is the best of its numerator over the best of its
# denominator (checked against the two subjects' bests); a target's best is
# its ratio's best to best (checked for the ones the JSON can recompute), or
# null for a count.  The text report says what "best" means and prints the
# best tables and each target's best; with more threads than CPUs, it says
# they take turns and gives the 16-thread target no verdict.  Exit 1 if any check failed; 77 when
# python3 (the JSON reader) is missing.
set -uo pipefail
tool=$1
command -v python3 >/dev/null || { echo "python3 not installed: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failed=0

if ! timeout 250 nice "$tool" bench --only pages,orders --rounds 3 --run-ms 1 --json \
	>"$dir/out.json" 2>"$dir/err"; then
	echo "FAIL: bench --json exited with an error"
	sed 's/^/  stderr: /' "$dir/err" | head -5
	exit 1
fi
python3 - "$dir/out.json" <<'EOF' || failed=1
import json, sys

report = json.load(open(sys.argv[1]))
bad = []
checked = 0

def close(a, b):
    # Both sides are printed with four decimals: allow for the rounding.
    return abs(a - b) <= 2e-4 + 2e-3 * abs(b)

def stat_keys(where, st):
    global checked
    checked += 1
    for k in ("median", "min", "max", "best"):
        if k not in st:
            bad.append(f"{where}: no \"{k}\" key")

if report["method"]["rounds"] != 3:
    bad.append("method.rounds is not 3")
figs = report["figures"]
for want in ("pair_b1", "latency_p99_99", "order_0", "order_10"):
    if want not in figs:
        bad.append(f"figure {want} missing")
for fid, fig in figs.items():
    for subj, st in fig["values"].items():
        if st is None:
            continue
        stat_keys(f"{fid}.values.{subj}", st)
        best = st.get("best")
        # (a latency can be 0: the timer's own cost is subtracted)
        if best is None or best < 0:
            bad.append(f"{fid}.values.{subj}: best {best} negative or missing")
        elif best != st["min"]:
            bad.append(f"{fid}.values.{subj}: best {best} is not the minimum {st['min']}")
    for key, st in fig["ratios"].items():
        if st is None:
            continue
        stat_keys(f"{fid}.ratios.{key}", st)
        num, den = key.split("_over_")
        a, b = fig["values"].get(num), fig["values"].get(den)
        if not (a and b and a.get("best") is not None and (b.get("best") or 0) > 0):
            a = b = None  # a round of 0 ns does not enter the ratios: not comparable
        best = st.get("best")
        # (0.0000 where the ratio is under the four decimals: labyrinth/mmap)
        if best is None or best < 0 or (best == 0 and a and b and a["best"] / b["best"] > 5e-5):
            bad.append(f"{fid}.ratios.{key}: best {best} not positive")
        elif a and b and not close(best, a["best"] / b["best"]):
            bad.append(f"{fid}.ratios.{key}: best {best} is not {a['best']} / {b['best']}")

targets = report["targets"]
for want in ("atomic_b1_vs_tcmalloc", "orders_1_3_vs_order_0", "orders_4_10_vs_order_0",
             "atomic_failures"):
    if want not in targets:
        bad.append(f"target {want} missing")
for tid, t in targets.items():
    st = t["value"]
    if st is None:
        continue
    stat_keys(f"targets.{tid}", st)
    best = st.get("best")
    if tid == "atomic_failures":
        if best is not None:
            bad.append(f"targets.{tid}: a count has no best, got {best}")
    elif best is None or best < 0:
        bad.append(f"targets.{tid}: best {best} negative or missing")

def value_best(fid, subj):
    st = figs.get(fid, {}).get("values", {}).get(subj)
    return st.get("best") if st else None

# Targets the JSON can recompute: a ratio of two subjects, the worst order.
t = targets.get("atomic_b1_vs_tcmalloc", {}).get("value")
lab, tc = value_best("pair_b1", "labyrinth"), value_best("pair_b1", "tcmalloc")  # never 0
if t and lab and tc and not close(t.get("best") or -1, lab / tc):
    bad.append(f"atomic_b1_vs_tcmalloc: best {t['best']} is not {lab} / {tc}")
for tid, lo, hi in (("orders_1_3_vs_order_0", 1, 3), ("orders_4_10_vs_order_0", 4, 10)):
    t = targets.get(tid, {}).get("value")
    zero = value_best("order_0", "labyrinth")
    orders = [value_best(f"order_{k}", "labyrinth") for k in range(lo, hi + 1)]
    if not t or not zero or None in orders:
        continue
    worst = max(v / zero for v in orders)
    if not close(t.get("best") or -1, worst):
        bad.append(f"{tid}: best {t['best']} is not the worst order's best to best {worst:.4f}")

for b in bad[:20]:
    print("FAIL:", b)
print(f"bench --json: {checked} statistics, {len(bad)} problems")
sys.exit(1 if bad else 0)
EOF

# The text: what "best" means, the best tables, each target's best.
if ! timeout 120 nice "$tool" bench --only orders --rounds 2 --run-ms 1 --no-png \
	>"$dir/out.txt" 2>"$dir/err"; then
	echo "FAIL: bench (text) exited with an error"
	sed 's/^/  stderr: /' "$dir/err" | head -5
	exit 1
fi
expect_text() {
	if grep -qE -- "$1" "$dir/out.txt"; then
		echo "ok:   text has: $1"
	else
		echo "FAIL: text lacks: $1"
		failed=1
	fi
}
expect_text '^best: each subject.s minimum over the rounds, and a ratio of two bests'
expect_text '^best: each subject.s minimum over the rounds$'
expect_text '^labyrinth / each, best to best: '
expect_text '^order 0 \(4 KiB\), batch 1 +[0-9]+\.[0-9]{3} '
range='[0-9.]+ \[[0-9.]+,[0-9.]+\]'  # a target's median [lowest, highest]
expect_text '^  orders 1-3 pair / order 0 pair \(worst order\) +'"$range"' best [0-9]+\.[0-9]{3} '\
'\(<= 1\.5\) (met|MISSED)$'
expect_text '^  ATOMIC allocations that failed \(all figures\) +'"$range"' \(<= 0\)'

# The scaling curve at 16 threads: on fewer CPUs the threads take turns, and
# the report says so instead of giving the 16-thread target a verdict.
if ! timeout 120 nice "$tool" bench --only scaling --threads 16 --rounds 1 --run-ms 1 --no-png \
	>"$dir/out.txt" 2>"$dir/err"; then
	echo "FAIL: bench --only scaling exited with an error"
	sed 's/^/  stderr: /' "$dir/err" | head -5
	exit 1
fi
cpus=$(getconf _NPROCESSORS_ONLN)
if [ "$cpus" -lt 16 ]; then
	expect_text "^note: $cpus CPUs online: with more threads than CPUs the threads take turns"
	expect_text '^  N threads: pairs/s / the best peer.s +not measured$'
	expect_text "^ +\(16 threads on $cpus CPUs online take turns: not measurable here\)$"
else
	expect_text '^  N threads: pairs/s / the best peer.s +'"$range"
fi
exit "$failed"
