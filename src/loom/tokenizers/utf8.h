// UTF-8 helpers for the tokenizers layer: a strict decoder (one code point at a time),
// an encoder, validation with an error that names the byte offset, and a printable
// description of a code point for error messages. Strict means what the Unicode standard
// (Table 3-7) and JSON parsers accept: no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequences, so text that passes here also survives a round trip
// through a tokenizer.json file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "loom/base/status.h"

namespace loom {

// Decodes the code point starting at byte `pos` of `text`. On success stores it in `*cp`,
// its length in bytes in `*len` and returns true; on an invalid or truncated sequence
// returns false and leaves the outputs alone. REQUIRES: pos < text.size().
bool decode_utf8(std::string_view text, size_t pos, char32_t* cp, size_t* len);

// Appends the UTF-8 encoding of `cp`. REQUIRES: is_valid_code_point(cp).
void append_utf8(char32_t cp, std::string* out);

// A Unicode scalar value: <= U+10FFFF and not a surrogate (U+D800..U+DFFF).
inline bool is_valid_code_point(char32_t cp) {
  return cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
}

// Ok if `text` is valid UTF-8, else an invalid-argument error
//   "<what> is not valid UTF-8 at byte offset 12 (bytes 0xE4 0x41)"
// naming the offset of the first bad sequence and the bytes that were inspected.
Status validate_utf8(std::string_view text, const std::string& what);

// The invalid-argument error validate_utf8 would return for the bad sequence at `pos`.
Status invalid_utf8_error(std::string_view text, size_t pos, const std::string& what);

// How error messages show one character: "'a' (U+0061)", "'世' (U+4E16)", "'\n' (U+000A)";
// a control or other invisible character is shown only by its number: "U+0007".
std::string describe_code_point(char32_t cp);

// `text` in single quotes for an error message: invisible characters escaped ("\n",
// "\u{200B}"), bytes that are not UTF-8 as "\xFF", and cut with "..." after about
// `max_bytes` bytes so a long vocabulary entry cannot flood the message.
std::string quote_text(std::string_view text, size_t max_bytes = 40);

}  // namespace loom
