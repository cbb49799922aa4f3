// Pre-tokenizers: how text is cut into pieces ("pre-tokens") before BPE merges run inside each
// piece. Every byte-level BPE family defines its cut with a regular expression; loom implements
// each one by hand as a scanner (no regex engine: std::regex has no \p{L}, and a hand scanner is
// several times faster), with Unicode general categories from utf8proc.
//
// A family is a named variant, PreTokenizerKind, and PreTokenCursor switches on it. Today:
//
//   kGpt2       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//               GPT-2, GPT-J, GPT-NeoX/Pythia, RoBERTa, OPT, MPT, OLMo (llama.cpp "gpt-2").
//   kStarcoder  every \p{N} character alone, then kGpt2 on the rest (StarCoder, llama.cpp
//               "starcoder"; Hugging Face: Digits(individual_digits) then ByteLevel).
//   kFalcon     runs of [\p{P}$+<=>^`|~] alone, kGpt2 on each piece, then, on the piece's
//               byte-level spelling, runs of numeric characters alone and [0-9]{3} alone,
//               leftmost first (Falcon, llama.cpp "falcon"; Hugging Face: Punctuation,
//               ByteLevel, Digits, Split). The numeric characters of a byte-level spelling are
//               the ASCII digits and the bytes 0xB2 0xB3 0xB9 0xBC-0xBE, which the byte map
//               spells ² ³ ¹ ¼ ½ ¾: so Falcon cuts "ò" (C3 B2) into two pieces, as Hugging
//               Face does.
//
// Classes, as Hugging Face tokenizers (Oniguruma) and the Python `regex` module read them:
// \p{L} is general category L* (Lu Ll Lt Lm Lo), \p{N} is N* (Nd Nl No), \s is the Unicode
// White_Space property (U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000). Alternatives are tried left to right at each position
// and the first that matches wins, with the regex's backtracking spelled out: `\s+(?!\S)` takes
// a whitespace run but leaves its last character to the next piece when a non-space follows, so
// "a  b" is "a", " ", " b".
//
// Input is bytes, not necessarily valid UTF-8 (byte-level BPE must encode any byte string): a
// byte that does not start a valid UTF-8 sequence counts as one character of the "other" class
// ([^\s\p{L}\p{N}]), so it joins neighbouring punctuation. Pieces are always substrings of the
// input that concatenate back to it.
//
// Adding a family (e.g. for a GGUF vocabulary's tokenizer.ggml.pre): add an enumerator and its
// name, and teach the scanner its cuts. Families written as several regexes applied one after
// another (llama.cpp's regex_exprs lists, a tokenizer.json Sequence) split each piece of the
// previous stage again, matched and unmatched spans both kept. The classes families beyond
// these use are \p{S} (S*) and \p{M} (M*), utf8proc categories too, case-insensitive
// contractions, bounded repeats like \p{N}{1,3}, and explicit code point ranges (CJK, Hangul).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace loom {

enum class PreTokenizerKind {
  kGpt2,
  kStarcoder,  // each \p{N} isolated, then GPT-2's regex (Hugging Face: Digits(individual) + ByteLevel)
  kFalcon,     // runs of [\p{P}$+<=>^`|~] isolated, GPT-2's regex, then on the byte-level
               // characters: numeric runs isolated (Digits), [0-9]{3} isolated (Split)
};

// The regex classes a scanner needs. Every code point is in exactly one.
enum class CharClass : unsigned char {
  kLetter,      // \p{L}
  kNumber,      // \p{N}
  kWhitespace,  // \s (White_Space)
  kOther,       // everything else, and bytes that are not valid UTF-8
};

// The class of a Unicode scalar value.
CharClass char_class(char32_t cp);

// "gpt2": the name tokenizer files and flags use for a kind.
std::string_view pre_tokenizer_name(PreTokenizerKind kind);
std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name);

// The regex a kind implements, spelled as in a tokenizer.json Split pre-tokenizer (which is
// how files other than GPT-2's own name it), or empty for the kinds that are several steps;
// and the kind for such a regex.
std::string_view pre_tokenizer_regex(PreTokenizerKind kind);
std::optional<PreTokenizerKind> pre_tokenizer_from_regex(std::string_view regex);

// Walks the pre-tokens of `text` in order; they are views into it and concatenate back to it.
//   PreTokenCursor cursor(kind, text);
//   for (size_t b, e; cursor.next(&b, &e);) use(text.substr(b, e - b));
class PreTokenCursor {
 public:
  PreTokenCursor(PreTokenizerKind kind, std::string_view text) : kind_(kind), text_(text) {}
  // The next pre-token as [*begin, *end); false at the end of the text.
  bool next(size_t* begin, size_t* end);

 private:
  PreTokenizerKind kind_;
  std::string_view text_;
  size_t pos_ = 0;
  size_t word_end_ = 0;  // end of the current GPT-2-regex piece, which Falcon cuts further
};

// All pre-tokens of `text` in order, appended to `*out` (views into `text`).
void pre_tokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>* out);

// A place to cut `text` so that pre-tokenizing the two sides separately gives exactly the
// pre-tokens of the whole: the largest such p with 0 < p <= max, or 0 if there is none in that
// range; text.size() if max >= text.size(). Lets a caller stream a large corpus in chunks and
// still get the ids (or the training counts) of the whole text. Only cuts this file can prove
// safe are returned (an ASCII non-space followed by an ASCII space character), so
// some safe places are missed, never the other way round.
size_t find_safe_cut(PreTokenizerKind kind, std::string_view text, size_t max);

}  // namespace loom
