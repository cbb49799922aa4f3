// Throughput of byte-level BPE: encoding a text (tinyshakespeare by default) with GPT-2's vocabulary (single thread,
// then encode_batch over its lines on all OpenMP threads) and training on a corpus of a given
// size. Prints the median of 3 runs. Data comes from LOOM_DATA_DIR (default: the shared data
// directory the build was configured with).
//
//   bpe_bench encode [FILE]          # MB/s of encode() and encode_batch() (by lines, by chunks)
//                                    # on FILE (default tinyshakespeare); bench/tokenizer/compare.sh
//                                    # runs it beside the npm encoders
//   bpe_bench train 100 32000        # train vocab 32000 on a 100 MB corpus (built from the
//                                    # shared text files, every copy with 2% of its letters
//                                    # changed so that most copies add new distinct words)
#include "loom/base/threads.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "loom/base/env.h"
#include "loom/base/file.h"
#include "loom/tokenizers/bpe_trainer.h"
#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/pre_tokenizer.h"

namespace {

using loom::ByteLevelBpe;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median3(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename T>
T or_die(loom::StatusOr<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "bpe_bench: %s\n", r.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

// The ids' fingerprint bench/tokenizer/encode.mjs prints too: h = h * 31 + id (mod 2^32).
uint32_t fingerprint(const std::vector<int32_t>& ids) {
  uint32_t h = 0;
  for (int32_t id : ids) h = h * 31u + static_cast<uint32_t>(id);
  return h;
}

int bench_encode(const std::string& data, const std::string& path) {
  const ByteLevelBpe tok = or_die(
      ByteLevelBpe::load_vocab_and_merges(data + "/tokenizers/gpt2/vocab.json", data + "/tokenizers/gpt2/merges.txt"));
  const std::string text = or_die(loom::read_file(path));
  const double mb = static_cast<double>(text.size()) / 1e6;
  std::vector<double> single;
  size_t n_ids = 0;
  // Each measurement encodes the file kRepeats times, each a separate call (so with a cold
  // piece cache, as a caller encoding one document at a time would see).
  constexpr int kRepeats = 5;
  for (int run = 0; run < 3; ++run) {
    const double t0 = now();
    for (int r = 0; r < kRepeats; ++r) n_ids = or_die(tok.encode(text)).size();
    single.push_back((now() - t0) / kRepeats);
  }
  // Batches: the file's lines (40k texts of ~28 bytes: per-text overhead dominates) and 64 KB
  // chunks cut at pre-token-safe places (as a corpus preparer would cut).
  std::vector<std::string_view> lines, chunks;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.emplace_back(text.data() + pos, end - pos);
    pos = end;
  }
  for (std::string_view rest = text; !rest.empty();) {
    size_t cut = loom::find_safe_cut(loom::PreTokenizerKind::kGpt2, rest, 64 * 1024);
    if (cut == 0) cut = rest.size();
    chunks.push_back(rest.substr(0, cut));
    rest.remove_prefix(cut);
  }
  const auto time_batch = [&](const std::vector<std::string_view>& texts) {
    std::vector<double> t;
    for (int run = 0; run < 3; ++run) {
      const double t0 = now();
      for (int r = 0; r < kRepeats; ++r) (void)or_die(tok.encode_batch(texts));
      t.push_back((now() - t0) / kRepeats);
    }
    return median3(t);
  };
  const double by_line = time_batch(lines), by_chunk = time_batch(chunks);
  std::printf("%s: %.2f MB, %zu GPT-2 tokens, fingerprint %u\n", path.c_str(), mb, n_ids,
              fingerprint(or_die(tok.encode(text))));
  std::printf("encode(), 1 thread:                         %6.1f MB/s  (median of 3: %.4f s)\n", mb / median3(single),
              median3(single));
  std::printf("encode_batch(%zu lines), %d threads:     %6.1f MB/s  (median of 3: %.4f s)\n", lines.size(),
              loom::num_threads(), mb / by_line, by_line);
  std::printf("encode_batch(%zu 64 KB chunks), %d threads: %6.1f MB/s  (median of 3: %.4f s)\n", chunks.size(),
              loom::num_threads(), mb / by_chunk, by_chunk);
  return 0;
}

int bench_train(const std::string& data, double megabytes, int32_t vocab_size) {
  // Source text: every plain-text corpus of the shared data.
  std::string source;
  for (const char* f : {"/tinyshakespeare/input.txt", "/wikitext-2/wiki.valid.tokens", "/chinese-raw/hongloumeng.txt",
                        "/chinese-raw/shuihu.txt", "/ag_news/test.csv", "/trec/TREC.train.all"}) {
    loom::StatusOr<std::string> t = loom::read_file(data + f);
    if (t.ok()) source += *t;
  }
  if (source.empty()) {
    std::fprintf(stderr, "bpe_bench: no text found under %s\n", data.c_str());
    return 1;
  }
  const auto target = static_cast<size_t>(megabytes * 1e6);
  std::string corpus;
  corpus.reserve(target + source.size());
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> percent(0, 99), letter(0, 25);
  for (int copy = 0; corpus.size() < target; ++copy) {
    std::string s = source;
    if (copy > 0)
      for (char& c : s)
        if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) && percent(rng) < 2) c = static_cast<char>('a' + letter(rng));
    corpus += s;
  }
  corpus.resize(target);
  const std::string file = "/tmp/loom_bpe_bench_corpus.txt";
  if (!loom::write_file_atomic(file, corpus).ok()) return 1;
  const std::vector<std::string> files = {file};
  loom::BpeTrainingReport report;
  const double t0 = now();
  const ByteLevelBpe tok = or_die(loom::train_byte_level_bpe_files(
      files, loom::BpeTrainerOptions{.vocab_size = vocab_size, .special_tokens = {"<|endoftext|>"}}, &report));
  const double seconds = now() - t0;
  std::remove(file.c_str());
  std::printf("train: %.1f MB, %lld pre-tokens, %lld distinct, vocab %d, %d merges (%s)\n",
              static_cast<double>(report.input_bytes) / 1e6, static_cast<long long>(report.pre_tokens),
              static_cast<long long>(report.distinct_pre_tokens), tok.vocab_size(), report.merges,
              report.stop_reason.c_str());
  std::printf("       counting %.1f s, merges %.1f s, total %.1f s on %d threads\n", report.count_seconds,
              report.merge_seconds, seconds, loom::num_threads());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data = loom::env_or("LOOM_DATA_DIR", LOOM_DEFAULT_DATA_DIR);
  const std::string mode = argc > 1 ? argv[1] : "encode";
  if (mode == "encode") return bench_encode(data, argc > 2 ? argv[2] : data + "/tinyshakespeare/input.txt");
  if (mode == "train") {
    const double mb = argc > 2 ? std::atof(argv[2]) : 100.0;
    const auto vocab = static_cast<int32_t>(argc > 3 ? std::atoi(argv[3]) : 32000);
    return bench_train(data, mb, vocab);
  }
  std::fprintf(stderr, "usage: bpe_bench [encode [FILE] | train MB VOCAB]\n");
  return 2;
}
