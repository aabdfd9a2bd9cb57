#!/usr/bin/env bash
# man.sh MANDIR INCLUDE_DIR TOOL - the man pages stay well-formed and
# complete: groff (-man -ww) renders each without a warning, mandoc -Tlint
# too where it is installed; labyrinth(3) names every function of the public
# headers (labyrinth.h and labyrinth/*.h) and labyrinth(1) every command and
# option the tool's --help lists.
set -uo pipefail
mandir=$1 incdir=$2 tool=$3
headers=("$incdir/labyrinth.h" "$incdir"/labyrinth/*.h)
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

render() {  # the page as plain text, one long line per paragraph
	groff -man -Tutf8 -rLL=250n -rHY=0 -P-cbou "$1" 2>/dev/null
}

for page in "$mandir/labyrinth.1" "$mandir/labyrinth.3"; do
	warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	[ -z "$warnings" ] || fail "groff warns about $page: $warnings"
	if command -v mandoc >/dev/null; then
		lint=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		[ -z "$lint" ] || fail "mandoc -Tlint: $lint"
	fi
	# man(1) finds and formats it as a user would.
	man -l "$page" >/dev/null 2>&1 || fail "man -l $page"
done
command -v mandoc >/dev/null || echo "mandoc not installed: groff -ww only"

# labyrinth(3): every public function (LAB_API or static inline) and macro
# function of the headers.
text3=$(render "$mandir/labyrinth.3")
funcs=$(grep -hoE '^LAB_API [^(]*\b(lab_[a-z0-9_]+)\(|^static inline [^(]*\b(lab_[a-z0-9_]+)\(|define (lab_[a-z_]+)\(' "${headers[@]}" |
	grep -oE 'lab_[a-z0-9_]+\($' | tr -d '(' | sort -u)
n=0
for f in $funcs; do
	n=$((n + 1))
	grep -qE "\b$f\b" <<<"$text3" || fail "labyrinth(3) does not document $f"
done
[ "$n" -ge 60 ] || fail "only $n functions found in ${headers[*]}: the pattern is broken"

# labyrinth(1): every command of `labyrinth --help` and every --option of
# each command's --help.
text1=$(render "$mandir/labyrinth.1")
cmds=$("$tool" --help | sed -n 's/^  \([a-z]\+\)\( .*\)\?$/\1/p')
[ -n "$cmds" ] || fail "no commands in labyrinth --help"
for c in $cmds; do
	grep -qE "^ +$c\b|^labyrinth $c\b" <<<"$text1" || fail "labyrinth(1) does not describe '$c'"
	opts=$("$tool" "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	for o in $opts; do
		grep -qF -- "$o" <<<"$text1" || fail "labyrinth(1) does not name '$c $o'"
	done
done
echo "man pages: $n functions, commands: $(echo $cmds); $failed problems"
[ "$failed" -eq 0 ]
