#!/usr/bin/env bash
# Builds Neuroplex with ASan+UBSan and -Werror, then runs every ctest test except the `soak`
# label. Extra arguments go to ctest: `scripts/test.sh -L unit`, `scripts/test.sh -R crdt`.
# BUILD_DIR overrides the build directory (default build/asan, relative to the repo root).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

scripts/install-deps.sh

build_dir="${BUILD_DIR:-build/asan}"
jobs="$(nproc)"

export CCACHE_DIR="${CCACHE_DIR:-${HOME:-/tmp}/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

cmake -S . -B "${build_dir}" -G Ninja \
  -DCMAKE_BUILD_TYPE=Debug \
  -DNEUROPLEX_SANITIZE=ON \
  -DNEUROPLEX_WERROR=ON
cmake --build "${build_dir}" -j "${jobs}"

# ctest's own closing lines ("100% tests passed, 0 tests failed out of N") stay the last output.
ctest --test-dir "${build_dir}" --output-on-failure --no-tests=error -j "${jobs}" -LE soak "$@"
