// `loom pretrain`, `loom finetune`, `loom predict` and `loom eval --task classify`: flags to
// typed configs, then the library (train/bert_train.h). Errors come back as Status.
#include "loom/cli/bert_commands.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "loom/base/file.h"
#include "loom/base/profile.h"
#include "loom/data/classification.h"
#include "loom/kernels/matmul.h"

namespace loom::cli {

namespace {

void add_shape_flags(CLI::App* cmd, BertShapeArgs& s, const char* when) {
  const std::string w = when;
  s.options = {
      cmd->add_option("--layers", s.layers, "encoder layers" + w)->capture_default_str(),
      cmd->add_option("--hidden", s.hidden, "hidden size" + w)->capture_default_str(),
      cmd->add_option("--heads", s.heads, "attention heads (must divide --hidden)" + w)->capture_default_str(),
      cmd->add_option("--intermediate", s.intermediate, "feed-forward width" + w)->capture_default_str(),
      cmd->add_option("--max_positions", s.max_positions, "position table size (longest input)" + w)
          ->capture_default_str(),
      cmd->add_option("--act", s.act, "FFN activation: gelu (erf, BERT's) or gelu_new (tanh)" + w)
          ->capture_default_str(),
      cmd->add_option("--positions", s.positions, "learned or sinusoidal" + w)->capture_default_str(),
      cmd->add_flag("--pre_ln", s.pre_ln, "LayerNorm before each sub-layer instead of after (original BERT: after)" + w),
      cmd->add_option("--init_range", s.init_range,
                      "standard deviation of the initial weights (config initializer_range)" + w)
          ->capture_default_str(),
  };
}

// A model from --init has its shape; a shape flag beside it would be silently ignored.
Status refuse_shape_with_init(const BertShapeArgs& s, const std::string& init) {
  if (init.empty()) return ok_status();
  for (const CLI::Option* o : s.options)
    if (o->count() > 0)
      return invalid_argument(o->get_name() + " was given with --init '" + init +
                              "'; the model's shape comes from that directory's config.json. Drop " + o->get_name() +
                              " (or --init to start from scratch)");
  return ok_status();
}

Status shape_to_config(const BertShapeArgs& s, float dropout, models::BertConfig* c) {
  c->num_hidden_layers = s.layers;
  c->hidden_size = s.hidden;
  c->num_attention_heads = s.heads;
  c->intermediate_size = s.intermediate;
  c->max_position_embeddings = s.max_positions;
  c->hidden_dropout_prob = dropout;
  c->attention_probs_dropout_prob = 0.0f;
  c->pre_layernorm = s.pre_ln;
  if (!(s.init_range > 0.0f))
    return invalid_argument("--init_range is " + std::to_string(s.init_range) +
                            "; it must be > 0 (the standard deviation of the initial weights; BERT's is 0.02)");
  c->initializer_range = s.init_range;
  if (s.act == "gelu")
    c->hidden_act = GeluForm::kErf;
  else if (s.act == "gelu_new")
    c->hidden_act = GeluForm::kTanh;
  else
    return invalid_argument("--act is '" + s.act + "'; choose gelu (erf) or gelu_new (tanh)");
  if (!models::parse_pos_encoding(s.positions, &c->pos_encoding))
    return invalid_argument("--positions is '" + s.positions + "'; choose learned or sinusoidal");
  return ok_status();
}

Status parse_matmul(const std::string& s, kernels::MatmulPrecision* p) {
  if (!kernels::parse_matmul_precision(s, p)) return invalid_argument("--matmul is '" + s + "'; choose fp32 or bf16");
  return ok_status();
}

void add_table_flags(CLI::App* cmd, TableArgs& t, bool with_label) {
  cmd->add_option("--format", t.format,
                  "input format: auto (by extension: .jsonl JSONL, .csv CSV, else TSV), tsv, csv, jsonl, or "
                  "label-first (\"<label> <text>\" lines, SST's format)")
      ->capture_default_str();
  cmd->add_option("--text_col", t.text_col, "text column: header name / JSON key, or 0-based index [default: text / 0]");
  cmd->add_option("--pair_col", t.pair_col, "second text column for sentence-pair tasks [default: none]");
  if (with_label)
    cmd->add_option("--label_col", t.label_col, "label column: name, key or index [default: label / last column]");
  cmd->add_flag("--header", t.header, "TSV/CSV: the first line names the columns (default when columns are named)");
  cmd->add_flag("--no_header", t.no_header, "TSV/CSV: the first line is data");
}

StatusOr<data::ClassifyFormat> table_format(const TableArgs& t) {
  data::ClassifyFormat f;
  if (!data::parse_table_format(t.format, &f.format))
    return invalid_argument("--format is '" + t.format + "'; choose auto, tsv, csv, jsonl or label-first");
  f.text = t.text_col;
  f.pair = t.pair_col;
  f.label = t.label_col;
  if (t.header && t.no_header) return invalid_argument("--header and --no_header contradict each other");
  if (t.header) f.header = true;
  if (t.no_header) f.header = false;
  return f;
}

train::BertHooks hooks_for(const std::atomic<bool>* stop) {
  train::BertHooks h;
  h.progress = stdout;
  h.interactive = ::isatty(STDOUT_FILENO) != 0;
  h.stop_requested = stop;
  return h;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// With LOOM_PROFILE=1: where the time went, per op (forward and backward apart).
void print_profile() {
  if (!profile::enabled()) return;
  double total = 0;
  for (const auto& e : profile::snapshot()) total += e.seconds;
  std::printf("profile (LOOM_PROFILE=1): %.1f s in ops\n", total);
  for (const auto& e : profile::snapshot())
    std::printf("  %-28s %8.2f s %5.1f%% %8lld calls\n", e.name.c_str(), e.seconds, 100.0 * e.seconds / total,
                static_cast<long long>(e.calls));
}

}  // namespace

void add_pretrain(CLI::App& app, PretrainArgs& a) {
  CLI::App* cmd = app.add_subcommand("pretrain", "Pretrain a BERT encoder with masked-LM and next-sentence prediction");
  cmd->footer(
      "\nText: one sentence per line, a blank line between documents (BERT's format); lines holding\n"
      "several sentences are split at sentence ends. Instances pack sentences up to --max_seq_len, half of\n"
      "them with a random second segment; 15% of tokens are masked (80% [MASK], 10% random, 10% kept),\n"
      "drawn anew every epoch. The run directory holds the model (HF layout), training_state.safetensors\n"
      "(Ctrl-C saves it; continue with the same command and --resume) and metrics.jsonl.\n"
      "With --init, pretraining continues from a pretrained directory (its shape and tokenizer) with a\n"
      "fresh optimizer and schedule: e.g. masked-LM on the unlabelled text of the task at hand.\n\n"
      "Example:\n"
      "  loom pretrain --objective mlm,nsp --data wiki.txt --tokenizer bert-base-uncased/vocab.txt \\\n"
      "      --out runs/bert-small --layers 4 --hidden 256 --heads 4 --intermediate 1024 --steps 5000\n"
      "  loom pretrain --objective mlm --init runs/bert-small --data reviews.txt --out runs/bert-reviews \\\n"
      "      --steps 2000 --lr 2e-4\n");
  auto& c = a.config;
  cmd->add_option("--objective", a.objective, "mlm, nsp or mlm,nsp")->capture_default_str();
  cmd->add_option("--data", c.data, "pretraining text files")->required();
  cmd->add_option("--tokenizer", c.tokenizer.path,
                  "BERT vocab.txt, tokenizer.json or model directory (required without --init)");
  cmd->add_option("--init", c.init, "pretrained BERT directory to continue from (its shape and tokenizer)");
  cmd->add_flag("--cased", a.cased, "with a vocab.txt: keep case and accents (cased BERT vocabularies)");
  cmd->add_option("--out", c.out_dir, "run directory")->capture_default_str();
  add_shape_flags(cmd, a.shape, " (without --init)");
  cmd->add_option("--dropout", a.shape.dropout, "hidden dropout")->capture_default_str();
  cmd->add_option("--max_seq_len", c.data_options.max_seq_len, "tokens per instance incl. [CLS]/[SEP]")
      ->capture_default_str();
  cmd->add_option("--mask_prob", c.data_options.mask_prob, "fraction of tokens to predict")->capture_default_str();
  cmd->add_option("--max_predictions", c.data_options.max_predictions, "masked tokens per instance at most")
      ->capture_default_str();
  cmd->add_flag("--whole_word_masking", c.data_options.whole_word_masking, "mask a word and all its ## pieces together");
  cmd->add_option("--short_seq_prob", c.data_options.short_seq_prob, "chance of a shorter target length")
      ->capture_default_str();
  cmd->add_option("--val_fraction", c.val_fraction, "documents held out for validation")->capture_default_str();
  cmd->add_option("--batch_size", c.batch_size, "instances per step")->capture_default_str();
  cmd->add_option("--steps", c.max_steps, "optimizer steps")->capture_default_str();
  cmd->add_option("--lr", c.lr, "peak learning rate (AdamW, linear warmup then linear decay to 0)")->capture_default_str();
  cmd->add_option("--warmup_steps", c.warmup_steps, "warmup steps")->capture_default_str();
  cmd->add_option("--weight_decay", c.weight_decay, "AdamW weight decay (weight matrices only)")->capture_default_str();
  cmd->add_option("--grad_clip", c.grad_clip, "global gradient norm clip (0 = off)")->capture_default_str();
  cmd->add_option("--eval_interval", c.eval_interval, "steps between validation runs and checkpoints")
      ->capture_default_str();
  cmd->add_option("--eval_batches", c.eval_batches, "validation batches per evaluation")->capture_default_str();
  cmd->add_option("--log_interval", c.log_interval, "steps between progress lines")->capture_default_str();
  cmd->add_option("--seed", c.seed, "random seed (data, masking, initialisation)")->capture_default_str();
  cmd->add_option("--matmul", a.matmul, "matmul precision: fp32 or bf16 (mixed precision)")->capture_default_str();
  cmd->add_flag("--resume", a.resume, "continue the run in --out from its last checkpoint");
}

Status run_pretrain(PretrainArgs& a, const std::atomic<bool>* stop) {
  auto& c = a.config;
  if (a.cased) c.tokenizer.lowercase = false;
  LOOM_RETURN_IF_ERROR(refuse_shape_with_init(a.shape, c.init));
  LOOM_RETURN_IF_ERROR(shape_to_config(a.shape, a.shape.dropout, &c.model));
  c.mlm = c.nsp = false;
  for (const std::string& o : split_commas(a.objective)) {
    if (o == "mlm")
      c.mlm = true;
    else if (o == "nsp")
      c.nsp = true;
    else
      return invalid_argument("--objective names '" + o + "'; use mlm, nsp or mlm,nsp");
  }
  LOOM_RETURN_IF_ERROR(parse_matmul(a.matmul, &c.matmul));
  LOOM_ASSIGN_OR_RETURN(auto r, train::run_bert_pretraining(c, a.resume, hooks_for(stop)));
  std::string val;
  char buf[160];
  if (c.mlm) {
    std::snprintf(buf, sizeof buf, " MLM loss %.4f, MLM accuracy %.4f", r.val_mlm_loss, r.val_mlm_accuracy);
    val += buf;
  }
  if (c.nsp) {
    std::snprintf(buf, sizeof buf, "%s NSP accuracy %.4f", c.mlm ? "," : "", r.val_nsp_accuracy);
    val += buf;
  }
  std::printf("done: %lld steps in %.1f s (%.0f tokens/s); validation%s; model in '%s'\n",
              static_cast<long long>(r.steps_done), r.seconds, r.tokens_per_second, val.c_str(), c.out_dir.c_str());
  print_profile();
  return ok_status();
}

void add_finetune(CLI::App& app, FinetuneArgs& a) {
  CLI::App* cmd = app.add_subcommand("finetune", "Fine-tune a BERT encoder as a text (or text-pair) classifier");
  cmd->footer(
      "\nStarts from --init (a directory from 'loom pretrain' or a Hugging Face BERT directory with\n"
      "model.safetensors) or, without it, from a random encoder shaped by the model flags and --tokenizer.\n"
      "A classification head on the pooled [CLS] output is trained with AdamW (linear warmup and decay);\n"
      "the dev set is scored --evals_per_epoch times per epoch, the best checkpoint is kept in --out and\n"
      "training stops early after --patience evaluations without improvement.\n\n"
      "Example (SST-2, \"<label> <sentence>\" lines):\n"
      "  loom finetune --task classify --init runs/bert-small --train sst2/stsa.binary.train \\\n"
      "      --dev sst2/stsa.binary.dev --format label-first --out runs/sst2 --epochs 3 --lr 1e-4\n");
  auto& c = a.config;
  cmd->add_option("--task", a.task, "classify (sequence classification)")->capture_default_str();
  cmd->add_option("--train", c.train, "training file")->required();
  cmd->add_option("--dev", c.dev, "validation file (early stopping and best checkpoint)")->required();
  add_table_flags(cmd, a.table, true);
  cmd->add_option("--labels", a.labels, "comma-separated label set in id order [default: the training labels, sorted]");
  cmd->add_option("--init", c.init, "pretrained BERT directory");
  cmd->add_option("--tokenizer", c.tokenizer.path, "vocab.txt / tokenizer.json, for a model from scratch");
  cmd->add_flag("--cased", a.cased, "with a vocab.txt: keep case and accents");
  add_shape_flags(cmd, a.shape, " (from scratch only)");
  cmd->add_option("--out", c.out_dir, "output directory (the best checkpoint)")->capture_default_str();
  cmd->add_option("--max_seq_len", c.max_seq_len, "longer inputs are truncated (counted and reported)")
      ->capture_default_str();
  cmd->add_option("--batch_size", c.batch_size, "examples per step")->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "passes over the training data")->capture_default_str();
  cmd->add_option("--lr", c.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--warmup_ratio", c.warmup_ratio, "fraction of steps spent warming up")->capture_default_str();
  cmd->add_option("--weight_decay", c.weight_decay, "AdamW weight decay (L2 on weight matrices)")->capture_default_str();
  cmd->add_option("--dropout", c.dropout, "hidden dropout [default: the model's, 0.1]");
  cmd->add_option("--grad_clip", c.grad_clip, "global gradient norm clip (0 = off)")->capture_default_str();
  cmd->add_option("--freeze_layers", c.freeze_layers,
                  "freeze the embeddings and the first N encoder layers; -1 freezes the whole encoder")
      ->capture_default_str();
  cmd->add_option("--layer_lr_decay", c.layer_lr_decay,
                  "layer-wise learning-rate decay in (0, 1]: encoder layer i of L learns at --lr x decay^(L-i), "
                  "the embeddings at decay^(L+1), the heads at --lr")
      ->capture_default_str();
  cmd->add_option("--evals_per_epoch", c.evals_per_epoch, "dev evaluations per epoch")->capture_default_str();
  cmd->add_option("--patience", c.patience, "evaluations without improvement before stopping")->capture_default_str();
  cmd->add_option("--metric", c.metric, "accuracy or macro_f1 (chooses the best checkpoint)")->capture_default_str();
  cmd->add_option("--seed", c.seed, "random seed")->capture_default_str();
  cmd->add_option("--matmul", a.matmul, "matmul precision: fp32 or bf16")->capture_default_str();
}

Status run_finetune(FinetuneArgs& a, const std::atomic<bool>* stop) {
  if (a.task != "classify") return invalid_argument("--task is '" + a.task + "'; loom fine-tunes 'classify'");
  auto& c = a.config;
  if (a.cased) c.tokenizer.lowercase = false;
  LOOM_ASSIGN_OR_RETURN(c.format, table_format(a.table));
  c.labels = split_commas(a.labels);
  LOOM_RETURN_IF_ERROR(refuse_shape_with_init(a.shape, c.init));
  LOOM_RETURN_IF_ERROR(shape_to_config(a.shape, a.shape.dropout, &c.model));
  LOOM_RETURN_IF_ERROR(parse_matmul(a.matmul, &c.matmul));
  LOOM_ASSIGN_OR_RETURN(auto r, train::run_finetune(c, hooks_for(stop)));
  std::printf("%s", train::report_to_text(r.best).c_str());
  std::printf("done: %lld steps in %.1f s (%.0f tokens/s); best dev accuracy %.4f, macro F1 %.4f at step %lld; "
              "truncated %lld train / %lld dev examples; classifier in '%s'\n",
              static_cast<long long>(r.steps_done), r.seconds, r.tokens_per_second, r.best.accuracy, r.best.macro.f1,
              static_cast<long long>(r.best_step), static_cast<long long>(r.truncated_train),
              static_cast<long long>(r.truncated_dev), c.out_dir.c_str());
  print_profile();
  return ok_status();
}

void add_predict(CLI::App& app, PredictArgs& a) {
  CLI::App* cmd = app.add_subcommand("predict", "Classify texts with a fine-tuned BERT classifier");
  cmd->footer(
      "\nPrints one line per input: the label, then the probability of every class (in the order of the\n"
      "model's labels, named in the first line). Input: --input FILE in any fine-tuning format (labels\n"
      "not needed), or lines of text on standard input.\n\n"
      "Example:\n  echo \"a gorgeous , witty film\" | loom predict --model runs/sst2\n");
  cmd->add_option("--model", a.model, "classifier directory (from loom finetune)")->required();
  cmd->add_option("--input", a.input, "file of texts [default: standard input, one text per line]");
  add_table_flags(cmd, a.table, false);
  cmd->add_option("--max_seq_len", a.max_seq_len,
                  "longer inputs are truncated [default: the model's max_position_embeddings]");
  cmd->add_option("--batch_size", a.batch_size, "texts per forward pass")->capture_default_str();
  cmd->add_flag("--json", a.json, "one JSON object per line instead");
}

Status run_predict(const PredictArgs& a) {
  LOOM_ASSIGN_OR_RETURN(train::Classifier model, train::Classifier::load(a.model));
  std::vector<data::ClassifyExample> examples;
  if (a.input.empty()) {
    std::string line;
    int64_t n = 0;
    while (std::getline(std::cin, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos)
        return invalid_argument("standard input line " + std::to_string(n) + " is empty; give one text per line");
      data::ClassifyExample e;
      e.text = line;
      e.label = "?";
      e.line = n;
      examples.push_back(std::move(e));
    }
  } else {
    LOOM_ASSIGN_OR_RETURN(data::ClassifyFormat f, table_format(a.table));
    f.labelled = false;
    LOOM_ASSIGN_OR_RETURN(examples, data::read_classification_file(a.input, f));
  }
  const int64_t max_len = a.max_seq_len != 0 ? a.max_seq_len : model.config.max_position_embeddings;
  LOOM_ASSIGN_OR_RETURN(auto preds, train::predict(model, examples, max_len, a.batch_size));
  int64_t truncated = 0;
  if (!a.json) {
    std::printf("label");
    for (const auto& l : model.labels) std::printf("\tp(%s)", l.c_str());
    std::printf("\n");
  }
  for (const auto& p : preds) {
    truncated += p.truncated;
    if (a.json) {
      nlohmann::json probs = nlohmann::json::object();
      for (size_t k = 0; k < model.labels.size(); ++k) probs[model.labels[k]] = p.probabilities[k];
      std::printf("%s\n", nlohmann::json{{"label", model.labels[static_cast<size_t>(p.label)]}, {"probabilities", probs},
                                         {"truncated", p.truncated}}
                              .dump()
                              .c_str());
    } else {
      std::printf("%s", model.labels[static_cast<size_t>(p.label)].c_str());
      for (float q : p.probabilities) std::printf("\t%.4f", q);
      std::printf("\n");
    }
  }
  if (truncated > 0)
    std::fprintf(stderr, "loom: note: %lld of %zu inputs were longer than %lld tokens and were truncated\n",
                 static_cast<long long>(truncated), preds.size(), static_cast<long long>(max_len));
  return ok_status();
}

void add_classify_eval_flags(CLI::App& eval, ClassifyEvalArgs& a) {
  add_table_flags(&eval, a.table, true);
  eval.add_option("--max_seq_len", a.max_seq_len,
                  "classify: longer inputs are truncated [default: the model's max_position_embeddings]");
  eval.add_option("--json_out", a.json_out, "classify: also write the report as JSON to this file");
}

Status run_classify_eval(const std::string& model_dir, const std::string& data_path, int64_t batch_size,
                         const ClassifyEvalArgs& a, bool json) {
  LOOM_ASSIGN_OR_RETURN(train::Classifier model, train::Classifier::load(model_dir));
  LOOM_ASSIGN_OR_RETURN(data::ClassifyFormat f, table_format(a.table));
  LOOM_ASSIGN_OR_RETURN(auto examples, data::read_classification_file(data_path, f));
  const data::LabelSet labels = data::LabelSet::from_names(model.labels);
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> truth, data::label_ids(examples, labels, data_path));
  const int64_t max_len = a.max_seq_len != 0 ? a.max_seq_len : model.config.max_position_embeddings;
  LOOM_ASSIGN_OR_RETURN(auto preds, train::predict(model, examples, max_len, batch_size));
  std::vector<int32_t> predicted;
  int64_t truncated = 0;
  for (const auto& p : preds) {
    predicted.push_back(p.label);
    truncated += p.truncated;
  }
  const train::ClassificationReport r = train::classification_report(truth, predicted, model.labels);
  nlohmann::json j = train::report_to_json(r);
  j["model"] = model_dir;
  j["data"] = data_path;
  j["truncated"] = truncated;
  if (!a.json_out.empty()) LOOM_RETURN_IF_ERROR(write_file_atomic(a.json_out, j.dump(2) + "\n"));
  if (json)
    std::printf("%s\n", j.dump().c_str());
  else
    std::printf("%s%lld of %lld examples truncated to %lld tokens\n", train::report_to_text(r).c_str(),
                static_cast<long long>(truncated), static_cast<long long>(r.examples),
                static_cast<long long>(max_len));
  return ok_status();
}

}  // namespace loom::cli
