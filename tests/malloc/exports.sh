#!/usr/bin/env bash
# exports.sh NM SO MAP - liblabyrinth-malloc.so exports exactly the malloc
# family and the C++ operators of its version script (src/malloc/malloc.map),
# all of them, and nothing else (its copy of Labyrinth stays private: no lab_
# symbol, so a program that links liblabyrinth gets its own copy, untouched);
# and it needs no C++ runtime.  Exit 77 without nm.
set -uo pipefail
NM=$1 SO=$2 MAP=$3
command -v "$NM" >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
status=0
want=$(sed -n '/global:/,/local:/p' "$MAP" | grep -v -e 'global:' -e 'local:' | tr ';' '\n' |
	tr -d ' \t' | grep -v '^$' | sort -u)
linker='^(_init|_fini|_end|_edata|__bss_start)$'
have=$("$NM" -D --defined-only "$SO" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' |
	grep -Ev "$linker" | sort -u)
extra=$(comm -13 <(echo "$want") <(echo "$have"))
missing=$(comm -23 <(echo "$want") <(echo "$have"))
[ -z "$extra" ] || { echo "FAIL: exported beyond malloc.map:"; echo "$extra" | sed 's/^/    /'; status=1; }
[ -z "$missing" ] || { echo "FAIL: malloc.map names what is not exported:"; echo "$missing" | sed 's/^/    /'; status=1; }
cxx=$("$NM" -D --undefined-only "$SO" | grep -E '(_ZSt|__cxa_|_ZNSt|_ZTI|_ZTV)' | grep -v '@GLIBC')
if [ -n "$cxx" ]; then
	echo "FAIL: needs the C++ runtime:"
	echo "$cxx" | sed 's/^/    /'
	status=1
fi
if objdump -p "$SO" 2>/dev/null | grep -q 'NEEDED.*libstdc++'; then
	echo "FAIL: linked against libstdc++"
	status=1
fi
echo "liblabyrinth-malloc.so exports $(echo "$have" | wc -l) symbols: the $(echo "$want" | wc -l) of malloc.map"
exit $status
