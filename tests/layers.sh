#!/bin/bash
# layers.sh - the header direction of docs/DESIGN.md ("Layers"), checked on
# the sources' #include lines and on what they may spell.
#
# Usage: layers.sh SOURCE_ROOT
#
#     base  <-  os  <-  page  <-  slab  <-  malloc     ("A <- B": B may include A)
#                        ^  ^          ^
#                  debug/    secure/   +-- kernel   (public headers only: a
#                                                   library of its own)
#     (page includes only debug's and secure's hook headers)
#
# 1. #include "X" of a project header from a file of layer L: X's folder must
#    be one L may include (table below), or X one of the hook headers that
#    page and the layers above it may include.  base and os include no public
#    header; public headers include only <labyrinth/...>; tools/ and bench/
#    include no src/ header (tests may: they are white-box).
#    src/kernel (liblabyrinth-kernel, the kernel's names) is a library over
#    liblabyrinth's public ABI: it includes only public headers (<labyrinth.h>,
#    <labyrinth/...>, its own "lab_kernel.h") and its own files, never another
#    layer's.  Its headers, include/labyrinth-kernel, include only the public
#    native headers, each other and the C library headers listed below (a
#    <linux/...> or <asm/...> they include is one of theirs, never the
#    system's); nothing below them includes them.
# 2. Outside src/os, no file includes an operating-system header (threads,
#    the dynamic linker, unistd, sys/*, linux/*, ...), and none spells inline
#    assembly or an architecture test: that is the OS and architecture
#    contract's (src/os, src/os/arch).  base/compiler.h may hold a compiler
#    barrier (an empty asm).  base includes no stdio either: it is pure C.
#    src/kernel is exempt from the OS headers as tools/ is: it cannot reach
#    src/os (hidden in liblabyrinth), so it makes its own calls (threads,
#    futex, liburcu, stdio, backtraces), each listed by tests/undefined.sh.
#
# Exit status: 0 clean, 1 with every offending line listed.
set -u
ROOT=${1:-.}
cd "$ROOT" || exit 1
status=0
fail() {
	echo "FAIL: $1"
	status=1
}

# Layers each layer may include (besides itself).
declare -A may=(
	[base]=""
	[os]="base"
	[page]="base os"
	[debug]="base os page"
	[secure]="base os page"
	[slab]="base os page"
	[malloc]="base os page slab"
	[kernel]=""
)
# The small headers through which page (and the layers above) reach debug/
# and secure/: each an inline test of a compiled-in tier and a runtime bit,
# or a declaration of what page calls.
hooks=" debug/hooks.h debug/poison.h debug/page_owner.h debug/fault.h debug/trace.h"
hooks+=" debug/export.h secure/hooks.h "

layer_of() {  # src/<layer>/... -> layer
	local p=${1#src/}
	echo "${p%%/*}"
}

while IFS= read -r f; do
	L=$(layer_of "$f")
	[ -n "${may[$L]+x}" ] || { fail "$f: in no layer (src/<layer>/)"; continue; }
	while IFS=: read -r line inc; do
		X=$(sed -E 's/^#include "([^"]+)".*/\1/' <<<"$inc")
		case "$X" in
		labyrinth.h | labyrinth/*)
			case "$L" in base | os)
				fail "$f:$line: $L includes the public header $X";;
			esac
			continue;;
		esac
		if [ "$L" = kernel ]; then
			# Its own files and its public header, by bare name (-iquote).
			[ "$X" = lab_kernel.h ] || [ -e "src/kernel/$X" ] ||
				fail "$f:$line: kernel includes only public headers and its own: $X"
			continue
		fi
		T=${X%%/*}
		[ "$T" = "$X" ] && { fail "$f:$line: \"$X\": name project headers by folder"; continue; }
		[ "$T" = "$L" ] && continue
		[[ " ${may[$L]} " == *" $T "* ]] && continue
		case "$L" in page | slab | malloc | debug | secure)
			[[ "$hooks" == *" $X "* ]] && continue;;
		esac
		fail "$f:$line: $L may not include $X (${L} <- ${may[$L]:-nothing})"
	done < <(grep -n '^#include "' "$f")
done < <(find src -name '*.[ch]' | sort)

# Public headers: only each other.
while IFS=: read -r f line inc; do
	fail "$f:$line: a public header includes a project header: $inc"
done < <(grep -Hn '^#include "' include/labyrinth.h include/labyrinth/*.h)
while IFS=: read -r f line inc; do
	case "$inc" in *'<labyrinth'*) ;; *'<std'* | *'<stdio.h>'*) ;;
	*) fail "$f:$line: a public header includes $inc";; esac
done < <(grep -Hn '^#include <' include/labyrinth.h include/labyrinth/*.h)

# The kernel headers: the public native ones, each other, the C library.
kernel_libc='stddef.h|stdbool.h|stdint.h|stdarg.h|string.h|limits.h|unistd.h|sys/types.h|sched.h'
while IFS=: read -r f line inc; do
	X=$(sed -E 's/^#include [<"]([^>"]+)[>"].*/\1/' <<<"$inc")
	case "$inc" in '#include "'*)
		fail "$f:$line: kernel headers include by <...>: $inc"; continue;;
	esac
	case "$X" in
	labyrinth.h | labyrinth/*.h | lab_kernel.h) continue;;
	linux/* | asm/*)
		[ -e "include/labyrinth-kernel/$X" ] ||
			fail "$f:$line: <$X> is not a labyrinth-kernel header (the system's would clash)"
		continue;;
	esac
	[[ "$X" =~ ^($kernel_libc)$ ]] ||
		fail "$f:$line: a kernel header includes $inc (public native headers, each other, $kernel_libc)"
done < <(grep -rHn '^#include ' include/labyrinth-kernel --include='*.h')
# Nothing below the kernel layer includes it.
while IFS=: read -r f line inc; do
	fail "$f:$line: only the kernel layer includes its header: $inc"
done < <(grep -rHnE '^#include [<"]lab_kernel\.h[>"]' src include/labyrinth.h include/labyrinth \
		tools bench | grep -v '^src/kernel/')

# Programs: public headers and the programs' own (tools/, bench/).
while IFS=: read -r f line inc; do
	X=$(sed -E 's/^#include "([^"]+)".*/\1/' <<<"$inc")
	[ -e "tools/$X" ] || [ -e "bench/$X" ] ||
		fail "$f:$line: tools and benchmarks include only public headers: $X"
done < <(grep -Hn '^#include "' tools/*.[ch] bench/*.[ch])

# The OS contract: system headers of the OS, assembly, architecture tests.
# (<sys/sdt.h>, the USDT probes of debug/trace.h, is a compiler note, no call.)
os_headers='pthread\.h|execinfo\.h|dlfcn\.h|link\.h|unistd\.h|sys/[a-z_/]*\.h|linux/[a-z_/]*\.h'
os_headers+='|sched\.h|signal\.h|fcntl\.h|dirent\.h|cpuid\.h|time\.h|x86intrin\.h|immintrin\.h'
while IFS=: read -r f line inc; do
	fail "$f:$line: only src/os includes OS headers: $inc"
done < <(grep -HnE "^#include <($os_headers)>" \
		$(find src -name '*.[ch]' -not -path 'src/os/*' -not -path 'src/kernel/*') |
	 grep -v ':#include <sys/sdt\.h>')
while IFS=: read -r f line text; do
	[ "$f" = src/base/compiler.h ] && [[ "$text" == *'__asm__ __volatile__(""'* ]] && continue
	fail "$f:$line: only src/os holds assembly or architecture tests:$text"
done < <(grep -HnE '__asm__|\basm\b *\(|__builtin_ia32|__x86_64__|__aarch64__|__i386__' \
		$(find src -name '*.[ch]' -not -path 'src/os/*'))
while IFS=: read -r f line inc; do
	fail "$f:$line: base is pure C, no stdio: $inc"
done < <(grep -HnE '^#include <stdio\.h>' $(find src/base -name '*.[ch]'))

[ $status = 0 ] && echo "layers: $(find src -name '*.[ch]' | wc -l) sources and" \
	"$(find include -name '*.h' | wc -l) headers follow the direction"
exit $status
