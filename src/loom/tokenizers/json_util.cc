// Strict JSON parsing and the formatting helpers of the tokenizer file readers (see
// json_util.h).
#include "loom/tokenizers/json_util.h"

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <vector>

#include "loom/tokenizers/utf8.h"

namespace loom::tokenizer_json {

StatusOr<json> parse(std::string_view text) {
  std::vector<std::unordered_set<std::string>> open_objects;  // keys seen, innermost last
  std::string duplicate;
  bool has_duplicate = false;
  const json::parser_callback_t on_event = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!has_duplicate && !open_objects.empty() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
          has_duplicate = true;
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json root;
  try {
    root = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    return data_loss(std::string("not valid JSON: ") + e.what());
  }
  if (has_duplicate)
    return data_loss("key " + quote_text(duplicate) +
                     " appears twice in one JSON object; each key (and each vocab entry) must "
                     "appear once");
  return root;
}

const json* find_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::optional<int32_t> as_int32(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return static_cast<int32_t>(u);
    return std::nullopt;
  }
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i >= std::numeric_limits<int32_t>::min() && i <= std::numeric_limits<int32_t>::max())
      return static_cast<int32_t>(i);
  }
  return std::nullopt;
}

std::string short_dump(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) {
    size_t cut = 40;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
    s = s.substr(0, cut) + "...";
  }
  return s;
}

std::string describe_component(const json& v) {
  if (v.is_object()) {
    auto it = v.find("type");
    if (it != v.end() && it->is_string()) return "of type " + quote_text(it->get<std::string>());
  }
  return std::string("(a JSON ") + v.type_name() + ")";
}

std::optional<size_t> line_of_key(std::string_view text, const std::string& key) {
  const json k = key;
  for (const bool ascii : {false, true}) {
    const std::string quoted = k.dump(-1, ' ', ascii, json::error_handler_t::replace);
    size_t from = 0;
    while (true) {
      const size_t at = text.find(quoted, from);
      if (at == std::string_view::npos) break;
      size_t after = at + quoted.size();
      while (after < text.size() && (text[after] == ' ' || text[after] == '\t' || text[after] == '\n' ||
                                     text[after] == '\r'))
        ++after;
      if (after < text.size() && text[after] == ':')
        return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
      from = at + 1;
    }
  }
  return std::nullopt;
}

}  // namespace loom::tokenizer_json
