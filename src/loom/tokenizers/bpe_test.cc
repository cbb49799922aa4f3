// Tests for ByteLevelBpe: llama.cpp's 46 GPT-2 golden vectors through each of the three GPT-2
// file formats (and the directory dispatch of load_tokenizer), decode(encode(x)) == x on random
// byte strings, added/special tokens (matched only on request, lstrip/rstrip), batch encoding,
// saving and reloading in both formats, and a table of corrupt or unsupported files with the
// errors they must produce.
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/env.h"
#include "loom/base/file.h"
#include "loom/tokenizers/bpe_trainer.h"
#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/byte_unicode.h"
#include "loom/tokenizers/tokenizer.h"
#include "loom/tokenizers/utf8.h"
#include "loom/testing/test_support.h"

namespace loom {
namespace {

using nlohmann::json;

std::string data_dir() { return env_or("LOOM_DATA_DIR", LOOM_DEFAULT_DATA_DIR); }
std::string tokenizers_dir() { return data_dir() + "/tokenizers"; }

std::string temp_dir(const std::string& name) { return testing::fresh_temp_dir("bpe_test", name); }

std::vector<int32_t> encode_or_die(const Tokenizer& tok, std::string_view text) {
  StatusOr<std::vector<int32_t>> ids = tok.encode(text);
  LOOM_CHECK(ids.ok()) << ids.status().to_string();
  return *ids;
}

void expect_contains(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& p : parts) EXPECT_NE(text.find(p), std::string::npos) << "'" << p << "' not in: " << text;
}

// A small tokenizer built by hand: bytes in GPT-2 order, then "ab", "abc", " a".
ByteLevelBpeParts tiny_parts() {
  ByteLevelBpeParts parts;
  for (int i = 0; i < 256; ++i) parts.vocab.emplace_back(bytes_to_byte_level(std::string(1, static_cast<char>(byte_order()[i]))), i);
  parts.vocab.emplace_back("ab", 256);
  parts.vocab.emplace_back("abc", 257);
  parts.vocab.emplace_back("\xC4\xA0" "a", 258);  // "Ġa"
  parts.merges = {{"a", "b"}, {"ab", "c"}, {"\xC4\xA0", "a"}};
  return parts;
}

ByteLevelBpe build_or_die(ByteLevelBpeParts parts) {
  StatusOr<ByteLevelBpe> t = ByteLevelBpe::create(std::move(parts));
  LOOM_CHECK(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

// ---------------------------------------------------------------------------------------
// llama.cpp's GPT-2 vectors: ggml-vocab-gpt-2.gguf.inp / .out

using GoldenCase = testing::VocabVector;

std::vector<GoldenCase> read_golden(const std::string& stem) { return testing::read_vocab_vectors(stem); }

// One way to get GPT-2's tokenizer from the shared data.
struct Gpt2Source {
  std::string name;
  std::vector<std::string> files;  // must all exist
  std::function<StatusOr<std::unique_ptr<Tokenizer>>()> load;
};

std::ostream& operator<<(std::ostream& os, const Gpt2Source& s) { return os << s.name; }

StatusOr<std::unique_ptr<Tokenizer>> boxed(StatusOr<ByteLevelBpe> t) {
  if (!t.ok()) return t.status();
  return std::unique_ptr<Tokenizer>(std::make_unique<ByteLevelBpe>(std::move(t).value()));
}

std::vector<Gpt2Source> gpt2_sources() {
  const std::string d = tokenizers_dir();
  return {
      {"HfVocabJsonMergesTxt", {d + "/gpt2/vocab.json", d + "/gpt2/merges.txt"},
       [d] { return boxed(ByteLevelBpe::load_vocab_and_merges(d + "/gpt2/vocab.json", d + "/gpt2/merges.txt")); }},
      {"OpenAiEncoderJsonVocabBpe", {d + "/gpt2-openai/encoder.json", d + "/gpt2-openai/vocab.bpe"},
       [d] { return boxed(ByteLevelBpe::load_vocab_and_merges(d + "/gpt2-openai/encoder.json", d + "/gpt2-openai/vocab.bpe")); }},
      {"HfTokenizerJson", {d + "/hf-tokenizer-json/gpt2-plus-whitespace-tokens/tokenizer.json"},
       [d] { return load_tokenizer(d + "/hf-tokenizer-json/gpt2-plus-whitespace-tokens/tokenizer.json"); }},
      {"LoadTokenizerOnHfDirectory", {d + "/gpt2/vocab.json"}, [d] { return load_tokenizer(d + "/gpt2"); }},
      {"LoadTokenizerOnOpenAiDirectory", {d + "/gpt2-openai/vocab.bpe"}, [d] { return load_tokenizer(d + "/gpt2-openai"); }},
  };
}

class Gpt2Golden : public ::testing::TestWithParam<Gpt2Source> {};

TEST_P(Gpt2Golden, MatchesLlamaCppVectors) {
  const Gpt2Source& src = GetParam();
  const std::string stem = tokenizers_dir() + "/llama.cpp-vocab-tests/ggml-vocab-gpt-2.gguf";
  for (const std::string& f : src.files)
    if (!file_exists(f)) GTEST_SKIP() << f << " not found (set LOOM_DATA_DIR)";
  if (!file_exists(stem + ".inp")) GTEST_SKIP() << stem << ".inp not found (set LOOM_DATA_DIR)";
  StatusOr<std::unique_ptr<Tokenizer>> loaded = src.load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  const Tokenizer& tok = **loaded;
  EXPECT_EQ(tok.type_name(), "byte_bpe");
  EXPECT_EQ(tok.special_tokens().eos, 50256);
  EXPECT_EQ(tok.id_to_token(50256), "<|endoftext|>");
  EXPECT_EQ(tok.token_to_id("\xC4\xA0the"), 262);  // "Ġthe"

  const std::vector<GoldenCase> cases = read_golden(stem);
  ASSERT_EQ(cases.size(), 46u);
  std::vector<std::string_view> texts;
  for (const GoldenCase& c : cases) {
    EXPECT_EQ(encode_or_die(tok, c.text), c.ids) << quote_text(c.text, 80);
    EXPECT_EQ(tok.decode(c.ids), c.text);
    texts.push_back(c.text);
  }
  StatusOr<std::vector<std::vector<int32_t>>> batch = tok.encode_batch(texts);
  ASSERT_TRUE(batch.ok()) << batch.status().to_string();
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ((*batch)[i], cases[i].ids) << i;
}

INSTANTIATE_TEST_SUITE_P(Sources, Gpt2Golden, ::testing::ValuesIn(gpt2_sources()),
                         [](const auto& test_info) { return test_info.param.name; });

// The GPT-2 tokenizer from vocab.json + merges.txt, or nullptr when the data is absent.
const ByteLevelBpe* gpt2() {
  static const ByteLevelBpe* tok = [] {
    const std::string d = tokenizers_dir() + "/gpt2";
    if (!file_exists(d + "/vocab.json")) return static_cast<ByteLevelBpe*>(nullptr);
    StatusOr<ByteLevelBpe> t = ByteLevelBpe::load_vocab_and_merges(d + "/vocab.json", d + "/merges.txt");
    LOOM_CHECK(t.ok()) << t.status().to_string();
    return new ByteLevelBpe(std::move(t).value());
  }();
  return tok;
}

TEST(Gpt2, SpecialTokensAreMatchedOnlyOnRequest) {
  const ByteLevelBpe* tok = gpt2();
  if (tok == nullptr) GTEST_SKIP() << "gpt2/vocab.json not found (set LOOM_DATA_DIR)";
  const std::string text = "a<|endoftext|>b";
  EXPECT_EQ(tok->encode_with_special(text).value(), (std::vector<int32_t>{64, 50256, 65}));
  const std::vector<int32_t> plain = encode_or_die(*tok, text);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0) << "plain encode must not produce <|endoftext|>";
  EXPECT_GT(plain.size(), 3u);
  EXPECT_EQ(tok->decode(plain), text);
  EXPECT_EQ(tok->decode(tok->encode_with_special(text).value()), text);
  EXPECT_EQ(tok->encode_with_special("<|endoftext|><|endoftext|>").value(), (std::vector<int32_t>{50256, 50256}));
  // A partial match is text.
  EXPECT_EQ(tok->encode_with_special("<|endoftext|").value(), encode_or_die(*tok, "<|endoftext|"));
}

TEST(Gpt2, AddedWhitespaceTokensOfTokenizerJson) {
  const std::string path = tokenizers_dir() + "/hf-tokenizer-json/gpt2-plus-whitespace-tokens/tokenizer.json";
  if (!file_exists(path)) GTEST_SKIP() << path << " not found (set LOOM_DATA_DIR)";
  StatusOr<std::unique_ptr<Tokenizer>> loaded = load_tokenizer(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  const auto& tok = dynamic_cast<const ByteLevelBpe&>(**loaded);
  EXPECT_EQ(tok.vocab_size(), 50295);
  EXPECT_EQ(tok.added_tokens().size(), 39u);
  EXPECT_EQ(tok.token_to_id("    "), 50284);
  EXPECT_EQ(tok.id_to_token(50284), "    ");
  EXPECT_EQ(tok.decode_token(50294), "\t\t");
  // Leftmost-longest: the 4-space token, not 2 + 2.
  EXPECT_EQ(tok.encode_with_special("a    b").value(), (std::vector<int32_t>{64, 50284, 65}));
  EXPECT_EQ(encode_or_die(tok, "a    b"), (std::vector<int32_t>{64, 220, 220, 220, 275}));
  // Its model section is what the file holds.
  StatusOr<std::string> text = read_file(path);
  ASSERT_TRUE(text.ok());
  const json file = json::parse(*text);
  const json ours = tok.to_json();
  EXPECT_EQ(ours["model"]["vocab"], file["model"]["vocab"]);
  EXPECT_EQ(ours["model"]["merges"], file["model"]["merges"]);
  EXPECT_EQ(ours["added_tokens"], file["added_tokens"]);
  EXPECT_EQ(ours["pre_tokenizer"], file["pre_tokenizer"]);
  EXPECT_EQ(ours["decoder"], file["decoder"]);
}

// ---------------------------------------------------------------------------------------
// decode(encode(x)) == x for any bytes

std::string random_bytes(std::mt19937& rng, size_t max_len) {
  // A mix that reaches every pre-tokenizer path: ASCII letters/digits/punctuation/space,
  // whitespace of several kinds, multi-byte characters (valid and broken), raw bytes.
  static const std::vector<std::string> atoms = {
      "a", "Z", "7", " ", "  ", "\n", "\t", "'s", "'ll", "'", "!", "...", "\xC3\xA9", "\xE4\xB8\x96",
      "\xF0\x9F\x99\x82", "\xC2\xA0", "\xE3\x80\x80", "\xC2\xBD", "\xCC\x81", "\xE2\x80\x8B", "\xFF", "\x80", "\xC3",
      "\xE4\xB8", "\xED\xA0\x80", "\x00", "\x1F", "<|endoftext|>", "\r\n"};
  std::uniform_int_distribution<size_t> len_dist(0, max_len);
  std::uniform_int_distribution<size_t> atom_dist(0, atoms.size() - 1);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  std::uniform_int_distribution<int> coin(0, 3);
  std::string s;
  const size_t n = len_dist(rng);
  for (size_t i = 0; i < n; ++i) {
    if (coin(rng) == 0) {
      s.push_back(static_cast<char>(byte_dist(rng)));
    } else {
      s += atoms[atom_dist(rng)];
    }
  }
  return s;
}

void check_round_trips(const ByteLevelBpe& tok, int iterations, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int it = 0; it < iterations; ++it) {
    const std::string text = random_bytes(rng, 40);
    for (const bool special : {false, true}) {
      StatusOr<std::vector<int32_t>> ids = tok.encode(text, BpeEncodeOptions{.parse_special = special});
      ASSERT_TRUE(ids.ok()) << ids.status().to_string();
      ASSERT_EQ(tok.decode(*ids), text) << quote_text(text, 200);
      std::string streamed;
      for (int32_t id : *ids) {
        ASSERT_GE(id, 0);
        ASSERT_LT(id, tok.vocab_size());
        streamed += tok.decode_token(id);
      }
      ASSERT_EQ(streamed, text);
    }
  }
}

TEST(ByteLevelBpeRoundTrip, RandomBytesThroughGpt2) {
  const ByteLevelBpe* tok = gpt2();
  if (tok == nullptr) GTEST_SKIP() << "gpt2/vocab.json not found (set LOOM_DATA_DIR)";
  check_round_trips(*tok, 3000, 1);
}

TEST(ByteLevelBpeRoundTrip, RandomBytesThroughATrainedTokenizer) {
  std::mt19937 rng(7);
  std::string corpus;
  for (int i = 0; i < 300; ++i) corpus += random_bytes(rng, 30);
  const std::vector<std::string_view> texts = {corpus};
  StatusOr<ByteLevelBpe> tok =
      train_byte_level_bpe(texts, BpeTrainerOptions{.vocab_size = 400, .special_tokens = {"<|endoftext|>"}});
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  EXPECT_GT(tok->num_merges(), 20);
  check_round_trips(*tok, 3000, 2);
  EXPECT_EQ(tok->decode(encode_or_die(*tok, corpus)), corpus);
}

// ---------------------------------------------------------------------------------------
// Merging, added tokens, errors at encode time

TEST(ByteLevelBpe, MergesLowestRankFirst) {
  ByteLevelBpe tok = build_or_die(tiny_parts());
  EXPECT_EQ(tok.vocab_size(), 259);
  EXPECT_EQ(tok.num_merges(), 3);
  const int32_t a = *tok.token_to_id("a"), b = *tok.token_to_id("b"), c = *tok.token_to_id("c");
  EXPECT_EQ(encode_or_die(tok, "abc"), (std::vector<int32_t>{257}));
  EXPECT_EQ(encode_or_die(tok, "abcab"), (std::vector<int32_t>{257, 256}));
  EXPECT_EQ(encode_or_die(tok, "bca"), (std::vector<int32_t>{b, c, a}));
  EXPECT_EQ(encode_or_die(tok, "x abc"), (std::vector<int32_t>{*tok.token_to_id("x"), *tok.token_to_id("\xC4\xA0"), 257}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{258, 256}), " aab");
  EXPECT_EQ(tok.merge(1), (std::pair<int32_t, int32_t>{256, c}));
  EXPECT_FALSE(tok.special_tokens().eos.has_value());
  EXPECT_EQ(tok.decode(std::vector<int32_t>{259, -1}), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tok.decode_token(300), "\xEF\xBF\xBD");
  EXPECT_EQ(tok.id_to_token(259), std::nullopt);
  EXPECT_EQ(tok.token_to_id("abcd"), std::nullopt);
}

TEST(ByteLevelBpe, IgnoreMergesTakesWholePiecesFromTheVocabulary) {
  // "abc" is a token, but no merge rank makes "bc": without ignore_merges "xabc" -> x, abc;
  // a vocabulary entry "xbc" with no merge path is only reached with ignore_merges.
  ByteLevelBpeParts parts = tiny_parts();
  parts.vocab.emplace_back("xbc", 259);
  ByteLevelBpe plain = build_or_die(parts);
  parts.ignore_merges = true;
  ByteLevelBpe ignoring = build_or_die(parts);
  EXPECT_EQ(encode_or_die(plain, "xbc").size(), 3u);
  EXPECT_EQ(encode_or_die(ignoring, "xbc"), (std::vector<int32_t>{259}));
  EXPECT_TRUE(ignoring.to_json()["model"]["ignore_merges"].get<bool>());
  StatusOr<std::unique_ptr<Tokenizer>> back = load_tokenizer_from_string(ignoring.to_json().dump(), "mem");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(encode_or_die(**back, "xbc"), (std::vector<int32_t>{259}));
}

TEST(ByteLevelBpe, AddedTokensWithStripping) {
  ByteLevelBpeParts parts = tiny_parts();
  parts.added_tokens = {AddedToken{.id = 259, .content = "<mask>", .lstrip = true},
                        AddedToken{.id = 260, .content = "<sep>", .rstrip = true},
                        AddedToken{.id = 261, .content = "<sep>>", .special = false}};
  ByteLevelBpe tok = build_or_die(parts);
  EXPECT_EQ(tok.vocab_size(), 262);
  const int32_t x = *tok.token_to_id("x"), space = *tok.token_to_id("\xC4\xA0");
  EXPECT_EQ(tok.encode_with_special("x  <mask>x").value(), (std::vector<int32_t>{x, 259, x}));
  EXPECT_EQ(tok.encode_with_special("x<sep> \n x").value(), (std::vector<int32_t>{x, 260, x}));
  EXPECT_EQ(tok.encode_with_special("x <sep>>").value(), (std::vector<int32_t>{x, space, 261}));
  // Stripped whitespace is part of the token's match, so it does not come back on decode:
  // the one place where decode(encode(x)) != x, as in Hugging Face.
  EXPECT_EQ(tok.decode(tok.encode_with_special("x  <mask>x").value()), "x<mask>x");
  EXPECT_EQ(tok.token_to_id("<mask>"), 259);
  EXPECT_EQ(tok.id_to_token(261), "<sep>>");
}

TEST(ByteLevelBpe, MissingByteTokenIsAnErrorNamingTheOffset) {
  ByteLevelBpeParts parts;
  parts.vocab = {{"a", 0}, {"b", 1}, {"ab", 2}};
  parts.merges = {{"a", "b"}};
  ByteLevelBpe tok = build_or_die(parts);
  EXPECT_EQ(encode_or_die(tok, "abba"), (std::vector<int32_t>{2, 1, 0}));
  StatusOr<std::vector<int32_t>> r = tok.encode("ab ab");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "byte 0x20 at byte offset 2 has no single-byte token in the vocabulary (it has 2 of the 256), so it "
            "cannot be encoded; a byte-level BPE vocabulary needs all 256");
  const std::vector<std::string_view> texts = {"ab", "b\xFF"};
  StatusOr<std::vector<std::vector<int32_t>>> batch = tok.encode_batch(texts);
  ASSERT_FALSE(batch.ok());
  expect_contains(batch.status().message(), {"text 1 of the batch: byte 0xFF at byte offset 1"});
}

TEST(ByteLevelBpe, BatchEqualsOneByOne) {
  const ByteLevelBpe* tok = gpt2();
  if (tok == nullptr) GTEST_SKIP() << "gpt2/vocab.json not found (set LOOM_DATA_DIR)";
  std::mt19937 rng(3);
  std::vector<std::string> owned;
  for (int i = 0; i < 500; ++i) owned.push_back(random_bytes(rng, 60));
  std::vector<std::string_view> texts(owned.begin(), owned.end());
  for (const bool special : {false, true}) {
    StatusOr<std::vector<std::vector<int32_t>>> batch = tok->encode_batch(texts, BpeEncodeOptions{.parse_special = special});
    ASSERT_TRUE(batch.ok());
    ASSERT_EQ(batch->size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_EQ((*batch)[i], tok->encode(texts[i], BpeEncodeOptions{.parse_special = special}).value()) << i;
  }
  EXPECT_TRUE(tok->encode_batch({}).value().empty());
}

// ---------------------------------------------------------------------------------------
// Saving and loading

TEST(ByteLevelBpeFiles, SavedTokenizerJsonAndVocabMergesLoadBackTheSame) {
  ByteLevelBpeParts parts = tiny_parts();
  parts.added_tokens = {AddedToken{.id = 259, .content = "<|endoftext|>"}};
  ByteLevelBpe tok = build_or_die(parts);
  EXPECT_EQ(tok.special_tokens().eos, 259);
  const std::string dir = temp_dir("save");
  ASSERT_TRUE(save_tokenizer(tok, dir).ok());
  ASSERT_TRUE(tok.save_vocab_and_merges(dir).ok());
  StatusOr<std::string> merges = read_file(dir + "/merges.txt");
  ASSERT_TRUE(merges.ok());
  EXPECT_EQ(*merges, "#version: 0.2\na b\nab c\n\xC4\xA0 a\n");

  StatusOr<std::unique_ptr<Tokenizer>> from_json = load_tokenizer(dir);  // tokenizer.json wins
  StatusOr<ByteLevelBpe> from_pair = ByteLevelBpe::load_vocab_and_merges(dir + "/vocab.json", dir + "/merges.txt");
  ASSERT_TRUE(from_json.ok()) << from_json.status().to_string();
  ASSERT_TRUE(from_pair.ok()) << from_pair.status().to_string();
  EXPECT_EQ((*from_json)->to_json(), tok.to_json());
  for (const Tokenizer* back : std::vector<const Tokenizer*>{from_json->get(), &*from_pair}) {
    EXPECT_EQ(back->vocab_size(), tok.vocab_size());
    EXPECT_EQ(back->special_tokens().eos, 259);
    for (int32_t id = 0; id < tok.vocab_size(); ++id) EXPECT_EQ(back->id_to_token(id), tok.id_to_token(id));
    EXPECT_EQ(encode_or_die(*back, "abc ab<|endoftext|>"), encode_or_die(tok, "abc ab<|endoftext|>"));
  }
  EXPECT_EQ(from_pair->encode_with_special("a<|endoftext|>").value(), (std::vector<int32_t>{*tok.token_to_id("a"), 259}));
}

TEST(ByteLevelBpeFiles, TokensWithSpacesNeedThePairFormOfMerges) {
  // Hand-made entries with a raw space stand for their own bytes; "a b" strings cannot hold
  // them, so tokenizer.json switches to ["a", "b"] pairs and merges.txt is refused.
  ByteLevelBpeParts parts = tiny_parts();
  parts.vocab.emplace_back("x y", 259);
  parts.vocab.emplace_back("x yz", 260);
  parts.merges.emplace_back("x y", "z");
  ByteLevelBpe tok = build_or_die(parts);
  EXPECT_EQ(tok.token_bytes(260), "x yz");
  const json j = tok.to_json();
  EXPECT_EQ(j["model"]["merges"][0], json::parse(R"(["a", "b"])"));
  EXPECT_EQ(j["model"]["merges"][3], json::parse(R"(["x y", "z"])"));
  StatusOr<std::unique_ptr<Tokenizer>> back = load_tokenizer_from_string(j.dump(), "mem");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ((*back)->to_json(), j);
  StatusOr<std::string> merges = tok.merges_txt();
  ASSERT_FALSE(merges.ok());
  EXPECT_EQ(merges.status().message(),
            "merge 'x y z' has a token with a space or a line break (or reads as a '#version' line), which "
            "merges.txt cannot hold; save tokenizer.json instead");
  EXPECT_FALSE(tok.save_vocab_and_merges(temp_dir("spaces")).ok());
}

TEST(ByteLevelBpeFiles, Gpt2SavedAsVocabAndMergesIsByteIdenticalToTheOriginal) {
  const ByteLevelBpe* tok = gpt2();
  if (tok == nullptr) GTEST_SKIP() << "gpt2/vocab.json not found (set LOOM_DATA_DIR)";
  const std::string dir = temp_dir("gpt2");
  ASSERT_TRUE(tok->save_vocab_and_merges(dir).ok());
  const std::string src = tokenizers_dir() + "/gpt2";
  EXPECT_EQ(read_file(dir + "/vocab.json").value(), read_file(src + "/vocab.json").value());
  // HF's merges.txt carries a longer version line; the merges are the same.
  const std::string ours = read_file(dir + "/merges.txt").value();
  const std::string theirs = read_file(src + "/merges.txt").value();
  EXPECT_EQ(ours.substr(ours.find('\n')), theirs.substr(theirs.find('\n')));
  // And tokenizer.json round trips too.
  ASSERT_TRUE(save_tokenizer(*tok, dir).ok());
  StatusOr<std::unique_ptr<Tokenizer>> back = load_tokenizer(dir);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ((*back)->to_json(), tok->to_json());
}

// A corrupt or unsupported input and the error it must produce.
struct BadCase {
  std::string name;
  std::string vocab;   // vocab.json content, or the whole tokenizer.json when merges is absent
  std::optional<std::string> merges;
  StatusCode code;
  std::vector<std::string> message_parts;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

// A valid tokenizer.json (the tiny tokenizer) edited by `edit`.
std::string edited(const std::function<void(json&)>& edit) {
  json j = build_or_die(tiny_parts()).to_json();
  edit(j);
  return j.dump();
}

// A valid vocab.json: 256 bytes and "ab", pretty-printed one entry per line so lines count.
std::string small_vocab(const std::string& extra = "") {
  std::string s = "{\n";
  for (int i = 0; i < 256; ++i)
    s += "  " + json(bytes_to_byte_level(std::string(1, static_cast<char>(byte_order()[i])))).dump() + ": " +
         std::to_string(i) + ",\n";
  return s + extra + "  \"ab\": 256\n}\n";
}

std::vector<BadCase> bad_cases() {
  const StatusCode kLoss = StatusCode::kDataLoss;
  const StatusCode kUnimpl = StatusCode::kUnimplemented;
  const std::string ok_merges = "#version: 0.2\na b\n";
  return {
      // vocab.json + merges.txt
      {"MergeWithUnknownToken", small_vocab(), "#version: 0.2\na b\nab zz\n", kLoss,
       {"'m.txt' line 3: merge 'ab zz' uses 'zz', which is not in the vocabulary"}},
      {"MergeMakingUnknownToken", small_vocab(), "#version: 0.2\na b\nb c\n", kLoss,
       {"'m.txt' line 3: merge 'b c' makes 'bc', which is not in the vocabulary"}},
      {"MergeListedTwice", small_vocab(), "#version: 0.2\na b\na b\n", kLoss,
       {"'m.txt' line 3: merge 'a b' repeats 'm.txt' line 2"}},
      {"MergeLineWithThreeTokens", small_vocab(), "#version: 0.2\na b c\n", kLoss,
       {"'m.txt' line 2: expected two tokens separated by one space, found 'a b c'"}},
      {"MergeLineEmpty", small_vocab(), "#version: 0.2\n\na b\n", kLoss, {"'m.txt' line 2: the line is empty"}},
      {"MergesFileEmpty", small_vocab(), "", kLoss, {"'m.txt': the file is empty"}},
      {"VocabFileEmpty", "", ok_merges, kLoss, {"'v.json': the file is empty; expected a JSON object {token: id}"}},
      {"VocabBlank", " \n", ok_merges, kLoss, {"'v.json': the file is empty"}},
      {"VocabEmptyObject", "{}", ok_merges, kLoss, {"'v.json': the vocabulary is empty"}},
      {"VocabMalformed", "{\"a\": 0,\n \"b\" 1}", ok_merges, kLoss,
       {"'v.json': not valid JSON: ", "parse error at line 2"}},
      {"VocabNotAnObject", "[\"a\", \"b\"]", ok_merges, kLoss, {"'v.json': expected a JSON object {token: id}, found a JSON array"}},
      {"VocabDuplicateIds", small_vocab("  \"xy\": 256,\n"), ok_merges, kLoss,
       {"'v.json' line 258, entry 'xy': id 256 is given to both 'ab' and 'xy'; each id must name one entry"}},
      {"VocabDuplicateKeys", small_vocab("  \"ab\": 257,\n"), ok_merges, kLoss, {"'v.json': key 'ab' appears twice"}},
      {"VocabIdGap", small_vocab("  \"xy\": 300,\n"), ok_merges, kLoss,
       {"'v.json': the largest id is 300, but there are only 258 vocab entries and 0 added tokens; ids must be "
        "0..V-1 with none missing"}},
      {"VocabNegativeId", small_vocab("  \"xy\": -3,\n"), ok_merges, kLoss,
       {"'v.json' line 258, entry 'xy': the id is -3; ids must be integers 0..V-1"}},
      {"VocabStringId", small_vocab("  \"xy\": \"257\",\n"), ok_merges, kLoss, {"entry 'xy': the id is \"257\""}},
      // tokenizer.json
      {"JsonMergeWithUnknownToken", edited([](json& j) { j["model"]["merges"].push_back("ab q\xC4\xA0"); }),
       std::nullopt, kLoss, {"model.merges[3]: merge 'ab q\xC4\xA0' uses 'q\xC4\xA0', which is not in the vocabulary"}},
      {"JsonMergeNotAPair", edited([](json& j) { j["model"]["merges"][0] = "ab"; }), std::nullopt, kLoss,
       {"model.merges[0] is \"ab\"; a merge is \"left right\" (one space) or [\"left\", \"right\"]"}},
      {"JsonDuplicateIds", edited([](json& j) { j["model"]["vocab"]["abc"] = 256; }), std::nullopt, kLoss,
       {"id 256 is given to both"}},
      {"JsonTruncated", edited([](json&) {}).substr(0, 500), std::nullopt, kLoss, {"not valid JSON"}},
      {"JsonAddedTokenContradictsVocab",
       edited([](json& j) { j["added_tokens"] = json::parse(R"([{"id": 256, "content": "<|x|>"}])"); }), std::nullopt,
       kLoss, {"added token '<|x|>' (id 256): the vocabulary gives id 256 to 'ab'"}},
      {"JsonAddedTokenSingleWord",
       edited([](json& j) { j["added_tokens"] = json::parse(R"([{"id": 259, "content": "<w>", "single_word": true}])"); }),
       std::nullopt, kUnimpl, {"added token '<w>' (id 259) has single_word: true"}},
      {"JsonNormalizer", edited([](json& j) { j["normalizer"] = {{"type", "NFC"}}; }), std::nullopt, kUnimpl,
       {"normalizer of type 'NFC' is not supported for byte-level BPE"}},
      {"JsonAddPrefixSpace", edited([](json& j) { j["pre_tokenizer"]["add_prefix_space"] = true; }), std::nullopt,
       kUnimpl, {"pre_tokenizer.add_prefix_space is true"}},
      {"JsonMetaspace", edited([](json& j) { j["pre_tokenizer"] = {{"type", "Metaspace"}}; }), std::nullopt, kUnimpl,
       {"pre_tokenizer of type 'Metaspace' is not supported for byte-level BPE"}},
      {"JsonUnknownSplitRegex",
       edited([](json& j) {
         j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
             {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false},
             {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})");
       }),
       std::nullopt, kUnimpl, {"pre_tokenizer splits on the regex \"\\\\p{N}{1,3}\", which loom does not implement yet"}},
      {"JsonByteFallback", edited([](json& j) { j["model"]["byte_fallback"] = true; }), std::nullopt, kUnimpl,
       {"model.byte_fallback is true"}},
      {"JsonDropout", edited([](json& j) { j["model"]["dropout"] = 0.1; }), std::nullopt, kUnimpl, {"model.dropout is 0.1"}},
      {"JsonSubwordPrefix", edited([](json& j) { j["model"]["continuing_subword_prefix"] = "##"; }), std::nullopt,
       kUnimpl, {"model.continuing_subword_prefix is \"##\""}},
      {"JsonNoDecoder", edited([](json& j) { j["decoder"] = nullptr; }), std::nullopt, kUnimpl,
       {"decoder (a JSON null) is not supported for byte-level BPE"}},
      {"JsonTemplatePostProcessor", edited([](json& j) { j["post_processor"] = {{"type", "TemplateProcessing"}}; }),
       std::nullopt, kUnimpl, {"post_processor of type 'TemplateProcessing' is not supported"}},
      {"JsonMergesWithoutPreTokenizer", edited([](json& j) { j["pre_tokenizer"] = nullptr; }), std::nullopt, kUnimpl,
       {"pre_tokenizer is null; byte-level BPE needs {\"type\": \"ByteLevel\"}"}},
      {"JsonUnknownUnk", edited([](json& j) { j["model"]["unk_token"] = "<unk>"; }), std::nullopt, kLoss,
       {"model.unk_token '<unk>' is not in model.vocab"}},
  };
}

class BadBpeFiles : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadBpeFiles, AreRejectedWithAClearMessage) {
  const BadCase& c = GetParam();
  Status status;
  if (c.merges) {
    status = ByteLevelBpe::from_vocab_and_merges(c.vocab, *c.merges, "v.json", "m.txt").status();
  } else {
    status = load_tokenizer_from_string(c.vocab, "t.json").status();
    EXPECT_EQ(status.message().rfind("tokenizer 't.json': ", 0), 0u) << status.message();
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), c.code) << status.to_string();
  expect_contains(status.message(), c.message_parts);
}

INSTANTIATE_TEST_SUITE_P(Cases, BadBpeFiles, ::testing::ValuesIn(bad_cases()),
                         [](const auto& test_info) { return test_info.param.name; });

TEST(ByteLevelBpeFiles, TheUneditedInputsLoad) {
  // Guards the table above: each case differs from an input that loads.
  EXPECT_TRUE(load_tokenizer_from_string(edited([](json&) {}), "t.json").ok());
  StatusOr<ByteLevelBpe> pair = ByteLevelBpe::from_vocab_and_merges(small_vocab(), "#version: 0.2\na b\n", "v.json", "m.txt");
  ASSERT_TRUE(pair.ok()) << pair.status().to_string();
  EXPECT_EQ(encode_or_die(*pair, "abab"), (std::vector<int32_t>{256, 256}));
  // CRLF line ends and a merges file without the version line are fine.
  EXPECT_TRUE(ByteLevelBpe::from_vocab_and_merges(small_vocab(), "a b\r\n", "v.json", "m.txt").ok());
  // Newer HF files write merges as pairs.
  StatusOr<std::unique_ptr<Tokenizer>> pairs = load_tokenizer_from_string(
      edited([](json& j) { j["model"]["merges"] = json::parse(R"([["a", "b"], ["ab", "c"]])"); }), "t.json");
  ASSERT_TRUE(pairs.ok()) << pairs.status().to_string();
  EXPECT_EQ(encode_or_die(**pairs, "abc"), (std::vector<int32_t>{257}));
}

TEST(ByteLevelBpeFiles, MissingFilesNameThePath) {
  const std::string dir = temp_dir("missing");
  StatusOr<ByteLevelBpe> r = ByteLevelBpe::load_vocab_and_merges(dir + "/vocab.json", dir + "/merges.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  expect_contains(r.status().message(), {dir + "/vocab.json"});
}

}  // namespace
}  // namespace loom
