#!/usr/bin/env bash
# Installs loom's build dependencies (Debian 12 packages) and builds a Release tree in
# build/ (--deps-only: just the packages). Run as root or with sudo available. Safe to
# run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev libdnnl-dev libcurl4-openssl-dev libutf8proc-dev)
if [ "${LOOM_WITH_TORCH:-0}" = "1" ]; then packages+=(python3-torch python3-numpy); fi
if [ "${LOOM_WITH_CLANG:-0}" = "1" ]; then packages+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

[ "${1:-}" = "--deps-only" ] && exit 0
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${LOOM_CMAKE_ARGS:-}
cmake --build build -j "$(nproc)"
