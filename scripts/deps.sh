# deps.sh - sourced by the set-up scripts: installs the Debian packages a step
# needs when they are missing, and says which ones it installs.
need_packages() {
	local missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "labyrinth: installing missing Debian packages: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "labyrinth: not root; install them with: apt-get install ${missing[*]}" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

BUILD_PACKAGES=(gcc clang meson ninja-build pkg-config libc6-dev
	liburcu-dev  # RCU for the kernel headers (linux/rcupdate.h over liburcu-bp)
	systemtap-sdt-dev)  # USDT probes (optional: built without when absent)
TEST_PACKAGES=(libcriterion-dev
	spin      # model checking (tests/model)
	valgrind  # memcheck: client requests, the use-after-free test, the valgrind stage
	libclang-rt-14-dev  # clang's sanitizer and libFuzzer runtimes (tsan, fuzz stages)
	gcovr     # the coverage stage
	cmake     # find_package(labyrinth) from an installed tree (tests/install)
	groff-base man-db mandoc  # the man pages render without warnings (tests/docs)
	linux-source-6.12)  # kernel source files the 'kernel' suite compiles unchanged

# What `labyrinth bench` compares against, and draws with (scripts/main.sh).
# libsodium23 and libssl3 are loaded at run time by the exclusive-pages benchmark.
RUNTIME_PACKAGES=(libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 gnuplot-nox libsodium23 libssl3)

# meson setup that reuses an existing build directory.
setup_build() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}
