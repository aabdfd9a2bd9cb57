#!/usr/bin/env bash
# main.sh - the main job: build Labyrinth (release) and run `labyrinth bench`,
# the ATOMIC path against the allocators users pick instead.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
need_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}"
setup_build build/release --buildtype=release -Dtests=disabled
ninja -C build/release >/dev/null
exec ./build/release/labyrinth bench "$@"
