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

// The classes the scanners work with: CharClass plus kBoundary, the characters a family cuts
// out before the GPT-2 regex runs (StarCoder: each \p{N}; Falcon: runs of punctuation). A
// GPT-2 run never continues over a boundary character, and whitespace before one is scanned
// as if the text ended there.
enum class Cls : unsigned char { kLetter, kNumber, kWhitespace, kOther, kBoundary };

constexpr Cls to_cls(CharClass c) { return static_cast<Cls>(c); }

// ASCII punctuation, which Hugging Face's Punctuation pre-tokenizer adds to \p{P} (it holds
// the symbols $ + < = > ^ ` | ~).
constexpr bool is_ascii_punct(unsigned c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
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

template <PreTokenizerKind K>
constexpr std::array<Cls, 128> make_ascii_cls() {
  std::array<Cls, 128> t{};
  for (unsigned c = 0; c < 128; ++c) {
    t[c] = to_cls(kAsciiClasses[c]);
    if (K == PreTokenizerKind::kStarcoder && t[c] == Cls::kNumber) t[c] = Cls::kBoundary;
    if (K == PreTokenizerKind::kFalcon && is_ascii_punct(c)) t[c] = Cls::kBoundary;
  }
  return t;
}

template <PreTokenizerKind K>
constexpr std::array<Cls, 128> kAsciiCls = make_ascii_cls<K>();

// The class of a non-ASCII code point for family K, from one utf8proc category lookup.
template <PreTokenizerKind K>
Cls cls_of(char32_t cp) {
  if (is_white_space(cp)) return Cls::kWhitespace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return Cls::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return K == PreTokenizerKind::kStarcoder ? Cls::kBoundary : Cls::kNumber;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return K == PreTokenizerKind::kFalcon ? Cls::kBoundary : Cls::kOther;
    default:
      return Cls::kOther;
  }
}

struct CharInfo {
  Cls cls;
  size_t len;  // bytes
};

// The class and length of the character at `pos`; an invalid byte is one "other" character.
template <PreTokenizerKind K>
inline CharInfo char_at(std::string_view text, size_t pos) {
  const auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) return {kAsciiCls<K>[b], 1};
  char32_t cp;
  size_t len;
  if (!decode_utf8(text, pos, &cp, &len)) return {Cls::kOther, 1};
  return {cls_of<K>(cp), len};
}

// The end of the run of `cls` characters starting at `pos`.
template <PreTokenizerKind K>
inline size_t run_end(std::string_view text, size_t pos, Cls cls) {
  while (pos < text.size()) {
    const auto b = static_cast<unsigned char>(text[pos]);
    if (b < 0x80) {
      if (kAsciiCls<K>[b] != cls) break;
      ++pos;
      continue;
    }
    const CharInfo c = char_at<K>(text, pos);
    if (c.cls != cls) break;
    pos += c.len;
  }
  return pos;
}

// The end of the word (GPT-2 regex piece, within the family's boundaries) starting at `pos`.
template <PreTokenizerKind K>
size_t word_end(std::string_view text, size_t pos) {
  const size_t n = text.size();
  const CharInfo first = char_at<K>(text, pos);
  if (first.cls == Cls::kBoundary) {
    // StarCoder isolates each digit; Falcon keeps a punctuation run together (the GPT-2
    // regex then takes the run whole: every punctuation character is in its "other" class).
    if (K == PreTokenizerKind::kStarcoder) return pos + first.len;
    return run_end<K>(text, pos + first.len, Cls::kBoundary);
  }
  const char c0 = text[pos];
  // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive). Falcon never gets here with a quote: it is
  // punctuation there.
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
    const CharInfo next = char_at<K>(text, pos + 1);
    if (next.cls != Cls::kWhitespace && next.cls != Cls::kBoundary)
      return run_end<K>(text, pos + 1 + next.len, next.cls);
  }
  // ... and without it
  if (first.cls != Cls::kWhitespace) return run_end<K>(text, pos + first.len, first.cls);
  // `\s+(?!\S)|\s+`: the whole run at the end of the text (or before a boundary) or when only
  // one character long, else the run without its last character, which then starts the next
  // piece.
  size_t last = pos;
  size_t end = pos;
  Cls after = Cls::kBoundary;  // what follows the run; the end of the text acts as a boundary
  while (end < n) {
    const CharInfo c = char_at<K>(text, end);
    if (c.cls != Cls::kWhitespace) {
      after = c.cls;
      break;
    }
    last = end;
    end += c.len;
  }
  if (after == Cls::kBoundary || last == pos) return end;
  return last;
}

// Falcon's steps after the GPT-2 regex, which see the word as byte-level characters
// (byte_unicode.h): Digits (contiguous runs of numeric characters are cut out; the numeric
// ones are the ASCII digits and the bytes 0xB2 0xB3 0xB9 0xBC 0xBD 0xBE, which the byte map
// leaves as ² ³ ¹ ¼ ½ ¾), then [0-9][0-9][0-9] cut out leftmost first. Returns the end of the
// piece starting at `pos` inside the word ending at `end`.
inline bool falcon_numeric(unsigned char b) {
  return (b >= '0' && b <= '9') || b == 0xB2 || b == 0xB3 || b == 0xB9 || b == 0xBC || b == 0xBD || b == 0xBE;
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

size_t falcon_piece_end(std::string_view text, size_t pos, size_t end) {
  const bool numeric = falcon_numeric(static_cast<unsigned char>(text[pos]));
  size_t r = pos + 1;
  while (r < end && falcon_numeric(static_cast<unsigned char>(text[r])) == numeric) ++r;
  if (!numeric) return r;
  for (size_t i = pos; i + 3 <= r; ++i) {
    if (is_digit(text[i]) && is_digit(text[i + 1]) && is_digit(text[i + 2])) return i == pos ? pos + 3 : i;
  }
  return r;
}

inline bool is_ascii_space(char c) { return c == ' ' || (c >= 0x09 && c <= 0x0D); }

}  // namespace

CharClass char_class(char32_t cp) {
  if (cp < 0x80) return kAsciiClasses[cp];
  return static_cast<CharClass>(cls_of<PreTokenizerKind::kGpt2>(cp));
}

std::string_view pre_tokenizer_name(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kGpt2: return "gpt2";
    case PreTokenizerKind::kStarcoder: return "starcoder";
    case PreTokenizerKind::kFalcon: return "falcon";
  }
  LOOM_CHECK(false) << "unknown PreTokenizerKind " << static_cast<int>(kind);
  return {};
}

std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name) {
  for (PreTokenizerKind k : {PreTokenizerKind::kGpt2, PreTokenizerKind::kStarcoder, PreTokenizerKind::kFalcon})
    if (pre_tokenizer_name(k) == name) return k;
  return std::nullopt;
}

std::string_view pre_tokenizer_regex(PreTokenizerKind kind) {
  return kind == PreTokenizerKind::kGpt2 ? kGpt2Regex : std::string_view();
}

std::optional<PreTokenizerKind> pre_tokenizer_from_regex(std::string_view regex) {
  if (regex == kGpt2Regex) return PreTokenizerKind::kGpt2;
  return std::nullopt;
}

bool PreTokenCursor::next(size_t* begin, size_t* end) {
  if (pos_ >= text_.size()) return false;
  if (pos_ >= word_end_) {
    switch (kind_) {
      case PreTokenizerKind::kGpt2: word_end_ = word_end<PreTokenizerKind::kGpt2>(text_, pos_); break;
      case PreTokenizerKind::kStarcoder: word_end_ = word_end<PreTokenizerKind::kStarcoder>(text_, pos_); break;
      case PreTokenizerKind::kFalcon: word_end_ = word_end<PreTokenizerKind::kFalcon>(text_, pos_); break;
    }
  }
  *begin = pos_;
  pos_ = kind_ == PreTokenizerKind::kFalcon ? falcon_piece_end(text_, pos_, word_end_) : word_end_;
  *end = pos_;
  return true;
}

void pre_tokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>* out) {
  PreTokenCursor cursor(kind, text);
  size_t begin;
  size_t end;
  while (cursor.next(&begin, &end)) out->push_back(text.substr(begin, end - begin));
}

size_t find_safe_cut(PreTokenizerKind kind, std::string_view text, size_t max) {
  (void)kind;
  if (max >= text.size()) return text.size();
  // No alternative of the GPT-2 regex matches a non-space followed by a space, so a pre-token
  // ends between them; the left side ends in a non-space, so the whitespace lookahead cannot
  // see across the cut either. ASCII bytes are never inside a multi-byte character, so their
  // classes are certain. The same holds for StarCoder and Falcon: their extra cuts only add
  // boundaries, and Falcon's steps after the regex work inside a piece.
  for (size_t p = max; p > 0; --p) {
    const char before = text[p - 1];
    if (is_ascii_space(text[p]) && static_cast<unsigned char>(before) < 0x80 && !is_ascii_space(before)) return p;
  }
  return 0;
}

}  // namespace loom
