#!/usr/bin/env bash
# Installs the Debian packages Neuroplex needs to build and test. Idempotent: when every package
# is already installed it does nothing (no apt-get update, no root needed).
set -euo pipefail

packages=(
  build-essential
  cmake
  ninja-build
  pkg-config
  ccache
  clang-format
  librocksdb-dev
  capnproto
  libcapnp-dev
  libboost-dev
  liburing-dev
  libjemalloc-dev
  nlohmann-json3-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  python3-websockets
  chromium
  libhnswlib-dev
  libfaiss-dev
  dataset-fashion-mnist
)

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)"
  if [[ "${status}" != "install ok installed" ]]; then
    missing+=("${pkg}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and sudo is not available; install them by hand" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
