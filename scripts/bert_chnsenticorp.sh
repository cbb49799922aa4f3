#!/usr/bin/env bash
# The BERT classifier recipe on ChnSentiCorp (Chinese hotel, book and product reviews, binary
# sentiment) with the bert-base-chinese WordPiece vocabulary (every CJK character a token): a
# 4-layer, 256-wide encoder trained from scratch, scored on the dev set. Assumes a Release
# build in build/ (scripts/setup.sh). The numbers it produced are in docs/bert.md.
# LOOM_DATA_DIR points at the shared data (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
loom=./build/src/loom/cli/loom
data="${LOOM_DATA_DIR:-../shared/data}"
out="${LOOM_RUN_DIR:-runs/bert-chnsenticorp}"
vocab="$data/tokenizers/bert-base-chinese/vocab.txt"
for f in "$vocab" "$data/chnsenticorp/train.txt" "$data/chnsenticorp/dev.txt"; do
  [ -f "$f" ] || { echo "bert_chnsenticorp: '$f' not found; set LOOM_DATA_DIR to the shared data folder" >&2; exit 1; }
done
mkdir -p "$out"
# Files are "<review>\t<label>" without a header: text column 0, label column 1.
[ -f "$out/scratch/config.json" ] ||
  "$loom" finetune --task classify --tokenizer "$vocab" --cased --train "$data/chnsenticorp/train.txt" \
    --dev "$data/chnsenticorp/dev.txt" --text_col 0 --label_col 1 --out "$out/scratch" \
    --layers 4 --hidden 256 --heads 4 --intermediate 1024 --max_seq_len 128 --batch_size 32 --epochs 3 \
    --lr 1e-4 --evals_per_epoch 2 --patience 3 --matmul bf16 | tee "$out/scratch.log"
"$loom" eval --task classify --model "$out/scratch" --data "$data/chnsenticorp/dev.txt" --text_col 0 --label_col 1 \
  --max_seq_len 128 --json_out "$out/scratch-dev.json" | grep -E "^accuracy|^macro|truncated"
