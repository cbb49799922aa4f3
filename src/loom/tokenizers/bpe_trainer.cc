// The byte-level BPE trainer (see bpe_trainer.h): parallel streaming pre-token counting, then
// merges over the word-count table with incremental pair-count updates and a lazy max-heap.
#include "loom/tokenizers/bpe_trainer.h"

#include "loom/base/threads.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "loom/base/check.h"
#include "loom/tokenizers/byte_unicode.h"
#include "loom/tokenizers/merge_learner.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

constexpr size_t kBlockBytes = size_t{4} << 20;  // files are read and counted in blocks of this size
constexpr size_t kMaxCarryBytes = size_t{64} << 20;  // cut anyway past this without a safe place

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using CountMap = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t count_text(std::string_view text, PreTokenizerKind kind, CountMap& counts) {
  int64_t n = 0;
  PreTokenCursor cursor(kind, text);
  for (size_t begin, end; cursor.next(&begin, &end);) {
    const std::string_view piece = text.substr(begin, end - begin);
    if (auto it = counts.find(piece); it != counts.end()) {
      ++it->second;
    } else {
      counts.emplace(std::string(piece), 1);
    }
    ++n;
  }
  return n;
}

// Counts `chunks` on all threads, each into its own table, and adds them to `tables`
// (one per thread, kept across calls so a file's blocks accumulate without merging).
int64_t count_chunks(const std::vector<std::string_view>& chunks, PreTokenizerKind kind, std::vector<CountMap>& tables) {
  int64_t total = 0;
  const auto n = static_cast<int64_t>(chunks.size());
  std::vector<int64_t> totals(tables.size(), 0);
  parallel_dynamic(n, [&](int tid, int64_t i) {
    const auto t = static_cast<size_t>(tid);
    totals[t] += count_text(chunks[static_cast<size_t>(i)], kind, tables[t]);
  });
  for (int64_t t : totals) total += t;
  return total;
}

// The per-thread tables as one sorted list (sorted so training does not depend on hashing).
PreTokenCounts merge_tables(std::vector<CountMap>& tables) {
  std::sort(tables.begin(), tables.end(), [](const CountMap& a, const CountMap& b) { return a.size() > b.size(); });
  CountMap& all = tables[0];
  for (size_t t = 1; t < tables.size(); ++t) {
    for (auto& [piece, count] : tables[t]) all[piece] += count;
    CountMap().swap(tables[t]);
  }
  PreTokenCounts out;
  out.reserve(all.size());
  for (auto& node : all) out.emplace_back(node.first, node.second);
  CountMap().swap(all);
  std::sort(out.begin(), out.end());
  return out;
}

// Cuts `text` into chunks of about kBlockBytes at safe places.
void split_into_chunks(std::string_view text, PreTokenizerKind kind, std::vector<std::string_view>* chunks) {
  while (text.size() > kBlockBytes) {
    size_t cut = find_safe_cut(kind, text, kBlockBytes);
    if (cut == 0) cut = find_safe_cut(kind, text, text.size() - 1);  // a longer chunk, then
    if (cut == 0) break;
    chunks->push_back(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  if (!text.empty()) chunks->push_back(text);
}

// --- phase 2 ---

}  // namespace

Status BpeTrainerOptions::validate() const {
  const int64_t minimum = 256 + static_cast<int64_t>(special_tokens.size());
  if (vocab_size < minimum)
    return invalid_argument("vocab_size is " + std::to_string(vocab_size) + "; it must be at least " +
                            std::to_string(minimum) + " (256 byte tokens + " + std::to_string(special_tokens.size()) +
                            " special tokens)");
  if (min_frequency < 1)
    return invalid_argument("min_frequency is " + std::to_string(min_frequency) + "; it must be at least 1");
  std::unordered_set<std::string> seen;
  for (const std::string& s : special_tokens) {
    if (s.empty()) return invalid_argument("a special token is empty");
    LOOM_RETURN_IF_ERROR(validate_utf8(s, "special token " + quote_text(s)));
    if (!seen.insert(s).second) return invalid_argument("special token " + quote_text(s) + " is listed twice");
  }
  return ok_status();
}

StatusOr<PreTokenCounts> count_pre_tokens(std::span<const std::string_view> texts, PreTokenizerKind kind,
                                          BpeTrainingReport* report) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string_view> chunks;
  int64_t bytes = 0;
  for (std::string_view text : texts) {
    split_into_chunks(text, kind, &chunks);
    bytes += static_cast<int64_t>(text.size());
  }
  std::vector<CountMap> tables(static_cast<size_t>(num_threads()));
  const int64_t pieces = count_chunks(chunks, kind, tables);
  PreTokenCounts counts = merge_tables(tables);
  if (report) {
    report->input_bytes = bytes;
    report->pre_tokens = pieces;
    report->distinct_pre_tokens = static_cast<int64_t>(counts.size());
    report->count_seconds = seconds_since(t0);
  }
  return counts;
}

StatusOr<PreTokenCounts> count_pre_tokens_in_files(std::span<const std::string> paths, PreTokenizerKind kind,
                                                   BpeTrainingReport* report) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto threads = static_cast<size_t>(num_threads());
  std::vector<CountMap> tables(threads);
  int64_t bytes = 0, pieces = 0;
  for (const std::string& path : paths) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return not_found("training file '" + path + "' cannot be opened: " + std::strerror(errno));
    std::string carry;  // text read but not yet counted (after the last safe cut)
    bool eof = false;
    while (!eof) {
      // Read up to `threads` blocks, cut them at safe places, count them in parallel.
      std::vector<std::string> blocks;
      while (blocks.size() < threads && !eof) {
        std::string block = std::move(carry);
        carry.clear();
        const size_t have = block.size();
        block.resize(have + kBlockBytes);
        const size_t got = std::fread(block.data() + have, 1, kBlockBytes, f);
        block.resize(have + got);
        if (got < kBlockBytes) {
          if (std::ferror(f)) {
            std::fclose(f);
            return io_error("training file '" + path + "': read failed");
          }
          eof = true;
        }
        bytes += static_cast<int64_t>(got);
        if (!eof) {
          size_t cut = block.empty() ? 0 : find_safe_cut(kind, block, block.size() - 1);
          if (cut == 0 && block.size() < kMaxCarryBytes) {
            carry = std::move(block);  // no safe place yet: read more first
            continue;
          }
          if (cut == 0) cut = block.size();  // a 64 MiB stretch without one: cut anyway
          carry.assign(block, cut, std::string::npos);
          block.resize(cut);
        }
        if (!block.empty()) blocks.push_back(std::move(block));
      }
      std::vector<std::string_view> views(blocks.begin(), blocks.end());
      pieces += count_chunks(views, kind, tables);
    }
    std::fclose(f);
  }
  PreTokenCounts counts = merge_tables(tables);
  if (report) {
    report->input_bytes = bytes;
    report->pre_tokens = pieces;
    report->distinct_pre_tokens = static_cast<int64_t>(counts.size());
    report->count_seconds = seconds_since(t0);
  }
  return counts;
}

StatusOr<ByteLevelBpe> train_byte_level_bpe_from_counts(const PreTokenCounts& counts, const BpeTrainerOptions& options,
                                                        BpeTrainingReport* report) {
  LOOM_RETURN_IF_ERROR(options.validate());
  for (const auto& [piece, count] : counts) {
    if (piece.empty()) return invalid_argument("the word-count table has an empty word");
    if (count <= 0)
      return invalid_argument("word " + quote_text(piece) + " has count " + std::to_string(count) + "; counts must be positive");
  }
  const auto t0 = std::chrono::steady_clock::now();
  // Initial tokens: the 256 bytes in GPT-2's order; every word starts as its bytes.
  const auto& order = byte_order();
  std::vector<std::string> initial;
  std::array<int32_t, 256> byte_id{};
  for (size_t i = 0; i < 256; ++i) {
    initial.emplace_back(1, static_cast<char>(order[i]));
    byte_id[order[i]] = static_cast<int32_t>(i);
  }
  std::vector<detail::MergeLearner::Word> words;
  words.reserve(counts.size());
  for (const auto& [piece, count] : counts) {
    detail::MergeLearner::Word w{{}, count};
    w.symbols.reserve(piece.size());
    for (char c : piece) w.symbols.push_back(byte_id[static_cast<uint8_t>(c)]);
    words.push_back(std::move(w));
  }
  detail::MergeLearner learner(std::move(initial), std::move(words),
                               options.vocab_size - static_cast<int32_t>(options.special_tokens.size()),
                               options.min_frequency, [](const std::string& l, const std::string& r) { return l + r; });
  const std::string stop = learner.run();

  const std::vector<std::string>& tokens = learner.tokens();
  ByteLevelBpeParts parts;
  parts.pre_tokenizer = options.pre_tokenizer;
  std::vector<std::string> spellings;
  spellings.reserve(tokens.size());
  for (const std::string& t : tokens) spellings.push_back(bytes_to_byte_level(t));
  std::unordered_set<std::string> taken(spellings.begin(), spellings.end());
  for (size_t i = 0; i < spellings.size(); ++i) parts.vocab.emplace_back(spellings[i], static_cast<int32_t>(i));
  for (const auto& [a, b] : learner.merges())
    parts.merges.emplace_back(spellings[static_cast<size_t>(a)], spellings[static_cast<size_t>(b)]);
  for (const std::string& s : options.special_tokens) {
    if (taken.count(s))
      return invalid_argument("special token " + quote_text(s) +
                              " is spelled like a learned token of the vocabulary; choose a name that "
                              "cannot be one, e.g. '<|" + s + "|>'");
    const auto id = static_cast<int32_t>(parts.vocab.size());
    parts.vocab.emplace_back(s, id);
    parts.added_tokens.push_back(AddedToken{.id = id, .content = s, .special = true});
  }
  StatusOr<ByteLevelBpe> tokenizer = ByteLevelBpe::create(std::move(parts));
  // The learner builds a consistent vocabulary by construction.
  LOOM_CHECK(tokenizer.ok()) << tokenizer.status().to_string();
  if (report) {
    report->merges = static_cast<int32_t>(learner.merges().size());
    report->stop_reason = stop;
    report->merge_seconds = seconds_since(t0);
  }
  return tokenizer;
}

StatusOr<ByteLevelBpe> train_byte_level_bpe(std::span<const std::string_view> texts, const BpeTrainerOptions& options,
                                            BpeTrainingReport* report) {
  LOOM_RETURN_IF_ERROR(options.validate());
  LOOM_ASSIGN_OR_RETURN(PreTokenCounts counts, count_pre_tokens(texts, options.pre_tokenizer, report));
  if (counts.empty()) return invalid_argument("the training text is empty");
  return train_byte_level_bpe_from_counts(counts, options, report);
}

StatusOr<ByteLevelBpe> train_byte_level_bpe_files(std::span<const std::string> paths, const BpeTrainerOptions& options,
                                                  BpeTrainingReport* report) {
  LOOM_RETURN_IF_ERROR(options.validate());
  if (paths.empty()) return invalid_argument("no training files given");
  LOOM_ASSIGN_OR_RETURN(PreTokenCounts counts, count_pre_tokens_in_files(paths, options.pre_tokenizer, report));
  if (counts.empty()) return invalid_argument("the training files are empty");
  return train_byte_level_bpe_from_counts(counts, options, report);
}

}  // namespace loom
