// BPE merge learning (see merge_learner.h).
#include "loom/tokenizers/merge_learner.h"

#include "loom/base/check.h"

namespace loom::detail {

namespace {
uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t left_of(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t right_of(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }
}  // namespace

MergeLearner::MergeLearner(std::vector<std::string> initial_tokens, std::vector<Word> words, int32_t target,
                           int64_t min_frequency, Join join)
    : target_(target), min_frequency_(min_frequency), join_(join), tokens_(std::move(initial_tokens)),
      words_(std::move(words)) {
  for (size_t i = 0; i < tokens_.size(); ++i) ids_.emplace(tokens_[i], static_cast<int32_t>(i));
}

bool MergeLearner::Worse::operator()(const HeapEntry& a, const HeapEntry& b) const {
  if (a.count != b.count) return a.count < b.count;
  return self->bytes_less(b.pair, a.pair);
}

std::string MergeLearner::run() {
  for (uint32_t w = 0; w < words_.size(); ++w) {
    const Word& word = words_[w];
    for (size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const uint64_t p = pair_key(word.symbols[i], word.symbols[i + 1]);
      pair_counts_[p] += word.count;
      std::vector<uint32_t>& where = where_[p];
      if (where.empty() || where.back() != w) where.push_back(w);
    }
  }
  for (const auto& [p, c] : pair_counts_) heap_.push(HeapEntry{c, p});
  stamp_.assign(words_.size(), std::numeric_limits<uint32_t>::max());

  while (true) {
    if (static_cast<int32_t>(tokens_.size()) >= target_) return "vocab_size reached";
    if (heap_.empty()) return "no pairs left";
    const HeapEntry top = heap_.top();
    heap_.pop();
    auto it = pair_counts_.find(top.pair);
    const int64_t current = it == pair_counts_.end() ? 0 : it->second;
    if (current != top.count) {
      if (current > 0) heap_.push(HeapEntry{current, top.pair});
      continue;
    }
    if (current < min_frequency_) return "min_frequency";
    apply(top.pair);
  }
}

bool MergeLearner::bytes_less(uint64_t x, uint64_t y) const {
  const int c = tokens_[static_cast<size_t>(left_of(x))].compare(tokens_[static_cast<size_t>(left_of(y))]);
  if (c != 0) return c < 0;
  return tokens_[static_cast<size_t>(right_of(x))] < tokens_[static_cast<size_t>(right_of(y))];
}

void MergeLearner::add(uint64_t pair, int64_t delta) {
  if (pair != merging_) delta_[pair] += delta;
}

void MergeLearner::add_new(uint64_t pair, int64_t delta, uint32_t w) {
  add(pair, delta);
  std::vector<uint32_t>& where = where_[pair];
  if (where.empty() || where.back() != w) where.push_back(w);
}

void MergeLearner::apply(uint64_t pair) {
  const int32_t a = left_of(pair), b = right_of(pair);
  std::string bytes = join_(tokens_[static_cast<size_t>(a)], tokens_[static_cast<size_t>(b)]);
  int32_t m;
  if (auto it = ids_.find(bytes); it != ids_.end()) {
    m = it->second;  // another merge order already made these bytes
  } else {
    m = static_cast<int32_t>(tokens_.size());
    ids_.emplace(bytes, m);
    tokens_.push_back(std::move(bytes));
  }
  const auto stamp = static_cast<uint32_t>(merges_.size());
  merges_.emplace_back(a, b);
  merging_ = pair;

  auto where_it = where_.find(pair);
  std::vector<uint32_t> words = std::move(where_it->second);
  where_.erase(where_it);
  for (uint32_t w : words) {
    if (stamp_[w] == stamp) continue;
    stamp_[w] = stamp;
    Word& word = words_[w];
    std::vector<int32_t>& s = word.symbols;
    const int64_t c = word.count;
    size_t j = 0;
    for (size_t i = 0; i < s.size();) {
      if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
        if (j > 0) {
          add(pair_key(s[j - 1], a), -c);
          add_new(pair_key(s[j - 1], m), c, w);
        }
        if (i + 2 < s.size()) {
          add(pair_key(b, s[i + 2]), -c);
          add_new(pair_key(m, s[i + 2]), c, w);
        }
        s[j++] = m;
        i += 2;
      } else {
        s[j++] = s[i++];
      }
    }
    s.resize(j);
  }
  pair_counts_.erase(pair);
  for (const auto& [p, d] : delta_) {
    if (d == 0) continue;
    int64_t& count = pair_counts_[p];
    count += d;
    LOOM_CHECK_GE(count, 0) << "pair count went negative";
    if (d > 0) heap_.push(HeapEntry{count, p});
    if (count == 0) pair_counts_.erase(p);
  }
  delta_.clear();
}

}  // namespace loom::detail
