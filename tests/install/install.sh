#!/usr/bin/env bash
# install.sh BUILD SRC PREFIX LIBDIR INCLUDEDIR BINDIR MANDIR CC [CFLAGS...]
# `meson install` of the build into a DESTDIR under BUILD, then, as a user of
# the installed files would: build tests/install/hello.c with pkg-config and
# run it, build it with CMake's find_package(labyrinth) (shared and static)
# and run both, and check the command and man pages are there.  CC and
# CFLAGS are the build's compiler and its sanitizer/coverage flags.
set -euo pipefail
# meson test points LD_LIBRARY_PATH at the build's library: a user has none.
unset LD_LIBRARY_PATH
build=$1 src=$2 prefix=$3 libdir=$4 includedir=$5 bindir=$6 mandir=$7 cc=$8
shift 8
cflags="$*"
work=$build/install-test
rm -rf "$work"
mkdir -p "$work"
dest=$work/dest
root=$dest$prefix
rel() { case $1 in /*) echo "$dest$1" ;; *) echo "$root/$1" ;; esac; }

meson install -C "$build" --destdir "$dest" --no-rebuild >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; exit 1; }
for f in "$(rel "$includedir")/labyrinth.h" "$(rel "$includedir")/labyrinth/page.h" \
	"$(rel "$libdir")/liblabyrinth.a" \
	"$(rel "$libdir")/liblabyrinth.so" "$(rel "$libdir")/pkgconfig/labyrinth.pc" \
	"$(rel "$libdir")/cmake/labyrinth/labyrinthConfig.cmake" \
	"$(rel "$libdir")/cmake/labyrinth/labyrinthConfigVersion.cmake" \
	"$(rel "$bindir")/labyrinth" "$(rel "$mandir")/man1/labyrinth.1" \
	"$(rel "$mandir")/man3/labyrinth.3"; do
	[ -e "$f" ] || { echo "not installed: ${f#$dest}"; exit 1; }
done
echo "installed into $dest: header, libraries, labyrinth.pc, CMake package, command, man pages"
libpath=$(rel "$libdir")
# The libraries a program loads: ldd's whole output, then grep.  (ldd | grep -q
# fails under pipefail when grep stops at a match before the loader's last line
# is written: SIGPIPE.)
loads() { LD_LIBRARY_PATH=${2:-} ldd "$1"; }

# pkg-config, with the prefix moved under DESTDIR.
export PKG_CONFIG_PATH=$libpath/pkgconfig
pc="pkg-config --define-variable=prefix=$root labyrinth"
flags="$($pc --cflags) $($pc --libs)"
echo "pkg-config: $flags"
# shellcheck disable=SC2086
$cc $cflags -o "$work/hello-pc" "$src/tests/install/hello.c" $flags
LD_LIBRARY_PATH=$libpath "$work/hello-pc"
# The program ran against the installed library, not the build's.
grep -q "$libpath/liblabyrinth.so" <<<"$(loads "$work/hello-pc" "$libpath")" ||
	{ echo "hello-pc did not load the installed library:"; LD_LIBRARY_PATH=$libpath ldd "$work/hello-pc"; exit 1; }

# CMake: find_package(labyrinth 0.1) from the installed tree.
command -v cmake >/dev/null || { echo "cmake not installed (scripts/deps.sh installs it)"; exit 1; }
cmake -S "$src/tests/install" -B "$work/cmake" -G Ninja -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$cflags" -DCMAKE_PREFIX_PATH="$root" >"$work/cmake.log" 2>&1 ||
	{ cat "$work/cmake.log"; exit 1; }
ninja -C "$work/cmake" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
"$work/cmake/hello"          # the imported target's RPATH points at the installed library
"$work/cmake/hello_static"
grep -q "$libpath/liblabyrinth.so" <<<"$(loads "$work/cmake/hello")" ||
	{ echo "hello (CMake) did not load the installed library"; exit 1; }
if grep -q liblabyrinth <<<"$(loads "$work/cmake/hello_static")"; then
	echo "hello_static is linked with the shared library"
	exit 1
fi
# A version this installation does not serve is refused.
if cmake -S "$src/tests/install" -B "$work/cmake-v1" -G Ninja -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$root" -DLAB_WANT_VERSION=1.0 >"$work/cmake-v1.log" 2>&1; then
	echo "find_package(labyrinth 1.0) accepted version $($pc --modversion)"
	exit 1
fi
grep -q "compatible with requested version" "$work/cmake-v1.log" ||
	{ echo "find_package(labyrinth 1.0) failed for another reason:"; cat "$work/cmake-v1.log"; exit 1; }
# The kernel-compatibility layer, where this build has it (LAB_KERNEL_LAYER,
# from meson: -Dkernel and liburcu-bp): nothing of it may be installed
# otherwise.
kinc=$(rel "$includedir")/labyrinth-kernel
if [ "${LAB_KERNEL_LAYER:-1}" = 0 ]; then
	for f in "$kinc" "$libpath/liblabyrinth-kernel.so" "$libpath/pkgconfig/labyrinth-kernel.pc"; do
		[ ! -e "$f" ] || { echo "installed without the kernel layer: ${f#$dest}"; exit 1; }
	done
	echo "install: pkg-config and CMake find_package builds ran; no kernel layer in this build (none installed)"
	exit 0
fi
# Its headers, libraries and pkg-config file, and the installed `labyrinth
# ktest` building a module with them.
for f in "$kinc/lab_kernel.h" "$kinc/linux/slab.h" "$kinc/asm/page.h" \
	"$libpath/liblabyrinth-kernel.so" "$libpath/liblabyrinth-ktest.a" \
	"$libpath/pkgconfig/labyrinth-kernel.pc"; do
	[ -e "$f" ] || { echo "not installed: ${f#$dest}"; exit 1; }
done
# ktest runs "$PKG_CONFIG --cflags labyrinth-kernel" through the shell.
PKG_CONFIG="pkg-config --define-variable=prefix=$root" CC=$cc CFLAGS="$cflags" \
	LDFLAGS="$cflags" TMPDIR=$work LD_LIBRARY_PATH=$libpath \
	"$(rel "$bindir")/labyrinth" ktest -o "$work/page_ops" "$src/tests/kernel/page_ops.c" \
	>"$work/ktest.log" 2>&1 || { cat "$work/ktest.log"; exit 1; }
grep -q "page operations checked" "$work/ktest.log" || { cat "$work/ktest.log"; exit 1; }
grep -q "$libpath/liblabyrinth-kernel.so" <<<"$(loads "$work/page_ops" "$libpath")" ||
	{ echo "the module did not load the installed liblabyrinth-kernel:"; loads "$work/page_ops" "$libpath"; exit 1; }
echo "install: pkg-config and CMake find_package builds ran; labyrinth ktest built a module"
