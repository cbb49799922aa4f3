// ByteLevelBpe: building and checking the tables, encoding (added-token split, pre-tokenizer,
// heap-driven merges, per-call piece cache), batch encoding over OpenMP threads, and decoding.
// The file formats are in byte_level_bpe_io.cc.
#include "loom/tokenizers/byte_level_bpe.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "loom/base/check.h"
#include "loom/base/threads.h"
#include "loom/tokenizers/byte_unicode.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

constexpr char kReplacementCharacter[] = "\xEF\xBF\xBD";  // U+FFFD
constexpr uint64_t kEmptyKey = ~uint64_t{0};

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  return h;
}

uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (s.size() * 0xC2B2AE3D27D4EB4FULL);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
  }
  return mix(h);
}

// The ids of pieces already encoded: an open-addressing table whose keys and values live in
// two flat arrays, so a hit costs one hash, one probe and a memcmp, and nothing is allocated
// per entry. When it reaches kMaxEntries it starts over, which bounds its memory.
class PieceCache {
 public:
  static constexpr size_t kMaxEntries = size_t{1} << 17;
  static constexpr size_t kMaxPieceBytes = 256;  // longer pieces are rare and not cached
  static_assert(kMaxPieceBytes < 65536, "lengths are stored in 16 bits");

  // The ids of `piece`, or false.
  bool find(std::string_view piece, uint64_t hash, std::vector<int32_t>* ids) const {
    if (slots_.empty()) return false;
    const size_t mask = slots_.size() - 1;
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key_len == 0) return false;
      if (s.tag == tag && s.key_len == piece.size() &&
          std::memcmp(keys_.data() + s.key_off, piece.data(), piece.size()) == 0) {
        ids->insert(ids->end(), ids_.begin() + s.ids_off, ids_.begin() + s.ids_off + s.ids_len);
        return true;
      }
    }
  }

  void insert(std::string_view piece, uint64_t hash, std::span<const int32_t> ids) {
    if (piece.empty() || piece.size() > kMaxPieceBytes) return;
    if (used_ + 1 > slots_.size() / 2) {
      if (used_ >= kMaxEntries) {
        clear();
      } else {
        grow();
      }
    }
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].key_len != 0) i = (i + 1) & mask;
    slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), static_cast<uint32_t>(hash), static_cast<uint32_t>(keys_.size()),
                     static_cast<uint32_t>(ids_.size()), static_cast<uint16_t>(piece.size()),
                     static_cast<uint16_t>(ids.size())};
    keys_.append(piece);
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    ++used_;
  }

 private:
  // 20 bytes: the table of a large text is bigger than the L2 cache, so its size is speed.
  struct Slot {
    uint32_t tag = 0;   // high half of the hash
    uint32_t low = 0;   // low half: the home slot, kept for growing
    uint32_t key_off = 0;
    uint32_t ids_off = 0;
    uint16_t key_len = 0;  // 0: empty slot (pieces are never empty)
    uint16_t ids_len = 0;
  };

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});  // small texts stay small
    const size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.key_len == 0) continue;
      size_t i = s.low & mask;
      while (slots_[i].key_len != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    keys_.clear();
    ids_.clear();
    used_ = 0;
  }

  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t used_ = 0;
};

// One symbol of a piece being merged: a token in a doubly linked list over byte positions.
struct Symbol {
  int32_t id;    // -1 once merged into the symbol on its left
  int32_t prev;  // index of the previous live symbol, or -1
  int32_t next;  // index of the next live symbol, or -1
};

// A candidate merge of the live symbols `left` and `right` (adjacent when pushed).
struct Candidate {
  int32_t rank;
  int32_t result;  // the id the merge makes
  int32_t left;
  int32_t right;
};

// Min-heap order: lowest rank, then leftmost.
struct LaterCandidate {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
};

bool is_white_space_at(std::string_view text, size_t pos, size_t* len) {
  char32_t cp;
  if (!decode_utf8(text, pos, &cp, len)) return false;
  return char_class(cp) == CharClass::kWhitespace;
}

// The start of the run of whitespace characters that ends at `end`, not before `floor`.
size_t whitespace_start_before(std::string_view text, size_t end, size_t floor) {
  while (end > floor) {
    size_t start = end - 1;  // back to the lead byte of the character before `end`
    while (start > floor && end - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t len;
    if (!is_white_space_at(text, start, &len) || start + len != end) break;
    end = start;
  }
  return end;
}

size_t whitespace_end_after(std::string_view text, size_t pos) {
  size_t len;
  while (pos < text.size() && is_white_space_at(text, pos, &len)) pos += len;
  return pos;
}

}  // namespace

struct ByteLevelBpe::EncodeState {
  PieceCache cache;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::vector<int32_t> piece_ids;
};

StatusOr<ByteLevelBpe> ByteLevelBpe::create(ByteLevelBpeParts parts) {
  const auto merge_at = [&](size_t rank) {
    return parts.merge_location ? parts.merge_location(rank) : "merge " + std::to_string(rank);
  };
  const auto vocab_at = [&](const std::string& spelling) {
    return parts.vocab_location ? parts.vocab_location(spelling) : "vocab entry " + quote_text(spelling);
  };
  const auto whole = [&](const std::string& message) {
    return data_loss(parts.source.empty() ? message : parts.source + ": " + message);
  };

  // Ids: the model vocabulary and the added tokens together must number 0..V-1.
  if (parts.vocab.empty()) return whole("the vocabulary is empty");
  int64_t max_id = -1;
  for (const auto& [spelling, id] : parts.vocab) {
    if (id < 0) return data_loss(vocab_at(spelling) + ": id " + std::to_string(id) + " is negative");
    max_id = std::max<int64_t>(max_id, id);
  }
  for (const AddedToken& t : parts.added_tokens) {
    if (t.id < 0)
      return whole("added token " + quote_text(t.content) + " has id " + std::to_string(t.id) + ", which is negative");
    max_id = std::max<int64_t>(max_id, t.id);
  }
  const size_t n = static_cast<size_t>(max_id) + 1;
  if (n > parts.vocab.size() + parts.added_tokens.size())
    return whole("the largest id is " + std::to_string(max_id) + ", but there are only " +
                     std::to_string(parts.vocab.size()) + " vocab entries and " +
                     std::to_string(parts.added_tokens.size()) +
                     " added tokens; ids must be 0..V-1 with none missing");

  ByteLevelBpe t;
  t.pre_tokenizer_ = parts.pre_tokenizer;
  t.ignore_merges_ = parts.ignore_merges;
  t.bytes_.resize(n);
  t.spellings_.resize(n);
  t.in_model_.assign(n, false);
  std::vector<bool> has_id(n, false);
  t.ids_.reserve(n);
  for (auto& [spelling, id] : parts.vocab) {
    const auto slot = static_cast<size_t>(id);
    if (!validate_utf8(spelling, "the token").ok())
      return data_loss(vocab_at(spelling) + ": the token is not valid UTF-8");
    if (has_id[slot])
      return data_loss(vocab_at(spelling) + ": id " + std::to_string(id) + " is given to both " +
                       quote_text(t.spellings_[slot]) + " and " + quote_text(spelling) +
                       "; each id must name one entry");
    if (spelling.empty()) return data_loss(vocab_at(spelling) + ": the token is empty");
    if (!t.ids_.emplace(spelling, id).second)
      return data_loss(vocab_at(spelling) + ": the token appears twice in the vocabulary");
    has_id[slot] = true;
    t.in_model_[slot] = true;
    // A spelling outside the byte-to-unicode map stands for its own UTF-8 bytes, as in HF's
    // ByteLevel decoder.
    std::optional<std::string> raw = byte_level_to_bytes(spelling);
    t.bytes_[slot] = raw ? std::move(*raw) : spelling;
    t.spellings_[slot] = std::move(spelling);
  }

  // Added tokens.
  std::unordered_map<std::string, int32_t> added_ids;
  for (AddedToken& a : parts.added_tokens) {
    const auto slot = static_cast<size_t>(a.id);
    const std::string what = "added token " + quote_text(a.content) + " (id " + std::to_string(a.id) + ")";
    if (a.content.empty()) return whole("added token with id " + std::to_string(a.id) + " has empty content");
    if (!validate_utf8(a.content, "").ok()) return whole(what + " is not valid UTF-8");
    if (a.single_word)
      return unimplemented((parts.source.empty() ? "" : parts.source + ": ") + what + " has single_word: true (match only as a whole word), which loom does not "
                                  "support yet");
    if (!added_ids.emplace(a.content, a.id).second)
      return whole(what + " is listed twice in added_tokens");
    if (t.in_model_[slot]) {
      if (t.spellings_[slot] != a.content)
        return whole(what + ": the vocabulary gives id " + std::to_string(a.id) + " to " +
                         quote_text(t.spellings_[slot]) + "; an added token must have the id of its own entry");
      continue;
    }
    if (has_id[slot])
      return whole(what + ": id " + std::to_string(a.id) + " is already the added token " +
                       quote_text(t.spellings_[slot]));
    if (auto it = t.ids_.find(a.content); it != t.ids_.end())
      return whole(what + ": the vocabulary already has this token with id " + std::to_string(it->second));
    has_id[slot] = true;
    t.bytes_[slot] = a.content;
    t.spellings_[slot] = a.content;
    t.ids_.emplace(a.content, a.id);
  }
  for (size_t i = 0; i < n; ++i)
    if (!has_id[i])
      return whole("id " + std::to_string(i) + " is neither in the vocab nor in added_tokens; ids must be 0.." +
                       std::to_string(n - 1) + " with none missing");
  std::sort(parts.added_tokens.begin(), parts.added_tokens.end(),
            [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  t.added_ = std::move(parts.added_tokens);
  std::vector<uint32_t> by_length(t.added_.size());
  for (uint32_t i = 0; i < by_length.size(); ++i) by_length[i] = i;
  std::stable_sort(by_length.begin(), by_length.end(), [&](uint32_t a, uint32_t b) {
    return t.added_[a].content.size() > t.added_[b].content.size();
  });
  for (uint32_t i : by_length) t.added_by_first_byte_[static_cast<uint8_t>(t.added_[i].content[0])].push_back(i);

  // Single-byte tokens: where every piece starts.
  for (int b = 0; b < 256; ++b) {
    std::string spelling;
    append_utf8(byte_to_unicode(static_cast<uint8_t>(b)), &spelling);
    auto it = t.ids_.find(spelling);
    t.byte_ids_[static_cast<size_t>(b)] =
        it != t.ids_.end() && t.in_model_[static_cast<size_t>(it->second)] ? it->second : -1;
  }

  // Merges.
  size_t table_size = 16;
  while (table_size < 2 * parts.merges.size() + 1) table_size *= 2;
  t.merge_table_.assign(table_size, MergeSlot{kEmptyKey, 0, 0});
  t.merges_.reserve(parts.merges.size());
  if (parts.merges.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return whole("there are more merges than int32 ranks can number");
  const auto model_id = [&](const std::string& spelling) -> int32_t {
    auto it = t.ids_.find(spelling);
    return it != t.ids_.end() && t.in_model_[static_cast<size_t>(it->second)] ? it->second : -1;
  };
  for (size_t rank = 0; rank < parts.merges.size(); ++rank) {
    const auto& [a, b] = parts.merges[rank];
    const std::string what = merge_at(rank) + ": merge " + quote_text(a + " " + b);
    const int32_t left = model_id(a);
    if (left < 0) return data_loss(what + " uses " + quote_text(a) + ", which is not in the vocabulary");
    const int32_t right = model_id(b);
    if (right < 0) return data_loss(what + " uses " + quote_text(b) + ", which is not in the vocabulary");
    const int32_t result = model_id(a + b);
    if (result < 0)
      return data_loss(what + " makes " + quote_text(a + b) + ", which is not in the vocabulary");
    const uint64_t key = pair_key(left, right);
    const size_t mask = table_size - 1;
    size_t i = mix(key) & mask;
    while (t.merge_table_[i].key != kEmptyKey && t.merge_table_[i].key != key) i = (i + 1) & mask;
    if (t.merge_table_[i].key == key)
      return data_loss(what + " repeats " + merge_at(static_cast<size_t>(t.merge_table_[i].rank)) +
                       "; each pair may be merged once");
    t.merge_table_[i] = MergeSlot{key, static_cast<int32_t>(rank), result};
    t.merges_.emplace_back(left, right);
  }

  if (t.ignore_merges_)
    for (size_t i = 0; i < n; ++i)
      if (t.in_model_[i]) t.ids_by_bytes_.emplace(t.bytes_[i], static_cast<int32_t>(i));

  // Special roles.
  t.special_ = parts.special;
  if (!t.special_.eos)
    if (auto it = t.ids_.find("<|endoftext|>"); it != t.ids_.end()) t.special_.eos = it->second;
  for (const std::optional<int32_t>* role : {&t.special_.bos, &t.special_.eos, &t.special_.unk, &t.special_.pad,
                                            &t.special_.cls, &t.special_.sep, &t.special_.mask})
    if (*role && (**role < 0 || static_cast<size_t>(**role) >= n))
      return whole("a special token id " + std::to_string(**role) + " is outside the vocabulary of " +
                       std::to_string(n));
  return t;
}

const ByteLevelBpe::MergeSlot* ByteLevelBpe::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  const size_t mask = merge_table_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    const MergeSlot& s = merge_table_[i];
    if (s.key == key) return &s;
    if (s.key == kEmptyKey) return nullptr;
  }
}

std::pair<int32_t, int32_t> ByteLevelBpe::merge(int32_t rank) const {
  LOOM_CHECK(rank >= 0 && rank < num_merges()) << "rank " << rank << ", " << num_merges() << " merges";
  return merges_[static_cast<size_t>(rank)];
}

const std::string& ByteLevelBpe::token_bytes(int32_t id) const {
  LOOM_CHECK(id >= 0 && id < vocab_size()) << "id " << id << ", vocab_size " << vocab_size();
  return bytes_[static_cast<size_t>(id)];
}

Status ByteLevelBpe::missing_byte_error(std::string_view piece, size_t offset, size_t i) const {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(piece[i])));
  int have = 0;
  for (int32_t id : byte_ids_) have += id >= 0;
  return invalid_argument(std::string("byte ") + buf + " at byte offset " + std::to_string(offset + i) +
                          " has no single-byte token in the vocabulary (it has " + std::to_string(have) +
                          " of the 256), so it cannot be encoded; a byte-level BPE vocabulary needs all 256");
}

Status ByteLevelBpe::encode_piece(std::string_view piece, size_t offset, EncodeState& state,
                                  std::vector<int32_t>* ids) const {
  const size_t n = piece.size();
  if (n == 1) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(piece[0])];
    if (id < 0) return missing_byte_error(piece, offset, 0);
    ids->push_back(id);
    return ok_status();
  }
  const uint64_t hash = hash_bytes(piece);
  if (state.cache.find(piece, hash, ids)) return ok_status();

  std::vector<int32_t>& out = state.piece_ids;
  out.clear();
  if (ignore_merges_) {
    if (auto it = ids_by_bytes_.find(std::string(piece)); it != ids_by_bytes_.end()) out.push_back(it->second);
  }
  if (out.empty()) {
    std::vector<Symbol>& sym = state.symbols;
    sym.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const int32_t id = byte_ids_[static_cast<uint8_t>(piece[i])];
      if (id < 0) return missing_byte_error(piece, offset, i);
      sym[i] = Symbol{id, static_cast<int32_t>(i) - 1, i + 1 < n ? static_cast<int32_t>(i + 1) : -1};
    }
    std::vector<Candidate>& heap = state.heap;
    heap.clear();
    const auto push = [&](int32_t left, int32_t right) {
      if (left < 0 || right < 0) return;
      if (const MergeSlot* m = find_merge(sym[static_cast<size_t>(left)].id, sym[static_cast<size_t>(right)].id)) {
        heap.push_back(Candidate{m->rank, m->result, left, right});
        std::push_heap(heap.begin(), heap.end(), LaterCandidate{});
      }
    };
    for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), LaterCandidate{});
      const Candidate c = heap.back();
      heap.pop_back();
      Symbol& l = sym[static_cast<size_t>(c.left)];
      // Stale if either side has been merged away or changed since the candidate was pushed.
      if (l.id < 0 || l.next != c.right) continue;
      Symbol& r = sym[static_cast<size_t>(c.right)];
      const auto& [want_left, want_right] = merges_[static_cast<size_t>(c.rank)];
      if (l.id != want_left || r.id != want_right) continue;
      l.id = c.result;
      r.id = -1;
      l.next = r.next;
      if (r.next >= 0) sym[static_cast<size_t>(r.next)].prev = c.left;
      push(l.prev, c.left);
      push(c.left, l.next);
    }
    for (int32_t i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) out.push_back(sym[static_cast<size_t>(i)].id);
  }
  ids->insert(ids->end(), out.begin(), out.end());
  state.cache.insert(piece, hash, out);
  return ok_status();
}

Status ByteLevelBpe::encode_plain(std::string_view text, size_t offset, EncodeState& state,
                                  std::vector<int32_t>* ids) const {
  PreTokenCursor cursor(pre_tokenizer_, text);
  for (size_t begin, end; cursor.next(&begin, &end);)
    LOOM_RETURN_IF_ERROR(encode_piece(text.substr(begin, end - begin), offset + begin, state, ids));
  return ok_status();
}

Status ByteLevelBpe::encode_into(std::string_view text, bool parse_special, EncodeState& state,
                                 std::vector<int32_t>* ids) const {
  if (!parse_special || added_.empty()) return encode_plain(text, 0, state, ids);
  size_t segment = 0;  // start of the text not yet encoded
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* match = nullptr;
    for (uint32_t i : added_by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      const AddedToken& a = added_[i];
      if (text.compare(pos, a.content.size(), a.content) == 0) {
        match = &a;
        break;  // longest first
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    const size_t start = match->lstrip ? whitespace_start_before(text, pos, segment) : pos;
    size_t end = pos + match->content.size();
    if (match->rstrip) end = whitespace_end_after(text, end);
    LOOM_RETURN_IF_ERROR(encode_plain(text.substr(segment, start - segment), segment, state, ids));
    ids->push_back(match->id);
    segment = pos = end;
  }
  return encode_plain(text.substr(segment), segment, state, ids);
}

StatusOr<std::vector<int32_t>> ByteLevelBpe::encode(std::string_view text, const BpeEncodeOptions& options) const {
  EncodeState state;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  LOOM_RETURN_IF_ERROR(encode_into(text, options.parse_special, state, &ids));
  return ids;
}

StatusOr<std::vector<int32_t>> ByteLevelBpe::encode(std::string_view text) const {
  return encode(text, BpeEncodeOptions{});
}

StatusOr<std::vector<int32_t>> ByteLevelBpe::encode_with_special(std::string_view text) const {
  return encode(text, BpeEncodeOptions{.parse_special = true});
}

StatusOr<std::vector<std::vector<int32_t>>> ByteLevelBpe::encode_batch(std::span<const std::string_view> texts) const {
  return encode_batch(texts, BpeEncodeOptions{});
}

StatusOr<std::vector<std::vector<int32_t>>> ByteLevelBpe::encode_batch(std::span<const std::string_view> texts,
                                                                       const BpeEncodeOptions& options) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  std::vector<Status> errors(texts.size());
  const auto n = static_cast<int64_t>(texts.size());
  // One cache per thread, shared by the texts it encodes.
  std::vector<EncodeState> states(static_cast<size_t>(num_threads()));
  parallel_dynamic(n, [&](int tid, int64_t i) {
    const auto k = static_cast<size_t>(i);
    out[k].reserve(texts[k].size() / 3 + 4);
    errors[k] = encode_into(texts[k], options.parse_special, states[static_cast<size_t>(tid)], &out[k]);
  });
  for (size_t i = 0; i < texts.size(); ++i)
    if (!errors[i].ok()) return errors[i].with_context("text " + std::to_string(i) + " of the batch");
  return out;
}

std::string ByteLevelBpe::decode(std::span<const int32_t> ids) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (int32_t id : ids) {
    if (id >= 0 && id < vocab_size()) {
      out += bytes_[static_cast<size_t>(id)];
    } else {
      out += kReplacementCharacter;
    }
  }
  return out;
}

std::string ByteLevelBpe::decode_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return kReplacementCharacter;
  return bytes_[static_cast<size_t>(id)];
}

std::optional<std::string> ByteLevelBpe::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return std::nullopt;
  return spellings_[static_cast<size_t>(id)];
}

std::optional<int32_t> ByteLevelBpe::token_to_id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

}  // namespace loom
