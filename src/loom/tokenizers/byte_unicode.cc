// GPT-2's byte-to-unicode map, built once at compile time (see byte_unicode.h).
#include "loom/tokenizers/byte_unicode.h"

#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

constexpr bool is_self_printing(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> to_unicode{};
  std::array<uint8_t, 256> order{};
  // Every character of the map is below U+0144, so the inverse is a table too.
  std::array<int16_t, 0x144> to_byte{};
};

constexpr Tables make_tables() {
  Tables t;
  for (auto& v : t.to_byte) v = -1;
  size_t next = 0;
  for (unsigned b = 0; b < 256; ++b)
    if (is_self_printing(b)) t.order[next++] = static_cast<uint8_t>(b);
  char32_t shifted = 0x100;
  for (unsigned b = 0; b < 256; ++b) {
    t.to_unicode[b] = is_self_printing(b) ? static_cast<char32_t>(b) : shifted++;
    if (!is_self_printing(b)) t.order[next++] = static_cast<uint8_t>(b);
  }
  for (unsigned b = 0; b < 256; ++b) t.to_byte[t.to_unicode[b]] = static_cast<int16_t>(b);
  return t;
}

constexpr Tables kTables = make_tables();
static_assert(kTables.to_unicode[' '] == 0x120, "space is spelled U+0120 'Ġ'");
static_assert(kTables.to_unicode['\n'] == 0x10A, "newline is spelled U+010A 'Ċ'");
static_assert(kTables.order[0] == '!' && kTables.order[220] == ' ', "GPT-2 ids: '!' = 0, 'Ġ' = 220");

}  // namespace

char32_t byte_to_unicode(uint8_t b) { return kTables.to_unicode[b]; }

std::optional<uint8_t> unicode_to_byte(char32_t cp) {
  if (cp >= kTables.to_byte.size() || kTables.to_byte[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(kTables.to_byte[cp]);
}

const std::array<uint8_t, 256>& byte_order() { return kTables.order; }

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(kTables.to_unicode[static_cast<uint8_t>(c)], &out);
  return out;
}

std::optional<std::string> byte_level_to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    size_t len;
    if (!decode_utf8(text, pos, &cp, &len)) return std::nullopt;
    const std::optional<uint8_t> b = unicode_to_byte(cp);
    if (!b) return std::nullopt;
    out.push_back(static_cast<char>(*b));
    pos += len;
  }
  return out;
}

}  // namespace loom
