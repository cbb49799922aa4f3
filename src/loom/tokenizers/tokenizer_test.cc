// Tests for the tokenizers layer: the strict UTF-8 helpers, CharTokenizer (nanoGPT's
// tinyshakespeare vocabulary and ids as golden values, Unicode round trips, error texts),
// the exact Hugging Face tokenizer.json it writes, save/load round trips, and a table of
// corrupt or unsupported tokenizer.json files with the errors they must produce.
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/env.h"
#include "loom/base/file.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/tokenizers/tokenizer.h"
#include "loom/tokenizers/utf8.h"
#include "loom/testing/test_support.h"

namespace loom {
namespace {

using nlohmann::json;

std::string data_dir() { return env_or("LOOM_DATA_DIR", LOOM_DEFAULT_DATA_DIR); }

// A fresh directory for one test.
std::string temp_dir(const std::string& name) { return testing::fresh_temp_dir("tokenizer_test", name); }

CharTokenizer train_or_die(std::string_view text) {
  StatusOr<CharTokenizer> tok = CharTokenizer::train(text);
  LOOM_CHECK(tok.ok()) << tok.status().to_string();
  return std::move(tok).value();
}

std::vector<int32_t> encode_or_die(const Tokenizer& tok, std::string_view text) {
  StatusOr<std::vector<int32_t>> ids = tok.encode(text);
  LOOM_CHECK(ids.ok()) << ids.status().to_string();
  return *ids;
}

// The vocabulary in id order, as one string.
std::string vocab_string(const Tokenizer& tok) {
  std::string s;
  for (int32_t id = 0; id < tok.vocab_size(); ++id) s += *tok.id_to_token(id);
  return s;
}

void expect_contains(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& p : parts) EXPECT_NE(text.find(p), std::string::npos) << "'" << p << "' not in: " << text;
}

// ---------------------------------------------------------------------------------------
// UTF-8

TEST(Utf8, EveryScalarValueRoundTrips) {
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (!is_valid_code_point(cp)) continue;
    std::string s;
    append_utf8(cp, &s);
    char32_t back = 0;
    size_t len = 0;
    ASSERT_TRUE(decode_utf8(s, 0, &back, &len)) << static_cast<uint32_t>(cp);
    ASSERT_EQ(back, cp);
    ASSERT_EQ(len, s.size());
    ASSERT_EQ(len, cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u);
  }
}

TEST(Utf8, RejectsMalformedSequences) {
  const std::vector<std::string> bad = {
      "\x80",              // continuation byte without a lead
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong
      "\xE0\x80\x80",      // overlong 3-byte
      "\xE0\x9F\xBF",      // overlong 3-byte (just below U+0800)
      "\xED\xA0\x80",      // surrogate U+D800
      "\xED\xBF\xBF",      // surrogate U+DFFF
      "\xF0\x8F\xBF\xBF",  // overlong 4-byte
      "\xF4\x90\x80\x80",  // U+110000
      "\xF5\x80\x80\x80",  // lead byte beyond U+10FFFF
      "\xFF",
      "\xC3",              // truncated
      "\xE4\xB8",          // truncated
      "\xF0\x9F\x99",      // truncated
      "\xC3\x41",          // continuation missing
      "\xE4\x41\xB8",
  };
  for (const std::string& s : bad) {
    char32_t cp;
    size_t len;
    EXPECT_FALSE(decode_utf8(s, 0, &cp, &len)) << quote_text(s);
    EXPECT_FALSE(validate_utf8("ok" + s, "x").ok()) << quote_text(s);
  }
  EXPECT_TRUE(validate_utf8("plain, \xC3\xA9, \xE4\xB8\x96, \xF0\x9F\x99\x82", "x").ok());
}

TEST(Utf8, ErrorNamesOffsetAndBytes) {
  EXPECT_EQ(validate_utf8("ab\xE4\x41", "input").message(),
            "input is not valid UTF-8 at byte offset 2 (bytes 0xE4 0x41)");
  EXPECT_EQ(validate_utf8("ab\xE4\xB8", "input").message(),
            "input is not valid UTF-8 at byte offset 2 (bytes 0xE4 0xB8, then the text ends)");
  EXPECT_EQ(validate_utf8("\xC3\xA9\xFF", "input").message(),
            "input is not valid UTF-8 at byte offset 2 (byte 0xFF)");
}

TEST(Utf8, DescribesAndQuotesCharacters) {
  EXPECT_EQ(describe_code_point('a'), "'a' (U+0061)");
  EXPECT_EQ(describe_code_point(U'世'), "'世' (U+4E16)");
  EXPECT_EQ(describe_code_point('\n'), "'\\n' (U+000A)");
  EXPECT_EQ(describe_code_point(0x07), "U+0007");
  EXPECT_EQ(describe_code_point(0x200B), "U+200B");
  EXPECT_EQ(describe_code_point(0x1F642), "'\xF0\x9F\x99\x82' (U+1F642)");
  EXPECT_EQ(quote_text("a\nb\xE2\x80\x8B" "c\xFF"), "'a\\nb\\u{200B}c\\xFF'");
  EXPECT_EQ(quote_text(std::string(100, 'x'), 10), "'xxxxxxxxxx...'");
}

// ---------------------------------------------------------------------------------------
// CharTokenizer on tinyshakespeare: nanoGPT's shakespeare_char vocabulary and ids.

TEST(CharTokenizer, TinyShakespeareMatchesNanoGpt) {
  const std::string path = data_dir() + "/tinyshakespeare/input.txt";
  if (!file_exists(path)) GTEST_SKIP() << path << " not found (set LOOM_DATA_DIR)";
  StatusOr<std::string> text = read_file(path);
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  CharTokenizer tok = train_or_die(*text);

  // nanoGPT data/shakespeare_char/prepare.py: chars = sorted(list(set(data))).
  EXPECT_EQ(tok.vocab_size(), 65);
  EXPECT_EQ(vocab_string(tok),
            "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(tok.token_to_id("\n"), 0);
  EXPECT_EQ(tok.token_to_id(" "), 1);
  EXPECT_EQ(tok.token_to_id("A"), 13);
  EXPECT_EQ(tok.token_to_id("a"), 39);
  EXPECT_EQ(encode_or_die(tok, "hii there"), (std::vector<int32_t>{46, 47, 47, 1, 58, 46, 43, 56, 43}));

  std::vector<int32_t> ids = encode_or_die(tok, *text);
  EXPECT_EQ(ids.size(), text->size());  // all ASCII: one token per byte
  EXPECT_EQ(tok.decode(ids), *text);
}

// ---------------------------------------------------------------------------------------
// CharTokenizer in general

TEST(CharTokenizer, VocabularyIsSortedDistinctCodePoints) {
  CharTokenizer tok = train_or_die("banana");
  EXPECT_EQ(tok.vocab_size(), 3);
  EXPECT_EQ(vocab_string(tok), "abn");
  EXPECT_EQ(encode_or_die(tok, "banana"), (std::vector<int32_t>{1, 0, 2, 0, 2, 0}));
  EXPECT_EQ(tok.type_name(), "char");
  EXPECT_EQ(encode_or_die(tok, ""), std::vector<int32_t>{});
  EXPECT_EQ(tok.decode({}), "");
}

TEST(CharTokenizer, UnicodeRoundTrip) {
  // Latin with accents, Chinese, an emoji (4 bytes), a combining mark, a NUL.
  const std::string text = std::string("h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82 e\xCC\x81\n") +
                           std::string(1, '\0') + "\xE4\xB8\x96";
  CharTokenizer tok = train_or_die(text);
  // h é l o ' ' 世 界 🙂 e U+0301 '\n' NUL
  EXPECT_EQ(tok.vocab_size(), 12);
  for (int32_t id = 1; id < tok.vocab_size(); ++id) EXPECT_LT(tok.code_point(id - 1), tok.code_point(id));
  EXPECT_EQ(tok.code_point(0), U'\0');
  EXPECT_EQ(tok.token_to_id("\xF0\x9F\x99\x82"), tok.vocab_size() - 1);
  EXPECT_EQ(tok.id_to_token(tok.vocab_size() - 1), "\xF0\x9F\x99\x82");

  std::vector<int32_t> ids = encode_or_die(tok, text);
  EXPECT_EQ(ids.size(), 16u);  // code points, not bytes
  EXPECT_EQ(tok.decode(ids), text);
  std::string streamed;
  for (int32_t id : ids) streamed += tok.decode_token(id);
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(encode_or_die(tok, "\xE4\xB8\x96\xE4\xB8\x96"), (std::vector<int32_t>{*tok.token_to_id("\xE4\xB8\x96"), *tok.token_to_id("\xE4\xB8\x96")}));
}

TEST(CharTokenizer, UnknownCharacterErrorNamesItsOffsetAndTheCause) {
  CharTokenizer tok = train_or_die("abc");
  StatusOr<std::vector<int32_t>> r = tok.encode("ab\xE4\xB8\x96" "c");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "character '\xE4\xB8\x96' (U+4E16) at byte offset 2 is not in the vocabulary (3 "
            "characters); a character tokenizer only knows the characters of the text it was "
            "trained on. Retrain it on text that contains this character.");
  // Invisible characters are escaped, and the offset counts bytes.
  CharTokenizer accented = train_or_die("ab\xC3\xA9");
  expect_contains(accented.encode("\xC3\xA9" "a\tb").status().message(), {"'\\t' (U+0009) at byte offset 3"});
  expect_contains(tok.encode("a\x1B").status().message(), {"character U+001B at byte offset 1"});
  // Invalid UTF-8 in the input is its own error.
  EXPECT_EQ(tok.encode("ab\xFF").status().message(), "text is not valid UTF-8 at byte offset 2 (byte 0xFF)");
}

TEST(CharTokenizer, TrainingErrors) {
  StatusOr<CharTokenizer> empty = CharTokenizer::train("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  expect_contains(empty.status().message(), {"empty text"});

  StatusOr<CharTokenizer> bad = CharTokenizer::train("To be\xE4\xB8");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "training text is not valid UTF-8 at byte offset 5 (bytes 0xE4 0xB8, then the text ends)");

  EXPECT_FALSE(CharTokenizer::from_code_points({}).ok());
  expect_contains(CharTokenizer::from_code_points({'a', 'b', 'a'}).status().message(), {"'a' (U+0061) is listed twice"});
  expect_contains(CharTokenizer::from_code_points({'a', 0xD800}).status().message(), {"0xD800", "surrogate"});
  StatusOr<CharTokenizer> custom = CharTokenizer::from_code_points({'z', 'a'});
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(encode_or_die(*custom, "az"), (std::vector<int32_t>{1, 0}));
}

TEST(CharTokenizer, OutOfRangeIdsDecodeToReplacementCharacter) {
  CharTokenizer tok = train_or_die("ab");
  const std::vector<int32_t> ids = {0, 2, -1, 1};
  EXPECT_EQ(tok.decode(ids), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(tok.decode_token(7), "\xEF\xBF\xBD");
  EXPECT_EQ(tok.id_to_token(2), std::nullopt);
  EXPECT_EQ(tok.id_to_token(-1), std::nullopt);
  EXPECT_EQ(tok.token_to_id("ab"), std::nullopt);
  EXPECT_EQ(tok.token_to_id(""), std::nullopt);
  EXPECT_EQ(tok.token_to_id("c"), std::nullopt);
  const SpecialTokens special = tok.special_tokens();
  EXPECT_FALSE(special.eos.has_value());
  EXPECT_FALSE(special.bos.has_value());
  EXPECT_FALSE(special.unk.has_value());
}

// ---------------------------------------------------------------------------------------
// tokenizer.json

// The exact document HF `tokenizers` loads as a character-level tokenizer.
TEST(CharTokenizerJson, IsTheHuggingFaceForm) {
  CharTokenizer tok = train_or_die("b\xC3\xA9" "a");
  const json expected = json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null,
    "decoder": {"type": "Fuse"},
    "model": {"type": "BPE", "dropout": null, "unk_token": null,
              "continuing_subword_prefix": null, "end_of_word_suffix": null,
              "fuse_unk": false, "byte_fallback": false,
              "vocab": {"a": 0, "b": 1, "\u00e9": 2}, "merges": []}})");
  EXPECT_EQ(tok.to_json(), expected) << tok.to_json().dump(2);
}

TEST(CharTokenizerJson, SaveLoadRoundTripThroughDirectoryAndFile) {
  const std::string text = "To be, or not to be: \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82\n";
  CharTokenizer tok = train_or_die(text);
  const std::string dir = temp_dir("roundtrip");
  ASSERT_TRUE(save_tokenizer(tok, dir).ok());
  ASSERT_TRUE(file_exists(dir + "/tokenizer.json"));
  const std::string file = dir + "/other.json";
  ASSERT_TRUE(save_tokenizer(tok, file).ok());

  for (const std::string& path : {dir, dir + "/tokenizer.json", file}) {
    StatusOr<std::unique_ptr<Tokenizer>> loaded = load_tokenizer(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    const Tokenizer& back = **loaded;
    EXPECT_EQ(back.type_name(), "char");
    EXPECT_EQ(back.vocab_size(), tok.vocab_size());
    EXPECT_EQ(vocab_string(back), vocab_string(tok));
    EXPECT_EQ(encode_or_die(back, text), encode_or_die(tok, text));
    EXPECT_EQ(back.to_json(), tok.to_json());
  }
  StatusOr<std::string> written = read_file(file);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->back(), '\n');
  // Characters are written as UTF-8, not \u escapes, so the file is readable.
  EXPECT_NE(written->find("\xE4\xB8\x96"), std::string::npos);
}

TEST(CharTokenizerJson, LoadKeepsTheFileIdsInAnyOrder) {
  // Written by someone else: ids not in code point order, and "" for the affixes as
  // HF writes them for GPT-2.
  const char* text = R"({"version": "1.0", "added_tokens": [], "decoder": {"type": "Fuse"},
      "model": {"type": "BPE", "continuing_subword_prefix": "", "end_of_word_suffix": "",
                "vocab": {"b": 0, "a": 1, "c": 2}, "merges": []}})";
  StatusOr<std::unique_ptr<Tokenizer>> tok = load_tokenizer_from_string(text, "mem");
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  EXPECT_EQ(encode_or_die(**tok, "abc"), (std::vector<int32_t>{1, 0, 2}));
  EXPECT_EQ((*tok)->to_json()["model"]["vocab"], json::parse(R"({"b": 0, "a": 1, "c": 2})"));
}

TEST(CharTokenizerJson, MissingFilesAndDirectories) {
  const std::string dir = temp_dir("missing");
  StatusOr<std::unique_ptr<Tokenizer>> r = load_tokenizer(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  expect_contains(r.status().message(), {dir + "/tokenizer.json"});
  CharTokenizer tok = train_or_die("a");
  Status s = save_tokenizer(tok, dir + "/no/such/dir/tokenizer.json");
  EXPECT_FALSE(s.ok());
  expect_contains(s.message(), {dir + "/no/such/dir/tokenizer.json"});
}

// Real Hugging Face files loom cannot read yet must say so, naming what they are; subword BPE
// files are read as byte-level BPE (bpe_test.cc), so a SentencePiece-style one is refused there.
TEST(CharTokenizerJson, RealSentencePieceBpeIsReportedAsUnsupported) {
  const std::string path = data_dir() + "/tokenizers/hf-tokenizer-json/phi-3/tokenizer.json";
  if (!file_exists(path)) GTEST_SKIP() << path << " not found (set LOOM_DATA_DIR)";
  StatusOr<std::unique_ptr<Tokenizer>> r = load_tokenizer(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(r.status().message(), "tokenizer '" + path +
                                      "': model.byte_fallback is true (SentencePiece-style <0xNN> tokens); not "
                                      "supported for byte-level BPE");
}

// A corrupt or unsupported tokenizer.json and what loading it must say.
struct BadJsonCase {
  std::string name;
  std::string text;
  StatusCode code;
  std::vector<std::string> message_parts;
};

std::ostream& operator<<(std::ostream& os, const BadJsonCase& c) { return os << c.name; }

// The saved form of a tokenizer trained on "ab", edited by `edit`.
std::string edited(const std::function<void(json&)>& edit) {
  json j = train_or_die("ab").to_json();
  edit(j);
  return j.dump();
}

std::vector<BadJsonCase> bad_json_cases() {
  const StatusCode kLoss = StatusCode::kDataLoss;
  const StatusCode kUnimpl = StatusCode::kUnimplemented;
  return {
      {"Truncated", R"({"version": "1.0", "model": {)", kLoss,
       {"tokenizer 'mem.json': not valid JSON: ", "parse error at line 1"}},
      {"Empty", "", kLoss, {"not valid JSON", "unexpected end of input"}},
      {"InvalidUtf8InString", "{\"model\": {\"vocab\": {\"\xFF\": 0}}}", kLoss, {"not valid JSON", "UTF-8"}},
      {"TopLevelArray", "[1, 2]", kLoss, {"expected a JSON object at the top level, found a JSON array"}},
      {"NoModel", R"({"version": "1.0"})", kLoss, {"no 'model' object"}},
      {"NoModelType", edited([](json& j) { j["model"].erase("type"); }), kLoss, {"model.type is missing"}},
      {"Unigram", R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", kUnimpl,
       {"tokenizer 'mem.json': model type 'Unigram' is not supported yet; supported: BPE (byte-level, or "
        "character-level without merges)"}},
      // A character vocabulary relabelled WordPiece lacks WordPiece's unknown token.
      {"WordPieceWithoutUnk", edited([](json& j) { j["model"]["type"] = "WordPiece"; }), kLoss,
       {"the unknown token '[UNK]' is not in the vocabulary"}},
      // With merges or a pre-tokenizer the file is read as byte-level BPE, which needs its decoder.
      {"SubwordBpe", edited([](json& j) { j["model"]["merges"] = {"a b", "ab b"}; }), kUnimpl,
       {"decoder of type 'Fuse' is not supported for byte-level BPE"}},
      {"WrongVersion", edited([](json& j) { j["version"] = "2.0"; }), kLoss,
       {"version \"2.0\" is not supported; expected \"1.0\""}},
      {"DuplicateIds", edited([](json& j) { j["model"]["vocab"] = {{"a", 0}, {"b", 0}}; }), kLoss,
       {"id 0 is given to both 'a' and 'b' in the vocab"}},
      {"IdsNotContiguous", edited([](json& j) { j["model"]["vocab"] = {{"a", 0}, {"b", 2}}; }), kLoss,
       {"vocab entry 'b' has id 2, but the vocab has 2 entries; ids must be 0..1 with none missing"}},
      {"NegativeId", edited([](json& j) { j["model"]["vocab"] = {{"a", -1}, {"b", 0}}; }), kLoss,
       {"vocab entry 'a' has id -1"}},
      {"HugeId", edited([](json& j) { j["model"]["vocab"] = {{"a", 1ULL << 40}, {"b", 0}}; }), kLoss,
       {"vocab entry 'a' has id 1099511627776, but the vocab has 2 entries"}},
      {"FractionalId", edited([](json& j) { j["model"]["vocab"] = {{"a", 0.5}, {"b", 1}}; }), kLoss,
       {"vocab entry 'a' has id 0.5; ids must be integers"}},
      {"StringId", edited([](json& j) { j["model"]["vocab"] = {{"a", "0"}, {"b", 1}}; }), kLoss,
       {"vocab entry 'a' has id \"0\""}},
      {"MultiCharEntry", edited([](json& j) { j["model"]["vocab"] = {{"ab", 0}, {"c", 1}}; }), kLoss,
       {"vocab entry 'ab' (id 0) is not a single character",
        "read as a character-level tokenizer, whose entries are one Unicode code point each"}},
      {"EmptyEntry", edited([](json& j) { j["model"]["vocab"] = {{"", 0}, {"c", 1}}; }), kLoss,
       {"vocab entry '' (id 0) is not a single character"}},
      {"EmptyVocab", edited([](json& j) { j["model"]["vocab"] = json::object(); }), kLoss,
       {"model.vocab is empty"}},
      {"VocabNotObject", edited([](json& j) { j["model"]["vocab"] = json::array(); }), kLoss,
       {"model.vocab must be an object {token: id}, found a JSON array"}},
      {"NoVocab", edited([](json& j) { j["model"].erase("vocab"); }), kLoss, {"model.vocab is missing"}},
      {"NoMerges", edited([](json& j) { j["model"].erase("merges"); }), kLoss,
       {"model.merges must be an array, but it is missing"}},
      {"DuplicateKey", R"({"model": {"type": "BPE", "vocab": {"a": 0, "a": 1}, "merges": []}})", kLoss,
       {"key 'a' appears twice in one JSON object"}},
      {"PreTokenizer", edited([](json& j) { j["pre_tokenizer"] = {{"type", "ByteLevel"}}; }), kUnimpl,
       {"decoder of type 'Fuse' is not supported for byte-level BPE"}},
      {"Normalizer", edited([](json& j) { j["normalizer"] = {{"type", "NFC"}}; }), kUnimpl,
       {"normalizer of type 'NFC' is not supported"}},
      {"PostProcessor", edited([](json& j) { j["post_processor"] = 3; }), kUnimpl,
       {"post_processor (a JSON number) is not supported"}},
      {"Truncation", edited([](json& j) { j["truncation"] = {{"max_length", 8}}; }), kUnimpl,
       {"truncation is set"}},
      {"NoDecoder", edited([](json& j) { j["decoder"] = nullptr; }), kUnimpl,
       {"decoder is null", "spaces between decoded characters"}},
      {"ByteLevelDecoder", edited([](json& j) { j["decoder"] = {{"type", "ByteLevel"}}; }), kUnimpl,
       {"decoder of type 'ByteLevel' is not supported"}},
      {"AddedTokens",
       edited([](json& j) { j["added_tokens"] = json::parse(R"([{"id": 2, "content": "<|endoftext|>", "special": true}])"); }),
       kUnimpl, {"added_tokens has 1 entries (the first is '<|endoftext|>')", "not supported yet"}},
      {"UnkToken", edited([](json& j) { j["model"]["unk_token"] = "a"; }), kUnimpl, {"model.unk_token is set"}},
      {"ByteFallback", edited([](json& j) { j["model"]["byte_fallback"] = true; }), kUnimpl,
       {"model.byte_fallback is true"}},
      {"SubwordPrefix", edited([](json& j) { j["model"]["continuing_subword_prefix"] = "##"; }), kUnimpl,
       {"model.continuing_subword_prefix is set"}},
  };
}

class BadTokenizerJson : public ::testing::TestWithParam<BadJsonCase> {};

TEST_P(BadTokenizerJson, IsRejectedWithAClearMessage) {
  const BadJsonCase& c = GetParam();
  StatusOr<std::unique_ptr<Tokenizer>> r = load_tokenizer_from_string(c.text, "mem.json");
  ASSERT_FALSE(r.ok()) << c.text;
  EXPECT_EQ(r.status().code(), c.code) << r.status().to_string();
  expect_contains(r.status().message(), c.message_parts);
  EXPECT_EQ(r.status().message().rfind("tokenizer 'mem.json': ", 0), 0u) << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(Cases, BadTokenizerJson, ::testing::ValuesIn(bad_json_cases()),
                         [](const auto& test_info) { return test_info.param.name; });

TEST(CharTokenizerJson, TheUneditedDocumentLoads) {
  // Guards the table above: each case differs from a document that loads.
  StatusOr<std::unique_ptr<Tokenizer>> r = load_tokenizer_from_string(edited([](json&) {}), "mem.json");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(vocab_string(**r), "ab");
}

TEST(CharTokenizerJson, CorruptFileOnDiskNamesTheFile) {
  const std::string dir = temp_dir("corrupt");
  ASSERT_TRUE(write_file_atomic(dir + "/tokenizer.json", "{\"model\": [").ok());
  StatusOr<std::unique_ptr<Tokenizer>> r = load_tokenizer(dir);
  ASSERT_FALSE(r.ok());
  expect_contains(r.status().message(), {"tokenizer '" + dir + "/tokenizer.json': not valid JSON: "});
}

}  // namespace
}  // namespace loom
