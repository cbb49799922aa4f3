#!/usr/bin/env bash
# nanoGPT's "baby GPT" (6 layers, 6 heads, 384 wide, block 256, dropout 0.2) on tinyshakespeare
# with a byte-level BPE vocabulary trained on the same text: tokenizer -> shards -> training ->
# sample. Assumes a Release build in build/ (scripts/setup.sh). The numbers it produced are in
# docs/training.md. LOOM_DATA_DIR points at a folder holding tinyshakespeare/input.txt (default
# ../shared/data); LOOM_MAX_ITERS shortens the run; rerunning resumes it.
set -euo pipefail
cd "$(dirname "$0")/.."
loom=./build/src/loom/cli/loom
data="${LOOM_DATA_DIR:-../shared/data}/tinyshakespeare/input.txt"
out="${LOOM_RUN_DIR:-runs/shakespeare-bpe}"
if [ ! -f "$data" ]; then
  echo "shakespeare_bpe: '$data' not found; set LOOM_DATA_DIR to a folder with tinyshakespeare/input.txt" >&2
  exit 1
fi
mkdir -p "$out"
[ -f "$out/bpe/tokenizer.json" ] ||
  "$loom" tokenizer train --vocab_size 2048 --special '<|endoftext|>' --out "$out/bpe" "$data"
[ -f "$out/shards/meta.json" ] ||
  "$loom" prepare --tokenizer "$out/bpe" --out_dir "$out/shards" --val_fraction 0.1 "$data"
if [ -f "$out/model/training_state.safetensors" ]; then resume=--resume; else resume=; fi
"$loom" train --data "$out/shards" --out_dir "$out/model" $resume \
  --n_layer 6 --n_head 6 --n_embd 384 --block_size 256 --dropout 0.2 --batch_size 16 \
  --max_iters "${LOOM_MAX_ITERS:-1200}" --lr_decay_iters "${LOOM_MAX_ITERS:-1200}" \
  --learning_rate 1e-3 --min_lr 1e-4 --warmup_iters 100 --beta2 0.99 \
  --eval_interval 100 --eval_iters 20 --log_interval 20
"$loom" generate --model "$out/model" --prompt "ROMEO:" --max_new_tokens 200 --temperature 0.8 --top_k 40 --seed 7
