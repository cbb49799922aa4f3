#!/usr/bin/env bash
# The BERT recipe on SST-2 (English sentiment), twice with the same encoder and the same
# fine-tuning settings but each arm's own learning rate and epochs: (a) from scratch, (b) first
# pretrained with MLM + NSP on English raw text from the shared data, then fine-tuned. Both
# are scored on the SST-2 dev set.
#
# Pretraining text (one sentence per line, blank lines between documents; no SST dev or test
# sentence): the SST-5 training sentences (three times: the only in-domain text), WikiText-2
# valid, PTB valid, tinyshakespeare, Multi30k English captions, CoLA train sentences, RTE
# train pairs, MRPC pairs and AG News test articles (2.8 M WordPiece tokens). The vocabulary
# (8,000 WordPieces) is trained on that text, and both encoders use it.
#
# Assumes a Release build in build/ (scripts/setup.sh). The numbers it produced are in
# docs/bert.md. LOOM_DATA_DIR points at the shared data (default ../shared/data);
# LOOM_PRETRAIN_STEPS shortens pretraining; rerunning skips finished steps.
set -euo pipefail
cd "$(dirname "$0")/.."
loom=./build/src/loom/cli/loom
data="${LOOM_DATA_DIR:-../shared/data}"
out="${LOOM_RUN_DIR:-runs/bert-sst2}"
for f in "$data/sst2/stsa.binary.train" "$data/sst5/stsa.fine.train" "$data/wikitext-2/wiki.valid.tokens" \
  "$data/ag_news/test.csv" "$data/glue-mrpc/msr_paraphrase_train.txt"; do
  [ -f "$f" ] || { echo "bert_sst2: '$f' not found; set LOOM_DATA_DIR to the shared data folder" >&2; exit 1; }
done

text="$out/text"
if [ ! -f "$text/done" ]; then
  mkdir -p "$text"
  cut -d' ' -f2- "$data/sst5/stsa.fine.train" > "$text/sst5.txt"
  cp "$text/sst5.txt" "$text/sst5_copy2.txt"
  cp "$text/sst5.txt" "$text/sst5_copy3.txt"
  sed 's/^ *= .* = *$//' "$data/wikitext-2/wiki.valid.tokens" > "$text/wiki.txt"
  cp "$data/ptb/ptb.valid.txt" "$text/ptb.txt"
  cp "$data/tinyshakespeare/input.txt" "$text/shakespeare.txt"
  cat "$data/multi30k/tok/train.lc.norm.tok.en" "$data/multi30k/tok/val.lc.norm.tok.en" > "$text/multi30k.txt"
  cat "$data/glue-cola/train_part1.tsv" "$data/glue-cola/train_part2.tsv" | cut -f4 > "$text/cola.txt"
  # Sentence pairs as two-sentence documents.
  tail -n +2 "$data/glue-rte/train.tsv" | awk -F'\t' '{print $1; print $2; print ""}' > "$text/rte.txt"
  cat "$data/glue-mrpc/msr_paraphrase_train.txt" "$data/glue-mrpc/msr_paraphrase_test.txt" |
    sed 's/^\xEF\xBB\xBF//; s/\r$//' | grep -v '^Quality' | awk -F'\t' '{print $4; print $5; print ""}' > "$text/mrpc.txt"
  # AG News CSV ("class","title","description"): title and description as one document.
  sed -E 's/^"[0-9]+","//; s/"$//; s/","/\n/; s/""/"/g; s/\\/ /g; s/$/\n/' "$data/ag_news/test.csv" > "$text/agnews.txt"
  touch "$text/done"
fi

vocab="$out/wordpiece-8k/vocab.txt"
[ -f "$vocab" ] || "$loom" tokenizer train --model wordpiece --vocab_size 8000 --out "$out/wordpiece-8k" "$text"/*.txt

shape=(--layers 4 --hidden 256 --heads 4 --intermediate 1024 --pre_ln)
finetune=(--task classify --train "$data/sst2/stsa.binary.train" --dev "$data/sst2/stsa.binary.dev" --format label-first
  --max_seq_len 64 --batch_size 32 --dropout 0.1 --evals_per_epoch 2 --patience 3)

# (a) from scratch
[ -f "$out/scratch/config.json" ] ||
  "$loom" finetune "${finetune[@]}" --lr 3e-4 --epochs 4 --tokenizer "$vocab" "${shape[@]}" --out "$out/scratch" | tee "$out/scratch.log"

# (b) pretrained (no dropout while pretraining, 30% of the tokens predicted, 64-token
# instances, initial weights at std 0.05: this leaves masked-LM's early plateau within the
# run, see docs/bert.md), then fine-tuned
if [ ! -f "$out/pretrained.done" ]; then
  resume=; [ -f "$out/pretrained/training_state.safetensors" ] && resume=--resume
  "$loom" pretrain --objective mlm,nsp --data "$text"/*.txt --tokenizer "$vocab" --out "$out/pretrained" $resume \
    "${shape[@]}" --dropout 0 --init_range 0.05 --max_seq_len 64 --batch_size 64 \
    --steps "${LOOM_PRETRAIN_STEPS:-8000}" --lr 1.5e-3 --warmup_steps 400 --mask_prob 0.3 --max_predictions 20 \
    --eval_interval 500 --matmul bf16 | tee "$out/pretrain.log"
  touch "$out/pretrained.done"
fi
# Each arm at its own fine-tuning rate and length (chosen on dev, docs/bert.md): the
# pretrained weights are larger than fresh ones and need the larger steps of lr 1e-3, and
# do best when that rate decays to zero over 3 epochs rather than 4.
[ -f "$out/finetuned/config.json" ] ||
  "$loom" finetune "${finetune[@]}" --lr 1e-3 --epochs 3 --init "$out/pretrained" --out "$out/finetuned" | tee "$out/finetuned.log"

for run in scratch finetuned; do
  echo "== $run"
  "$loom" eval --task classify --model "$out/$run" --data "$data/sst2/stsa.binary.dev" --format label-first \
    --json_out "$out/$run-dev.json" | grep -E "^accuracy|^macro"
done
