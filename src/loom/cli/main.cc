// `loom`: the command-line front end. Each subcommand parses flags, calls the library, and
// prints any error as one line ("loom: error: ...") with a non-zero exit status. No
// training, generation or evaluation logic lives here.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "loom/base/env.h"
#include "loom/cli/bert_commands.h"
#include "loom/base/file.h"
#include "loom/base/threads.h"
#include "loom/data/datasets.h"
#include "loom/data/prepare.h"
#include "loom/infer/generator.h"
#include "loom/io/gguf_tokenizer.h"
#include "loom/io/model_dir.h"
#include "loom/tokenizers/bpe_trainer.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/tokenizers/wordpiece_trainer.h"
#include "loom/kernels/dispatch.h"
#include "loom/train/evaluate.h"
#include "loom/train/plot.h"
#include "loom/train/trainer.h"

namespace {

using loom::Status;
using loom::StatusCode;

std::atomic<bool> g_stop{false};

void on_sigint(int) {
  if (g_stop.exchange(true)) {
    // Second Ctrl-C: give up on the clean stop.
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}

int report(const Status& s) {
  if (s.ok()) return 0;
  std::fflush(stdout);
  std::fprintf(stderr, "loom: error: %s\n", s.message().c_str());
  return s.code() == StatusCode::kCancelled ? 130 : 1;
}

// --threads, else OMP_NUM_THREADS (its first entry if it is a list like "4,2"), else all cores.
Status set_threads(int threads) {
  if (threads < 0) return loom::invalid_argument("--threads is " + std::to_string(threads) + "; it must be >= 0 (0 = all cores)");
  if (threads == 0) {
    const std::string omp = loom::env_or("OMP_NUM_THREADS", "");
    if (omp.empty()) return loom::ok_status();
    char* end = nullptr;
    const long n = std::strtol(omp.c_str(), &end, 10);
    if (end == omp.c_str() || (*end != '\0' && *end != ',') || n < 1 || n > 4096)
      return loom::invalid_argument("OMP_NUM_THREADS is '" + omp +
                                    "'; expected a thread count from 1 to 4096; unset it or pass --threads N");
    threads = static_cast<int>(n);
  }
  loom::set_num_threads(threads);
  return loom::ok_status();
}

// The JSON content of a file; `what` names it in errors ("config file '...' is not valid JSON").
loom::StatusOr<nlohmann::json> read_json_file(const std::string& path, const std::string& what) {
  LOOM_ASSIGN_OR_RETURN(std::string text, loom::read_file(path));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return loom::invalid_argument(what + " '" + path + "' is not valid JSON: " + e.what());
  }
}

// --- train -------------------------------------------------------------------------------

struct TrainArgs {
  std::string config_file;
  bool resume = false;
  std::map<std::string, std::string> flags;  // setting -> text, only those given
};

void add_train(CLI::App& app, TrainArgs& a) {
  CLI::App* cmd = app.add_subcommand("train", "Train a GPT language model on a text file");
  cmd->footer(
      "\nSettings come from defaults, then --config FILE (a JSON object of the settings above), then flags;\n"
      "flags win. The resolved settings are printed and saved as train_config.json in --out_dir.\n"
      "Ctrl-C saves a checkpoint and stops; continue with --resume.\n\n"
      "Example (nanoGPT's character-level Shakespeare):\n"
      "  loom train --data tinyshakespeare/input.txt --out_dir out-shakespeare \\\n"
      "      --n_layer 4 --n_head 4 --n_embd 128 --block_size 64 --batch_size 12 --max_iters 2000\n");
  cmd->add_option("--config", a.config_file, "JSON file of settings (same names as the flags)");
  cmd->add_flag("--resume", a.resume, "continue the run saved in --out_dir from its last checkpoint");
  for (const auto& f : loom::train::train_config_fields()) {
    loom::train::TrainConfig defaults;
    std::string help = f.help + " [" + f.type + ", default " + f.get(defaults).dump() + "]";
    cmd->add_option_function<std::string>("--" + f.key, [&a, key = f.key](const std::string& v) { a.flags[key] = v; }, help);
  }
}

Status run_train(const TrainArgs& a) {
  loom::train::TrainConfig config;
  if (!a.config_file.empty()) {
    LOOM_ASSIGN_OR_RETURN(nlohmann::json j, read_json_file(a.config_file, "config file"));
    LOOM_RETURN_IF_ERROR(loom::train::apply_config_json(j, "config file '" + a.config_file + "'", &config));
  }
  if (a.resume && !a.flags.count("data") && a.config_file.empty()) {
    // Resuming with no settings given: take the run's saved settings.
    std::string out_dir = a.flags.count("out_dir") ? a.flags.at("out_dir") : config.out_dir;
    std::string saved = loom::join_path(out_dir, loom::train::kTrainConfigFileName);
    if (loom::file_exists(saved)) {
      LOOM_ASSIGN_OR_RETURN(nlohmann::json j, read_json_file(saved, "saved settings"));
      LOOM_RETURN_IF_ERROR(loom::train::apply_config_json(j, "'" + saved + "'", &config));
    }
  }
  nlohmann::json from_flags = nlohmann::json::object();
  for (const auto& f : loom::train::train_config_fields()) {
    auto it = a.flags.find(f.key);
    if (it == a.flags.end()) continue;
    LOOM_ASSIGN_OR_RETURN(from_flags[f.key], loom::train::parse_flag_value(f, it->second));
  }
  LOOM_RETURN_IF_ERROR(loom::train::apply_config_json(from_flags, "flags", &config));
  loom::train::TrainHooks hooks;
  hooks.stop_requested = &g_stop;
  hooks.progress = stdout;
  hooks.interactive = ::isatty(STDOUT_FILENO) != 0;
  std::signal(SIGINT, on_sigint);
  LOOM_ASSIGN_OR_RETURN(auto result, loom::train::run_training(config, a.resume, hooks));
  std::printf("done: %lld steps, final val loss %.4f, %.0f tokens/s, %.1f s; model in '%s'\n",
              static_cast<long long>(result.steps_done), result.val_loss, result.tokens_per_second, result.seconds,
              config.out_dir.c_str());
  return loom::ok_status();
}

// --- generate ----------------------------------------------------------------------------

struct GenerateArgs {
  std::string model_dir;
  std::string prompt;
  loom::infer::GenerateOptions options;
  bool no_cache = false;
  bool stats = false;
};

void add_generate(CLI::App& app, GenerateArgs& a) {
  CLI::App* cmd = app.add_subcommand("generate", "Continue a prompt with a trained model, streaming the text");
  cmd->footer("\nExample:\n  loom generate --model out-shakespeare --prompt 'ROMEO:' --max_new_tokens 300 --temperature 0.8 --top_k 40\n");
  cmd->add_option("--model", a.model_dir, "model directory (config.json, model.safetensors, tokenizer.json)")->required();
  cmd->add_option("--prompt", a.prompt, "text to continue")->required();
  cmd->add_option("--max_new_tokens", a.options.max_new_tokens, "tokens to generate at most")->capture_default_str();
  cmd->add_option("--temperature", a.options.sampling.temperature, "sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top_k", a.options.sampling.top_k, "sample among the k most likely tokens; 0 = all")->capture_default_str();
  cmd->add_option("--top_p", a.options.sampling.top_p, "nucleus sampling threshold; 1 = off")->capture_default_str();
  cmd->add_option("--repetition_penalty", a.options.sampling.repetition_penalty, "penalty on tokens already in the context; 1 = off")
      ->capture_default_str();
  cmd->add_option("--stop", a.options.stop, "stop when this text is produced (repeatable)");
  cmd->add_option("--seed", a.options.seed, "random seed")->capture_default_str();
  cmd->add_flag("--no_cache", a.no_cache, "recompute the whole context for every token (slow; for checking)");
  cmd->add_flag("--stats", a.stats, "print timing (prefill, decode tokens/s) to stderr at the end");
}

Status run_generate(GenerateArgs& a) {
  LOOM_ASSIGN_OR_RETURN(loom::io::LoadedModel m, loom::io::load_model_dir(a.model_dir));
  a.options.use_kv_cache = !a.no_cache;
  a.options.echo_prompt = true;
  LOOM_ASSIGN_OR_RETURN(auto r, loom::infer::generate(*m.model, *m.tokenizer, a.prompt, a.options, [](const std::string& s) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
  }));
  std::fputs("\n", stdout);
  if (a.stats)
    std::fprintf(stderr, "prompt %zu tokens in %.3f s; generated %zu tokens in %.3f s (%.1f tokens/s); stop: %s\n",
                 r.prompt_ids.size(), r.prefill_seconds, r.new_ids.size(), r.decode_seconds,
                 r.decode_seconds > 0 ? static_cast<double>(r.new_ids.size()) / r.decode_seconds : 0.0, r.stop_reason.c_str());
  return loom::ok_status();
}

// --- eval --------------------------------------------------------------------------------

struct EvalArgs {
  std::string model_dir;
  std::string data;
  int64_t batch_size = 8;
  bool json = false;
  std::string task = "lm";
  loom::cli::ClassifyEvalArgs classify;
};

void add_eval(CLI::App& app, EvalArgs& a) {
  CLI::App* cmd = app.add_subcommand("eval", "Score a model: language-model perplexity, or classification metrics");
  cmd->footer(
      "\n--task lm (default): loss, perplexity and bits per byte of a GPT on a text file.\n"
      "--task classify: accuracy, precision / recall / F1 per class, macro and micro, and the confusion\n"
      "matrix of a fine-tuned BERT classifier on a labelled file (same formats as 'loom finetune').\n\n"
      "Examples:\n  loom eval --model out-shakespeare --data tinyshakespeare/input.txt\n"
      "  loom eval --task classify --model runs/sst2 --data sst2/stsa.binary.dev --format label-first \\\n"
      "      --json_out sst2-dev.json\n");
  cmd->add_option("--task", a.task, "lm or classify")->capture_default_str();
  cmd->add_option("--model", a.model_dir, "model directory")->required();
  cmd->add_option("--data", a.data, "UTF-8 text file to score (lm) or labelled file (classify)")->required();
  cmd->add_option("--batch_size", a.batch_size, "windows (lm) or examples (classify) per forward pass")
      ->capture_default_str();
  cmd->add_flag("--json", a.json, "print the result as one JSON object");
  loom::cli::add_classify_eval_flags(*cmd, a.classify);
}

Status run_eval(const EvalArgs& a) {
  if (a.task == "classify")
    return loom::cli::run_classify_eval(a.model_dir, a.data, a.batch_size, a.classify, a.json);
  if (a.task != "lm") return loom::invalid_argument("--task is '" + a.task + "'; choose lm or classify");
  LOOM_ASSIGN_OR_RETURN(loom::io::LoadedModel m, loom::io::load_model_dir(a.model_dir));
  LOOM_ASSIGN_OR_RETURN(std::string text, loom::read_file(a.data));
  LOOM_ASSIGN_OR_RETURN(auto r, loom::train::evaluate_text(*m.model, *m.tokenizer, text, a.batch_size, a.data));
  if (a.json) {
    nlohmann::json j = {{"model", a.model_dir}, {"data", a.data}, {"tokens", r.tokens}, {"loss", r.loss},
                        {"perplexity", r.perplexity}, {"bits_per_byte", r.bits_per_byte}, {"seconds", r.seconds}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("tokens      %lld\nloss        %.4f nats/token\nperplexity  %.3f\nbits/byte   %.4f\ntime        %.2f s\n",
                static_cast<long long>(r.tokens), r.loss, r.perplexity, r.bits_per_byte, r.seconds);
  }
  return loom::ok_status();
}

// --- plot --------------------------------------------------------------------------------

struct PlotArgs {
  std::string run_dir;
  std::string out;
};

void add_plot(CLI::App& app, PlotArgs& a) {
  CLI::App* cmd = app.add_subcommand("plot", "Draw a run's loss curves (train and validation) as an SVG file");
  cmd->footer("\nExample:\n  loom plot --run runs/shakespeare        # writes runs/shakespeare/loss.svg\n");
  cmd->add_option("--run", a.run_dir, "run directory holding metrics.jsonl")->required();
  cmd->add_option("--out", a.out, "output file; default RUN/loss.svg");
}

Status run_plot(const PlotArgs& a) {
  const std::string metrics = loom::join_path(a.run_dir, loom::train::kMetricsFileName);
  LOOM_ASSIGN_OR_RETURN(std::string svg, loom::train::loss_plot_svg(metrics, "loom train: " + a.run_dir));
  const std::string out = a.out.empty() ? loom::join_path(a.run_dir, loom::train::kLossPlotFileName) : a.out;
  LOOM_RETURN_IF_ERROR(loom::write_file_atomic(out, svg));
  std::printf("wrote %s\n", out.c_str());
  return loom::ok_status();
}

// --- prepare -----------------------------------------------------------------------------

struct PrepareArgs {
  loom::data::PrepareOptions options;
  std::string tokenizer;
  std::string format = "auto";
};

void add_prepare(CLI::App& app, PrepareArgs& a) {
  CLI::App* cmd = app.add_subcommand("prepare", "Tokenize text or JSONL files into token shards for training");
  cmd->footer(
      "\nWrites OUT_DIR/train_NNNNN.bin, val_NNNNN.bin, tokenizer.json and meta.json; train on it with\n"
      "'loom train --data OUT_DIR'. With --tokenizer char a character vocabulary is built from the inputs.\n\n"
      "Example:\n  loom prepare --tokenizer runs/bpe/tokenizer.json --out_dir data/wiki wiki.txt\n");
  cmd->add_option("inputs", a.options.inputs, "text or JSONL files")->required();
  cmd->add_option("--tokenizer", a.tokenizer, "tokenizer.json, a model directory, a GGUF file (its vocabulary), or 'char'")->required();
  cmd->add_option("--out_dir", a.options.out_dir, "output directory")->required();
  cmd->add_option("--format", a.format, "auto (by extension: .jsonl = JSONL), text or jsonl")->capture_default_str();
  cmd->add_option("--jsonl_field", a.options.jsonl_field, "JSONL field holding the text")->capture_default_str();
  cmd->add_option("--val_fraction", a.options.val_fraction, "last fraction of the corpus kept for validation")
      ->capture_default_str();
  cmd->add_option("--shard_tokens", a.options.shard_tokens, "ids per shard file")->capture_default_str();
}

Status run_prepare(PrepareArgs& a) {
  if (a.format == "auto") a.options.format = loom::data::InputFormat::kAuto;
  else if (a.format == "text") a.options.format = loom::data::InputFormat::kText;
  else if (a.format == "jsonl") a.options.format = loom::data::InputFormat::kJsonl;
  else return loom::invalid_argument("--format is '" + a.format + "'; expected auto, text or jsonl");
  std::unique_ptr<loom::Tokenizer> tok;
  if (a.tokenizer == "char") {
    std::string all;
    for (const auto& in : a.options.inputs) {
      LOOM_ASSIGN_OR_RETURN(std::string text, loom::read_file(in));
      all += text;
    }
    auto t = loom::CharTokenizer::train(all);
    if (!t.ok()) return t.status().with_context("building a character vocabulary");
    tok = std::make_unique<loom::CharTokenizer>(std::move(t).value());
  } else {
    LOOM_ASSIGN_OR_RETURN(tok, loom::load_tokenizer_any(a.tokenizer));
  }
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  LOOM_ASSIGN_OR_RETURN(auto r, loom::data::prepare_corpus(*tok, a.options, [tty](uint64_t done, uint64_t total) {
    if (tty) std::fprintf(stderr, "\rprepare: %.1f / %.1f MB", static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6);
  }));
  if (tty) std::fprintf(stderr, "\n");
  std::printf("prepared %llu documents, %.1f MB: %llu train and %llu val tokens in %zu shards, %.1f s (%.2f MB/s) -> %s\n",
              static_cast<unsigned long long>(r.documents), static_cast<double>(r.bytes) / 1e6,
              static_cast<unsigned long long>(r.train_tokens), static_cast<unsigned long long>(r.val_tokens),
              r.shards.size(), r.seconds, static_cast<double>(r.bytes) / 1e6 / r.seconds, a.options.out_dir.c_str());
  return loom::ok_status();
}

// --- data get ----------------------------------------------------------------------------

struct DataArgs {
  std::string name;
  std::string cache_dir;
  std::string mirror;
  bool list = false;
};

void add_data(CLI::App& app, DataArgs& a) {
  CLI::App* cmd = app.add_subcommand("data", "Fetch well-known corpora, verified by SHA-256");
  cmd->require_subcommand(1);
  CLI::App* get = cmd->add_subcommand("get", "Copy (from --mirror) or download a dataset into the cache");
  get->footer(
      "\nThe cache is --cache_dir, else $LOOM_CACHE_DIR, else ~/.cache/loom. With --mirror DIR (or\n"
      "$LOOM_DATA_MIRROR) files are copied from DIR/<dataset path> instead of downloaded.\n\n"
      "Example:\n  loom data get tinyshakespeare && loom train --data ~/.cache/loom/tinyshakespeare/input.txt\n");
  get->add_option("name", a.name, "dataset name (see 'loom data list')")->required();
  get->add_option("--cache_dir", a.cache_dir, "where datasets are stored");
  get->add_option("--mirror", a.mirror, "local directory to copy from instead of downloading");
  cmd->add_subcommand("list", "List the known datasets")->callback([&a] { a.list = true; });
}

Status run_data(const DataArgs& a) {
  if (a.list) {
    for (const auto& d : loom::data::known_datasets()) {
      std::printf("%-16s %s\n", d.name.c_str(), d.description.c_str());
      for (const auto& f : d.files) std::printf("%-16s   %s\n", "", f.path.c_str());
    }
    return loom::ok_status();
  }
  loom::data::FetchOptions o;
  o.cache_dir = !a.cache_dir.empty() ? a.cache_dir
                                     : loom::env_or("LOOM_CACHE_DIR", loom::env_or("HOME", ".") + "/.cache/loom");
  o.mirror_dir = !a.mirror.empty() ? a.mirror : loom::env_or("LOOM_DATA_MIRROR", "");
  LOOM_ASSIGN_OR_RETURN(auto r, loom::data::fetch_dataset(a.name, o));
  for (const auto& p : r.paths) std::printf("%s\n", p.c_str());
  std::fprintf(stderr, "%s: %d already cached, %d copied, %d downloaded; all verified\n", a.name.c_str(), r.already_cached,
               r.copied, r.downloaded);
  return loom::ok_status();
}

// --- tokenize / detokenize ---------------------------------------------------------------

struct TokenizeArgs {
  std::string tokenizer;
  std::string text;
  bool ids_only = false;
  bool json = false;
  std::vector<std::string> ids;  // detokenize
};

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out;
}

void add_tokenize(CLI::App& app, TokenizeArgs& a) {
  CLI::App* tok = app.add_subcommand("tokenize", "Show the token ids, tokens and byte offsets of a text");
  tok->footer("\nExample:\n  loom tokenize --tokenizer runs/shakespeare 'To be, or not to be'\n");
  tok->add_option("--tokenizer", a.tokenizer, "tokenizer.json, a model directory or a GGUF file")->required();
  tok->add_option("text", a.text, "text to tokenize (default: standard input)");
  tok->add_flag("--ids", a.ids_only, "print only the ids, space-separated");
  tok->add_flag("--json", a.json, "print one JSON object with ids, tokens and offsets");
  CLI::App* detok = app.add_subcommand("detokenize", "Turn token ids back into text");
  detok->footer("\nExample:\n  loom detokenize --tokenizer runs/shakespeare 32 53 1 40 43\n");
  detok->add_option("--tokenizer", a.tokenizer, "tokenizer.json, a model directory or a GGUF file")->required();
  detok->add_option("ids", a.ids, "token ids (default: read from standard input)");
}

Status run_tokenize(TokenizeArgs& a) {
  LOOM_ASSIGN_OR_RETURN(auto tok, loom::load_tokenizer_any(a.tokenizer));
  if (a.text.empty()) a.text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  LOOM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tok->encode(a.text));
  if (a.ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    std::printf("\n");
    return loom::ok_status();
  }
  // Byte offsets: each token covers the bytes its decoding adds to the text.
  nlohmann::json tokens = nlohmann::json::array(), offsets = nlohmann::json::array();
  size_t pos = 0;
  if (!a.json) std::printf("%8s  %-12s  %-20s  %s\n", "id", "bytes", "token", "text");
  for (int32_t id : ids) {
    const std::string piece = tok->decode_token(id);
    const std::string name = tok->id_to_token(id).value_or("?");
    if (a.json) {
      tokens.push_back(name);
      offsets.push_back({pos, pos + piece.size()});
    } else {
      char range[32];
      std::snprintf(range, sizeof range, "[%zu, %zu)", pos, pos + piece.size());
      std::printf("%8d  %-12s  %-20s  %s\n", id, range, printable(name).c_str(), printable(piece).c_str());
    }
    pos += piece.size();
  }
  if (a.json) {
    nlohmann::json j = {{"ids", ids}, {"tokens", tokens}, {"offsets", offsets}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%zu tokens, %zu bytes\n", ids.size(), a.text.size());
  }
  return loom::ok_status();
}

Status run_detokenize(TokenizeArgs& a) {
  LOOM_ASSIGN_OR_RETURN(auto tok, loom::load_tokenizer_any(a.tokenizer));
  if (a.ids.empty()) {
    std::string w;
    while (std::cin >> w) a.ids.push_back(w);
  }
  std::vector<int32_t> ids;
  for (const auto& s : a.ids) {
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (end == s.c_str() || *end != '\0' || v < 0 || v >= tok->vocab_size())
      return loom::invalid_argument("'" + s + "' is not a token id of this tokenizer; ids are integers in [0, " +
                                    std::to_string(tok->vocab_size()) + ")");
    ids.push_back(static_cast<int32_t>(v));
  }
  std::string text = tok->decode(ids);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::printf("\n");
  return loom::ok_status();
}

// --- tokenizer train ---------------------------------------------------------------------

struct TokenizerTrainArgs {
  std::vector<std::string> inputs;
  std::string model = "bpe";
  std::string out;
  loom::BpeTrainerOptions options;
  bool cased = false;
};

void add_tokenizer_train(CLI::App& app, TokenizerTrainArgs& a) {
  CLI::App* cmd = app.add_subcommand("tokenizer", "Train tokenizers");
  cmd->require_subcommand(1);
  CLI::App* train = cmd->add_subcommand("train", "Train a byte-level BPE (GPT-2) or WordPiece (BERT) tokenizer on text files");
  train->footer(
      "\n--model bpe writes OUT/tokenizer.json plus vocab.json and merges.txt (GPT-2's formats);\n"
      "--model wordpiece writes OUT/tokenizer.json and vocab.txt (BERT's normalizer and pre-tokenizer,\n"
      "lower-cased unless --cased; special tokens [PAD] [UNK] [CLS] [SEP] [MASK] unless --special is given).\n"
      "Training is deterministic: the most frequent pair is merged first, ties broken as\n"
      "docs/tokenizers.md states.\n\n"
      "Examples:\n  loom tokenizer train --vocab_size 4096 --special '<|endoftext|>' --out runs/bpe input.txt\n"
      "  loom tokenizer train --model wordpiece --vocab_size 8000 --out runs/wordpiece corpus.txt\n");
  train->add_option("inputs", a.inputs, "UTF-8 text files")->required();
  train->add_option("--model", a.model, "tokenizer model: bpe (byte-level BPE) or wordpiece")->capture_default_str();
  train->add_flag("--cased", a.cased, "wordpiece: keep case and accents");
  train->add_option("--out", a.out, "output directory")->required();
  train->add_option("--vocab_size", a.options.vocab_size, "vocabulary size: 256 bytes + merges + special tokens")
      ->capture_default_str();
  train->add_option("--min_frequency", a.options.min_frequency, "merge only pairs seen at least this often")
      ->capture_default_str();
  train->add_option("--special", a.options.special_tokens, "special tokens to add (repeatable), e.g. <|endoftext|>");
}

Status run_tokenizer_train(TokenizerTrainArgs& a) {
  if (a.model == "wordpiece") {
    loom::WordPieceTrainerOptions o;
    o.vocab_size = a.options.vocab_size;
    o.min_frequency = a.options.min_frequency;
    if (!a.options.special_tokens.empty()) o.special_tokens = a.options.special_tokens;
    o.tokenizer.lowercase = !a.cased;
    loom::BpeTrainingReport report;
    LOOM_ASSIGN_OR_RETURN(loom::WordPiece wp, loom::train_wordpiece_files(a.inputs, o, &report));
    LOOM_RETURN_IF_ERROR(loom::make_directories(a.out));
    LOOM_RETURN_IF_ERROR(loom::save_tokenizer(wp, a.out));
    LOOM_RETURN_IF_ERROR(wp.save_vocab_txt(loom::join_path(a.out, "vocab.txt")));
    std::printf("trained a WordPiece vocabulary of %d tokens (%d merges; stopped: %s) on %.1f MB, %lld distinct "
                "words: counting %.2f s, merging %.2f s -> %s/vocab.txt, tokenizer.json\n",
                wp.vocab_size(), report.merges, report.stop_reason.c_str(),
                static_cast<double>(report.input_bytes) / 1e6, static_cast<long long>(report.distinct_pre_tokens),
                report.count_seconds, report.merge_seconds, a.out.c_str());
    return loom::ok_status();
  }
  if (a.model != "bpe")
    return loom::invalid_argument("--model is '" + a.model + "'; loom trains 'bpe' (byte-level BPE) or 'wordpiece'");
  loom::BpeTrainingReport report;
  LOOM_ASSIGN_OR_RETURN(loom::ByteLevelBpe tok, loom::train_byte_level_bpe_files(a.inputs, a.options, &report));
  LOOM_RETURN_IF_ERROR(loom::make_directories(a.out));
  LOOM_RETURN_IF_ERROR(loom::save_tokenizer(tok, a.out));
  LOOM_RETURN_IF_ERROR(tok.save_vocab_and_merges(a.out));
  std::printf("trained %d tokens (%d merges; stopped: %s) on %.1f MB, %lld distinct pre-tokens: counting %.2f s, "
              "merging %.2f s -> %s/tokenizer.json\n",
              tok.vocab_size(), report.merges, report.stop_reason.c_str(), static_cast<double>(report.input_bytes) / 1e6,
              static_cast<long long>(report.distinct_pre_tokens), report.count_seconds, report.merge_seconds, a.out.c_str());
  return loom::ok_status();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "loom: build, train, evaluate and run language models in C++.\n"
      "Run 'loom COMMAND --help' for the options of a command."};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "worker threads for all commands; 0 = all cores")->capture_default_str();
  TrainArgs train_args;
  GenerateArgs gen_args;
  EvalArgs eval_args;
  PlotArgs plot_args;
  PrepareArgs prepare_args;
  DataArgs data_args;
  TokenizeArgs tokenize_args;
  TokenizerTrainArgs tokenizer_train_args;
  loom::cli::PretrainArgs pretrain_args;
  loom::cli::FinetuneArgs finetune_args;
  loom::cli::PredictArgs predict_args;
  add_tokenizer_train(app, tokenizer_train_args);
  add_data(app, data_args);
  add_tokenize(app, tokenize_args);
  add_prepare(app, prepare_args);
  add_train(app, train_args);
  add_generate(app, gen_args);
  add_eval(app, eval_args);
  add_plot(app, plot_args);
  loom::cli::add_pretrain(app, pretrain_args);
  loom::cli::add_finetune(app, finetune_args);
  loom::cli::add_predict(app, predict_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const std::string kernels_env = loom::env_or("LOOM_KERNELS", "auto");
  loom::kernels::KernelPath path;
  if (!loom::kernels::parse_kernel_path(kernels_env, &path))
    return report(loom::invalid_argument("LOOM_KERNELS is '" + kernels_env + "'; expected auto, optimized or reference"));
  loom::kernels::set_kernel_path(path);
  if (Status s = set_threads(threads); !s.ok()) return report(s);
  if (app.got_subcommand("tokenizer")) return report(run_tokenizer_train(tokenizer_train_args));
  if (app.got_subcommand("data")) return report(run_data(data_args));
  if (app.got_subcommand("tokenize")) return report(run_tokenize(tokenize_args));
  if (app.got_subcommand("detokenize")) return report(run_detokenize(tokenize_args));
  if (app.got_subcommand("prepare")) return report(run_prepare(prepare_args));
  if (app.got_subcommand("train")) return report(run_train(train_args));
  if (app.got_subcommand("generate")) return report(run_generate(gen_args));
  if (app.got_subcommand("eval")) return report(run_eval(eval_args));
  if (app.got_subcommand("plot")) return report(run_plot(plot_args));
  if (app.got_subcommand("pretrain") || app.got_subcommand("finetune")) std::signal(SIGINT, on_sigint);
  if (app.got_subcommand("pretrain")) return report(loom::cli::run_pretrain(pretrain_args, &g_stop));
  if (app.got_subcommand("finetune")) return report(loom::cli::run_finetune(finetune_args, &g_stop));
  if (app.got_subcommand("predict")) return report(loom::cli::run_predict(predict_args));
  return 0;
}
