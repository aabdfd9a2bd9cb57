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

BUILD_PACKAGES=(gcc clang meson ninja-build pkg-config libc6-dev)
TEST_PACKAGES=(libcriterion-dev)
# Torture stages of test.sh: clang's sanitizer and libFuzzer runtimes,
# memcheck, coverage report.
TEST_PACKAGES+=(libclang-rt-14-dev valgrind gcovr)

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
