// WordPiece: BERT's normalizer, pre-tokenizer and greedy longest-match model (see
// wordpiece.h), and its tokenizer.json and vocab.txt forms.
#include "loom/tokenizers/wordpiece.h"

#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"
#include "loom/tokenizers/json_util.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

using nlohmann::json;

// Unicode's White_Space property (what BERT's normalizer and pre-tokenizer split on).
bool is_whitespace(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

utf8proc_category_t category(char32_t c) {
  return static_cast<utf8proc_category_t>(utf8proc_category(static_cast<utf8proc_int32_t>(c)));
}

// "Other" characters (Cc, Cf, Cn, Co, Cs) except the three whitespace controls.
bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CS:
      return true;
    default:
      return false;
  }
}

// ASCII punctuation (which includes $ + < = > ^ ` | ~) or any Unicode punctuation category.
bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF: case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

// The CJK Unified Ideographs blocks BERT puts spaces around (not Hangul, kana, ...).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

char32_t to_lower(char32_t c) { return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))); }

// Appends `c` after canonical decomposition (NFD) without its non-spacing marks, each
// remaining part lower-cased if `lower` (BERT strips accents, then lower-cases).
void append_without_accents(char32_t c, bool lower, std::string* out) {
  utf8proc_int32_t parts[8];
  int last_boundclass = 0;
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), parts, 8,
                                                     UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n < 0 || n > 8) {  // cannot happen for a valid code point; keep it as it is
    append_utf8(lower ? to_lower(c) : c, out);
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    const auto p = static_cast<char32_t>(parts[i]);
    if (category(p) != UTF8PROC_CATEGORY_MN) append_utf8(lower ? to_lower(p) : p, out);
  }
}

// The WordPiece decoder's clean-up of tokenization spaces.
void cleanup_spaces(std::string* s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) {
    const std::string f(from), t(to);
    std::string out;
    out.reserve(s->size());
    size_t pos = 0;
    for (size_t hit; (hit = s->find(f, pos)) != std::string::npos; pos = hit + f.size()) {
      out.append(*s, pos, hit - pos);
      out += t;
    }
    out.append(*s, pos, std::string::npos);
    *s = std::move(out);
  }
}

const json* field(const json& object, const char* key) { return tokenizer_json::find_field(object, key); }

}  // namespace

StatusOr<WordPiece> WordPiece::from_vocab(std::vector<std::string> vocab, WordPieceOptions options) {
  return from_entries(std::move(vocab), std::move(options), "vocabulary entry", 0);
}

StatusOr<WordPiece> WordPiece::from_entries(std::vector<std::string> vocab, WordPieceOptions options,
                                            const char* unit, size_t first_number) {
  auto where = [&](size_t i) { return std::string(unit) + " " + std::to_string(i + first_number); };
  if (vocab.empty()) return invalid_argument("a WordPiece vocabulary needs at least the unknown token; it is empty");
  if (vocab.size() > static_cast<size_t>(INT32_MAX))
    return invalid_argument("a WordPiece vocabulary of " + std::to_string(vocab.size()) + " entries is too large");
  if (options.max_input_chars_per_word < 1)
    return invalid_argument("max_input_chars_per_word is " + std::to_string(options.max_input_chars_per_word) +
                            "; it must be >= 1");
  WordPiece wp;
  wp.ids_.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (vocab[i].empty()) return invalid_argument(where(i) + " is empty; every entry holds one token");
    LOOM_RETURN_IF_ERROR(validate_utf8(vocab[i], where(i)));
    auto [it, fresh] = wp.ids_.emplace(vocab[i], static_cast<int32_t>(i));
    if (!fresh)
      return invalid_argument(where(i) + " " + quote_text(vocab[i]) + " duplicates " +
                              where(static_cast<size_t>(it->second)) +
                              "; every token must appear once (ids would be ambiguous)");
  }
  auto unk = wp.ids_.find(options.unk_token);
  if (unk == wp.ids_.end())
    return invalid_argument("the unknown token " + quote_text(options.unk_token) +
                            " is not in the vocabulary; WordPiece needs it for words it cannot cover");
  wp.unk_id_ = unk->second;
  wp.vocab_ = std::move(vocab);
  wp.options_ = std::move(options);
  return wp;
}

StatusOr<WordPiece> WordPiece::load_vocab_txt(const std::string& path, WordPieceOptions options) {
  LOOM_ASSIGN_OR_RETURN(std::string text, read_file(path));
  std::vector<std::string> vocab;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view entry(text.data() + pos, end - pos);
    if (!entry.empty() && entry.back() == '\r') entry.remove_suffix(1);
    vocab.emplace_back(entry);
    pos = end + 1;
  }
  // Entry i is line i + 1; the checks (empty, UTF-8, duplicates, [UNK]) name lines.
  StatusOr<WordPiece> wp = from_entries(std::move(vocab), std::move(options), "line", 1);
  if (!wp.ok()) return data_loss(wp.status().message()).with_context("vocab file '" + path + "'");
  return wp;
}

StatusOr<std::string> WordPiece::normalize(std::string_view text) const {
  const bool strip = options_.strip_accents.value_or(options_.lowercase);
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (size_t pos = 0; pos < text.size();) {
    char32_t c;
    size_t len;
    if (!decode_utf8(text, pos, &c, &len)) return invalid_utf8_error(text, pos, "text");
    pos += len;
    if (options_.clean_text) {
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (is_whitespace(c)) c = ' ';
    }
    const bool cjk = options_.handle_chinese_chars && is_cjk_ideograph(c);
    if (cjk) out += ' ';
    if (strip)
      append_without_accents(c, options_.lowercase, &out);
    else
      append_utf8(options_.lowercase ? to_lower(c) : c, &out);
    if (cjk) out += ' ';
  }
  return out;
}

std::vector<std::string_view> WordPiece::pre_tokenize(std::string_view s) const {
  std::vector<std::string_view> words;
  size_t start = std::string_view::npos;  // start of the word being read
  for (size_t pos = 0; pos < s.size();) {
    char32_t c;
    size_t len;
    if (!decode_utf8(s, pos, &c, &len)) {  // normalize() output is valid; be safe anyway
      c = 0xFFFD;
      len = 1;
    }
    if (is_whitespace(c) || is_punctuation(c)) {
      if (start != std::string_view::npos) words.push_back(s.substr(start, pos - start));
      start = std::string_view::npos;
      if (!is_whitespace(c)) words.push_back(s.substr(pos, len));
    } else if (start == std::string_view::npos) {
      start = pos;
    }
    pos += len;
  }
  if (start != std::string_view::npos) words.push_back(s.substr(start));
  return words;
}

void WordPiece::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  // Character boundaries of the word.
  std::vector<size_t> cuts;
  for (size_t pos = 0; pos < word.size();) {
    char32_t c;
    size_t len;
    if (!decode_utf8(word, pos, &c, &len)) len = 1;
    cuts.push_back(pos);
    pos += len;
  }
  cuts.push_back(word.size());
  const int64_t chars = static_cast<int64_t>(cuts.size()) - 1;
  if (chars > options_.max_input_chars_per_word) {
    out->push_back(unk_id_);
    return;
  }
  const size_t mark = out->size();
  std::string piece;
  for (size_t start = 0; start + 1 < cuts.size();) {
    int32_t found = -1;
    size_t end = cuts.size() - 1;
    for (; end > start; --end) {
      piece.clear();
      if (start > 0) piece = options_.continuing_subword_prefix;
      piece.append(word.substr(cuts[start], cuts[end] - cuts[start]));
      auto it = ids_.find(piece);
      if (it != ids_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {  // this word cannot be covered: all of it is unknown
      out->resize(mark);
      out->push_back(unk_id_);
      return;
    }
    out->push_back(found);
    start = end;
  }
}

StatusOr<std::vector<int32_t>> WordPiece::encode(std::string_view text) const {
  LOOM_ASSIGN_OR_RETURN(std::string normalized, normalize(text));
  std::vector<int32_t> ids;
  ids.reserve(normalized.size() / 4 + 4);
  for (std::string_view word : pre_tokenize(normalized)) encode_word(word, &ids);
  return ids;
}

std::string WordPiece::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string piece = decode_token(ids[i]);
    if (i == 0 && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    out += piece;
  }
  cleanup_spaces(&out);
  return out;
}

std::string WordPiece::decode_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return " \xEF\xBF\xBD";
  const std::string& t = vocab_[static_cast<size_t>(id)];
  const std::string& prefix = options_.continuing_subword_prefix;
  if (!prefix.empty() && t.size() > prefix.size() && t.compare(0, prefix.size(), prefix) == 0)
    return t.substr(prefix.size());
  return " " + t;
}

std::optional<std::string> WordPiece::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return std::nullopt;
  return vocab_[static_cast<size_t>(id)];
}

std::optional<int32_t> WordPiece::token_to_id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

SpecialTokens WordPiece::special_tokens() const {
  SpecialTokens s;
  s.unk = unk_id_;
  s.pad = token_to_id("[PAD]");
  s.cls = token_to_id("[CLS]");
  s.sep = token_to_id("[SEP]");
  s.mask = token_to_id("[MASK]");
  return s;
}

nlohmann::json WordPiece::to_json() const {
  json vocab = json::object();
  for (size_t i = 0; i < vocab_.size(); ++i) vocab[vocab_[i]] = static_cast<int32_t>(i);
  json added = json::array();
  for (const char* name : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    if (auto id = token_to_id(name))
      added.push_back({{"id", *id}, {"content", name}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  json doc = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"clean_text", options_.clean_text},
        {"handle_chinese_chars", options_.handle_chinese_chars},
        {"strip_accents", options_.strip_accents ? json(*options_.strip_accents) : json(nullptr)},
        {"lowercase", options_.lowercase}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "WordPiece"}, {"prefix", options_.continuing_subword_prefix}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", options_.unk_token},
        {"continuing_subword_prefix", options_.continuing_subword_prefix},
        {"max_input_chars_per_word", options_.max_input_chars_per_word},
        {"vocab", vocab}}}};
  // BERT's [CLS] A [SEP] (B [SEP]) framing, for users of Hugging Face tokenizers; loom's own
  // callers add these ids themselves.
  auto cls = token_to_id("[CLS]"), sep = token_to_id("[SEP]");
  if (cls && sep) {
    doc["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}})},
        {"pair", json::array({{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                              {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}},
                              {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 1}}}}})},
        {"special_tokens",
         {{"[CLS]", {{"id", "[CLS]"}, {"ids", {*cls}}, {"tokens", {"[CLS]"}}}},
          {"[SEP]", {{"id", "[SEP]"}, {"ids", {*sep}}, {"tokens", {"[SEP]"}}}}}}};
  }
  return doc;
}

Status WordPiece::save_vocab_txt(const std::string& path) const {
  std::string text;
  for (const std::string& t : vocab_) {
    text += t;
    text += '\n';
  }
  return write_file_atomic(path, text);
}

StatusOr<WordPiece> WordPiece::from_json(const json& doc) {
  auto fail = [](const std::string& what) { return data_loss(what); };
  const json* model = field(doc, "model");
  if (model == nullptr || !model->is_object()) return fail("no 'model' object");
  WordPieceOptions o;
  if (const json* v = field(*model, "unk_token"); !tokenizer_json::absent_or_null(v)) {
    if (!v->is_string()) return fail("model.unk_token is " + tokenizer_json::short_dump(*v) + "; expected a string");
    o.unk_token = v->get<std::string>();
  }
  if (const json* v = field(*model, "continuing_subword_prefix"); !tokenizer_json::absent_or_null(v)) {
    if (!v->is_string())
      return fail("model.continuing_subword_prefix is " + tokenizer_json::short_dump(*v) + "; expected a string");
    o.continuing_subword_prefix = v->get<std::string>();
  }
  if (const json* v = field(*model, "max_input_chars_per_word"); !tokenizer_json::absent_or_null(v)) {
    if (!v->is_number_integer() || v->get<int64_t>() < 1)
      return fail("model.max_input_chars_per_word is " + tokenizer_json::short_dump(*v) +
                  "; expected a positive integer");
    o.max_input_chars_per_word = v->get<int64_t>();
  }
  // The normalizer: BertNormalizer (or none, which is no cleaning and no case change).
  const json* norm = field(doc, "normalizer");
  if (tokenizer_json::absent_or_null(norm)) {
    o.clean_text = o.handle_chinese_chars = o.lowercase = false;
    o.strip_accents = false;
  } else {
    const json* type = norm->is_object() ? field(*norm, "type") : nullptr;
    if (type == nullptr || !type->is_string() || *type != "BertNormalizer")
      return unimplemented("normalizer " + tokenizer_json::describe_component(*norm) +
                           " is not supported with WordPiece; loom reads BertNormalizer");
    auto flag = [&](const char* key, bool* out) -> Status {
      const json* v = field(*norm, key);
      if (tokenizer_json::absent_or_null(v)) return ok_status();
      if (!v->is_boolean())
        return data_loss(std::string("normalizer.") + key + " is " + tokenizer_json::short_dump(*v) +
                         "; expected true or false");
      *out = v->get<bool>();
      return ok_status();
    };
    LOOM_RETURN_IF_ERROR(flag("clean_text", &o.clean_text));
    LOOM_RETURN_IF_ERROR(flag("handle_chinese_chars", &o.handle_chinese_chars));
    LOOM_RETURN_IF_ERROR(flag("lowercase", &o.lowercase));
    bool strip = false;
    const json* sa = field(*norm, "strip_accents");
    if (!tokenizer_json::absent_or_null(sa)) {
      LOOM_RETURN_IF_ERROR(flag("strip_accents", &strip));
      o.strip_accents = strip;
    }
  }
  const json* pre = field(doc, "pre_tokenizer");
  if (!tokenizer_json::absent_or_null(pre)) {
    const json* type = pre->is_object() ? field(*pre, "type") : nullptr;
    if (type == nullptr || !type->is_string() || *type != "BertPreTokenizer")
      return unimplemented("pre_tokenizer " + tokenizer_json::describe_component(*pre) +
                           " is not supported with WordPiece; loom reads BertPreTokenizer");
  }
  // The vocabulary: token -> id, ids 0..n-1 each once.
  const json* vocab = field(*model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) return fail("model.vocab is missing or not an object");
  std::vector<std::string> tokens(vocab->size());
  std::vector<bool> seen(vocab->size(), false);
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const std::optional<int32_t> id = tokenizer_json::as_int32(it.value());
    if (!id || *id < 0 || static_cast<size_t>(*id) >= tokens.size())
      return fail("model.vocab entry " + quote_text(it.key()) + " has id " + tokenizer_json::short_dump(it.value()) +
                  "; ids must be 0.." + std::to_string(tokens.size() - 1));
    if (seen[static_cast<size_t>(*id)])
      return fail("model.vocab gives id " + std::to_string(*id) + " to both " +
                  quote_text(tokens[static_cast<size_t>(*id)]) + " and " + quote_text(it.key()));
    seen[static_cast<size_t>(*id)] = true;
    tokens[static_cast<size_t>(*id)] = it.key();
  }
  StatusOr<WordPiece> wp = from_vocab(std::move(tokens), std::move(o));
  if (!wp.ok()) return data_loss(wp.status().message());  // the file is inconsistent
  return wp;
}

}  // namespace loom
