// Pre-tokenizers: how text is cut into pieces ("pre-tokens") before BPE merges run inside each
// piece. Every byte-level BPE family defines its cut with a regular expression; loom implements
// each one by hand as a scanner (no regex engine: std::regex has no \p{L}, and a hand scanner is
// several times faster), with Unicode general categories from utf8proc.
//
// A family is a named variant, PreTokenizerKind, and pre_token_end() switches on it. Today:
//
//   kGpt2   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//           GPT-2, GPT-J, GPT-NeoX/Pythia, RoBERTa, OPT, MPT, OLMo (llama.cpp pre-type "gpt-2").
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
// Adding a family (e.g. for a GGUF vocabulary's tokenizer.ggml.pre): add an enumerator, its name
// and regex to the tables in pre_tokenizer.cc, and a scanner. Families written as several
// regexes applied one after another (llama.cpp's regex_exprs lists, or a tokenizer.json
// Sequence of Split pre-tokenizers with behavior Isolated) split each piece of the previous
// stage again, matched and unmatched spans both kept: StarCoder isolates every \p{N} first, then
// applies the GPT-2 regex; Falcon isolates [\p{P}\$\+<=>\^~\|`]+ runs, then the GPT-2 regex,
// then [0-9][0-9][0-9] (llama.cpp llama-vocab.cpp). Their classes beyond this file's are \p{P}
// (P*), \p{S} (S*) and \p{M} (M*) — all utf8proc categories — case-insensitive contractions,
// bounded repeats like \p{N}{1,3}, and explicit code point ranges (CJK, Hangul).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace loom {

enum class PreTokenizerKind {
  kGpt2,
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
// how files other than GPT-2's own name it); and the kind for such a regex.
std::string_view pre_tokenizer_regex(PreTokenizerKind kind);
std::optional<PreTokenizerKind> pre_tokenizer_from_regex(std::string_view regex);

// The end (exclusive byte offset) of the pre-token that starts at byte `pos` of `text`.
// REQUIRES: pos < text.size(). Always returns a value in (pos, text.size()].
size_t pre_token_end(PreTokenizerKind kind, std::string_view text, size_t pos);

// All pre-tokens of `text` in order, appended to `*out` (views into `text`).
void pre_tokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>* out);

// A place to cut `text` so that pre-tokenizing the two sides separately gives exactly the
// pre-tokens of the whole: the largest such p with 0 < p <= max, or 0 if there is none in that
// range; text.size() if max >= text.size(). Lets a caller stream a large corpus in chunks and
// still get the ids (or the training counts) of the whole text. Only cuts this file can prove
// safe are returned (for kGpt2: an ASCII non-space followed by an ASCII space character), so
// some safe places are missed, never the other way round.
size_t find_safe_cut(PreTokenizerKind kind, std::string_view text, size_t max);

}  // namespace loom
