// Tests for the pre-tokenizers and the byte-to-unicode map: GPT-2's regex on a table of
// hand-checked cases (contractions, the whitespace lookahead, Unicode classes, invalid bytes),
// pieces always concatenating to the input, find_safe_cut never changing the pieces, and the
// exact bytes_to_unicode table of openai/gpt-2's encoder.py.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "loom/tokenizers/byte_unicode.h"
#include "loom/tokenizers/pre_tokenizer.h"
#include "loom/tokenizers/utf8.h"

namespace loom {
namespace {

std::vector<std::string> split(std::string_view text, PreTokenizerKind kind = PreTokenizerKind::kGpt2) {
  std::vector<std::string_view> views;
  pre_tokenize(kind, text, &views);
  return std::vector<std::string>(views.begin(), views.end());
}

using Pieces = std::vector<std::string>;

struct SplitCase {
  std::string text;
  Pieces pieces;
};

TEST(Gpt2PreTokenizer, SplitsLikeTheRegex) {
  const std::vector<SplitCase> cases = {
      {"", {}},
      {"Hello world", {"Hello", " world"}},
      {"Hello, world!", {"Hello", ",", " world", "!"}},
      // Contractions are case-sensitive and only these seven.
      {"I've 'told he's", {"I", "'ve", " '", "told", " he", "'s"}},
      {"'RE 'M we'Ve a'lL", {"'", "RE", " '", "M", " we", "'", "Ve", " a", "'", "lL"}},
      {"'s'd'll'x", {"'s", "'d", "'ll", "'", "x"}},
      {"'''s", {"'''", "s"}},
      // \s+(?!\S): a run before a non-space leaves its last character to the next piece.
      {"a  b", {"a", " ", " b"}},
      {"a   b", {"a", "  ", " b"}},
      {"a \t b", {"a", " \t", " b"}},
      {"\n =", {"\n", " ="}},
      {"a\n\nB", {"a", "\n", "\n", "B"}},
      {"a\n\n", {"a", "\n\n"}},
      {"   ", {"   "}},
      {" ", {" "}},
      {"\t\n", {"\t\n"}},
      {"a \n", {"a", " \n"}},
      // Numbers, letters and other characters each make their own runs; only ' ' attaches.
      {"w048 7tuijk", {"w", "048", " 7", "tuijk"}},
      {"3.3 3..3", {"3", ".", "3", " 3", "..", "3"}},
      {"ied 4 \xC2\xBD months", {"ied", " 4", " \xC2\xBD", " months"}},  // ½ is \p{N} (No)
      {"\xE2\x85\xAB" "x", {"\xE2\x85\xAB", "x"}},                         // Ⅻ is \p{N} (Nl)
      {"F\xC3\xBChrer", {"F\xC3\xBChrer"}},
      {"\xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE \xD0\xBD\xD0\xB0", {"\xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE", " \xD0\xBD\xD0\xB0"}},
      {"\xE6\x88\x91\xE6\x83\xB3" "apple" "\xE5\xB7\xA5", {"\xE6\x88\x91\xE6\x83\xB3" "apple" "\xE5\xB7\xA5"}},
      {"1314151\xE5\xA4\xA9\xEF\xBD\x9E", {"1314151", "\xE5\xA4\xA9", "\xEF\xBD\x9E"}},
      // Combining marks (Mn) are not letters: "é" written as e + U+0301 splits.
      {"e\xCC\x81t\xC3\xA9", {"e", "\xCC\x81", "t\xC3\xA9"}},
      // Unicode whitespace: NBSP, ideographic space, NEL; zero-width space (Cf) is not one.
      {"a\xC2\xA0" "b", {"a", "\xC2\xA0", "b"}},
      {"a \xC2\xA0" "b", {"a", " ", "\xC2\xA0", "b"}},
      {"a\xE3\x80\x80\xE3\x80\x80" "b", {"a", "\xE3\x80\x80", "\xE3\x80\x80", "b"}},
      {"x\xC2\x85y", {"x", "\xC2\x85", "y"}},
      {"x\xE2\x80\x8By", {"x", "\xE2\x80\x8B", "y"}},
      {"\xF0\x9F\x9A\x80 (normal)", {"\xF0\x9F\x9A\x80", " (", "normal", ")"}},
      // Controls other than \t..\r are "other".
      {std::string("a\x1F\x00" "b", 4), {"a", std::string("\x1F\x00", 2), "b"}},
      // Bytes that are not UTF-8 are "other" characters, one byte each.
      {"a\xFF" "b", {"a", "\xFF", "b"}},
      {" \xFF\xFE!x", {" \xFF\xFE!", "x"}},
      {"\xC3 \xE4\xB8", {"\xC3", " \xE4\xB8"}},
      {"\xED\xA0\x80" "a", {"\xED\xA0\x80", "a"}},  // a UTF-16 surrogate: three invalid bytes
  };
  for (const SplitCase& c : cases) EXPECT_EQ(split(c.text), c.pieces) << quote_text(c.text, 80);
}

TEST(StarcoderPreTokenizer, IsolatesEveryNumberCharacter) {
  const std::vector<SplitCase> cases = {
      {"w048 7tuijk", {"w", "0", "4", "8", " ", "7", "tuijk"}},
      {"a  1", {"a", "  ", "1"}},  // whitespace before a digit is taken whole
      {"x \xC2\xBD!", {"x", " ", "\xC2\xBD", "!"}},  // ½ is \p{N}
      {"I've 3's", {"I", "'ve", " ", "3", "'s"}},
      {"Hello  world", {"Hello", " ", " world"}},
  };
  for (const SplitCase& c : cases)
    EXPECT_EQ(split(c.text, PreTokenizerKind::kStarcoder), c.pieces) << quote_text(c.text, 80);
}

TEST(FalconPreTokenizer, PunctuationRunsThenDigitGroups) {
  const std::vector<SplitCase> cases = {
      // Punctuation (and $+<=>^`|~) runs stand alone, so no contractions and no " !".
      {"I've a $5!?", {"I", "'", "ve", " a", " ", "$", "5", "!?"}},
      {"a  .b", {"a", "  ", ".", "b"}},
      // On the byte-level spelling: a numeric run is cut from the space before it, and
      // [0-9]{3} groups are cut leftmost first.
      {" 1234567", {" ", "123", "456", "7"}},
      {"12 3333", {"12", " ", "333", "3"}},
      // "ò" is C3 B2 and B2 is spelled "²", which is numeric: Hugging Face cuts it off.
      {"t\xC3\xB2t", {"t\xC3", "\xB2", "t"}},
      {"\xC2\xB2" "3", {"\xC2", "\xB2" "3"}},  // "²3": the GPT-2 number run, cut after "Â"
      {"x\xE2\x80\xBC", {"x", "\xE2\x80", "\xBC"}},  // "‼" (Po) ends in BC ("¼")
  };
  for (const SplitCase& c : cases)
    EXPECT_EQ(split(c.text, PreTokenizerKind::kFalcon), c.pieces) << quote_text(c.text, 80);
}

TEST(Gpt2PreTokenizer, CharacterClasses) {
  EXPECT_EQ(char_class('a'), CharClass::kLetter);
  EXPECT_EQ(char_class(U'é'), CharClass::kLetter);
  EXPECT_EQ(char_class(U'世'), CharClass::kLetter);
  EXPECT_EQ(char_class(0x02B0), CharClass::kLetter);  // modifier letter (Lm)
  EXPECT_EQ(char_class('5'), CharClass::kNumber);
  EXPECT_EQ(char_class(0x0663), CharClass::kNumber);  // Arabic-Indic three (Nd)
  EXPECT_EQ(char_class(0x00BD), CharClass::kNumber);  // ½ (No)
  for (char32_t ws : {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F,
                      0x205F, 0x3000})
    EXPECT_EQ(char_class(ws), CharClass::kWhitespace) << static_cast<uint32_t>(ws);
  for (char32_t other : {0x00, 0x1C, 0x1F, 0x7F, 0x200B, 0xFEFF, 0x0301, 0x1F642, 0xE000, 0x0378 /* unassigned */})
    EXPECT_EQ(char_class(other), CharClass::kOther) << static_cast<uint32_t>(other);
  EXPECT_EQ(char_class('_'), CharClass::kOther);
}

TEST(Gpt2PreTokenizer, NamesAndRegex) {
  EXPECT_EQ(pre_tokenizer_name(PreTokenizerKind::kGpt2), "gpt2");
  EXPECT_EQ(pre_tokenizer_from_name("gpt2"), PreTokenizerKind::kGpt2);
  EXPECT_EQ(pre_tokenizer_from_name("llama3"), std::nullopt);
  const std::string_view regex = pre_tokenizer_regex(PreTokenizerKind::kGpt2);
  EXPECT_EQ(regex, "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
  EXPECT_EQ(pre_tokenizer_from_regex(regex), PreTokenizerKind::kGpt2);
  EXPECT_EQ(pre_tokenizer_from_regex("\\p{N}"), std::nullopt);
}

// Random text over the characters that matter to the regex.
std::string random_text(std::mt19937& rng, size_t len) {
  static const std::vector<std::string> atoms = {"a", "Q", "z", "4", "0", "1", " ", " ", "\n", "\t", "\r", "'", "'s", "$", "\xC3\xB2",
                                                 "'ll", ".", "!", "\xC3\xA9", "\xC2\xA0", "\xE3\x80\x80", "\xC2\xBD",
                                                 "\xCC\x81", "\xF0\x9F\x99\x82", "\xFF", "\xE4\xB8", "\x80"};
  std::uniform_int_distribution<size_t> pick(0, atoms.size() - 1);
  std::string s;
  for (size_t i = 0; i < len; ++i) s += atoms[pick(rng)];
  return s;
}

constexpr PreTokenizerKind kKinds[] = {PreTokenizerKind::kGpt2, PreTokenizerKind::kStarcoder,
                                        PreTokenizerKind::kFalcon};

TEST(PreTokenizers, PiecesConcatenateToTheInput) {
  std::mt19937 rng(11);
  for (int it = 0; it < 3000; ++it) {
    const PreTokenizerKind kind = kKinds[it % 3];
    const std::string text = random_text(rng, 30);
    std::string joined;
    for (const std::string& p : split(text, kind)) {
      ASSERT_FALSE(p.empty());
      joined += p;
    }
    ASSERT_EQ(joined, text);
  }
}

TEST(PreTokenizers, SafeCutsDoNotChangeThePieces) {
  std::mt19937 rng(12);
  int cuts = 0;
  for (int it = 0; it < 1500; ++it) {
    const PreTokenizerKind kind = kKinds[it % 3];
    const std::string text = random_text(rng, 25);
    const Pieces whole = split(text, kind);
    for (size_t max = 1; max < text.size(); ++max) {
      const size_t cut = find_safe_cut(kind, text, max);
      ASSERT_LE(cut, max);
      if (cut == 0) continue;
      ++cuts;
      Pieces parts = split(std::string_view(text).substr(0, cut), kind);
      const Pieces right = split(std::string_view(text).substr(cut), kind);
      parts.insert(parts.end(), right.begin(), right.end());
      ASSERT_EQ(parts, whole) << pre_tokenizer_name(kind) << " " << quote_text(text, 200) << " cut at " << cut;
    }
  }
  EXPECT_GT(cuts, 1500);  // the property was exercised
  EXPECT_EQ(find_safe_cut(PreTokenizerKind::kGpt2, "ab cd", 100), 5u);
  EXPECT_EQ(find_safe_cut(PreTokenizerKind::kGpt2, "ab cd ef", 6), 5u);
  EXPECT_EQ(find_safe_cut(PreTokenizerKind::kGpt2, "ab\n\ncd", 5), 2u);  // never inside "\n\n"
  EXPECT_EQ(find_safe_cut(PreTokenizerKind::kGpt2, "abcdef", 4), 0u);
}

// openai/gpt-2 encoder.py bytes_to_unicode, spelled out.
TEST(ByteUnicode, IsGpt2sTable) {
  for (unsigned b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    if (printable) {
      EXPECT_EQ(byte_to_unicode(static_cast<uint8_t>(b)), b);
    }
    EXPECT_EQ(unicode_to_byte(byte_to_unicode(static_cast<uint8_t>(b))), b);
  }
  EXPECT_EQ(byte_to_unicode(0x00), 0x100u);
  EXPECT_EQ(byte_to_unicode(' '), 0x120u);
  EXPECT_EQ(byte_to_unicode(0x7F), 0x121u);
  EXPECT_EQ(byte_to_unicode(0xA0), 0x142u);
  EXPECT_EQ(byte_to_unicode(0xAD), 0x143u);
  EXPECT_EQ(unicode_to_byte(0x144), std::nullopt);
  EXPECT_EQ(unicode_to_byte(' '), std::nullopt);
  EXPECT_EQ(byte_order()[0], '!');
  EXPECT_EQ(byte_order()[187], 0xFF);
  EXPECT_EQ(byte_order()[188], 0x00);
  EXPECT_EQ(byte_order()[220], ' ');
  EXPECT_EQ(bytes_to_byte_level(" the\n"), "\xC4\xA0the\xC4\x8A");
  EXPECT_EQ(byte_level_to_bytes("\xC4\xA0the\xC4\x8A"), " the\n");
  EXPECT_EQ(byte_level_to_bytes("a b"), std::nullopt);  // a raw space is not in the map
  EXPECT_EQ(byte_level_to_bytes("\xFF"), std::nullopt);
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(byte_level_to_bytes(bytes_to_byte_level(all)), all);
}

}  // namespace
}  // namespace loom
