// Strict UTF-8 decoding and encoding, and the character descriptions used in tokenizer
// error messages (see utf8.h).
#include "loom/tokenizers/utf8.h"

#include <algorithm>
#include <cstdio>

#include "loom/base/check.h"

namespace loom {

namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Characters an error message should not print raw: they are invisible, move the cursor,
// reorder text or combine with the quote before them.
bool is_invisible(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD ||
         (cp >= 0x0300 && cp <= 0x036F) ||  // combining diacritics
         (cp >= 0x2000 && cp <= 0x200F) ||  // spaces of various widths, zero-width, marks
         (cp >= 0x2028 && cp <= 0x202F) ||  // line/paragraph separators, bidi embeddings
         (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0xFEFF ||
         (cp >= 0xFFF0 && cp <= 0xFFFF && cp != 0xFFFD) || (cp >= 0xE0000 && cp <= 0xE007F) ||
         (cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000;  // private use
}

std::string hex_code_point(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

}  // namespace

bool decode_utf8(std::string_view text, size_t pos, char32_t* cp, size_t* len) {
  LOOM_CHECK_LT(pos, text.size());
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const size_t avail = text.size() - pos;
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) {
    *cp = b0;
    *len = 1;
    return true;
  }
  // Lead byte -> sequence length and the allowed range of the second byte, which is where
  // overlong forms (E0, F0), surrogates (ED) and values above U+10FFFF (F4) are excluded.
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return false;  // a continuation byte, C0/C1 (always overlong) or F5..FF
  }
  if (avail < n) return false;
  if (byte(1) < lo || byte(1) > hi) return false;
  for (size_t i = 1; i < n; ++i) {
    if (!is_continuation(byte(i))) return false;
    value = (value << 6) | (byte(i) & 0x3F);
  }
  *cp = value;
  *len = n;
  return true;
}

void append_utf8(char32_t cp, std::string* out) {
  LOOM_CHECK(is_valid_code_point(cp)) << "code point " << static_cast<uint32_t>(cp);
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Status invalid_utf8_error(std::string_view text, size_t pos, const std::string& what) {
  // Show the lead byte and as many following bytes as its sequence claims (one if the
  // lead byte cannot start a sequence), so the reader sees exactly what was rejected.
  const unsigned char b0 = static_cast<unsigned char>(text[pos]);
  size_t n = 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF) n = 3;
  else if (b0 >= 0xF0 && b0 <= 0xF4) n = 4;
  // Stop after the first byte that is not a continuation: it is where the sequence broke.
  std::string bytes;
  size_t shown = 0;
  bool broken = false;
  for (size_t i = pos; i < text.size() && i < pos + n && !broken; ++i, ++shown) {
    const auto b = static_cast<unsigned char>(text[i]);
    broken = i > pos && !is_continuation(b);
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%s0x%02X", i > pos ? " " : "", static_cast<unsigned>(b));
    bytes += buf;
  }
  if (!broken && shown < n) bytes += ", then the text ends";
  return invalid_argument(what + " is not valid UTF-8 at byte offset " + std::to_string(pos) +
                          " (" + (n > 1 ? "bytes " : "byte ") + bytes + ")");
}

Status validate_utf8(std::string_view text, const std::string& what) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp;
    size_t len;
    if (!decode_utf8(text, pos, &cp, &len)) return invalid_utf8_error(text, pos, what);
    pos += len;
  }
  return ok_status();
}

std::string describe_code_point(char32_t cp) {
  switch (cp) {
    case '\n': return "'\\n' (U+000A)";
    case '\t': return "'\\t' (U+0009)";
    case '\r': return "'\\r' (U+000D)";
    default: break;
  }
  if (!is_valid_code_point(cp) || is_invisible(cp)) return hex_code_point(cp);
  std::string s = "'";
  append_utf8(cp, &s);
  return s + "' (" + hex_code_point(cp) + ")";
}

std::string quote_text(std::string_view text, size_t max_bytes) {
  std::string out = "'";
  size_t pos = 0;
  while (pos < text.size()) {
    if (pos >= max_bytes) {
      out += "...";
      break;
    }
    char32_t cp;
    size_t len;
    char buf[16];
    if (!decode_utf8(text, pos, &cp, &len)) {
      std::snprintf(buf, sizeof(buf), "\\x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[pos])));
      out += buf;
      ++pos;
      continue;
    }
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\'' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (is_invisible(cp)) {
      std::snprintf(buf, sizeof(buf), "\\u{%X}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text.substr(pos, len));
    }
    pos += len;
  }
  return out + "'";
}

}  // namespace loom
