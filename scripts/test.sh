#!/usr/bin/env bash
# test.sh - the whole test suite, in stages, each labelled and timed; every
# build with warnings as errors.  15 minutes on the project's 2-core machine
# while other work kept it busy (load average 5 to 10; 2026-11-30), less
# when it is idle; it must stay under 20.
#
#   asan      gcc debug, ASan+UBSan: the unit tests three ways (suites unit and
#             native as they are, lock with LABYRINTH_PCP=lock, norseq with
#             glibc.pthread.rseq=0), the command's conventions (tools), the man
#             pages (docs), meson install + pkg-config and CMake (install), the
#             examples, kernel source compiled with `labyrinth ktest` (kernel),
#             fuzz corpus replay
#   stress    `labyrinth stress --seconds 20` in that ASan+UBSan build
#   release   clang release: the same, and the spin models (suite 'model')
#   tsan      clang, ThreadSanitizer: fuzz corpus replay and `labyrinth stress
#             --seconds 20`; Criterion cannot run under TSan (its BoxFort arena
#             finds no room in TSan's address layout: Criterion issue #274)
#   fuzz      clang, libFuzzer+ASan+UBSan: each target 30 s from its seed corpus
#   valgrind  gcc debug with coverage: unit tests, examples and corpus replay
#             under memcheck (every process logged; any error or definite leak
#             fails); then suites native and kernel without Valgrind
#   coverage  gcovr: lines of src/ covered by the valgrind stage's run, per
#             file; fails below COVERAGE_FLOOR percent
#
# The last line counts every runner: "tests: N passed, M failed, K skipped"
# (each Criterion test per build and suite, each other test once, each
# stress run, fuzz run, valgrind verdict and the coverage floor once).  A
# skip (a machine without protection keys, a build without a tool) is
# neither a pass nor a failure; the lines above it list each skip reason,
# how often it was given, and where.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
need_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

COVERAGE_FLOOR=${COVERAGE_FLOOR:-85}
STRESS_SECONDS=${STRESS_SECONDS:-20}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Suite 'kernel': the kernel files it compiles are unpacked once for every build.
export LAB_KERNEL_SRC=$PWD/build/kernel-src
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

passed=0 failed=0 skipped=0 status=0
stage_names=() stage_times=() stage_results=()
current_stage=""
# One line per skipped test: "stage<TAB>test<TAB>reason" (listed at the end).
skip_log=build/test-skips.txt
# Lines saying why a test failed: "stage<TAB>test<TAB>line" (listed at the end,
# so that the tail of the output names every failure).
fail_log=build/test-failures.txt

pass() { passed=$((passed + ${1:-1})); }
# fail [N [WHY]]: count N failures; WHY (for failures no test log names) goes
# into the list printed at the end.
fail() {
	failed=$((failed + ${1:-1}))
	status=1
	[ -z "${2:-}" ] || printf '%s\t-\t%s\n' "$current_stage" "$2" >>"$fail_log"
}

# Count a meson test run.  A Criterion executable counts by its tests: its
# "Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C" line counts
# passes and failures (T leaves skipped tests out), and --verbose prints
# "[SKIP] suite::test: reason" for each skipped one.  Any other test counts
# once; exit status 77 (meson's SKIP) is a skip, its reason the last line it
# printed.  Skips are neither passes nor failures.
count_meson() {
	local dir=$1 json
	json=$(ls "$dir"/meson-logs/testlog*.json 2>/dev/null | head -1)
	[ -n "$json" ] || { fail 1 "no test log in $dir/meson-logs"; return; }
	read -r p f k < <(python3 - "$json" "$current_stage" "$skip_log" "$fail_log" <<'EOF'
import json, re, sys
p = f = k = 0
skips = open(sys.argv[3], 'a')
fails = open(sys.argv[4], 'a')

def failed(name, out):
    # The lines that say why: Criterion's [FAIL] lines and each assertion with
    # the two lines of message after it; else the test's last lines.
    lines, why = out.splitlines(), []
    for i, l in enumerate(lines):
        if l.startswith('[FAIL]'):
            why.append(l)
        elif l.startswith('[----]') and re.search(r'[Aa]ssert|BUG|[Tt]imed? ?out|crash|signal', l):
            why.append(l)
            why += [m for m in lines[i + 1:i + 4] if m.startswith('[----]') and m[6:].strip()][:2]
    if not why:
        why = [l for l in lines if l.strip()][-3:]
    for l in why[:8]:
        fails.write(f"{sys.argv[2]}\t{name}\t{l.strip()[:240]}\n")
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = re.sub(r'\x1b\[[0-9;]*m', '', (t.get('stdout') or '') + (t.get('stderr') or ''))
    syn = re.findall(r'Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)', out)
    if syn:
        p += sum(int(s[1]) for s in syn)
        bad = sum(int(s[2]) + int(s[3]) for s in syn)
        f += bad if bad or t['result'] == 'OK' else 1
        if bad or t['result'] != 'OK':
            failed(t['name'], out)
        for m in re.finditer(r'^\[SKIP\] (\S+?): (.*)$', out, re.M):
            k += 1
            skips.write(f"{sys.argv[2]}\t{m.group(1)}\t{m.group(2).strip()}\n")
    elif t['result'] in ('OK', 'EXPECTEDFAIL'):
        p += 1
    elif t['result'] == 'SKIP':
        k += 1
        said = [l.strip() for l in out.splitlines() if l.strip()]
        skips.write(f"{sys.argv[2]}\t{t['name']}\t{said[-1] if said else 'exit status 77'}\n")
    else:
        f += 1
        failed(t['name'] + ' (' + t['result'] + ')', out)
print(p, f, k)
EOF
	)
	pass "$p"
	skipped=$((skipped + k))
	[ "$f" -eq 0 ] || fail "$f"
}

# build DIR [meson options...]: configure (reusing DIR) and build, quietly.
build() {
	local dir=$1
	shift
	setup_build "$dir" --werror "$@"
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { cat "$dir.ninja.log"; return 1; }
}

# meson_tests DIR [meson test options...]: run and count.
meson_tests() {
	local dir=$1 rc=0
	shift
	rm -f "$dir"/meson-logs/testlog*
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || rc=$?
	count_meson "$dir"
	return $rc
}

# stress BIN: one run of the torture tool, counted once.
stress() {
	if "$1" stress --seconds "$STRESS_SECONDS" --interval 5 2>"$2"; then
		pass
	else
		echo "stress failed; its stderr (last 60 lines of $2):"
		tail -60 "$2"
		fail 1 "labyrinth stress failed: $(grep -m1 -E 'BUG|violation|stall|error' "$2" || tail -1 "$2")"
		return 1
	fi
}

stage() {
	local name=$1 t0=$SECONDS rc=0
	shift
	current_stage=$name
	echo
	echo "===================================================================="
	echo "== stage $name: $*"
	echo "===================================================================="
	"stage_$name" || rc=$?
	stage_names+=("$name")
	stage_times+=($((SECONDS - t0)))
	stage_results+=("$([ $rc -eq 0 ] && echo ok || echo FAILED)")
	[ $rc -eq 0 ] || status=1
	echo "-- stage $name: $([ $rc -eq 0 ] && echo ok || echo FAILED) in $((SECONDS - t0)) s"
}

stage_asan() {
	CC=gcc build build/asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false || { fail 1 "build failed: see the ninja log above"; return 1; }
	meson_tests build/asan --no-suite model
}

stage_stress() {
	stress build/asan/labyrinth build/asan-stress.log
}

stage_release() {
	CC=clang build build/clang-release --buildtype=release || { fail 1 "build failed: see the ninja log above"; return 1; }
	meson_tests build/clang-release
}

stage_tsan() {
	CC=clang build build/tsan --buildtype=debug -Db_sanitize=thread -Db_lundef=false || { fail 1 "build failed: see the ninja log above"; return 1; }
	local rc=0
	meson_tests build/tsan --suite fuzz || rc=1
	stress build/tsan/labyrinth build/tsan-stress.log || rc=1
	return $rc
}

stage_fuzz() {
	CC=clang build build/fuzz --buildtype=debugoptimized -Db_sanitize=address,undefined \
		-Db_lundef=false -Dfuzz=libfuzzer -Dtests=disabled || { fail 1 "build failed: see the ninja log above"; return 1; }
	local rc=0 t
	mkdir -p build/fuzz-logs
	for t in ops gfp_name slab; do
		mkdir -p "build/fuzz-corpus/$t"
		# New inputs go to build/fuzz-corpus; crashes to build/fuzz-logs.
		if build/fuzz/tests/fuzz/fuzz_$t -max_total_time="$FUZZ_SECONDS" -timeout=25 \
			-close_fd_mask=2 -print_final_stats=1 -artifact_prefix="build/fuzz-logs/$t-" \
			"build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"build/fuzz-logs/$t.log" 2>&1; then
			echo "fuzz_$t: $(grep -E '^Done' "build/fuzz-logs/$t.log"), corpus $(ls "build/fuzz-corpus/$t" | wc -l) new inputs"
			pass
		else
			echo "fuzz_$t FAILED (full log build/fuzz-logs/$t.log; replay a crash with"
			echo "  build/fuzz/tests/fuzz/fuzz_$t build/fuzz-logs/$t-crash-...):"
			grep -v '^#' "build/fuzz-logs/$t.log" | tail -40
			fail 1 "fuzz_$t failed: build/fuzz-logs/$t.log"
			rc=1
		fi
	done
	return $rc
}

stage_valgrind() {
	CC=gcc build build/coverage --buildtype=debug -Db_coverage=true || { fail 1 "build failed: see the ninja log above"; return 1; }
	find build/coverage -name '*.gcda' -delete
	rm -rf build/valgrind-logs
	mkdir -p build/valgrind-logs
	local rc=0 bad
	# Without rseq (Valgrind has none) the lists run in lock mode anyway: the
	# 'lock' and 'norseq' suites would repeat the 'unit' one.
	# Suite 'native' checks the real kernel path (seccomp, faults,
	# memfd_secret, pkeys) and runs many threads and forks: tests/meson.build.
	# Suite 'kernel' compiles modules at test time (a compiler under memcheck).
	# Suites 'norseq', 'tools', 'docs' and 'install' exercise the build
	# and its command, not memory: they run in the asan and release stages.
	meson_tests build/coverage --no-suite model --no-suite lock --no-suite native \
		--no-suite norseq --no-suite tools --no-suite docs --no-suite install \
		--no-suite kernel \
		--timeout-multiplier 4 --wrapper \
		"valgrind --suppressions=$PWD/tests/valgrind.supp --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=$PWD/build/valgrind-logs/%p.log" || rc=1
	bad=$(grep -l 'ERROR SUMMARY: [1-9]' build/valgrind-logs/*.log || true)
	if [ -n "$bad" ]; then
		echo "valgrind found errors in $(echo "$bad" | wc -l) processes:"
		for f in $bad; do grep -v '^==[0-9]*== *$' "$f" | head -40; done
		fail 1 "valgrind found errors: $(echo $bad)"
		return 1
	fi
	echo "valgrind: $(ls build/valgrind-logs | wc -l) processes, no errors, no definite leaks"
	pass
	# The native and kernel suites still count for coverage: run them in this
	# build without Valgrind.
	meson_tests build/coverage --suite native --suite kernel || rc=1
	return $rc
}

stage_coverage() {
	local out rc
	out=$(gcovr -r . --filter 'src/' --fail-under-line "$COVERAGE_FLOOR" build/coverage 2>&1) && rc=0 || rc=$?
	echo "$out" | sed -n '/^File/,$p'
	if [ $rc -eq 0 ]; then
		echo "coverage: at least $COVERAGE_FLOOR% of the lines in src/"
		pass
	else
		echo "coverage: below the floor of $COVERAGE_FLOOR% of the lines in src/ (gcovr exit $rc)"
		fail 1 "coverage below $COVERAGE_FLOOR% (gcovr exit $rc)"
		return 1
	fi
}

t_start=$SECONDS
mkdir -p build
: >"$skip_log"
: >"$fail_log"
stage asan "gcc debug, ASan+UBSan: every suite but the models, fuzz corpus replay"
stage stress "labyrinth stress --seconds $STRESS_SECONDS in the ASan+UBSan build"
stage release "clang release: every suite, models included"
stage tsan "clang ThreadSanitizer: fuzz corpus replay, labyrinth stress --seconds $STRESS_SECONDS"
stage fuzz "libFuzzer+ASan+UBSan, each target $FUZZ_SECONDS s from tests/fuzz/corpus"
stage valgrind "Valgrind memcheck over the unit tests, examples and corpus replay (coverage build)"
stage coverage "gcovr, lines of src/, floor $COVERAGE_FLOOR%"

echo
echo "== stages:"
for i in "${!stage_names[@]}"; do
	printf '   %-9s %-7s %4d s\n' "${stage_names[$i]}" "${stage_results[$i]}" "${stage_times[$i]}"
done
printf '   %-9s %-7s %4d s\n' total "" $((SECONDS - t_start))
# What was skipped and why: each reason once, with how many skips it
# explains, the tests and the stages.
echo "== skipped: $skipped (neither passes nor failures)"
python3 - "$skip_log" <<'EOF'
import collections, sys
by_reason = collections.OrderedDict()
for line in open(sys.argv[1]):
    stage, test, reason = line.rstrip('\n').split('\t', 2)
    r = by_reason.setdefault(reason, [0, collections.OrderedDict(), collections.OrderedDict()])
    r[0] += 1
    r[1][test] = 1
    r[2][stage] = 1
for reason, (n, tests, stages) in by_reason.items():
    print(f"   {n:4d} x {reason}")
    print(f"          tests: {', '.join(tests)}; stages: {', '.join(stages)}")
EOF
if [ -s "$fail_log" ] || [ "$failed" -ne 0 ]; then
	echo "== failed: $failed (what each printed; whole logs in build/*/meson-logs)"
	sed 's/^/   /' "$fail_log" | head -60
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
