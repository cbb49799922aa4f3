// WordPiece training: BPE with "##" continuation symbols (see wordpiece_trainer.h).
#include "loom/tokenizers/wordpiece_trainer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "loom/base/file.h"
#include "loom/tokenizers/merge_learner.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

Status WordPieceTrainerOptions::validate() const {
  if (min_frequency < 1)
    return invalid_argument("min_frequency is " + std::to_string(min_frequency) + "; it must be at least 1");
  if (min_char_frequency < 1)
    return invalid_argument("min_char_frequency is " + std::to_string(min_char_frequency) + "; it must be at least 1");
  if (vocab_size <= static_cast<int32_t>(special_tokens.size()))
    return invalid_argument("vocab_size is " + std::to_string(vocab_size) + "; it must exceed the " +
                            std::to_string(special_tokens.size()) + " special tokens");
  std::unordered_set<std::string> seen;
  for (const std::string& s : special_tokens) {
    if (s.empty()) return invalid_argument("a special token is empty");
    if (!seen.insert(s).second) return invalid_argument("special token " + quote_text(s) + " is listed twice");
  }
  if (!seen.count(tokenizer.unk_token))
    return invalid_argument("the unknown token " + quote_text(tokenizer.unk_token) +
                            " is not among the special tokens; add it with --special");
  return ok_status();
}

StatusOr<WordPiece> train_wordpiece_files(const std::vector<std::string>& paths, const WordPieceTrainerOptions& o,
                                          BpeTrainingReport* report) {
  LOOM_RETURN_IF_ERROR(o.validate());
  const auto t0 = std::chrono::steady_clock::now();
  // A WordPiece over just the specials gives BERT's normalizer and pre-tokenizer.
  LOOM_ASSIGN_OR_RETURN(WordPiece splitter, WordPiece::from_vocab(o.special_tokens, o.tokenizer));
  std::unordered_map<std::string, int64_t> counts;
  BpeTrainingReport r;
  for (const std::string& path : paths) {
    LOOM_ASSIGN_OR_RETURN(std::string text, read_file(path));
    r.input_bytes += static_cast<int64_t>(text.size());
    auto normalized = splitter.normalize(text);
    if (!normalized.ok()) return normalized.status().with_context("'" + path + "'");
    for (std::string_view w : splitter.pre_tokenize(*normalized)) {
      ++counts[std::string(w)];
      ++r.pre_tokens;
    }
  }
  if (counts.empty()) return invalid_argument("no words in the training text (" + std::to_string(paths.size()) + " file(s))");
  r.distinct_pre_tokens = static_cast<int64_t>(counts.size());
  const auto t1 = std::chrono::steady_clock::now();
  r.count_seconds = std::chrono::duration<double>(t1 - t0).count();

  // Words sorted for a deterministic order, split into symbols: first char, then "##" chars.
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  const std::string& prefix = o.tokenizer.continuing_subword_prefix;
  std::map<std::string, int64_t> alphabet_counts;
  std::vector<std::vector<std::string>> split(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string& word = sorted[i].first;
    size_t at = 0;
    std::vector<std::string> syms;
    while (at < word.size()) {
      char32_t cp = 0;
      size_t len = 1;
      if (!decode_utf8(word, at, &cp, &len)) len = 1;  // normalize() already checked UTF-8
      syms.push_back((at == 0 ? "" : prefix) + word.substr(at, len));
      at += len;
    }
    if (static_cast<int64_t>(syms.size()) > o.tokenizer.max_input_chars_per_word) continue;  // always [UNK]
    for (const std::string& sym : syms) alphabet_counts[sym] += sorted[i].second;
    split[i] = std::move(syms);
  }
  std::vector<std::string> initial;
  std::unordered_set<std::string> specials(o.special_tokens.begin(), o.special_tokens.end());
  for (const auto& [sym, c] : alphabet_counts)
    if (c >= o.min_char_frequency && !specials.count(sym)) initial.push_back(sym);
  const int32_t room = o.vocab_size - static_cast<int32_t>(o.special_tokens.size());
  if (static_cast<int32_t>(initial.size()) > room)
    return invalid_argument("vocab_size is " + std::to_string(o.vocab_size) + " but the special tokens and the " +
                            std::to_string(initial.size()) + " distinct characters (with and without '" + prefix +
                            "') already take " + std::to_string(o.special_tokens.size() + initial.size()) +
                            "; raise --vocab_size or --min_char_frequency");
  std::unordered_map<std::string, int32_t> id_of;
  for (size_t i = 0; i < initial.size(); ++i) id_of.emplace(initial[i], static_cast<int32_t>(i));
  std::vector<detail::MergeLearner::Word> words;
  for (size_t i = 0; i < sorted.size(); ++i) {
    detail::MergeLearner::Word w{{}, sorted[i].second};
    bool known = !split[i].empty();
    for (const std::string& sym : split[i]) {
      auto it = id_of.find(sym);
      if (it == id_of.end()) {
        known = false;  // a rare character: the word will be [UNK]
        break;
      }
      w.symbols.push_back(it->second);
    }
    if (known) words.push_back(std::move(w));
  }
  detail::MergeLearner learner(initial, std::move(words), room, o.min_frequency,
                               [&prefix](const std::string& l, const std::string& rr) {
                                 return rr.compare(0, prefix.size(), prefix) == 0 ? l + rr.substr(prefix.size()) : l + rr;
                               });
  r.stop_reason = learner.run();
  r.merges = static_cast<int32_t>(learner.merges().size());
  std::vector<std::string> vocab = o.special_tokens;
  vocab.insert(vocab.end(), learner.tokens().begin(), learner.tokens().end());
  r.merge_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  if (report) *report = r;
  return WordPiece::from_vocab(std::move(vocab), o.tokenizer);
}

}  // namespace loom
