#!/usr/bin/env bash
# Builds loom and runs the whole test suite (all layers, PyTorch fixtures, golden files).
# LOOM_SANITIZE=1 builds and runs it under AddressSanitizer + UndefinedBehaviorSanitizer
# in build-asan/ instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${LOOM_SANITIZE:-0}" = "1" ]; then
  bash scripts/setup.sh --deps-only
  dir=build-asan
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOM_SANITIZE=ON -DLOOM_WERROR=ON
  cmake --build "$dir" -j "$(nproc)"
  # oneDNN's JIT code and OpenMP's runtime are not instrumented; leaks from their
  # process-lifetime caches are not ours.
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir "$dir" --output-on-failure -j 2
else
  LOOM_CMAKE_ARGS="-DLOOM_WERROR=ON" bash scripts/setup.sh
  ctest --test-dir build --output-on-failure -j 2
fi
