// Tests for the byte-level BPE trainer: a merge sequence derived by hand (including the tie
// rule), the vocab_size and min_frequency limits, special tokens, agreement with a brute-force
// trainer (recount everything every merge) on random corpora full of ties, streamed file
// counting equal to in-memory counting, and tinyshakespeare at vocab 1000: deterministic,
// round-tripping, and equal to the merges of an independent Python implementation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/env.h"
#include "loom/base/file.h"
#include "loom/tokenizers/bpe_trainer.h"
#include "loom/tokenizers/byte_unicode.h"
#include "loom/tokenizers/utf8.h"

namespace loom {
namespace {

std::string data_dir() { return env_or("LOOM_DATA_DIR", LOOM_DEFAULT_DATA_DIR); }

// The merges as "left right" in vocab.json spelling.
std::vector<std::string> merge_strings(const ByteLevelBpe& tok) {
  std::vector<std::string> out;
  for (int32_t r = 0; r < tok.num_merges(); ++r) {
    const auto [a, b] = tok.merge(r);
    out.push_back(*tok.id_to_token(a) + " " + *tok.id_to_token(b));
  }
  return out;
}

ByteLevelBpe train_or_die(std::string_view text, const BpeTrainerOptions& options, BpeTrainingReport* report = nullptr) {
  const std::vector<std::string_view> texts = {text};
  StatusOr<ByteLevelBpe> tok = train_byte_level_bpe(texts, options, report);
  LOOM_CHECK(tok.ok()) << tok.status().to_string();
  return std::move(tok).value();
}

// "hug hug hug pug pun bun hugs" pre-tokenizes to hug, Ġhug x2, Ġpug, Ġpun, Ġbun, Ġhugs.
// Pair counts: (u,g) 5, (h,u) 4, (Ġ,h) 3, (Ġ,p) 2, (p,u) 2, (u,n) 2, the rest 1.
//   1. u g    (5)
//   2. h ug   (4: hug, Ġhug x2, Ġhugs)
//   3. Ġ hug  (3)
//   4. Ġ p    (2) — tied with (u, n) at 2; " " < "u", so Ġ p first
//   5. u n    (2)
// then every pair occurs once: with min_frequency 2 training stops; with 1 the ties continue
// by left token bytes: Ġ b (" " < " hug" < " p"), Ġb un, Ġhug s, Ġp ug, Ġp un.
constexpr char kHugs[] = "hug hug hug pug pun bun hugs";

TEST(BpeTrainer, ReproducesTheHandDerivedMerges) {
  BpeTrainingReport report;
  ByteLevelBpe tok = train_or_die(kHugs, BpeTrainerOptions{.vocab_size = 1000, .min_frequency = 2}, &report);
  EXPECT_EQ(merge_strings(tok), (std::vector<std::string>{"u g", "h ug", "\xC4\xA0 hug", "\xC4\xA0 p", "u n"}));
  EXPECT_EQ(report.stop_reason, "min_frequency");
  EXPECT_EQ(report.pre_tokens, 7);
  EXPECT_EQ(report.distinct_pre_tokens, 6);
  EXPECT_EQ(tok.vocab_size(), 261);
  // Ids 0..255 are GPT-2's byte order, then the merges in order.
  EXPECT_EQ(tok.token_to_id("!"), 0);
  EXPECT_EQ(tok.token_to_id("\xC4\xA0"), 220);
  EXPECT_EQ(tok.token_to_id("ug"), 256);
  EXPECT_EQ(tok.token_to_id("\xC4\xA0hug"), 258);
  EXPECT_EQ(tok.encode(" hug hugs").value(), (std::vector<int32_t>{258, 258, *tok.token_to_id("s")}));
  EXPECT_EQ(tok.decode(tok.encode(kHugs).value()), kHugs);
}

TEST(BpeTrainer, TiesAndLimits) {
  const std::vector<std::string> all = {"u g",          "h ug",        "\xC4\xA0 hug", "\xC4\xA0 p",  "u n",
                                        "\xC4\xA0 b",   "\xC4\xA0" "b un", "\xC4\xA0" "hug s", "\xC4\xA0" "p ug",
                                        "\xC4\xA0" "p un"};
  BpeTrainingReport report;
  ByteLevelBpe everything = train_or_die(kHugs, BpeTrainerOptions{.vocab_size = 1000, .min_frequency = 1}, &report);
  EXPECT_EQ(merge_strings(everything), all);
  EXPECT_EQ(report.stop_reason, "no pairs left");
  ByteLevelBpe six = train_or_die(kHugs, BpeTrainerOptions{.vocab_size = 262, .min_frequency = 1}, &report);
  EXPECT_EQ(merge_strings(six), std::vector<std::string>(all.begin(), all.begin() + 6));
  EXPECT_EQ(report.stop_reason, "vocab_size reached");
  EXPECT_EQ(six.vocab_size(), 262);
  ByteLevelBpe none = train_or_die(kHugs, BpeTrainerOptions{.vocab_size = 256});
  EXPECT_EQ(none.num_merges(), 0);
  EXPECT_EQ(none.decode(none.encode(kHugs).value()), kHugs);
}

TEST(BpeTrainer, SpecialTokensComeLast) {
  ByteLevelBpe tok = train_or_die(
      kHugs, BpeTrainerOptions{.vocab_size = 263, .min_frequency = 1, .special_tokens = {"<|endoftext|>", "<pad>"}});
  EXPECT_EQ(tok.num_merges(), 5);  // 263 - 256 - 2
  EXPECT_EQ(tok.vocab_size(), 263);
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 261);
  EXPECT_EQ(tok.token_to_id("<pad>"), 262);
  EXPECT_EQ(tok.special_tokens().eos, 261);
  EXPECT_EQ(tok.encode_with_special("hug<pad>").value(), (std::vector<int32_t>{257, 262}));
  EXPECT_EQ(tok.encode("<pad>").value().size(), 5u);  // '<', 'p', 'a', 'd', '>' as text
  EXPECT_EQ(tok.added_tokens().size(), 2u);
  EXPECT_TRUE(tok.added_tokens()[0].special);
}

TEST(BpeTrainer, OptionErrors) {
  const std::vector<std::string_view> texts = {"abc"};
  const auto message = [&](const BpeTrainerOptions& o) { return train_byte_level_bpe(texts, o).status().message(); };
  EXPECT_EQ(message({.vocab_size = 257, .special_tokens = {"<a>", "<b>"}}),
            "vocab_size is 257; it must be at least 258 (256 byte tokens + 2 special tokens)");
  EXPECT_EQ(message({.min_frequency = 0}), "min_frequency is 0; it must be at least 1");
  EXPECT_EQ(message({.special_tokens = {"<a>", "<a>"}}), "special token '<a>' is listed twice");
  EXPECT_EQ(message({.special_tokens = {""}}), "a special token is empty");
  EXPECT_EQ(message({.special_tokens = {"\xFF"}}), "special token '\\xFF' is not valid UTF-8 at byte offset 0 (byte 0xFF)");
  EXPECT_EQ(message({.special_tokens = {"b"}}),
            "special token 'b' is spelled like a learned token of the vocabulary; choose a name that cannot be one, "
            "e.g. '<|b|>'");
  const std::vector<std::string_view> empty = {""};
  EXPECT_EQ(train_byte_level_bpe(empty, {}).status().message(), "the training text is empty");
  const std::vector<std::string> missing = {"/nonexistent/loom/corpus.txt"};
  Status s = train_byte_level_bpe_files(missing, {}).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("'/nonexistent/loom/corpus.txt'"), std::string::npos) << s.message();
}

// The definition of the algorithm, without any of the bookkeeping: recount every pair of every
// word before each merge, take the best by (count desc, left bytes asc, right bytes asc).
std::vector<std::string> brute_force_merges(const PreTokenCounts& counts, int32_t vocab_size, int64_t min_frequency) {
  std::vector<std::string> tokens;
  std::map<std::string, int32_t> ids;
  for (int i = 0; i < 256; ++i) {
    tokens.emplace_back(1, static_cast<char>(byte_order()[i]));
    ids[tokens.back()] = i;
  }
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> weights;
  for (const auto& [piece, count] : counts) {
    std::vector<int32_t> w;
    for (char c : piece) w.push_back(ids[std::string(1, c)]);
    words.push_back(w);
    weights.push_back(count);
  }
  std::vector<std::string> merges;
  while (static_cast<int32_t>(tokens.size()) < vocab_size) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pairs;
    for (size_t k = 0; k < words.size(); ++k)
      for (size_t i = 0; i + 1 < words[k].size(); ++i) pairs[{words[k][i], words[k][i + 1]}] += weights[k];
    if (pairs.empty()) break;
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      const auto key = [&](const auto& p) {
        return std::make_tuple(-p.second, tokens[static_cast<size_t>(p.first.first)], tokens[static_cast<size_t>(p.first.second)]);
      };
      if (key(*it) < key(*best)) best = it;
    }
    if (best->second < min_frequency) break;
    const auto [a, b] = best->first;
    const std::string bytes = tokens[static_cast<size_t>(a)] + tokens[static_cast<size_t>(b)];
    int32_t m;
    if (auto it = ids.find(bytes); it != ids.end()) {
      m = it->second;
    } else {
      m = static_cast<int32_t>(tokens.size());
      tokens.push_back(bytes);
      ids[bytes] = m;
    }
    merges.push_back(bytes_to_byte_level(tokens[static_cast<size_t>(a)]) + " " +
                     bytes_to_byte_level(tokens[static_cast<size_t>(b)]));
    for (auto& w : words) {
      std::vector<int32_t> out;
      for (size_t i = 0; i < w.size();) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          out.push_back(m);
          i += 2;
        } else {
          out.push_back(w[i++]);
        }
      }
      w = out;
    }
  }
  return merges;
}

TEST(BpeTrainer, AgreesWithBruteForceOnRandomCorpora) {
  std::mt19937 rng(5);
  for (int it = 0; it < 60; ++it) {
    // Few letters and lengths up to 12: many ties and overlapping pairs ("aaaa").
    std::string text;
    std::uniform_int_distribution<int> letter(0, it % 2 == 0 ? 1 : 3), len(1, 12), space(0, 1);
    for (int w = 0; w < 80; ++w) {
      if (space(rng)) text += ' ';
      const int n = len(rng);
      for (int i = 0; i < n; ++i) text += static_cast<char>('a' + letter(rng));
      text += it % 3 == 0 ? "\n" : "";
    }
    const std::vector<std::string_view> texts = {text};
    StatusOr<PreTokenCounts> counts = count_pre_tokens(texts, PreTokenizerKind::kGpt2);
    ASSERT_TRUE(counts.ok());
    const int64_t min_frequency = 1 + it % 3;
    StatusOr<ByteLevelBpe> tok =
        train_byte_level_bpe_from_counts(*counts, BpeTrainerOptions{.vocab_size = 330, .min_frequency = min_frequency});
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    const std::vector<std::string> expected = brute_force_merges(*counts, 330, min_frequency);
    ASSERT_EQ(merge_strings(*tok), expected) << "corpus " << it;
    ASSERT_EQ(tok->decode(tok->encode(text).value()), text);
  }
}

std::string tinyshakespeare_path() { return data_dir() + "/tinyshakespeare/input.txt"; }

TEST(BpeTrainer, StreamedFilesCountLikeMemory) {
  const std::string path = tinyshakespeare_path();
  if (!file_exists(path)) GTEST_SKIP() << path << " not found (set LOOM_DATA_DIR)";
  // Over 9 MB, so the file is read in several 4 MiB blocks cut at safe places.
  std::string text = read_file(path).value();
  std::string big;
  for (int i = 0; i < 9; ++i) big += text;
  const std::string file = ::testing::TempDir() + "loom_bpe_trainer_" + std::to_string(::getpid()) + ".txt";
  ASSERT_TRUE(write_file_atomic(file, big).ok());
  const std::vector<std::string> files = {file};
  const std::vector<std::string_view> texts = {big};
  BpeTrainingReport from_file, from_memory;
  StatusOr<PreTokenCounts> a = count_pre_tokens_in_files(files, PreTokenizerKind::kGpt2, &from_file);
  StatusOr<PreTokenCounts> b = count_pre_tokens(texts, PreTokenizerKind::kGpt2, &from_memory);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(from_file.input_bytes, static_cast<int64_t>(big.size()));
  EXPECT_EQ(from_file.pre_tokens, from_memory.pre_tokens);
  // Nine copies: every count is a multiple of nine... except where a copy's first word joins
  // the previous copy's last characters, which is why the comparison above is with memory.
  EXPECT_GT(from_file.pre_tokens, 9 * 200000);
  std::remove(file.c_str());
}

TEST(BpeTrainer, TinyShakespeareVocab1000) {
  const std::string path = tinyshakespeare_path();
  if (!file_exists(path)) GTEST_SKIP() << path << " not found (set LOOM_DATA_DIR)";
  const std::string text = read_file(path).value();
  const BpeTrainerOptions options{.vocab_size = 1000, .min_frequency = 2};
  const std::vector<std::string> files = {path};
  BpeTrainingReport report;
  StatusOr<ByteLevelBpe> first = train_byte_level_bpe_files(files, options, &report);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ByteLevelBpe second = train_or_die(text, options);
  EXPECT_EQ(first->to_json(), second.to_json()) << "training must be deterministic";
  EXPECT_EQ(first->vocab_size(), 1000);
  EXPECT_EQ(report.stop_reason, "vocab_size reached");

  // The same merges as an independent Python implementation of this algorithm and tie rule
  // (GPT-2's regex through the `regex` module, a full recount per merge), all 744 of them.
  const std::vector<std::string> merges = merge_strings(*first);
  StatusOr<std::string> golden = read_file(std::string(LOOM_SOURCE_DIR) + "/tests/golden/tokenizers/tinyshakespeare-bpe1000-merges.txt");
  ASSERT_TRUE(golden.ok()) << golden.status().to_string();
  std::vector<std::string> expected;
  for (size_t pos = 0; pos < golden->size();) {
    const size_t end = golden->find('\n', pos);
    const std::string line = golden->substr(pos, end - pos);
    if (!line.empty() && line[0] != '#') expected.push_back(line);
    pos = end == std::string::npos ? golden->size() : end + 1;
  }
  ASSERT_EQ(expected.size(), 744u);
  ASSERT_EQ(merges.size(), 744u);
  for (size_t i = 0; i < merges.size(); ++i) ASSERT_EQ(merges[i], expected[i]) << "merge " << i;
  EXPECT_EQ(merges[0], "\xC4\xA0 t");
  EXPECT_EQ(merges[743], "\xC4\xA0W arwick");

  const std::vector<int32_t> ids = first->encode(text).value();
  EXPECT_EQ(first->decode(ids), text);
  EXPECT_LT(ids.size(), text.size() / 2);  // about 2.4 bytes per token at this size
}

}  // namespace
}  // namespace loom
