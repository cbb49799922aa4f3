// The BERT commands of `loom`: pretrain, finetune, predict, and `eval --task classify`.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "loom/base/status.h"
#include "loom/train/bert_train.h"

namespace loom::cli {

// Model-shape flags shared by pretrain and finetune (from scratch).
struct BertShapeArgs {
  int64_t layers = 4, hidden = 256, heads = 4, intermediate = 1024, max_positions = 512;
  float dropout = 0.1f;
  float init_range = 0.02f;
  std::string act = "gelu";
  std::string positions = "learned";
  bool pre_ln = false;
  std::vector<const CLI::Option*> options;  // the shape flags, to refuse them next to --init
};

// Column and format flags shared by finetune, predict and eval.
struct TableArgs {
  std::string format = "auto";
  std::string text_col, pair_col, label_col;
  bool header = false, no_header = false;
};

struct PretrainArgs {
  loom::train::BertPretrainConfig config;
  BertShapeArgs shape;
  std::string objective = "mlm,nsp";
  std::string matmul = "fp32";
  bool cased = false;
  bool resume = false;
};

struct FinetuneArgs {
  loom::train::FinetuneConfig config;
  BertShapeArgs shape;
  TableArgs table;
  std::string task = "classify";
  std::string labels;
  std::string matmul = "fp32";
  bool cased = false;
};

struct PredictArgs {
  std::string model;
  std::string input;  // file; empty = standard input, one text per line
  TableArgs table;
  int64_t max_seq_len = 0, batch_size = 32;  // max_seq_len 0: the model's max_position_embeddings
  bool json = false;
};

struct ClassifyEvalArgs {
  TableArgs table;
  int64_t max_seq_len = 0;  // 0: the model's max_position_embeddings
  std::string json_out;
};

void add_pretrain(CLI::App& app, PretrainArgs& a);
void add_finetune(CLI::App& app, FinetuneArgs& a);
void add_predict(CLI::App& app, PredictArgs& a);
// The classification flags of `loom eval` (used with --task classify).
void add_classify_eval_flags(CLI::App& eval, ClassifyEvalArgs& a);

Status run_pretrain(PretrainArgs& a, const std::atomic<bool>* stop);
Status run_finetune(FinetuneArgs& a, const std::atomic<bool>* stop);
Status run_predict(const PredictArgs& a);
Status run_classify_eval(const std::string& model, const std::string& data, int64_t batch_size,
                         const ClassifyEvalArgs& a, bool json);

}  // namespace loom::cli
