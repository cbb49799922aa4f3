#!/usr/bin/env bash
# The main job on the default corpus: build loom, train a small character-level GPT on
# tinyshakespeare for a few minutes (nanoGPT's CPU recipe, shortened), then print a sample.
# LOOM_DATA_DIR points at a folder holding tinyshakespeare/input.txt (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
data="${LOOM_DATA_DIR:-../shared/data}/tinyshakespeare/input.txt"
if [ ! -f "$data" ]; then
  echo "quickstart: '$data' not found; set LOOM_DATA_DIR to a folder with tinyshakespeare/input.txt" >&2
  exit 1
fi
out=runs/shakespeare-char
if [ -f "$out/training_state.safetensors" ]; then resume=--resume; else resume=; fi
./build/src/loom/cli/loom train --data "$data" --out_dir "$out" $resume \
  --n_layer 4 --n_head 4 --n_embd 128 --block_size 64 --batch_size 12 \
  --max_iters "${LOOM_MAX_ITERS:-2000}" --learning_rate 1e-3 --min_lr 1e-4 --warmup_iters 100 --beta2 0.99 \
  --eval_interval 250 --eval_iters 50 --log_interval 50
./build/src/loom/cli/loom generate --model "$out" --prompt "ROMEO:" --max_new_tokens 400 --temperature 0.8 --top_k 40 --seed 7
