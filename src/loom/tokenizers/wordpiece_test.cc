// WordPiece tests: golden ids from llama.cpp's bert-bge vectors (BAAI/bge, the uncased BERT
// vocabulary, produced with Hugging Face's tokenizer) read through bert-base-uncased's
// vocab.txt, BERT's normalizer and pre-tokenizer rules one by one, Chinese, the tokenizer.json
// round trip, and bad vocab files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"
#include "loom/testing/test_support.h"
#include "loom/tokenizers/bert_encoding.h"
#include "loom/tokenizers/utf8.h"
#include "loom/tokenizers/wordpiece.h"
#include "loom/tokenizers/wordpiece_trainer.h"

namespace loom {
namespace {

std::string vocab_path(const std::string& model) {
  return testing::data_dir() + "/tokenizers/" + model + "/vocab.txt";
}

std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t i : ids) s += std::to_string(i) + " ";
  return s;
}

// A small vocabulary for rule tests: id = position.
WordPiece tiny(WordPieceOptions o = {}) {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a",
                                "##b",   "hello", ",",     "world", "!",      "cafe", "中",   "国",     "."};
  StatusOr<WordPiece> wp = WordPiece::from_vocab(v, o);
  LOOM_CHECK(wp.ok()) << wp.status().to_string();
  return std::move(wp).value();
}

std::vector<int32_t> enc(const WordPiece& wp, std::string_view text) {
  StatusOr<std::vector<int32_t>> ids = wp.encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status().to_string();
  return ids.ok() ? *ids : std::vector<int32_t>{};
}

TEST(WordPiece, GreedyLongestMatchAndUnknownWords) {
  const WordPiece wp = tiny();
  EXPECT_EQ(enc(wp, "unaffable"), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(enc(wp, "ab"), (std::vector<int32_t>{8, 9}));
  EXPECT_EQ(enc(wp, "abc"), (std::vector<int32_t>{1}));  // "##c" missing: the whole word is [UNK]
  EXPECT_EQ(enc(wp, "Hello, WORLD!"), (std::vector<int32_t>{10, 11, 12, 13}));
  EXPECT_EQ(enc(wp, ""), (std::vector<int32_t>{}));
  EXPECT_EQ(enc(wp, " \t\n "), (std::vector<int32_t>{}));
  // Longer than max_input_chars_per_word: [UNK] without trying.
  WordPieceOptions o;
  o.max_input_chars_per_word = 3;
  EXPECT_EQ(enc(tiny(o), "unaffable ab"), (std::vector<int32_t>{1, 8, 9}));
}

TEST(WordPiece, BertNormalizerRules) {
  const WordPiece wp = tiny();
  // Accents stripped (NFD, non-spacing marks dropped) and lower-cased; controls dropped;
  // U+00A0 and U+3000 are spaces; CJK ideographs are words of their own.
  EXPECT_EQ(*wp.normalize("Caf\xC3\xA9"), "cafe");
  EXPECT_EQ(*wp.normalize("a\x07" "b\xE2\x80\x8B" "c"), "abc");  // BEL (Cc), ZERO WIDTH SPACE (Cf)
  EXPECT_EQ(*wp.normalize("a\xC2\xA0" "b\xE3\x80\x80" "c"), "a b c");
  EXPECT_EQ(*wp.normalize("x\xE4\xB8\xAD\xE5\x9B\xBDy"), "x \xE4\xB8\xAD  \xE5\x9B\xBD y");
  EXPECT_EQ(enc(wp, "\xE4\xB8\xAD\xE5\x9B\xBD."), (std::vector<int32_t>{15, 16, 17}));
  EXPECT_EQ(enc(wp, "CAF\xC3\x89!"), (std::vector<int32_t>{14, 13}));
  // Cased: nothing changes case or accents.
  WordPieceOptions cased;
  cased.lowercase = false;
  EXPECT_EQ(*tiny(cased).normalize("Caf\xC3\xA9"), "Caf\xC3\xA9");
  // Punctuation includes ASCII symbols ($, +, ^, `) and Unicode P* categories.
  const std::vector<std::string_view> words = wp.pre_tokenize("a$b+c^d`e\xE2\x80\x94" "f");
  EXPECT_EQ(words, (std::vector<std::string_view>{"a", "$", "b", "+", "c", "^", "d", "`", "e", "\xE2\x80\x94", "f"}));
  // Invalid UTF-8 is an error naming the offset.
  StatusOr<std::vector<int32_t>> bad = wp.encode("ab\xFF");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("byte offset 2"), std::string::npos) << bad.status().message();
}

TEST(WordPiece, DecodeJoinsPiecesAndCleansUpSpaces) {
  const WordPiece wp = tiny();
  EXPECT_EQ(wp.decode(std::vector<int32_t>{5, 6, 7, 11, 10, 13}), "unaffable, hello!");
  EXPECT_EQ(wp.decode_token(6), "aff");
  EXPECT_EQ(wp.decode_token(10), " hello");
  EXPECT_EQ(wp.decode_token(999), " \xEF\xBF\xBD");
  EXPECT_EQ(*wp.special_tokens().cls, 2);
  EXPECT_EQ(*wp.special_tokens().mask, 4);
}

TEST(WordPiece, MatchesHuggingFaceOnTheBertBgeVectors) {
  const std::string vocab = vocab_path("bert-base-uncased");
  const std::string stem = testing::data_dir() + "/tokenizers/llama.cpp-vocab-tests/ggml-vocab-bert-bge.gguf";
  if (!file_exists(vocab) || !file_exists(stem + ".inp")) GTEST_SKIP() << vocab << " not found (set LOOM_DATA_DIR)";
  StatusOr<WordPiece> wp = WordPiece::load_vocab_txt(vocab, {});
  ASSERT_TRUE(wp.ok()) << wp.status().to_string();
  EXPECT_EQ(wp->vocab_size(), 30522);
  const std::vector<testing::VocabVector> cases = testing::read_vocab_vectors(stem);
  ASSERT_GE(cases.size(), 40u);
  auto check = [&](const WordPiece& tok, const std::string& how) {
    int failures = 0;
    for (const auto& c : cases) {
      StatusOr<std::vector<int32_t>> ids = tok.encode(c.text);
      ASSERT_TRUE(ids.ok()) << ids.status().to_string();
      if (*ids != c.ids && ++failures <= 5)
        ADD_FAILURE() << how << ": " << quote_text(c.text, 80) << "\n  got  " << ids_str(*ids) << "\n  want "
                      << ids_str(c.ids);
    }
    EXPECT_EQ(failures, 0) << how << ": " << failures << " of " << cases.size() << " texts differ";
  };
  check(*wp, "vocab.txt");
  // Through tokenizer.json (what a model directory stores) and back.
  const std::string dir = testing::fresh_temp_dir("wordpiece", "bge");
  ASSERT_TRUE(save_tokenizer(*wp, dir).ok());
  StatusOr<std::unique_ptr<Tokenizer>> again = load_tokenizer(dir);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  ASSERT_EQ((*again)->type_name(), "wordpiece");
  check(dynamic_cast<const WordPiece&>(**again), "tokenizer.json");
  // And vocab.txt written back is the same file.
  ASSERT_TRUE(wp->save_vocab_txt(dir + "/vocab.txt").ok());
  EXPECT_EQ(*read_file(dir + "/vocab.txt"), *read_file(vocab));
}

TEST(WordPiece, ChineseCharactersAreTokensOfTheirOwn) {
  const std::string vocab = vocab_path("bert-base-chinese");
  if (!file_exists(vocab)) GTEST_SKIP() << vocab << " not found (set LOOM_DATA_DIR)";
  StatusOr<WordPiece> wp = WordPiece::load_vocab_txt(vocab, {});
  ASSERT_TRUE(wp.ok()) << wp.status().to_string();
  EXPECT_EQ(wp->vocab_size(), 21128);
  EXPECT_EQ(*wp->special_tokens().unk, 100);
  EXPECT_EQ(*wp->special_tokens().cls, 101);
  // Every ideograph is looked up alone; the ids are its vocab.txt lines.
  const std::string text = "\xE6\x88\x91\xE7\x88\xB1\xE5\x8C\x97\xE4\xBA\xAC\xEF\xBC\x81";  // 我爱北京！
  StatusOr<std::vector<int32_t>> ids = wp->encode(text);
  ASSERT_TRUE(ids.ok());
  std::vector<int32_t> want;
  for (const char* ch : {"\xE6\x88\x91", "\xE7\x88\xB1", "\xE5\x8C\x97", "\xE4\xBA\xAC", "\xEF\xBC\x81"})
    want.push_back(*wp->token_to_id(ch));
  EXPECT_EQ(*ids, want);
  EXPECT_EQ(wp->decode(*ids), "\xE6\x88\x91 \xE7\x88\xB1 \xE5\x8C\x97 \xE4\xBA\xAC \xEF\xBC\x81");
}

TEST(BertEncoding, FramesPairsTruncatesLongestFirstAndPads) {
  const WordPiece wp = tiny();  // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3
  BertEncodeOptions o;
  StatusOr<BertEncoding> one = encode_for_bert(wp, "hello world", std::nullopt, o);
  ASSERT_TRUE(one.ok()) << one.status().to_string();
  EXPECT_EQ(one->ids, (std::vector<int32_t>{2, 10, 12, 3}));
  EXPECT_EQ(one->token_type_ids, (std::vector<int32_t>{0, 0, 0, 0}));
  EXPECT_EQ(one->attention_mask, (std::vector<int32_t>{1, 1, 1, 1}));
  EXPECT_EQ(one->truncated, 0);

  StatusOr<BertEncoding> two = encode_for_bert(wp, "hello", std::string_view("world !"), o);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->ids, (std::vector<int32_t>{2, 10, 3, 12, 13, 3}));
  EXPECT_EQ(two->token_type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));

  // Longest first: "unaffable , hello" (5 tokens) and "world !" (2) into 4 slots: the
  // shorter fits in half, the longer is cut to the other half. Equal lengths into an odd
  // budget: the first keeps the smaller half.
  o.max_length = 7;
  StatusOr<BertEncoding> cut = encode_for_bert(wp, "unaffable, hello", std::string_view("world!"), o);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->ids, (std::vector<int32_t>{2, 5, 6, 3, 12, 13, 3}));
  EXPECT_EQ(cut->truncated, 3);
  o.max_length = 10;  // 5 and 4 tokens into 7: both cut, the longer keeps the odd one
  StatusOr<BertEncoding> both = encode_for_bert(wp, "unaffable, hello", std::string_view("hello world hello!"), o);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->ids, (std::vector<int32_t>{2, 5, 6, 7, 11, 3, 10, 12, 10, 3}));
  EXPECT_EQ(both->truncated, 2);
  o.max_length = 6;
  StatusOr<BertEncoding> tie = encode_for_bert(wp, "a b", std::string_view("a b"), o);
  ASSERT_TRUE(tie.ok());
  EXPECT_EQ(tie->ids, (std::vector<int32_t>{2, 8, 3, 8, 1, 3}));  // "b" alone is [UNK] (only "##b" exists)

  // Padding to max_length with [PAD], mask 0.
  o.max_length = 8;
  o.pad = true;
  StatusOr<BertEncoding> padded = encode_for_bert(wp, "hello", std::nullopt, o);
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded->ids, (std::vector<int32_t>{2, 10, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(padded->attention_mask, (std::vector<int32_t>{1, 1, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(padded->token_type_ids, (std::vector<int32_t>(8, 0)));

  // Too short for the special tokens: a clear error.
  o.max_length = 2;
  StatusOr<BertEncoding> tiny_max = encode_for_bert(wp, "a", std::string_view("b"), o);
  ASSERT_FALSE(tiny_max.ok());
  EXPECT_NE(tiny_max.status().message().find("max_length is 2; it must be at least 3"), std::string::npos)
      << tiny_max.status().message();
}

TEST(WordPiece, BadVocabFilesNameFileLineAndProblem) {
  const std::string dir = testing::fresh_temp_dir("wordpiece", "bad");
  auto load = [&](const std::string& name, const std::string& content) {
    const std::string path = dir + "/" + name;
    LOOM_CHECK(write_file_atomic(path, content).ok());
    return WordPiece::load_vocab_txt(path, {});
  };
  StatusOr<WordPiece> dup = load("dup.txt", "[UNK]\nab\ncd\nab\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("line 4"), std::string::npos) << dup.status().message();
  EXPECT_NE(dup.status().message().find("duplicates line 2"), std::string::npos) << dup.status().message();
  StatusOr<WordPiece> empty_line = load("empty.txt", "[UNK]\n\nab\n");
  ASSERT_FALSE(empty_line.ok());
  EXPECT_NE(empty_line.status().message().find("line 2 is empty"), std::string::npos) << empty_line.status().message();
  StatusOr<WordPiece> no_unk = load("nounk.txt", "ab\ncd\n");
  ASSERT_FALSE(no_unk.ok());
  EXPECT_NE(no_unk.status().message().find("[UNK]"), std::string::npos) << no_unk.status().message();
  EXPECT_NE(no_unk.status().message().find("nounk.txt"), std::string::npos) << no_unk.status().message();
  StatusOr<WordPiece> missing = WordPiece::load_vocab_txt(dir + "/absent.txt", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("absent.txt"), std::string::npos);
  // CRLF files read the same as LF files.
  StatusOr<WordPiece> crlf = load("crlf.txt", "[UNK]\r\nab\r\n");
  ASSERT_TRUE(crlf.ok()) << crlf.status().to_string();
  EXPECT_EQ(crlf->token_to_id("ab"), 1);
}

TEST(WordPieceTrainer, LearnsMergesByFrequencyWithContinuationPieces) {
  // hug x10, pug x5, pun x12, bun x4, hugs x5. Pairs: ##u ##g 20 first, then ##u ##n 16,
  // h ##ug 15, p ##un 12, then a tie at 5 between p ##ug and hug ##s: "hug" < "p" wins.
  const std::string dir = testing::fresh_temp_dir("wordpiece", "train");
  std::string text;
  auto add = [&](const char* w, int n) {
    for (int i = 0; i < n; ++i) text += std::string(w) + " ";
  };
  add("Hug", 10);  // lower-cased by the normalizer
  add("pug", 5);
  add("pun", 12);
  add("bun", 4);
  add("hugs", 5);
  const std::string path = dir + "/corpus.txt";
  ASSERT_TRUE(write_file_atomic(path, text).ok());
  WordPieceTrainerOptions o;
  o.min_frequency = 1;
  o.vocab_size = 5 + 7 + 5;
  BpeTrainingReport report;
  auto wp = train_wordpiece_files({path}, o, &report);
  ASSERT_TRUE(wp.ok()) << wp.status().to_string();
  std::vector<std::string> vocab;
  for (int32_t id = 0; id < wp->vocab_size(); ++id) vocab.push_back(*wp->id_to_token(id));
  EXPECT_EQ(vocab, (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##g", "##n", "##s", "##u",
                                             "b", "h", "p", "##ug", "##un", "hug", "pun", "hugs"}));
  EXPECT_EQ(report.merges, 5);
  EXPECT_EQ(report.distinct_pre_tokens, 5);
  auto ids = wp->encode("bugs hug");
  ASSERT_TRUE(ids.ok());
  // b ##ug ##s, hug
  EXPECT_EQ(*ids, (std::vector<int32_t>{9, 12, 7, 14}));

  // Deterministic, and a vocabulary too small for the alphabet is an error that says so.
  auto again = train_wordpiece_files({path}, o, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->to_json().dump(), wp->to_json().dump());
  o.vocab_size = 8;
  auto small = train_wordpiece_files({path}, o, nullptr);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("7 distinct characters"), std::string::npos) << small.status().message();
}

}  // namespace
}  // namespace loom
