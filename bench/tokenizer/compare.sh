#!/usr/bin/env bash
# GPT-2 encoding throughput, loom beside the fastest npm encoders, on the same files in one
# run; prints a Markdown table (median MB/s of 3 runs, tokens, and whether the ids are
# identical to loom's). Needs a Release build (scripts/setup.sh) and Node.js with npm.
#
#   bench/tokenizer/compare.sh [FILE ...]     # default: tinyshakespeare and wikitext-2 valid
#
# LOOM_DATA_DIR points at the shared data (GPT-2's vocab.json + merges.txt, default texts).
set -euo pipefail
cd "$(dirname "$0")"
data="${LOOM_DATA_DIR:-$(cd ../.. && pwd)/../shared/data}"
export LOOM_DATA_DIR="$data"
bench=../../build/src/loom/tokenizers/bpe_bench
[ -x "$bench" ] || { echo "compare.sh: $bench not built; run scripts/setup.sh" >&2; exit 1; }
[ -d node_modules ] || npm install --no-audit --no-fund --loglevel=error >/dev/null
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$data/tinyshakespeare/input.txt" "$data/wikitext-2/wiki.valid.tokens")
echo "| text | encoder | threads | MB/s | tokens | ids equal loom's |"
echo "|---|---|---|---|---|---|"
for f in "${files[@]}"; do
  name=$(basename "$(dirname "$f")")/$(basename "$f")
  out=$("$bench" encode "$f")
  fp=$(sed -n 's/.*fingerprint \([0-9]*\).*/\1/p' <<<"$out")
  tokens=$(sed -n 's/.*MB, \([0-9]*\) GPT-2 tokens.*/\1/p' <<<"$out")
  threads=$(sed -n 's/^encode_batch(.* chunks), \([0-9]*\) threads.*/\1/p' <<<"$out")
  one=$(sed -n 's/^encode(), 1 thread: *\([0-9.]*\) MB\/s.*/\1/p' <<<"$out")
  batch=$(sed -n 's/^encode_batch(.* chunks), [0-9]* threads: *\([0-9.]*\) MB\/s.*/\1/p' <<<"$out")
  echo "| $name | loom encode() | 1 | $one | $tokens | (reference) |"
  echo "| $name | loom encode_batch() on 64 KB chunks | $threads | $batch | $tokens | yes |"
  node encode.mjs "$f" | node -e '
    const fp = Number(process.argv[1]);
    const name = process.argv[2];
    let buf = "";
    process.stdin.on("data", (d) => (buf += d));
    process.stdin.on("end", () => {
      for (const line of buf.trim().split("\n")) {
        const r = JSON.parse(line);
        console.log(`| ${name} | ${r.name} | 1 | ${r.mb_per_s.toFixed(1)} | ${r.tokens} | ${r.fingerprint === fp ? "yes" : "NO"} |`);
      }
    });' "$fp" "$name"
done
