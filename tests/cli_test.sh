#!/usr/bin/env bash
# End-to-end tests of the `loom` executable: a tiny train -> resume -> eval -> generate run,
# and the one-line error texts and exit codes for bad input.
# Usage: cli_test.sh PATH/TO/loom WORK_DIR
set -u
loom="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error NAME EXPECTED_SUBSTRING COMMAND...: non-zero exit, one 'loom: error:' line.
expect_error() {
  local name="$1" want="$2"; shift 2
  local err
  err=$("$@" 2>&1 >/dev/null)
  local code=$?
  [ $code -ne 0 ] || fail "$name: exit status 0, expected non-zero"
  [ "$(printf '%s\n' "$err" | grep -c '^loom: error:')" -eq 1 ] || fail "$name: expected one 'loom: error:' line, got: $err"
  printf '%s' "$err" | grep -qF -- "$want" || fail "$name: message lacks '$want': $err"
}

corpus="$work/corpus.txt"
for i in $(seq 1 40); do echo "the quick brown fox jumps over the lazy dog, again and again."; done > "$corpus"
small=(--n_layer 1 --n_head 2 --n_embd 16 --block_size 16 --batch_size 4 --eval_interval 5 --eval_iters 2 --log_interval 5)

# A tiny run, interrupted by max_iters and extended with --resume.
"$loom" --threads 1 train --data "$corpus" --out_dir "$work/run" "${small[@]}" --max_iters 10 > "$work/train.log" 2>&1 \
  || fail "train: $(cat "$work/train.log")"
for f in config.json model.safetensors tokenizer.json train_config.json training_state.safetensors metrics.jsonl; do
  [ -f "$work/run/$f" ] || fail "train: $f missing from the run directory"
done
grep -q '"event":"eval"' "$work/run/metrics.jsonl" || fail "metrics.jsonl has no eval record"
grep -q '<svg' "$work/run/loss.svg" || fail "no loss.svg in the run directory"
"$loom" plot --run "$work/run" --out "$work/plot.svg" > /dev/null || fail "plot failed"
grep -q 'val loss' "$work/plot.svg" || fail "plot lacks the val loss series"
expect_error "plot nothing" "does not exist" "$loom" plot --run "$work/nothing"
grep -q "^config: " "$work/train.log" || fail "train does not print the resolved config"
"$loom" --threads 1 train --out_dir "$work/run" --resume --max_iters 15 > "$work/resume.log" 2>&1 \
  || fail "resume: $(cat "$work/resume.log")"
grep -q "resuming at step 10" "$work/resume.log" || fail "resume did not continue at step 10: $(cat "$work/resume.log")"
grep -q "done: 15 steps" "$work/resume.log" || fail "resume did not reach step 15"

out=$("$loom" eval --model "$work/run" --data "$corpus" --json) || fail "eval failed"
printf '%s' "$out" | grep -q '"perplexity"' || fail "eval --json lacks perplexity: $out"
out=$("$loom" generate --model "$work/run" --prompt "the quick" --max_new_tokens 20 --temperature 0 --seed 1) \
  || fail "generate failed"
case "$out" in "the quick"*) ;; *) fail "generate output does not start with the prompt: $out" ;; esac
[ "${#out}" -ge 29 ] || fail "generate produced too little: '$out'"
out2=$("$loom" generate --model "$work/run" --prompt "the quick" --max_new_tokens 20 --temperature 0 --seed 1 --no_cache)
[ "$out" = "$out2" ] || fail "generate with and without the KV cache differ: '$out' vs '$out2'"

# Prepared shards: prepare with a character vocabulary, then train on the directory.
"$loom" prepare --tokenizer char --out_dir "$work/prepared" --val_fraction 0.2 "$corpus" > "$work/prepare.log" 2>&1 \
  || fail "prepare: $(cat "$work/prepare.log")"
for f in meta.json tokenizer.json train_00000.bin val_00000.bin; do
  [ -f "$work/prepared/$f" ] || fail "prepare: $f missing"
done
"$loom" --threads 1 train --data "$work/prepared" --out_dir "$work/run2" "${small[@]}" --max_iters 5 > "$work/train2.log" 2>&1 \
  || fail "train on prepared shards: $(cat "$work/train2.log")"
expect_error "prepare missing" "does not exist" "$loom" prepare --tokenizer char --out_dir "$work/p2" "$work/missing.txt"
expect_error "bad dir data" "without meta.json" "$loom" train --data "$work" --out_dir "$work/x0"

# Byte-level BPE end to end: train a tokenizer, prepare shards with it, train, generate.
"$loom" tokenizer train --vocab_size 300 --special '<|endoftext|>' --out "$work/bpe" "$corpus" > "$work/bpe.log" 2>&1 \
  || fail "tokenizer train: $(cat "$work/bpe.log")"
for f in tokenizer.json vocab.json merges.txt; do [ -f "$work/bpe/$f" ] || fail "tokenizer train: $f missing"; done
"$loom" prepare --tokenizer "$work/bpe" --out_dir "$work/bpe_data" --val_fraction 0.2 "$corpus" > /dev/null 2>&1 || fail "prepare with BPE"
"$loom" --threads 1 train --data "$work/bpe_data" --out_dir "$work/bpe_run" --n_layer 1 --n_head 2 --n_embd 16 --block_size 8 \
  --batch_size 4 --eval_interval 5 --eval_iters 2 --log_interval 5 --max_iters 5 > "$work/bpe_train.log" 2>&1 \
  || fail "train with BPE: $(cat "$work/bpe_train.log")"
"$loom" generate --model "$work/bpe_run" --prompt "the quick" --max_new_tokens 5 > /dev/null || fail "generate with BPE"
ids=$("$loom" tokenize --tokenizer "$work/bpe" --ids "jumps over the lazy dog")
back=$("$loom" detokenize --tokenizer "$work/bpe" $ids)
[ "$back" = "jumps over the lazy dog" ] || fail "BPE detokenize(tokenize(x)) = '$back'"
expect_error "bad model" "trains 'bpe'" "$loom" tokenizer train --model unigram --out "$work/x" "$corpus"

# tokenize / detokenize round trip.
ids=$("$loom" tokenize --tokenizer "$work/run" --ids "the lazy dog") || fail "tokenize failed"
back=$("$loom" detokenize --tokenizer "$work/run" $ids) || fail "detokenize failed"
[ "$back" = "the lazy dog" ] || fail "detokenize(tokenize(x)) = '$back'"
"$loom" tokenize --tokenizer "$work/run" --json "dog" | grep -q '"offsets":\[\[0,1\],\[1,2\],\[2,3\]\]' || fail "tokenize --json offsets"
expect_error "bad id" "is not a token id" "$loom" detokenize --tokenizer "$work/run" 5 99999

# Datasets through a mirror: verified copy; a corrupted mirror copy is refused.
mkdir -p "$work/mirror/tinyshakespeare"
echo "not shakespeare" > "$work/mirror/tinyshakespeare/input.txt"
expect_error "bad mirror" "SHA-256" "$loom" data get tinyshakespeare --cache_dir "$work/cache" --mirror "$work/mirror"
[ ! -e "$work/cache/tinyshakespeare/input.txt" ] || fail "a mismatched file was kept in the cache"
expect_error "unknown dataset" "unknown dataset 'nope'" "$loom" data get nope --cache_dir "$work/cache"
"$loom" data list | grep -q tinyshakespeare || fail "data list lacks tinyshakespeare"

# Bad input: each a single clear line and a non-zero exit.
expect_error "missing data" "file '$work/missing.txt' does not exist" "$loom" train --data "$work/missing.txt" --out_dir "$work/x1"
: > "$work/empty.txt"
expect_error "empty data" "is empty" "$loom" train --data "$work/empty.txt" --out_dir "$work/x2"
echo "tiny" > "$work/tiny.txt"
expect_error "short corpus" "Use a longer text or a smaller block_size" "$loom" train --data "$work/tiny.txt" --out_dir "$work/x3"
expect_error "heads" "n_embd (100) is not divisible by n_head (3)" "$loom" train --data "$corpus" --n_embd 100 --n_head 3 --out_dir "$work/x4"
expect_error "zero layers" "n_layer is 0; it must be a positive integer" "$loom" train --data "$corpus" --n_layer 0 --out_dir "$work/x5"
expect_error "negative batch" "batch_size is -1" "$loom" train --data "$corpus" --batch_size -1 --out_dir "$work/x6"
expect_error "bad number" "flag --learning_rate is 'fast'; expected a number" "$loom" train --data "$corpus" --learning_rate fast
echo '{"n_layers": 2}' > "$work/bad.json"
expect_error "unknown key" "unknown setting 'n_layers'" "$loom" train --config "$work/bad.json" --data "$corpus"
echo '{"n_layer": ' > "$work/broken.json"
expect_error "broken config" "is not valid JSON" "$loom" train --config "$work/broken.json" --data "$corpus"
expect_error "overwrite" "already holds a checkpoint; pass --resume" "$loom" train --data "$corpus" --out_dir "$work/run" "${small[@]}"
expect_error "resume nothing" "cannot resume" "$loom" train --data "$corpus" --out_dir "$work/none" --resume
long=$(head -c 40 /dev/zero | tr '\0' 'a')
expect_error "long prompt" "the prompt is 40 tokens long but the model's context (block_size) is 16 tokens" \
  "$loom" generate --model "$work/run" --prompt "$long"
expect_error "unknown char" "is not in the vocabulary" "$loom" generate --model "$work/run" --prompt "XYZ"
expect_error "no model" "does not exist" "$loom" generate --model "$work/nomodel" --prompt "the"
expect_error "bad top_p" "top_p is" "$loom" generate --model "$work/run" --prompt "the" --top_p 0
expect_error "eval missing" "does not exist" "$loom" eval --model "$work/run" --data "$work/missing.txt"
LOOM_KERNELS=fast expect_error "bad env" "LOOM_KERNELS is 'fast'" "$loom" eval --model "$work/run" --data "$corpus"
"$loom" train --help | grep -q -- "--n_layer" || fail "train --help does not list --n_layer"

# The BERT recipe end to end on a toy vocabulary: pretrain (MLM + NSP), resume, fine-tune a
# classifier from it, predict, evaluate; then the bad inputs of each step.
printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' the a film movie was is good bad great awful plot actors \
  fun dull . , and but not very '##s' '##ly' > "$work/vocab.txt"
for d in $(seq 1 12); do
  printf 'the film was good . the plot was great and fun .\nthe actors were very dull . a bad movie .\n\n'
done > "$work/bert_corpus.txt"
tiny_shape=(--layers 1 --hidden 16 --heads 2 --intermediate 32 --max_positions 32)
tiny_run=(--max_seq_len 24 --batch_size 4 --eval_interval 3 --eval_batches 2 --log_interval 3 --warmup_steps 1)
tiny_bert=("${tiny_shape[@]}" "${tiny_run[@]}")
"$loom" --threads 1 pretrain --data "$work/bert_corpus.txt" --tokenizer "$work/vocab.txt" --out "$work/bert" \
  "${tiny_bert[@]}" --steps 6 > "$work/pretrain.log" 2>&1 || fail "pretrain: $(cat "$work/pretrain.log")"
for f in config.json model.safetensors vocab.txt tokenizer.json training_state.safetensors metrics.jsonl; do
  [ -f "$work/bert/$f" ] || fail "pretrain: $f missing"
done
grep -q '"val_nsp_accuracy"' "$work/bert/metrics.jsonl" || fail "pretrain metrics lack NSP accuracy"
grep -q '"BertForPreTraining"' "$work/bert/config.json" || fail "pretrain config.json lacks the architecture"
"$loom" --threads 1 pretrain --data "$work/bert_corpus.txt" --tokenizer "$work/vocab.txt" --out "$work/bert" \
  "${tiny_bert[@]}" --steps 9 --resume > "$work/pretrain2.log" 2>&1 || fail "pretrain resume: $(cat "$work/pretrain2.log")"
grep -q "resuming at step 6" "$work/pretrain2.log" || fail "pretrain resume did not continue at step 6"
# Continued pretraining from that directory: on the same text and seed, its step-0 validation
# must be the finished run's last one (the weights arrived).
"$loom" --threads 1 pretrain --init "$work/bert" --data "$work/bert_corpus.txt" --out "$work/bert_cont" \
  "${tiny_run[@]}" --steps 3 > "$work/pretrain3.log" 2>&1 || fail "pretrain --init: $(cat "$work/pretrain3.log")"
last_val=$(tr '\r' '\n' < "$work/pretrain2.log" | grep "^step 9: validation" | sed 's/^step 9//')
first_val=$(tr '\r' '\n' < "$work/pretrain3.log" | grep "^step 0: validation" | sed 's/^step 0//')
[ -n "$last_val" ] && [ "$last_val" = "$first_val" ] ||
  fail "pretrain --init did not start from the saved weights: '$last_val' vs '$first_val'"
expect_error "shape flag with init" "--layers was given with --init" "$loom" pretrain --init "$work/bert" \
  --data "$work/bert_corpus.txt" --out "$work/bx" --layers 2
expect_error "tokenizer with init" "drop --tokenizer" "$loom" pretrain --init "$work/bert" \
  --data "$work/bert_corpus.txt" --tokenizer "$work/vocab.txt" --out "$work/bx"
printf 'good\tthe film was good .\nbad\ta dull movie .\ngood\tgreat fun .\nbad\tawful plot .\n' > "$work/cls_train.tsv"
cp "$work/cls_train.tsv" "$work/cls_dev.tsv"
"$loom" --threads 1 finetune --task classify --init "$work/bert" --train "$work/cls_train.tsv" --dev "$work/cls_dev.tsv" \
  --text_col 1 --label_col 0 --out "$work/cls" --epochs 2 --batch_size 2 --max_seq_len 24 > "$work/finetune.log" 2>&1 \
  || fail "finetune: $(cat "$work/finetune.log")"
grep -q "confusion (rows: true, columns: predicted)" "$work/finetune.log" || fail "finetune prints no report"
grep -q '"id2label"' "$work/cls/config.json" || fail "classifier config.json lacks id2label"
out=$(printf 'the film was good .\nawful .\n' | "$loom" predict --model "$work/cls") || fail "predict failed"
[ "$(printf '%s\n' "$out" | head -1)" = "$(printf 'label\tp(bad)\tp(good)')" ] || fail "predict header: $out"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ] || fail "predict printed $(printf '%s\n' "$out" | wc -l) lines: $out"
"$loom" eval --task classify --model "$work/cls" --data "$work/cls_dev.tsv" --text_col 1 --label_col 0 \
  --json_out "$work/eval.json" > "$work/eval.log" || fail "eval classify: $(cat "$work/eval.log")"
grep -q '"macro"' "$work/eval.json" || fail "eval --json_out lacks macro averages"
grep -q "^accuracy " "$work/eval.log" || fail "eval classify prints no accuracy"
expect_error "predict longer than the positions" "max_seq_len is 100000; the model takes 3 to" \
  "$loom" predict --model "$work/cls" --max_seq_len 100000 --input "$work/cls_dev.tsv" --text_col 1
ft=(--task classify --init "$work/bert" --out "$work/cls_x" --epochs 1 --text_col 1 --label_col 0 --max_seq_len 24)
printf 'good\tfine\nmeh\tso so\n' > "$work/cls_badlabel.tsv"
expect_error "label outside set" "cls_badlabel.tsv:2: label \"meh\" is not in the label set {bad, good}" \
  "$loom" finetune "${ft[@]}" --train "$work/cls_train.tsv" --dev "$work/cls_badlabel.tsv"
printf 'good\tfine\n\nbad\tawful\n' > "$work/cls_gap.tsv"
expect_error "empty line" "cls_gap.tsv:2: empty line" "$loom" finetune "${ft[@]}" --train "$work/cls_gap.tsv" --dev "$work/cls_dev.tsv"
expect_error "missing column" "cls_train.tsv:1: the label column 5 is missing" \
  "$loom" finetune --task classify --init "$work/bert" --train "$work/cls_train.tsv" --dev "$work/cls_dev.tsv" \
  --text_col 1 --label_col 5 --out "$work/cls_x"
expect_error "finetune shape flag with init" "--hidden was given with --init" \
  "$loom" finetune "${ft[@]}" --train "$work/cls_train.tsv" --dev "$work/cls_dev.tsv" --hidden 32
expect_error "finetune tokenizer with init" "drop --tokenizer" \
  "$loom" finetune "${ft[@]}" --train "$work/cls_train.tsv" --dev "$work/cls_dev.tsv" --tokenizer "$work/vocab.txt"
"$loom" --threads 1 finetune "${ft[@]}" --train "$work/cls_train.tsv" --dev "$work/cls_dev.tsv" --batch_size 2 \
  --layer_lr_decay 0.8 > "$work/llrd.log" 2>&1 || fail "finetune --layer_lr_decay 0.8: $(cat "$work/llrd.log")"
grep -q "layer-wise lr decay 0.8: embeddings at" "$work/llrd.log" || fail "layer-wise decay not reported: $(cat "$work/llrd.log")"
expect_error "layer lr decay out of range" "layer_lr_decay is 1.500000; it must be in (0, 1]" \
  "$loom" finetune "${ft[@]}" --train "$work/cls_train.tsv" --dev "$work/cls_dev.tsv" --layer_lr_decay 1.5
expect_error "finetune cased with init" "--cased was given with --init" \
  "$loom" finetune "${ft[@]}" --train "$work/cls_train.tsv" --dev "$work/cls_dev.tsv" --cased
expect_error "pretrain cased with init" "--cased was given with --init" "$loom" pretrain --init "$work/bert" \
  --data "$work/bert_corpus.txt" --out "$work/bx" --cased
printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]' the film the > "$work/dup_vocab.txt"
expect_error "duplicate vocab" "line 8" "$loom" pretrain --data "$work/bert_corpus.txt" --tokenizer "$work/dup_vocab.txt" --out "$work/bx"
mkdir -p "$work/mismatch" && cp "$work/cls/"* "$work/mismatch/"
sed -i 's/"vocab_size": [0-9]*/"vocab_size": 99/' "$work/mismatch/config.json"
expect_error "vocab mismatch" "but config.json says vocab_size 99" "$loom" predict --model "$work/mismatch" --input "$work/cls_dev.tsv"
expect_error "no head" "without a classification head" "$loom" predict --model "$work/bert" --input "$work/cls_dev.tsv"
long_text=$(for i in $(seq 1 80); do printf 'good '; done)
printf 'good\t%s\n' "$long_text" > "$work/cls_long.tsv"
"$loom" predict --model "$work/cls" --input "$work/cls_long.tsv" --text_col 1 --max_seq_len 16 > /dev/null 2> "$work/long.err" \
  || fail "predict on a long text failed"
grep -q "1 of 1 inputs were longer than 16 tokens and were truncated" "$work/long.err" || fail "truncation not reported: $(cat "$work/long.err")"
expect_error "bad init range" "--init_range is 0.000000; it must be > 0" "$loom" pretrain --data "$work/bert_corpus.txt" \
  --tokenizer "$work/vocab.txt" --out "$work/bx" --init_range 0
"$loom" --threads 1 pretrain --data "$work/bert_corpus.txt" --tokenizer "$work/vocab.txt" --out "$work/bert_init" \
  "${tiny_bert[@]}" --steps 2 --init_range 0.05 > /dev/null 2>&1 || fail "pretrain --init_range 0.05 failed"
grep -qE '"initializer_range": 0\.0(5|49)' "$work/bert_init/config.json" || fail "--init_range did not reach config.json"
expect_error "bad objective" "--objective names 'sop'" "$loom" pretrain --objective mlm,sop --data "$work/bert_corpus.txt" \
  --tokenizer "$work/vocab.txt" --out "$work/bx"
"$loom" finetune --help | grep -q -- "--freeze_layers" || fail "finetune --help does not list --freeze_layers"
"$loom" tokenizer train --model wordpiece --vocab_size 60 --min_frequency 1 --out "$work/wp" "$work/bert_corpus.txt" \
  > "$work/wp.log" 2>&1 || fail "tokenizer train wordpiece: $(cat "$work/wp.log")"
[ -f "$work/wp/vocab.txt" ] || fail "tokenizer train wordpiece wrote no vocab.txt"
out=$("$loom" tokenize --tokenizer "$work/wp/vocab.txt" "The film") || fail "tokenize with a bare vocab.txt failed"
[ -n "$out" ] || fail "tokenize with a bare vocab.txt printed nothing"

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all CLI checks passed"
