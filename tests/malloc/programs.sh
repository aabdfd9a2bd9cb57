#!/usr/bin/env bash
# programs.sh - unmodified programs from Debian's packages run under
# LD_PRELOAD=liblabyrinth-malloc.so and must give the same output as
# without it (and exit the same way).  One program per run, a few seconds
# each; a program that is not installed is a skip (exit 77), counted as one
# by the test command (scripts/deps.sh, MALLOC_TEST_PACKAGES, installs them).
#
#   usage: programs.sh PRELOAD_SO SCRATCH_DIR PROGRAM
#   PROGRAM: python3 | sqlite3 | git | perl | gcc | stress-ng | redis
#
# Every run under the preload also asks for the statistics line, so that a
# run that did not actually use the library fails instead of passing.
set -u
so=${1:?usage: programs.sh PRELOAD_SO SCRATCH_DIR PROGRAM}
scratch=${2:?}
prog=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
work=$scratch/programs-$prog
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
ulimit -c 0

need() {
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p is not installed"; exit 77; }
	done
}

fail() {
	echo "FAILED: $*"
	exit 1
}

# run NAME CMD...: CMD twice, without and with the library; same stdout and
# status; the library's statistics line must show up in the second stderr.
run() {
	local name=$1
	shift
	"$@" >"$name.glibc.out" 2>"$name.glibc.err"
	local rc1=$?
	LABYRINTH_MALLOC_STATS=1 LD_PRELOAD=$so "$@" >"$name.lab.out" 2>"$name.lab.err"
	local rc2=$?
	grep -q '^labyrinth-malloc: pid' "$name.lab.err" ||
		fail "$name: no labyrinth-malloc statistics line: was the library used? stderr: $(tail -5 "$name.lab.err")"
	[ "$rc1" = "$rc2" ] || fail "$name: exit status $rc2 under the library, $rc1 without; stderr: $(tail -20 "$name.lab.err")"
	cmp -s "$name.glibc.out" "$name.lab.out" ||
		fail "$name: output differs: $(diff "$name.glibc.out" "$name.lab.out" | head -20)"
	echo "$name: same output ($(wc -c <"$name.lab.out") bytes), status $rc2; $(grep -o 'calls: malloc [0-9]*' "$name.lab.err" | head -1)"
}

# lab NAME CMD...: CMD under the library only (for what prints timings);
# must exit 0.
lab() {
	local name=$1
	shift
	LABYRINTH_MALLOC_STATS=1 LD_PRELOAD=$so "$@" >"$name.lab.out" 2>"$name.lab.err" ||
		fail "$name: exit status $? under the library: $(tail -20 "$name.lab.out" "$name.lab.err")"
	grep -q '^labyrinth-malloc: pid' "$name.lab.err" ||
		fail "$name: no labyrinth-malloc statistics line: was the library used?"
}

case $prog in
python3)
	py=/usr/bin/python3
	[ -x $py ] || { echo "SKIP: $py is not installed"; exit 77; }
	cat >work.py <<'EOF'
import collections, hashlib, json, random, re
random.seed(1)
d = {f"k{i}": [random.random() for _ in range(i % 37)] for i in range(30000)}
s = json.dumps(d, sort_keys=True)
back = json.loads(s)
words = re.findall(r"k\d+", s)
count = collections.Counter(w[-1] for w in words)
big = sorted((random.getrandbits(64) for _ in range(100000)))
text = "".join(chr(97 + (x % 26)) for x in big[:50000])
print(len(s), len(back), sorted(count.items())[:5])
print(hashlib.sha256(s.encode()).hexdigest(), big[1234], text.count("abc"))
EOF
	run python-workload $py work.py
	# A few modules of its own test suite (libpython3.11-testsuite).
	$py -c 'import test.test_dict' 2>/dev/null || { echo "SKIP: python3's test suite is not installed"; exit 77; }
	lab python-tests $py -m test -q test_dict test_list test_re test_collections test_deque \
		test_struct
	grep -q 'Tests result: SUCCESS' python-tests.lab.out ||
		fail "python3 -m test: $(tail -20 python-tests.lab.out)"
	echo "python3 -m test (6 modules): $(grep -m1 'Total duration' python-tests.lab.out), SUCCESS"
	;;
sqlite3)
	need sqlite3
	cat >work.sql <<'EOF'
create table t(id integer primary key, name text, grp int, val real);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 60000)
insert into t(name, grp, val) select printf('name-%08d-%x', i, i * 31), i % 97, (i * 7919) % 10007 / 3.0 from n;
create index t_grp on t(grp, val);
select grp, count(*), round(sum(val), 3), min(name), max(name) from t group by grp order by grp limit 10;
select count(*) from t where name like '%77%';
update t set val = val * 2 where grp < 30;
delete from t where id % 5 = 0;
select count(*), round(sum(val), 3) from t;
select group_concat(name, ',') from (select name from t order by val desc limit 20);
EOF
	run sqlite3 sqlite3 :memory: ".read work.sql"
	;;
git)
	need git
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
		GIT_COMMITTER_EMAIL=t@example.com GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
		GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME=$work
	mkdir -p glibc-tree
	(
		cd glibc-tree || exit 1
		for i in $(seq 1 200); do
			d="d$((i % 17))/e$((i % 5))"
			mkdir -p "$d"
			for ((k = i; k <= 3 * i; k++)); do echo "line $i: $k"; done >"$d/f$i.txt"
		done
	)
	cp -r glibc-tree lab-tree
	script() {
		cd "$1" || exit 1
		git init -q -b main . && git add . && git commit -qm "first" &&
			sed -i 's/line 1/LINE 1/' d*/e*/f1*.txt && git commit -qam "second" &&
			git log --stat --format='%H %s' && git diff HEAD~1 --stat && git count-objects &&
			git gc -q && git fsck --no-progress && git log --format=%H
	}
	(script glibc-tree) >git.glibc.out 2>git.glibc.err
	rc1=$?
	(export LABYRINTH_MALLOC_STATS=1 LD_PRELOAD=$so; script lab-tree) >git.lab.out 2>git.lab.err
	rc2=$?
	# (count-objects differs only if packing did; compare everything)
	[ $rc1 = 0 ] && [ $rc2 = 0 ] || fail "git: status $rc2 under the library, $rc1 without: $(tail git.lab.err)"
	grep -q '^labyrinth-malloc: pid' git.lab.err || fail "git: no statistics line"
	cmp -s git.glibc.out git.lab.out || fail "git: output differs: $(diff git.glibc.out git.lab.out | head)"
	echo "git: init/add/commit/log/diff/gc/fsck on 200 files: same output ($(wc -l <git.lab.out) lines)"
	;;
perl)
	need perl
	cat >work.pl <<'EOF'
use strict; use warnings;
my %h; my @a;
for my $i (1 .. 150000) { $h{"key$i"} = [ map { $_ * $i } 1 .. ($i % 13) ]; push @a, "v" x ($i % 50); }
my $n = 0; $n += scalar(@{$h{$_}}) for keys %h;
my $s = join(",", map { sprintf("%x", $_) } grep { $_ % 7 == 0 } 1 .. 200000);
my @m = ($s =~ /(a[0-9a-f]{2,})/g);
my @sorted = sort { $a cmp $b } map { scalar reverse $_ } keys %h;
print "$n ", scalar(@a), " ", length($s), " ", scalar(@m), " $sorted[0] $sorted[-1]\n";
EOF
	run perl perl work.pl
	;;
gcc)
	need gcc
	src=$here/../../src/slab/cache.c
	[ -f "$src" ] || fail "gcc: $src not found"
	for opt in -O0 -O2; do
		run "gcc$opt" gcc "$opt" -g -D_GNU_SOURCE -I"$here/../../include" -I"$here/../../src" \
			-c "$src" -o /dev/stdout
	done
	;;
stress-ng)
	need stress-ng
	lab stress-ng stress-ng --malloc 2 --malloc-ops 50000 --verify --metrics-brief
	grep -qi 'successful run completed' stress-ng.lab.err stress-ng.lab.out ||
		fail "stress-ng: $(tail -5 stress-ng.lab.err)"
	grep -v '^labyrinth-malloc:' stress-ng.lab.err | grep -Ei 'fail|error' &&
		fail "stress-ng reported a failure"
	echo "stress-ng --malloc 2 --malloc-ops 50000 --verify: $(grep -h 'successful' stress-ng.lab.err stress-ng.lab.out)"
	;;
redis)
	need redis-server redis-cli redis-benchmark
	port=$((20000 + $$ % 20000))
	serve() {  # serve PRELOAD: a server on $port
		env ${1:+LD_PRELOAD=$1} LABYRINTH_MALLOC_STATS=1 redis-server --port "$port" \
			--bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"redis.$2.log" 2>&1 &
		pid=$!
		for _ in $(seq 100); do
			redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
			sleep 0.05
		done
		fail "redis-server did not start: $(tail "redis.$2.log")"
	}
	session() {  # the same commands against either server
		redis-benchmark -p "$port" -n 10000 -r 5000 -q -t set,get,incr,lpush,rpop,hset,lrange_100 \
			>"redis.bench.$1" 2>&1 || fail "redis-benchmark: $(tail -3 "redis.bench.$1")"
		redis-cli -p "$port" flushall >/dev/null
		for i in $(seq 1 300); do echo "SET key:$i $(printf 'v%.0s' $(seq 1 $((i % 40 + 1))))"; done |
			redis-cli -p "$port" >/dev/null
		redis-cli -p "$port" <<-'EOF'
			MGET key:1 key:77 key:300
			RPUSH list a b c d e f g
			LRANGE list 0 -1
			DEL list
			DBSIZE
			GET key:150
			EOF
		redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
	}
	serve "" glibc
	session glibc >redis.glibc.out
	wait "$pid"
	rc1=$?
	serve "$so" lab
	session lab >redis.lab.out
	wait "$pid"
	rc2=$?
	[ $rc1 = $rc2 ] || fail "redis-server: status $rc2 under the library, $rc1 without"
	grep -q '^labyrinth-malloc: pid' redis.lab.log || fail "redis: no statistics line: $(tail -3 redis.lab.log)"
	cmp -s redis.glibc.out redis.lab.out || fail "redis: output differs: $(diff redis.glibc.out redis.lab.out | head)"
	echo "redis-server under redis-benchmark (7 tests x 10000 requests) and a session: same output"
	echo "  $(tr '\r' '\n' <redis.bench.lab | grep -E 'requests per second' | head -3 | tr '\n' ' ')"
	;;
*)
	echo "usage: programs.sh PRELOAD_SO SCRATCH_DIR python3|sqlite3|git|perl|gcc|stress-ng|redis"
	exit 2
	;;
esac
