// The pre-tokenizer scanners (see pre_tokenizer.h): character classes from utf8proc with an
// ASCII table in front, and GPT-2's regex as a hand-written scanner.
#include "loom/tokenizers/pre_tokenizer.h"

#include <array>

#include <utf8proc.h>

#include "loom/base/check.h"
#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// White_Space in Unicode's PropList.txt; it has not changed since Unicode 6.3.
bool is_white_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

CharClass class_from_category(char32_t cp) {
  if (is_white_space(cp)) return CharClass::kWhitespace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    default:
      return CharClass::kOther;
  }
}

constexpr std::array<CharClass, 128> make_ascii_classes() {
  std::array<CharClass, 128> t{};
  for (unsigned c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      t[c] = CharClass::kLetter;
    } else if (c >= '0' && c <= '9') {
      t[c] = CharClass::kNumber;
    } else if ((c >= 0x09 && c <= 0x0D) || c == ' ') {
      t[c] = CharClass::kWhitespace;
    } else {
      t[c] = CharClass::kOther;
    }
  }
  return t;
}

constexpr std::array<CharClass, 128> kAsciiClasses = make_ascii_classes();

struct CharInfo {
  CharClass cls;
  size_t len;  // bytes
};

// The class and length of the character at `pos`; an invalid byte is one "other" character.
inline CharInfo char_at(std::string_view text, size_t pos) {
  const auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) return {kAsciiClasses[b], 1};
  char32_t cp;
  size_t len;
  if (!decode_utf8(text, pos, &cp, &len)) return {CharClass::kOther, 1};
  return {class_from_category(cp), len};
}

// The end of the run of `cls` characters starting at `pos`.
inline size_t run_end(std::string_view text, size_t pos, CharClass cls) {
  while (pos < text.size()) {
    const auto b = static_cast<unsigned char>(text[pos]);
    if (b < 0x80) {
      if (kAsciiClasses[b] != cls) break;
      ++pos;
      continue;
    }
    const CharInfo c = char_at(text, pos);
    if (c.cls != cls) break;
    pos += c.len;
  }
  return pos;
}

size_t gpt2_end(std::string_view text, size_t pos) {
  const size_t n = text.size();
  const char c0 = text[pos];
  // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
  if (c0 == '\'' && pos + 1 < n) {
    const char c1 = text[pos + 1];
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return pos + 2;
    if (pos + 2 < n) {
      const char c2 = text[pos + 2];
      if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return pos + 3;
    }
  }
  // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+` with the optional space taken
  if (c0 == ' ' && pos + 1 < n) {
    const CharInfo next = char_at(text, pos + 1);
    if (next.cls != CharClass::kWhitespace) return run_end(text, pos + 1 + next.len, next.cls);
  }
  // ... and without it
  const CharInfo first = char_at(text, pos);
  if (first.cls != CharClass::kWhitespace) return run_end(text, pos + first.len, first.cls);
  // `\s+(?!\S)|\s+`: the whole run at the end of the text or when only one character long,
  // else the run without its last character, which then starts the next piece.
  size_t last = pos;
  size_t end = pos;
  while (end < n) {
    const CharInfo c = char_at(text, end);
    if (c.cls != CharClass::kWhitespace) break;
    last = end;
    end += c.len;
  }
  if (end == n || last == pos) return end;
  return last;
}

inline bool is_ascii_space(char c) { return c == ' ' || (c >= 0x09 && c <= 0x0D); }

}  // namespace

CharClass char_class(char32_t cp) {
  if (cp < 0x80) return kAsciiClasses[cp];
  return class_from_category(cp);
}

std::string_view pre_tokenizer_name(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kGpt2: return "gpt2";
  }
  LOOM_CHECK(false) << "unknown PreTokenizerKind " << static_cast<int>(kind);
  return {};
}

std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name) {
  if (name == "gpt2") return PreTokenizerKind::kGpt2;
  return std::nullopt;
}

std::string_view pre_tokenizer_regex(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kGpt2: return kGpt2Regex;
  }
  LOOM_CHECK(false) << "unknown PreTokenizerKind " << static_cast<int>(kind);
  return {};
}

std::optional<PreTokenizerKind> pre_tokenizer_from_regex(std::string_view regex) {
  if (regex == kGpt2Regex) return PreTokenizerKind::kGpt2;
  return std::nullopt;
}

size_t pre_token_end(PreTokenizerKind kind, std::string_view text, size_t pos) {
  LOOM_CHECK_LT(pos, text.size());
  switch (kind) {
    case PreTokenizerKind::kGpt2: return gpt2_end(text, pos);
  }
  LOOM_CHECK(false) << "unknown PreTokenizerKind " << static_cast<int>(kind);
  return text.size();
}

void pre_tokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = pre_token_end(kind, text, pos);
    out->push_back(text.substr(pos, end - pos));
    pos = end;
  }
}

size_t find_safe_cut(PreTokenizerKind kind, std::string_view text, size_t max) {
  if (max >= text.size()) return text.size();
  switch (kind) {
    case PreTokenizerKind::kGpt2:
      // No alternative of the GPT-2 regex matches a non-space followed by a space, so a
      // pre-token ends between them; the left side ends in a non-space, so the whitespace
      // lookahead cannot see across the cut either. ASCII bytes are never inside a
      // multi-byte character, so their classes are certain.
      for (size_t p = max; p > 0; --p) {
        const char before = text[p - 1];
        if (is_ascii_space(text[p]) && static_cast<unsigned char>(before) < 0x80 && !is_ascii_space(before))
          return p;
      }
      return 0;
  }
  LOOM_CHECK(false) << "unknown PreTokenizerKind " << static_cast<int>(kind);
  return 0;
}

}  // namespace loom
