#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs each for a
# bounded time: FUZZ_SECONDS (default 60) per target. Seeds come from tests/fuzz_seeds/<target>
# when present; crashes are written to build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
targets=(safetensors_fuzz tokenizer_fuzz gguf_fuzz)
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOM_FUZZ=ON -DLOOM_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}"
mkdir -p build-fuzz/crashes
for t in "${targets[@]}"; do
  bin=$(find build-fuzz -type f -name "$t" -perm -u+x | head -n 1)
  corpus="build-fuzz/corpus/$t"
  mkdir -p "$corpus"
  seeds=()
  [ -d "tests/fuzz_seeds/$t" ] && seeds=("tests/fuzz_seeds/$t")
  echo "fuzzing $t for ${seconds}s"
  "$bin" -max_total_time="$seconds" -max_len=8192 -artifact_prefix=build-fuzz/crashes/"$t"- "$corpus" "${seeds[@]}" 2>&1 | tail -n 3
done
