// GGUF tests: the reader on hand-built files (every field type, tensors, alignment) and on
// every structural corruption, each a data-loss Status naming the file and the problem; every
// truncation of a valid file refused; and the tokenizers of llama.cpp's vocabulary files
// against their golden ids (gpt-2, starcoder, falcon: every test string, encode and decode,
// also after a save to tokenizer.json and reload), with the families loom does not implement
// refused by name.
#include "loom/io/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "loom/base/env.h"
#include "loom/base/file.h"
#include "loom/io/gguf_tokenizer.h"
#include "loom/tokenizers/byte_level_bpe.h"
#include "loom/tokenizers/utf8.h"
#include "loom/testing/test_support.h"

namespace loom {
namespace {

// --- a little GGUF writer for hand-built files ---

struct Writer {
  std::string out;
  template <typename T>
  Writer& raw(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Writer& str(const std::string& s) {
    raw<uint64_t>(s.size());
    out += s;
    return *this;
  }
  Writer& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    out += "GGUF";
    return raw<uint32_t>(version).raw<uint64_t>(n_tensors).raw<uint64_t>(n_kv);
  }
  Writer& kv_u32(const std::string& key, uint32_t v) { return str(key).raw<uint32_t>(4).raw<uint32_t>(v); }
  Writer& kv_str(const std::string& key, const std::string& v) { return str(key).raw<uint32_t>(8).str(v); }
  Writer& kv_strs(const std::string& key, const std::vector<std::string>& v) {
    str(key).raw<uint32_t>(9).raw<uint32_t>(8).raw<uint64_t>(v.size());
    for (const std::string& s : v) str(s);
    return *this;
  }
  Writer& kv_i32s(const std::string& key, const std::vector<int32_t>& v) {
    str(key).raw<uint32_t>(9).raw<uint32_t>(5).raw<uint64_t>(v.size());
    for (int32_t x : v) raw<int32_t>(x);
    return *this;
  }
  Writer& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).raw<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) raw<uint64_t>(d);
    return raw<uint32_t>(type).raw<uint64_t>(offset);
  }
  Writer& pad(size_t alignment) {
    while (out.size() % alignment != 0) out += '\0';
    return *this;
  }
};

StatusOr<GgufFile> parse(const std::string& bytes) {
  return GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.gguf");
}

// A valid file with one of each value kind and two F32 tensors.
std::string sample_file() {
  Writer w;
  w.header(2, 6);
  w.str("general.name").raw<uint32_t>(8).str("tiny");
  w.str("a.u8").raw<uint32_t>(0).raw<uint8_t>(200);
  w.str("a.i64").raw<uint32_t>(11).raw<int64_t>(-5);
  w.str("a.f32").raw<uint32_t>(6).raw<float>(0.5f);
  w.str("a.bool").raw<uint32_t>(7).raw<uint8_t>(1);
  w.kv_strs("a.list", {"x", "", "y z"});
  w.tensor("w", {4, 2}, 0, 0).tensor("b", {4}, 0, 32);
  w.pad(32);
  w.out += std::string(32 + 16, '\x01');
  return w.out;
}

TEST(Gguf, ReadsEveryKindOfValueAndTensors) {
  StatusOr<GgufFile> f = parse(sample_file());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->version(), 3u);
  ASSERT_EQ(f->metadata().size(), 6u);
  EXPECT_EQ(f->metadata()[0].first, "general.name");
  EXPECT_EQ(f->get_string("general.name").value(), "tiny");
  EXPECT_EQ(f->get_int("a.u8").value(), 200);
  EXPECT_EQ(f->get_int("a.i64").value(), -5);
  EXPECT_EQ(f->find("a.f32")->floats, std::vector<double>{0.5});
  EXPECT_EQ(f->get_int("a.bool").value(), 1);
  EXPECT_EQ(*f->get_string_array("a.list").value(), (std::vector<std::string>{"x", "", "y z"}));
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->tensors()[0].name, "w");
  EXPECT_EQ(f->tensors()[0].dims, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(f->tensors()[0].nbytes, 32u);
  EXPECT_EQ(f->tensors()[1].offset, 32u);
  // Typed access names the key and both types.
  EXPECT_EQ(f->get_int("general.name").status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f->get_int("general.name").status().message().find("'general.name' is string, expected an integer"),
            std::string::npos)
      << f->get_int("general.name").status().message();
  EXPECT_EQ(f->get_string("nope").status().code(), StatusCode::kNotFound);
}

TEST(Gguf, OpensFromDisk) {
  const std::string path = ::testing::TempDir() + "loom_gguf_" + std::to_string(::getpid()) + ".gguf";
  ASSERT_TRUE(write_file_atomic(path, sample_file()).ok());
  StatusOr<GgufFile> f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->source(), path);
  EXPECT_EQ(f->tensors().size(), 2u);
  std::remove(path.c_str());
  EXPECT_EQ(GgufFile::open(path).status().code(), StatusCode::kNotFound);
}

void expect_corrupt(const std::string& bytes, const std::string& fragment) {
  StatusOr<GgufFile> f = parse(bytes);
  ASSERT_FALSE(f.ok()) << "accepted; expected an error with '" << fragment << "'";
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << f.status().to_string();
  EXPECT_NE(f.status().message().find("test.gguf"), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find(fragment), std::string::npos) << f.status().message();
}

TEST(Gguf, RejectsEveryStructuralCorruption) {
  expect_corrupt("GGUX" + sample_file().substr(4), "not a GGUF file");
  expect_corrupt(Writer().header(0, 0, 1).out, "version 1");
  expect_corrupt(Writer().header(0, 1000000).out, "promises 1000000 metadata entries");
  expect_corrupt(Writer().header(0, 1).str("k").raw<uint32_t>(13).raw<uint32_t>(0).out, "value type 13");
  expect_corrupt(Writer().header(0, 1).str("k").raw<uint32_t>(8).raw<uint64_t>(1ull << 40).out,
                 "a string of 1099511627776 bytes");
  expect_corrupt(Writer().header(0, 1).str("k").raw<uint32_t>(9).raw<uint32_t>(4).raw<uint64_t>(1ull << 60).out,
                 "cannot fit");
  expect_corrupt(Writer().header(0, 1).str("k").raw<uint32_t>(9).raw<uint32_t>(9).raw<uint64_t>(0).out,
                 "array of arrays");
  expect_corrupt(Writer().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).out, "'k' appears twice");
  expect_corrupt(Writer().header(0, 1).str("bad\xff").raw<uint32_t>(4).raw<uint32_t>(1).out, "UTF-8");
  expect_corrupt(Writer().header(0, 1).str("k").raw<uint32_t>(7).raw<uint8_t>(2).out, "bool byte is 2");
  expect_corrupt(Writer().header(0, 1).kv_u32("general.alignment", 24).out, "power of two");
  expect_corrupt(Writer().header(1, 0).tensor("t", {}, 0, 0).pad(32).out, "0 dims");
  expect_corrupt(Writer().header(1, 0).tensor("t", {2, 0}, 0, 0).pad(32).out, "dims must be positive");
  expect_corrupt(Writer().header(1, 0).tensor("t", {1ull << 40, 1ull << 40}, 0, 0).pad(32).out, "2^62");
  expect_corrupt(Writer().header(1, 0).tensor("t", {4}, 0, 16).pad(32).out, "not a multiple of the alignment");
  expect_corrupt(Writer().header(1, 0).tensor("t", {4}, 0, 0).pad(32).out, "past the end");
  expect_corrupt(Writer().header(1, 0).tensor("t", {33}, 8, 0).pad(32).out, "block of 32");
  std::string two = Writer().header(2, 0).tensor("t", {1}, 0, 0).tensor("t", {1}, 0, 32).pad(32).out;
  expect_corrupt(two + std::string(64, '\0'), "'t' appears twice");
}

TEST(Gguf, RejectsEveryTruncation) {
  const std::string full = sample_file();
  // The tensor data starts at the last 48 bytes; cutting there or later loses tensor bytes.
  for (size_t n = 0; n < full.size(); ++n) {
    StatusOr<GgufFile> f = parse(full.substr(0, n));
    EXPECT_FALSE(f.ok()) << "a file cut to " << n << " of " << full.size() << " bytes was accepted";
  }
}

TEST(Gguf, UnknownTensorTypesAreListedWithoutSize) {
  StatusOr<GgufFile> f = parse(Writer().header(1, 0).tensor("q", {7}, 99, 0).pad(32).out);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_FALSE(f->tensors()[0].nbytes.has_value());
}

// --- tokenizers inside GGUF files ---

std::string vocab_tests_dir() { return testing::data_dir() + "/tokenizers/llama.cpp-vocab-tests"; }

using Golden = testing::VocabVector;

void expect_golden(const Tokenizer& tok, const std::vector<Golden>& cases, const std::string& family) {
  int failures = 0;
  for (const Golden& c : cases) {
    StatusOr<std::vector<int32_t>> ids = tok.encode(c.text);
    ASSERT_TRUE(ids.ok()) << ids.status().to_string();
    if (*ids != c.ids && ++failures <= 5) {
      std::string got, want;
      for (int32_t i : *ids) got += std::to_string(i) + " ";
      for (int32_t i : c.ids) want += std::to_string(i) + " ";
      ADD_FAILURE() << family << ": " << quote_text(c.text, 80) << "\n  got  " << got << "\n  want " << want;
    }
    EXPECT_EQ(tok.decode(c.ids), c.text) << family << ": " << quote_text(c.text, 80);
  }
  EXPECT_EQ(failures, 0) << family << ": " << failures << " of " << cases.size() << " texts differ";
}

class GgufGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufGolden, MatchesLlamaCppVectors) {
  const std::string stem = vocab_tests_dir() + "/ggml-vocab-" + GetParam() + ".gguf";
  if (!file_exists(stem)) GTEST_SKIP() << stem << " not found (set LOOM_DATA_DIR)";
  StatusOr<std::unique_ptr<Tokenizer>> tok = load_tokenizer_any(stem);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  EXPECT_EQ((*tok)->type_name(), "byte_bpe");
  const std::vector<Golden> cases = testing::read_vocab_vectors(stem);
  ASSERT_GE(cases.size(), 40u);
  expect_golden(**tok, cases, GetParam());

  // The same tokenizer after a round trip through tokenizer.json.
  const std::string dir = ::testing::TempDir() + "loom_gguf_tok_" + std::to_string(::getpid()) + "_" + GetParam();
  ASSERT_TRUE(make_directories(dir).ok());
  ASSERT_TRUE(save_tokenizer(**tok, dir).ok());
  StatusOr<std::unique_ptr<Tokenizer>> again = load_tokenizer(dir);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(dynamic_cast<const ByteLevelBpe&>(**again).pre_tokenizer(),
            dynamic_cast<const ByteLevelBpe&>(**tok).pre_tokenizer());
  expect_golden(**again, cases, GetParam() + " via tokenizer.json");
}

INSTANTIATE_TEST_SUITE_P(Families, GgufGolden, ::testing::Values("gpt-2", "starcoder", "falcon"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(GgufTokenizer, RefusesFamiliesItDoesNotImplementByName) {
  const std::string deepseek = vocab_tests_dir() + "/ggml-vocab-deepseek-llm.gguf";
  if (!file_exists(deepseek)) GTEST_SKIP() << deepseek << " not found (set LOOM_DATA_DIR)";
  StatusOr<std::unique_ptr<Tokenizer>> t = load_tokenizer_any(deepseek);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(t.status().message().find("tokenizer.ggml.pre is 'deepseek-llm'"), std::string::npos)
      << t.status().message();
  EXPECT_NE(t.status().message().find("starcoder"), std::string::npos) << "should list what is supported";

  StatusOr<std::unique_ptr<Tokenizer>> bert = load_tokenizer_any(vocab_tests_dir() + "/ggml-vocab-bert-bge.gguf");
  ASSERT_FALSE(bert.ok());
  EXPECT_NE(bert.status().message().find("tokenizer.ggml.model is 'bert'"), std::string::npos)
      << bert.status().message();
}

// A vocabulary small enough to write by hand: bytes, one merge, an end-of-text control token.
std::string tiny_vocab(const std::vector<std::string>& merges, const std::string& pre = "gpt-2") {
  const std::vector<std::string> tokens = {"a", "b", "ab", "<|endoftext|>"};
  const std::vector<int32_t> types = {1, 1, 1, 3};
  Writer w;
  w.header(0, 6)
      .kv_str("tokenizer.ggml.model", "gpt2")
      .kv_str("tokenizer.ggml.pre", pre)
      .kv_strs("tokenizer.ggml.tokens", tokens)
      .kv_i32s("tokenizer.ggml.token_type", types)
      .kv_strs("tokenizer.ggml.merges", merges)
      .kv_u32("tokenizer.ggml.eos_token_id", 3);
  return w.out;
}

StatusOr<std::unique_ptr<Tokenizer>> tiny(const std::vector<std::string>& merges, const std::string& pre = "gpt-2") {
  LOOM_ASSIGN_OR_RETURN(GgufFile f, parse(tiny_vocab(merges, pre)));
  return tokenizer_from_gguf(f);
}

TEST(GgufTokenizer, HandBuiltVocabulary) {
  StatusOr<std::unique_ptr<Tokenizer>> t = tiny({"a b"});
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->encode("abba").value(), (std::vector<int32_t>{2, 1, 0}));
  EXPECT_EQ((*t)->special_tokens().eos, 3);
  EXPECT_EQ(dynamic_cast<const ByteLevelBpe&>(**t).encode_with_special("ab<|endoftext|>").value(),
            (std::vector<int32_t>{2, 3}));
}

TEST(GgufTokenizer, BadVocabularies) {
  auto message = [](const StatusOr<std::unique_ptr<Tokenizer>>& t) { return t.ok() ? std::string("ok") : t.status().message(); };
  EXPECT_NE(message(tiny({"a"})).find("tokenizer.ggml.merges[0] is 'a'; a merge is two tokens"), std::string::npos)
      << message(tiny({"a"}));
  EXPECT_NE(message(tiny({"a c"})).find("test.gguf' tokenizer.ggml.merges[0]"), std::string::npos)
      << message(tiny({"a c"}));
  EXPECT_NE(message(tiny({"a b"}, "llama3")).find("'llama3'"), std::string::npos);
  Writer w;
  w.header(0, 1).kv_str("tokenizer.ggml.model", "gpt2");
  StatusOr<GgufFile> f = parse(w.out);
  ASSERT_TRUE(f.ok());
  StatusOr<std::unique_ptr<Tokenizer>> t = tokenizer_from_gguf(*f);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tokenizer.ggml.pre"), std::string::npos) << t.status().message();
}

}  // namespace
}  // namespace loom
