// MLM + NSP instance creation and masking (see bert_pretraining.h).
#include "loom/data/bert_pretraining.h"

#include <algorithm>

#include "loom/base/file.h"
#include "loom/base/rng.h"

namespace loom::data {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Appends ids[0..n) of a document's sentences, front to back, until `limit` tokens.
void append_limited(std::vector<int32_t>* dst, const std::vector<int32_t>& src, size_t limit) {
  for (int32_t id : src) {
    if (dst->size() >= limit) return;
    dst->push_back(id);
  }
}

}  // namespace

std::vector<std::string> split_sentences(const std::string& line) {
  std::vector<std::string> out;
  std::string_view s = line;
  size_t start = 0;
  auto emit = [&](size_t end) {
    std::string_view piece = trim(s.substr(start, end - start));
    if (!piece.empty()) out.emplace_back(piece);
    start = end;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if ((c == '.' || c == '!' || c == '?') && i + 1 < s.size() && s[i + 1] == ' ') {
      emit(i + 1);
    } else if (static_cast<unsigned char>(c) == 0xE3 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               static_cast<unsigned char>(s[i + 2]) == 0x82) {  // 。 U+3002
      emit(i + 3);
      i += 2;
    } else if (static_cast<unsigned char>(c) == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBC &&
               (static_cast<unsigned char>(s[i + 2]) == 0x81 || static_cast<unsigned char>(s[i + 2]) == 0x9F)) {
      emit(i + 3);  // ！ U+FF01, ？ U+FF1F
      i += 2;
    }
  }
  emit(s.size());
  return out;
}

StatusOr<std::vector<Document>> read_pretraining_documents(const std::vector<std::string>& paths,
                                                           const Tokenizer& tokenizer, PretrainCorpusStats* stats) {
  std::vector<Document> docs;
  PretrainCorpusStats st;
  for (const std::string& path : paths) {
    LOOM_ASSIGN_OR_RETURN(std::string text, read_file(path));
    Document doc;
    auto flush = [&] {
      if (!doc.empty()) docs.push_back(std::move(doc));
      doc.clear();
    };
    size_t pos = 0;
    int64_t line_no = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      ++line_no;
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (trim(line).empty()) {
        flush();
        if (nl == text.size()) break;
        continue;
      }
      for (const std::string& sentence : split_sentences(line)) {
        auto ids = tokenizer.encode(sentence);
        if (!ids.ok())
          return Status(ids.status().code(), path + ":" + std::to_string(line_no) + ": " + ids.status().message());
        if (ids->empty()) continue;
        st.tokens += static_cast<int64_t>(ids->size());
        ++st.sentences;
        doc.push_back(std::move(*ids));
      }
      if (nl == text.size()) break;
    }
    flush();
  }
  st.documents = static_cast<int64_t>(docs.size());
  if (st.sentences == 0)
    return invalid_argument("no sentence in the pretraining text (" + std::to_string(paths.size()) +
                            " file(s)); expected one sentence per line, blank lines between documents");
  if (stats) *stats = st;
  return docs;
}

StatusOr<BertSpecialIds> BertSpecialIds::from(const Tokenizer& tokenizer) {
  const SpecialTokens s = tokenizer.special_tokens();
  auto need = [](const std::optional<int32_t>& id, const char* name) -> Status {
    if (!id) return invalid_argument(std::string("the tokenizer has no ") + name +
                                     " token; MLM/NSP pretraining needs [CLS], [SEP], [MASK] and [PAD] (a BERT vocab.txt has them)");
    return ok_status();
  };
  LOOM_RETURN_IF_ERROR(need(s.cls, "[CLS]"));
  LOOM_RETURN_IF_ERROR(need(s.sep, "[SEP]"));
  LOOM_RETURN_IF_ERROR(need(s.mask, "[MASK]"));
  LOOM_RETURN_IF_ERROR(need(s.pad, "[PAD]"));
  BertSpecialIds ids;
  ids.cls = *s.cls;
  ids.sep = *s.sep;
  ids.mask = *s.mask;
  ids.pad = *s.pad;
  ids.vocab_size = tokenizer.vocab_size();
  return ids;
}

std::vector<bool> continuation_pieces(const Tokenizer& tokenizer) {
  std::vector<bool> out(static_cast<size_t>(tokenizer.vocab_size()), false);
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    auto t = tokenizer.id_to_token(id);
    out[static_cast<size_t>(id)] = t && t->size() > 2 && t->compare(0, 2, "##") == 0;
  }
  return out;
}

namespace {

// Masks `inst` in place (positions/labels filled), drawing from rng.
void mask_instance(PretrainInstance* inst, const PretrainOptions& o, const BertSpecialIds& sp,
                   const std::vector<bool>& continues_word, Rng& rng) {
  // Candidate words: runs of positions (a word and its ## pieces when whole-word masking).
  std::vector<std::vector<int32_t>> words;
  for (size_t i = 0; i < inst->ids.size(); ++i) {
    const int32_t id = inst->ids[i];
    if (id == sp.cls || id == sp.sep) continue;
    const bool cont = o.whole_word_masking && !words.empty() && static_cast<size_t>(id) < continues_word.size() &&
                      continues_word[static_cast<size_t>(id)] && words.back().back() + 1 == static_cast<int32_t>(i);
    if (cont)
      words.back().push_back(static_cast<int32_t>(i));
    else
      words.push_back({static_cast<int32_t>(i)});
  }
  int64_t n_tokens = 0;
  for (const auto& w : words) n_tokens += static_cast<int64_t>(w.size());
  const int64_t want = std::min<int64_t>(
      o.max_predictions, std::max<int64_t>(1, static_cast<int64_t>(static_cast<float>(n_tokens) * o.mask_prob + 0.5f)));
  for (size_t i = words.size(); i > 1; --i) std::swap(words[i - 1], words[rng.below(i)]);  // Fisher-Yates
  std::vector<int32_t> chosen;
  for (const auto& w : words) {
    if (static_cast<int64_t>(chosen.size()) >= want) break;
    if (static_cast<int64_t>(chosen.size() + w.size()) > want) continue;  // a whole word or nothing
    chosen.insert(chosen.end(), w.begin(), w.end());
  }
  std::sort(chosen.begin(), chosen.end());
  for (int32_t p : chosen) {
    const int32_t original = inst->ids[static_cast<size_t>(p)];
    inst->positions.push_back(p);
    inst->labels.push_back(original);
    const float r = rng.uniform();
    if (r < 0.8f)
      inst->ids[static_cast<size_t>(p)] = sp.mask;
    else if (r < 0.9f)
      inst->ids[static_cast<size_t>(p)] = static_cast<int32_t>(rng.below(static_cast<uint64_t>(sp.vocab_size)));
  }
}

// Cuts the longer of a, b (from its front or back at random) until they fit in max_tokens.
void truncate_pair(std::vector<int32_t>* a, std::vector<int32_t>* b, size_t max_tokens, Rng& rng) {
  while (a->size() + b->size() > max_tokens) {
    std::vector<int32_t>* longer = a->size() > b->size() ? a : b;
    if (rng.uniform() < 0.5f)
      longer->erase(longer->begin());
    else
      longer->pop_back();
  }
}

}  // namespace

std::vector<PretrainInstance> make_instances(const std::vector<Document>& docs, const PretrainOptions& o,
                                             const BertSpecialIds& sp, const std::vector<bool>& continues_word,
                                             int64_t epoch) {
  Rng rng(mix64(o.seed ^ mix64(static_cast<uint64_t>(epoch) + 0x5151)));
  std::vector<PretrainInstance> out;
  const size_t max_tokens = static_cast<size_t>(o.max_seq_len - (o.nsp ? 3 : 2));
  for (size_t d = 0; d < docs.size(); ++d) {
    const Document& doc = docs[d];
    size_t target = max_tokens;
    if (rng.uniform() < o.short_seq_prob) target = 2 + rng.below(max_tokens > 2 ? max_tokens - 1 : 1);
    std::vector<size_t> chunk;  // sentence indices packed so far
    size_t chunk_len = 0;
    for (size_t i = 0; i < doc.size(); ++i) {
      chunk.push_back(i);
      chunk_len += doc[i].size();
      if (i + 1 != doc.size() && chunk_len < target) continue;
      PretrainInstance inst;
      std::vector<int32_t> a, b;
      if (!o.nsp) {
        for (size_t s : chunk) append_limited(&a, doc[s], max_tokens);
      } else {
        const size_t a_end = chunk.size() >= 2 ? 1 + rng.below(chunk.size() - 1) : 1;
        for (size_t j = 0; j < a_end; ++j) a.insert(a.end(), doc[chunk[j]].begin(), doc[chunk[j]].end());
        const bool random_next = docs.size() > 1 && (chunk.size() == 1 || rng.uniform() < 0.5f);
        if (random_next) {
          inst.is_random_next = 1;
          const size_t b_target = target > a.size() ? target - a.size() : 1;
          size_t other = d;
          for (int tries = 0; tries < 10 && other == d; ++tries) other = rng.below(docs.size());
          const Document& od = docs[other];
          for (size_t j = rng.below(od.size()); j < od.size() && b.size() < b_target; ++j)
            b.insert(b.end(), od[j].begin(), od[j].end());
          // The sentences after A were not used: give them back.
          i -= chunk.size() - a_end;
        } else {
          for (size_t j = a_end; j < chunk.size(); ++j) b.insert(b.end(), doc[chunk[j]].begin(), doc[chunk[j]].end());
        }
        if (b.empty()) {  // a one-sentence corpus: nothing to pair with
          chunk.clear();
          chunk_len = 0;
          continue;
        }
        truncate_pair(&a, &b, max_tokens, rng);
      }
      inst.ids.push_back(sp.cls);
      inst.ids.insert(inst.ids.end(), a.begin(), a.end());
      inst.ids.push_back(sp.sep);
      inst.token_types.assign(inst.ids.size(), 0);
      if (o.nsp) {
        inst.ids.insert(inst.ids.end(), b.begin(), b.end());
        inst.ids.push_back(sp.sep);
        inst.token_types.resize(inst.ids.size(), 1);
      }
      mask_instance(&inst, o, sp, continues_word, rng);
      out.push_back(std::move(inst));
      chunk.clear();
      chunk_len = 0;
      target = max_tokens;
      if (rng.uniform() < o.short_seq_prob) target = 2 + rng.below(max_tokens > 2 ? max_tokens - 1 : 1);
    }
  }
  // Shuffle the epoch's instances (documents would otherwise come in file order).
  for (size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);
  return out;
}

PretrainBatch collate(const std::vector<PretrainInstance>& instances, size_t begin, size_t end, int32_t pad_id) {
  PretrainBatch b;
  b.batch = static_cast<int64_t>(end - begin);
  for (size_t i = begin; i < end; ++i) b.seq_len = std::max<int64_t>(b.seq_len, static_cast<int64_t>(instances[i].ids.size()));
  const size_t T = static_cast<size_t>(b.seq_len);
  b.ids.assign(static_cast<size_t>(b.batch) * T, pad_id);
  b.token_types.assign(b.ids.size(), 0);
  b.attention_mask.assign(b.ids.size(), 0);
  for (size_t i = begin; i < end; ++i) {
    const PretrainInstance& inst = instances[i];
    const size_t row = (i - begin) * T;
    for (size_t t = 0; t < inst.ids.size(); ++t) {
      b.ids[row + t] = inst.ids[t];
      b.token_types[row + t] = inst.token_types[t];
      b.attention_mask[row + t] = 1;
    }
    for (size_t k = 0; k < inst.positions.size(); ++k) {
      b.mlm_positions.push_back(static_cast<int32_t>(row) + inst.positions[k]);
      b.mlm_labels.push_back(inst.labels[k]);
    }
    b.nsp_labels.push_back(inst.is_random_next);
  }
  return b;
}

}  // namespace loom::data
