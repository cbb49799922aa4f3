// GPT-2's byte-to-unicode map: how byte-level BPE vocabularies spell raw bytes as printable
// characters (openai/gpt-2 encoder.py `bytes_to_unicode`, also used by Hugging Face's
// ByteLevel pre-tokenizer and decoder).
//
// The 188 bytes that are printable Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
// themselves; the other 68 (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100
// upwards in byte order, so space 0x20 is 'Ġ' (U+0120) and '\n' is 'Ċ' (U+010A). A token of a
// vocab.json / tokenizer.json is the concatenation of the characters of its bytes: "Ġthe" is
// the bytes " the".
//
// GPT-2 numbers its 256 single-byte tokens in the map's own order (the printable bytes first,
// then the shifted ones), so id 0 is '!' and id 220 is 'Ġ'; byte_order() gives that order and
// the trainer uses it, so a trained vocabulary agrees with GPT-2's on ids 0..255.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loom {

// The character that spells byte `b`.
char32_t byte_to_unicode(uint8_t b);

// The byte a character spells, or nullopt if the character is not one of the 256.
std::optional<uint8_t> unicode_to_byte(char32_t cp);

// The 256 bytes in GPT-2's vocabulary order: byte_order()[i] is the byte of GPT-2 token i.
const std::array<uint8_t, 256>& byte_order();

// Raw bytes -> their byte-level spelling, e.g. " the" -> "Ġthe" (always valid UTF-8).
std::string bytes_to_byte_level(std::string_view bytes);

// A byte-level spelling -> the raw bytes, e.g. "Ġthe" -> " the"; nullopt if `text` is not
// valid UTF-8 or has a character outside the map.
std::optional<std::string> byte_level_to_bytes(std::string_view text);

}  // namespace loom
