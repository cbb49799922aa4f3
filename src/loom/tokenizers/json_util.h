// JSON helpers shared by the tokenizer file readers of this layer (tokenizer.json, vocab.json,
// encoder.json): a strict parse that rejects duplicate keys, typed field access, and the small
// formatting helpers their error messages use. Internal to src/loom/tokenizers/; nothing
// outside the layer includes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "loom/base/status.h"

namespace loom::tokenizer_json {

using nlohmann::json;

// Parses JSON and rejects an object with two equal keys: nlohmann would silently keep the
// last, and a vocab that names one token twice is corrupt, not something to guess about.
// Errors (data loss): "not valid JSON: <parser message with line and column>", or
// "key 'x' appears twice in one JSON object; ...". The message does not name the file.
StatusOr<json> parse(std::string_view text);

// The member `key` of `object`, or nullptr. REQUIRES: object.is_object().
const json* find_field(const json& object, const char* key);

inline bool absent_or_null(const json* v) { return v == nullptr || v->is_null(); }

// An integer JSON number that fits in int32; nullopt for anything else.
std::optional<int32_t> as_int32(const json& v);

// A JSON value as it appears in a file, cut short (with "...") if longer than 40 bytes.
std::string short_dump(const json& v);

// What a pipeline component is, for a message: "of type 'ByteLevel'" or "(a JSON number)".
std::string describe_component(const json& v);

// The 1-based line of `text` on which the object key `key` first appears (as "key" followed
// by optional blanks and a colon, spelled raw or with \u escapes), or nullopt. Used only to
// point an error message at a vocabulary entry, so an approximate answer is acceptable.
std::optional<size_t> line_of_key(std::string_view text, const std::string& key);

}  // namespace loom::tokenizer_json
