// BPE merge learning over a word-count table, shared by the byte-level BPE trainer and the
// WordPiece trainer (internal to the tokenizers layer).
//
// Every word starts as a sequence of initial symbols (ids into the initial token list). A
// table holds the count of every adjacent pair (weighted by word count) and, per pair, the
// words it occurs in. Each step takes the best pair from a max-heap, rewrites only the words
// that contain it, and updates the counts of only the pairs around each rewritten occurrence.
// Heap entries whose count changed since they were pushed are re-pushed with the current
// count when they surface, so the top is always exact. Ties: highest count, then the pair
// whose left token is lexicographically smallest (as unsigned bytes), then the right one.
// The merged token is join(left, right) (concatenation for byte-level BPE; WordPiece drops
// the right side's "##"); a merge that spells an existing token reuses its id.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loom::detail {

class MergeLearner {
 public:
  struct Word {
    std::vector<int32_t> symbols;
    int64_t count;
  };
  using Join = std::function<std::string(const std::string& left, const std::string& right)>;

  // target: stop when this many tokens exist; min_frequency: stop when the best pair is rarer.
  MergeLearner(std::vector<std::string> initial_tokens, std::vector<Word> words, int32_t target,
               int64_t min_frequency, Join join);
  // Runs the merges; returns the stop reason ("vocab_size reached", "no pairs left",
  // "min_frequency").
  std::string run();

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<std::pair<int32_t, int32_t>>& merges() const { return merges_; }

 private:
  struct HeapEntry {
    int64_t count;
    uint64_t pair;
  };
  // The heap's order: is `a` worse than `b`? Lower count, then larger bytes.
  struct Worse {
    const MergeLearner* self;
    bool operator()(const HeapEntry& a, const HeapEntry& b) const;
  };
  bool bytes_less(uint64_t x, uint64_t y) const;
  void add(uint64_t pair, int64_t delta);
  void add_new(uint64_t pair, int64_t delta, uint32_t w);
  void apply(uint64_t pair);

  const int32_t target_;
  const int64_t min_frequency_;
  Join join_;
  std::vector<std::string> tokens_;                  // id -> bytes
  std::unordered_map<std::string, int32_t> ids_;     // bytes -> id
  std::vector<std::pair<int32_t, int32_t>> merges_;  // in order
  std::vector<Word> words_;
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;  // pair -> words it may occur in
  std::unordered_map<uint64_t, int64_t> delta_;  // count changes of the merge being applied
  std::vector<uint32_t> stamp_;                  // word -> last merge that rewrote it
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, Worse> heap_{Worse{this}};
  uint64_t merging_ = 0;  // the pair being merged: its own count changes are not tracked
};

}  // namespace loom::detail
