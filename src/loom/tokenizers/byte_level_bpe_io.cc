// ByteLevelBpe's file formats: Hugging Face tokenizer.json (read with every pipeline component
// checked, written in the form HF writes for GPT-2) and GPT-2's vocab.json + merges.txt
// (= OpenAI's encoder.json + vocab.bpe). Errors name the file, the line where the format has
// lines, and the entry.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"
#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/json_util.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

using nlohmann::json;
using tokenizer_json::absent_or_null;
using tokenizer_json::as_int32;
using tokenizer_json::describe_component;
using tokenizer_json::find_field;
using tokenizer_json::short_dump;

constexpr char kEndOfText[] = "<|endoftext|>";

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// A JSON boolean field that may be absent (then `fallback`).
StatusOr<bool> bool_field(const json& object, const char* key, bool fallback, const std::string& where) {
  const json* v = find_field(object, key);
  if (absent_or_null(v)) return fallback;
  if (!v->is_boolean()) return data_loss(where + "." + key + " must be true or false, found " + short_dump(*v));
  return v->get<bool>();
}

// {"token": id, ...} -> (spelling, id) pairs.
StatusOr<std::vector<std::pair<std::string, int32_t>>> read_vocab_object(
    const json& vocab, const std::function<std::string(const std::string&)>& where) {
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::optional<int32_t> id = as_int32(it.value());
    if (!id || *id < 0)
      return data_loss(where(it.key()) + ": the id is " + short_dump(it.value()) +
                       "; ids must be integers 0..V-1");
    out.emplace_back(it.key(), *id);
  }
  return out;
}

// "a b" -> (a, b): exactly two non-empty tokens separated by one space.
std::optional<std::pair<std::string, std::string>> split_merge(std::string_view line) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string_view::npos)
    return std::nullopt;
  return std::make_pair(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
}

// The special tokens of a bare vocab.json: GPT-2's end of text, if present.
std::vector<AddedToken> end_of_text_token(const std::vector<std::pair<std::string, int32_t>>& vocab) {
  for (const auto& [spelling, id] : vocab)
    if (spelling == kEndOfText) return {AddedToken{.id = id, .content = kEndOfText, .special = true}};
  return {};
}

// --- tokenizer.json pieces ---

Status check_pipeline(const json& root) {
  for (const char* key : {"truncation", "padding"}) {
    const json* v = find_field(root, key);
    if (!absent_or_null(v))
      return unimplemented(std::string(key) +
                           " is set, but loom's tokenizers neither truncate nor pad (the data layer "
                           "does); it must be null");
  }
  if (const json* v = find_field(root, "normalizer"); !absent_or_null(v))
    return unimplemented("normalizer " + describe_component(*v) +
                         " is not supported for byte-level BPE; it must be null");
  if (const json* v = find_field(root, "post_processor"); !absent_or_null(v)) {
    // ByteLevel's post-processor only trims offsets; anything else adds tokens, which loom's
    // encode() never does (callers add BOS/EOS themselves).
    if (!v->is_object() || v->value("type", json()) != "ByteLevel")
      return unimplemented("post_processor " + describe_component(*v) +
                           " is not supported; loom adds no special tokens when encoding, so it "
                           "must be null or ByteLevel");
  }
  const json* decoder = find_field(root, "decoder");
  if (absent_or_null(decoder) || !decoder->is_object() || decoder->value("type", json()) != "ByteLevel")
    return unimplemented("decoder " + (decoder ? describe_component(*decoder) : std::string("(missing)")) +
                         " is not supported for byte-level BPE; it needs {\"type\": \"ByteLevel\"}");
  return ok_status();
}

// A ByteLevel pre-tokenizer entry; `with_regex` says whether it must run GPT-2's regex itself.
Status check_byte_level(const json& p, const std::string& where, bool with_regex) {
  LOOM_ASSIGN_OR_RETURN(bool add_prefix_space, bool_field(p, "add_prefix_space", true, where));
  if (add_prefix_space)
    return unimplemented(where +
                         ".add_prefix_space is true (or missing, which means true): the tokenizer "
                         "would put a space before the text, so decoding would not give the text "
                         "back; loom supports false (GPT-2's setting)");
  LOOM_ASSIGN_OR_RETURN(bool use_regex, bool_field(p, "use_regex", true, where));
  if (use_regex != with_regex)
    return unimplemented(where + ".use_regex is " + (use_regex ? "true" : "false") +
                         (with_regex ? "; without a Split before it the text would not be cut at all, "
                                       "which loom does not support"
                                     : " after a Split; the text would be cut twice"));
  return ok_status();
}

// The pre_tokenizer Hugging Face writes for a family: GPT-2's ByteLevel alone, or the
// Sequence of StarCoder and Falcon.
json pre_tokenizer_json(PreTokenizerKind kind) {
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  json list = json::array();
  switch (kind) {
    case PreTokenizerKind::kGpt2:
      return byte_level;
    case PreTokenizerKind::kStarcoder:
      list.push_back({{"type", "Digits"}, {"individual_digits", true}});
      list.push_back(byte_level);
      break;
    case PreTokenizerKind::kFalcon:
      list.push_back({{"type", "Punctuation"}, {"behavior", "Contiguous"}});
      list.push_back(byte_level);
      list.push_back({{"type", "Digits"}, {"individual_digits", false}});
      list.push_back({{"type", "Split"}, {"pattern", {{"Regex", "[0-9][0-9][0-9]"}}}, {"behavior", "Isolated"}, {"invert", false}});
      break;
  }
  return {{"type", "Sequence"}, {"pretokenizers", std::move(list)}};
}

// `p` is `want` up to ByteLevel's trim_offsets (which only affects offsets) and key order.
bool same_pre_tokenizer(const json& p, const json& want) {
  const json* list = find_field(p, "pretokenizers");
  const json& want_list = want["pretokenizers"];
  if (list == nullptr || !list->is_array() || list->size() != want_list.size()) return false;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& got = (*list)[i];
    if (!got.is_object()) return false;
    for (const auto& [key, value] : want_list[i].items()) {
      if (key == "trim_offsets") continue;
      const json* g = find_field(got, key.c_str());
      if (g == nullptr || *g != value) return false;
    }
  }
  return true;
}

StatusOr<PreTokenizerKind> read_pre_tokenizer(const json& root) {
  const json* p = find_field(root, "pre_tokenizer");
  if (absent_or_null(p))
    return unimplemented("pre_tokenizer is null; byte-level BPE needs {\"type\": \"ByteLevel\"}");
  const json type = p->is_object() ? p->value("type", json()) : json();
  if (type == "ByteLevel") {
    LOOM_RETURN_IF_ERROR(check_byte_level(*p, "pre_tokenizer", /*with_regex=*/true));
    return PreTokenizerKind::kGpt2;
  }
  // The families Hugging Face writes as a Sequence of its own pre-tokenizers.
  if (type == "Sequence")
    for (PreTokenizerKind kind : {PreTokenizerKind::kStarcoder, PreTokenizerKind::kFalcon})
      if (same_pre_tokenizer(*p, pre_tokenizer_json(kind))) return kind;
  // Sequence [Split(regex, Isolated), ByteLevel(use_regex: false)]: how files name a family
  // by its regex.
  if (type == "Sequence") {
    const json* list = find_field(*p, "pretokenizers");
    if (list != nullptr && list->is_array() && list->size() == 2 && (*list)[0].is_object() &&
        (*list)[0].value("type", json()) == "Split" && (*list)[1].is_object() &&
        (*list)[1].value("type", json()) == "ByteLevel") {
      const json& split = (*list)[0];
      const json* pattern = find_field(split, "pattern");
      const json* regex = pattern && pattern->is_object() ? find_field(*pattern, "Regex") : nullptr;
      if (regex == nullptr || !regex->is_string())
        return unimplemented("pre_tokenizer.pretokenizers[0] is a Split without a Regex pattern; not supported");
      const std::optional<PreTokenizerKind> kind = pre_tokenizer_from_regex(regex->get_ref<const std::string&>());
      if (!kind)
        return unimplemented("pre_tokenizer splits on the regex " + short_dump(*regex) +
                             ", which loom does not implement yet (it implements GPT-2's)");
      if (split.value("behavior", json()) != "Isolated" || split.value("invert", json(false)) != false)
        return unimplemented("pre_tokenizer.pretokenizers[0] must have behavior Isolated and invert false");
      LOOM_RETURN_IF_ERROR(check_byte_level((*list)[1], "pre_tokenizer.pretokenizers[1]", /*with_regex=*/false));
      return *kind;
    }
  }
  return unimplemented("pre_tokenizer " + describe_component(*p) +
                       " is not supported for byte-level BPE; it needs {\"type\": \"ByteLevel\"}");
}

// model fields other than vocab and merges.
Status check_model_options(const json& model, ByteLevelBpeParts* parts) {
  if (const json* v = find_field(model, "dropout"); !absent_or_null(v))
    if (!v->is_number() || v->get<double>() != 0.0)
      return unimplemented("model.dropout is " + short_dump(*v) + "; BPE dropout is not supported, it must be null");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json* v = find_field(model, key);
    if (!absent_or_null(v) && !(v->is_string() && v->get_ref<const std::string&>().empty()))
      return unimplemented("model." + std::string(key) + " is " + short_dump(*v) +
                           "; byte-level BPE needs it null or \"\"");
  }
  LOOM_ASSIGN_OR_RETURN(bool byte_fallback, bool_field(model, "byte_fallback", false, "model"));
  if (byte_fallback)
    return unimplemented("model.byte_fallback is true (SentencePiece-style <0xNN> tokens); not supported "
                         "for byte-level BPE");
  LOOM_RETURN_IF_ERROR(bool_field(model, "fuse_unk", false, "model").status());
  LOOM_ASSIGN_OR_RETURN(parts->ignore_merges, bool_field(model, "ignore_merges", false, "model"));
  return ok_status();
}

StatusOr<std::vector<AddedToken>> read_added_tokens(const json& root) {
  std::vector<AddedToken> out;
  const json* list = find_field(root, "added_tokens");
  if (absent_or_null(list)) return out;
  if (!list->is_array()) return data_loss(std::string("added_tokens must be an array, found a JSON ") + list->type_name());
  for (size_t i = 0; i < list->size(); ++i) {
    const json& t = (*list)[i];
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) return data_loss(where + " must be an object, found " + short_dump(t));
    const json* content = find_field(t, "content");
    if (content == nullptr || !content->is_string())
      return data_loss(where + ".content must be a string");
    const json* id = find_field(t, "id");
    const std::optional<int32_t> id32 = id ? as_int32(*id) : std::nullopt;
    if (!id32) return data_loss(where + " (" + quote_text(content->get<std::string>()) + ") has no integer id");
    AddedToken a{.id = *id32, .content = content->get<std::string>()};
    LOOM_ASSIGN_OR_RETURN(a.special, bool_field(t, "special", false, where));
    LOOM_ASSIGN_OR_RETURN(a.lstrip, bool_field(t, "lstrip", false, where));
    LOOM_ASSIGN_OR_RETURN(a.rstrip, bool_field(t, "rstrip", false, where));
    LOOM_ASSIGN_OR_RETURN(a.normalized, bool_field(t, "normalized", false, where));
    LOOM_ASSIGN_OR_RETURN(a.single_word, bool_field(t, "single_word", false, where));
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

StatusOr<ByteLevelBpe> ByteLevelBpe::from_json(const json& root) {
  if (!root.is_object())
    return data_loss(std::string("expected a JSON object at the top level, found a JSON ") + root.type_name());
  if (const json* version = find_field(root, "version"); version != nullptr && *version != "1.0")
    return data_loss("version " + short_dump(*version) + " is not supported; expected \"1.0\"");
  const json* model = find_field(root, "model");
  if (model == nullptr || !model->is_object()) return data_loss("'model' is missing or not an object");
  if (const json* type = find_field(*model, "type"); type == nullptr || *type != "BPE")
    return unimplemented("model type " + (type ? short_dump(*type) : std::string("(missing)")) +
                         " cannot be read as byte-level BPE; expected \"BPE\"");

  ByteLevelBpeParts parts;
  LOOM_RETURN_IF_ERROR(check_model_options(*model, &parts));
  LOOM_RETURN_IF_ERROR(check_pipeline(root));
  LOOM_ASSIGN_OR_RETURN(parts.pre_tokenizer, read_pre_tokenizer(root));

  const json* vocab = find_field(*model, "vocab");
  if (vocab == nullptr) return data_loss("model.vocab is missing");
  if (!vocab->is_object())
    return data_loss(std::string("model.vocab must be an object {token: id}, found a JSON ") + vocab->type_name());
  if (vocab->empty()) return data_loss("model.vocab is empty");
  parts.vocab_location = [](const std::string& spelling) { return "model.vocab entry " + quote_text(spelling); };
  LOOM_ASSIGN_OR_RETURN(parts.vocab, read_vocab_object(*vocab, parts.vocab_location));

  const json* merges = find_field(*model, "merges");
  if (merges == nullptr || !merges->is_array())
    return data_loss("model.merges must be an array" +
                     (merges ? std::string(", found a JSON ") + merges->type_name() : std::string(", but it is missing")));
  parts.merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    // "a b" (tokenizers < 0.20) or ["a", "b"] (newer).
    std::optional<std::pair<std::string, std::string>> pair;
    if (m.is_string()) {
      pair = split_merge(m.get_ref<const std::string&>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string() &&
               !m[0].get_ref<const std::string&>().empty() && !m[1].get_ref<const std::string&>().empty()) {
      pair = std::make_pair(m[0].get<std::string>(), m[1].get<std::string>());
    }
    if (!pair)
      return data_loss("model.merges[" + std::to_string(i) + "] is " + short_dump(m) +
                       "; a merge is \"left right\" (one space) or [\"left\", \"right\"]");
    parts.merges.push_back(std::move(*pair));
  }
  parts.merge_location = [](size_t rank) { return "model.merges[" + std::to_string(rank) + "]"; };

  LOOM_ASSIGN_OR_RETURN(parts.added_tokens, read_added_tokens(root));
  if (const json* unk = find_field(*model, "unk_token"); !absent_or_null(unk)) {
    if (!unk->is_string()) return data_loss("model.unk_token must be a string or null, found " + short_dump(*unk));
    const std::string& name = unk->get_ref<const std::string&>();
    for (const auto& [spelling, id] : parts.vocab)
      if (spelling == name) parts.special.unk = id;
    if (!parts.special.unk)
      return data_loss("model.unk_token " + quote_text(name) + " is not in model.vocab");
  }
  return create(std::move(parts));
}

json ByteLevelBpe::to_json() const {
  json vocab = json::object();
  for (size_t i = 0; i < spellings_.size(); ++i)
    if (in_model_[i]) vocab[spellings_[i]] = static_cast<int32_t>(i);
  // "a b" strings unless a token has a space, which only the newer pair form can hold.
  bool pair_form = false;
  for (const auto& [left, right] : merges_)
    pair_form = pair_form || spellings_[static_cast<size_t>(left)].find(' ') != std::string::npos ||
                spellings_[static_cast<size_t>(right)].find(' ') != std::string::npos;
  json merges = json::array();
  for (const auto& [left, right] : merges_) {
    const std::string& a = spellings_[static_cast<size_t>(left)];
    const std::string& b = spellings_[static_cast<size_t>(right)];
    if (pair_form) {
      merges.push_back(json::array({a, b}));
    } else {
      merges.push_back(a + " " + b);
    }
  }
  json added = json::array();
  for (const AddedToken& a : added_)
    added.push_back({{"id", a.id},
                     {"content", a.content},
                     {"single_word", a.single_word},
                     {"lstrip", a.lstrip},
                     {"rstrip", a.rstrip},
                     {"normalized", a.normalized},
                     {"special", a.special}});
  json model = json::object();
  model["type"] = "BPE";
  model["dropout"] = nullptr;
  model["unk_token"] = special_.unk ? json(spellings_[static_cast<size_t>(*special_.unk)]) : json(nullptr);
  model["continuing_subword_prefix"] = "";
  model["end_of_word_suffix"] = "";
  model["fuse_unk"] = false;
  model["byte_fallback"] = false;
  if (ignore_merges_) model["ignore_merges"] = true;  // older readers do not know the key
  model["vocab"] = std::move(vocab);
  model["merges"] = std::move(merges);

  json root = json::object();
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  root["added_tokens"] = std::move(added);
  root["normalizer"] = nullptr;
  root["pre_tokenizer"] = pre_tokenizer_json(pre_tokenizer_);
  // What HF writes for GPT-2: the post-processor and decoder only trim offsets / map bytes.
  root["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  root["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  root["model"] = std::move(model);
  return root;
}

StatusOr<ByteLevelBpe> ByteLevelBpe::from_vocab_and_merges(std::string_view vocab_json, std::string_view merges_txt,
                                                           const std::string& vocab_name,
                                                           const std::string& merges_name) {
  const std::string vocab_file = "'" + vocab_name + "'";
  const std::string merges_file = "'" + merges_name + "'";
  if (is_blank(vocab_json))
    return data_loss(vocab_file + ": the file is empty; expected a JSON object {token: id}");
  StatusOr<json> root = tokenizer_json::parse(vocab_json);
  if (!root.ok()) return root.status().with_context(vocab_file);
  if (!root->is_object())
    return data_loss(vocab_file + ": expected a JSON object {token: id}, found a JSON " + root->type_name());
  if (root->empty()) return data_loss(vocab_file + ": the vocabulary is empty ({})");

  ByteLevelBpeParts parts;
  parts.source = vocab_file;
  parts.vocab_location = [&](const std::string& spelling) {
    const std::optional<size_t> line = tokenizer_json::line_of_key(vocab_json, spelling);
    return vocab_file + (line ? " line " + std::to_string(*line) : std::string()) + ", entry " + quote_text(spelling);
  };
  LOOM_ASSIGN_OR_RETURN(parts.vocab, read_vocab_object(*root, parts.vocab_location));

  if (merges_txt.empty())
    return data_loss(merges_file +
                     ": the file is empty; a merges file has a '#version: 0.2' line and then one merge "
                     "'left right' per line");
  std::vector<size_t> lines;  // rank -> line number
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < merges_txt.size()) {
    size_t end = merges_txt.find('\n', pos);
    if (end == std::string_view::npos) end = merges_txt.size();
    std::string_view line = merges_txt.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("#version")) continue;
    std::optional<std::pair<std::string, std::string>> pair = split_merge(line);
    if (!pair)
      return data_loss(merges_file + " line " + std::to_string(line_no) + ": " +
                       (line.empty() ? std::string("the line is empty")
                                     : "expected two tokens separated by one space, found " + quote_text(line)) +
                       "; each line after '#version' is one merge 'left right'");
    parts.merges.push_back(std::move(*pair));
    lines.push_back(line_no);
  }
  parts.merge_location = [&](size_t rank) { return merges_file + " line " + std::to_string(lines[rank]); };
  parts.added_tokens = end_of_text_token(parts.vocab);
  return create(std::move(parts));
}

StatusOr<ByteLevelBpe> ByteLevelBpe::load_vocab_and_merges(const std::string& vocab_path,
                                                           const std::string& merges_path) {
  LOOM_ASSIGN_OR_RETURN(std::string vocab, read_file(vocab_path));
  LOOM_ASSIGN_OR_RETURN(std::string merges, read_file(merges_path));
  return from_vocab_and_merges(vocab, merges, vocab_path, merges_path);
}

std::string ByteLevelBpe::vocab_json() const {
  // In id order, compact like GPT-2's own.
  std::string vocab = "{";
  for (size_t i = 0; i < spellings_.size(); ++i) {
    if (i > 0) vocab += ",";
    vocab += json(spellings_[i]).dump(-1, ' ', false) + ":" + std::to_string(i);
  }
  return vocab + "}";
}

StatusOr<std::string> ByteLevelBpe::merges_txt() const {
  std::string merges = "#version: 0.2\n";
  for (const auto& [left, right] : merges_) {
    const std::string& a = spellings_[static_cast<size_t>(left)];
    const std::string& b = spellings_[static_cast<size_t>(right)];
    if ((a + b).find_first_of(" \n\r") != std::string::npos || a.starts_with("#version"))
      return invalid_argument("merge " + quote_text(a + " " + b) +
                              " has a token with a space or a line break (or reads as a '#version' line), which "
                              "merges.txt cannot hold; save tokenizer.json instead");
    merges += a + " " + b + "\n";
  }
  return merges;
}

Status ByteLevelBpe::save_vocab_and_merges(const std::string& dir) const {
  LOOM_ASSIGN_OR_RETURN(std::string merges, merges_txt());
  LOOM_RETURN_IF_ERROR(write_file_atomic(join_path(dir, "vocab.json"), vocab_json()));
  return write_file_atomic(join_path(dir, "merges.txt"), merges);
}

}  // namespace loom
