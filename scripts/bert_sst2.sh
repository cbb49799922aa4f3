#!/usr/bin/env bash
# The BERT recipe on SST-2 (English sentiment), twice with the same encoder and the same
# fine-tuning settings: (a) from scratch, (b) first pretrained with MLM + NSP on English raw
# text from the shared data (the SST-5 training sentences, WikiText-2, PTB, tinyshakespeare,
# Multi30k captions; no dev or test sentence), then fine-tuned. Both are scored on the SST-2
# dev set. Assumes a Release build in build/ (scripts/setup.sh). The numbers it produced are
# in docs/bert.md. LOOM_DATA_DIR points at the shared data (default ../shared/data);
# LOOM_PRETRAIN_STEPS shortens pretraining; rerunning skips finished steps.
set -euo pipefail
cd "$(dirname "$0")/.."
loom=./build/src/loom/cli/loom
data="${LOOM_DATA_DIR:-../shared/data}"
out="${LOOM_RUN_DIR:-runs/bert-sst2}"
vocab="$data/tokenizers/bert-base-uncased/vocab.txt"
for f in "$vocab" "$data/sst2/stsa.binary.train" "$data/sst5/stsa.fine.train" "$data/wikitext-2/wiki.valid.tokens"; do
  [ -f "$f" ] || { echo "bert_sst2: '$f' not found; set LOOM_DATA_DIR to the shared data folder" >&2; exit 1; }
done
mkdir -p "$out/text"
# Pretraining text in BERT's format: a sentence per line, blank lines between documents.
cut -d' ' -f2- "$data/sst5/stsa.fine.train" > "$out/text/sst5.txt"
sed 's/^ *= .* = *$//' "$data/wikitext-2/wiki.valid.tokens" > "$out/text/wiki.txt"
cp "$data/ptb/ptb.valid.txt" "$out/text/ptb.txt"
cp "$data/tinyshakespeare/input.txt" "$out/text/shakespeare.txt"
cp "$data/multi30k/tok/train.lc.norm.tok.en" "$out/text/multi30k.txt"

shape=(--layers 4 --hidden 256 --heads 4 --intermediate 1024)
finetune=(--task classify --train "$data/sst2/stsa.binary.train" --dev "$data/sst2/stsa.binary.dev" --format label-first
  --max_seq_len 64 --batch_size 32 --epochs 4 --lr 3e-4 --evals_per_epoch 2 --patience 3)

# (a) from scratch
[ -f "$out/scratch/config.json" ] ||
  "$loom" finetune "${finetune[@]}" --tokenizer "$vocab" "${shape[@]}" --out "$out/scratch" | tee "$out/scratch.log"

# (b) pretrained, then fine-tuned
if [ ! -f "$out/pretrained.done" ]; then
  resume=; [ -f "$out/pretrained/training_state.safetensors" ] && resume=--resume
  "$loom" pretrain --objective mlm,nsp --data "$out"/text/*.txt --tokenizer "$vocab" --out "$out/pretrained" $resume \
    "${shape[@]}" --max_seq_len 128 --batch_size 64 --steps "${LOOM_PRETRAIN_STEPS:-1500}" --lr 5e-4 \
    --warmup_steps 150 --eval_interval 250 --matmul bf16 | tee "$out/pretrain.log"
  touch "$out/pretrained.done"
fi
[ -f "$out/finetuned/config.json" ] ||
  "$loom" finetune "${finetune[@]}" --init "$out/pretrained" --out "$out/finetuned" | tee "$out/finetuned.log"

for run in scratch finetuned; do
  echo "== $run"
  "$loom" eval --task classify --model "$out/$run" --data "$data/sst2/stsa.binary.dev" --format label-first \
    --json_out "$out/$run-dev.json" | grep -E "^accuracy|^macro"
done
