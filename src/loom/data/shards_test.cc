// Shard and preparation tests: round trip in both id widths, corrupt shards, streaming
// preparation equal to whole-text encoding, JSONL input and its errors, shard streams.
#include <gtest/gtest.h>
#include <unistd.h>

#include <numeric>

#include "loom/base/file.h"
#include "loom/data/prepare.h"
#include "loom/data/token_shards.h"
#include "loom/tokenizers/bpe_trainer.h"
#include "loom/tokenizers/char_tokenizer.h"
#include "loom/testing/test_support.h"

namespace loom::data {
namespace {

std::string temp_dir(const std::string& name) { return testing::fresh_temp_dir("shards", name); }

TEST(Shards, RoundTripBothWidthsAndStream) {
  std::string dir = temp_dir("rt");
  for (uint32_t vocab : {100u, 70000u}) {
    std::string path = join_path(dir, "train_00000.bin");
    auto w = ShardWriter::create(path, vocab, 7);
    ASSERT_TRUE(w.ok());
    std::vector<int32_t> ids(1000);
    std::iota(ids.begin(), ids.end(), 0);
    for (auto& v : ids) v = static_cast<int32_t>(static_cast<uint32_t>(v * 37) % vocab);
    ASSERT_TRUE((*w)->append(ids).ok());
    ASSERT_TRUE((*w)->finish().ok());
    auto s = Shard::open(path);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ(s->header().id_bytes, vocab <= 65536 ? 2u : 4u);
    EXPECT_EQ(s->header().separator, 7u);
    std::vector<int32_t> back(1000);
    s->read(0, 1000, back.data());
    EXPECT_EQ(back, ids);
    EXPECT_TRUE(s->validate_ids().ok());
  }
  // Two shards read as one stream, across the boundary.
  std::vector<Shard> shards;
  for (int k = 0; k < 2; ++k) {
    std::string path = join_path(dir, "val_0000" + std::to_string(k) + ".bin");
    auto w = ShardWriter::create(path, 100, kNoSeparator);
    ASSERT_TRUE(w.ok());
    std::vector<int32_t> ids = {k * 10 + 0, k * 10 + 1, k * 10 + 2};
    ASSERT_TRUE((*w)->append(ids).ok());
    ASSERT_TRUE((*w)->finish().ok());
  }
  auto split = open_split(dir, "val");
  ASSERT_TRUE(split.ok());
  ShardStream stream(std::move(split).value());
  EXPECT_EQ(stream.size(), 6u);
  std::vector<int32_t> out(4);
  stream.read(1, 4, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{1, 2, 10, 11}));
}

TEST(Shards, CorruptShardsAreRejected) {
  std::string dir = temp_dir("corrupt");
  std::string path = join_path(dir, "x.bin");
  auto w = ShardWriter::create(path, 50, kNoSeparator);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->append(std::vector<int32_t>(100, 3)).ok());
  ASSERT_TRUE((*w)->finish().ok());
  std::string good = *read_file(path);
  auto expect = [&](const std::string& bytes, const std::string& needle) {
    ASSERT_TRUE(write_file_atomic(path, bytes).ok());
    auto s = Shard::open(path);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find(needle), std::string::npos) << s.status().message();
    EXPECT_NE(s.status().message().find(path), std::string::npos);
  };
  std::string bad = good;
  bad[0] = 'X';
  expect(bad, "magic");
  expect(good.substr(0, good.size() - 3), "truncated");
  expect(good.substr(0, 10), "magic");
  bad = good;
  bad[8] = 9;
  expect(bad, "version 9");
  // An id beyond the vocabulary is caught by validate_ids.
  bad = good;
  bad[32] = static_cast<char>(200);
  ASSERT_TRUE(write_file_atomic(path, bad).ok());
  auto s = Shard::open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->validate_ids().ok());
  auto none = open_split(dir, "train");
  EXPECT_FALSE(none.ok());
}

// The shards of a prepared directory, train then val, as one id sequence.
std::vector<int32_t> read_prepared(const std::string& out_dir) {
  auto train = open_split(out_dir, "train");
  auto val = open_split(out_dir, "val");
  LOOM_CHECK(train.ok() && val.ok());
  ShardStream ts(std::move(train).value()), vs(std::move(val).value());
  std::vector<int32_t> all(ts.size() + vs.size());
  ts.read(0, ts.size(), all.data());
  vs.read(0, vs.size(), all.data() + ts.size());
  return all;
}

TEST(Prepare, StreamingEqualsWholeTextEncoding) {
  std::string dir = temp_dir("prep");
  std::string text;
  for (int i = 0; i < 300; ++i) text += "line " + std::to_string(i) + " of the corpus\n" + (i % 7 ? "" : "\n  indented\n");
  std::string in = join_path(dir, "in.txt");
  ASSERT_TRUE(write_file_atomic(in, text).ok());
  CharTokenizer tok = CharTokenizer::train(text).value();
  PrepareOptions o;
  o.inputs = {in};
  o.out_dir = join_path(dir, "out");
  o.val_fraction = 0.2;
  o.chunk_bytes = 97;  // many small chunks, cut at safe points
  o.shard_tokens = 1000;  // several shards
  auto r = prepare_corpus(tok, o);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->train_tokens + r->val_tokens, text.size());
  // The split falls on a safe cut point at or before 20%, within one chunk of it.
  EXPECT_NEAR(static_cast<double>(r->val_tokens) / static_cast<double>(text.size()), 0.2, 0.04);
  auto train = open_split(o.out_dir, "train");
  auto val = open_split(o.out_dir, "val");
  ASSERT_TRUE(train.ok() && val.ok());
  EXPECT_GT(train->size(), 1u);
  EXPECT_EQ(read_prepared(o.out_dir), tok.encode(text).value());
  EXPECT_TRUE(file_exists(join_path(o.out_dir, "meta.json")));
  EXPECT_TRUE(file_exists(join_path(o.out_dir, "tokenizer.json")));
}

// Text with no safe cut point anywhere (every line starts with a space, as in WikiText)
// still gets its validation split, cut after the last newline before the boundary.
TEST(Prepare, ValidationSplitWithoutSafeCutPoints) {
  const std::string dir = temp_dir("prep_nosafe");
  std::string text;
  for (int i = 0; i < 200; ++i) text += " = heading " + std::to_string(i) + " = \n the text of it , line " + std::to_string(i) + " \n";
  const std::string in = join_path(dir, "in.txt");
  ASSERT_TRUE(write_file_atomic(in, text).ok());
  CharTokenizer tok = CharTokenizer::train(text).value();
  for (size_t chunk : {size_t{64}, size_t{1} << 20}) {
    PrepareOptions o;
    o.inputs = {in};
    o.out_dir = join_path(dir, "out" + std::to_string(chunk));
    o.val_fraction = 0.2;
    o.chunk_bytes = chunk;
    auto r = prepare_corpus(tok, o);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->train_tokens + r->val_tokens, text.size());
    EXPECT_NEAR(static_cast<double>(r->val_tokens) / static_cast<double>(text.size()), 0.2, 0.03) << chunk;
    EXPECT_EQ(read_prepared(o.out_dir), tok.encode(text).value());
  }
}

// With byte-level BPE the chunk cuts matter: a cut inside a pre-token (e.g. between the two
// newlines of "\n\n", or inside a whitespace run) would change the ids. Whatever the chunk
// size, the shards must hold exactly the ids of the whole text.
TEST(Prepare, BpeShardsEqualWholeTextEncoding) {
  std::string text;
  const char* lines[] = {"First Citizen:\n", "Before we proceed any further, hear me speak.\n\n", "All:\n",
                         "Speak, speak.\n\n\n", "  indented  twice\n", "\n \n", "tabs\tand  spaces   \n",
                         "it's 1234 o'clock\r\n", "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87\n", "bad \xFF byte\n", "a\n\nB\n", "x\xE3\x80\x80\nB\n\xE3\x80\x80\xE3\x80\x80y\n"};
  for (int i = 0; i < 400; ++i) text += lines[(i * 7) % 12];
  const std::string dir = temp_dir("prep_bpe");
  const std::string in = join_path(dir, "in.txt");
  ASSERT_TRUE(write_file_atomic(in, text).ok());
  BpeTrainerOptions bo;
  bo.vocab_size = 400;
  std::string_view views[] = {text};
  auto tok = train_byte_level_bpe(views, bo);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  const std::vector<int32_t> whole = tok->encode(text).value();
  for (size_t chunk : {size_t{13}, size_t{97}, size_t{1000}, size_t{1} << 20}) {
    PrepareOptions o;
    o.inputs = {in};
    o.out_dir = join_path(dir, "out" + std::to_string(chunk));
    o.val_fraction = 0.25;
    o.chunk_bytes = chunk;
    o.shard_tokens = 500;
    auto r = prepare_corpus(*tok, o);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_GT(r->val_tokens, 0u);
    EXPECT_EQ(read_prepared(o.out_dir), whole) << "chunk_bytes " << chunk;
  }
}

TEST(Prepare, JsonlDocumentsAndErrors) {
  std::string dir = temp_dir("jsonl");
  std::string in = join_path(dir, "docs.jsonl");
  ASSERT_TRUE(write_file_atomic(in, "{\"text\": \"abc\"}\n\n{\"text\": \"cab\", \"id\": 2}\n").ok());
  CharTokenizer tok = CharTokenizer::train("abc").value();
  PrepareOptions o;
  o.inputs = {in};
  o.out_dir = join_path(dir, "out");
  o.val_fraction = 0.0;
  auto r = prepare_corpus(tok, o);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->documents, 2u);
  EXPECT_EQ(r->train_tokens, 6u);
  ASSERT_TRUE(write_file_atomic(in, "{\"text\": \"abc\"}\n{\"body\": \"x\"}\n").ok());
  auto bad = prepare_corpus(tok, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos) << bad.status().message();
  ASSERT_TRUE(write_file_atomic(in, "{\"text\": \"abc\"\n").ok());
  EXPECT_FALSE(prepare_corpus(tok, o).ok());
  o.inputs = {join_path(dir, "missing.txt")};
  EXPECT_FALSE(prepare_corpus(tok, o).ok());
  ASSERT_TRUE(write_file_atomic(join_path(dir, "e.txt"), "").ok());
  o.inputs = {join_path(dir, "e.txt")};
  EXPECT_FALSE(prepare_corpus(tok, o).ok());
}

TEST(Prepare, SafeCutRespectsPreTokenBoundaries) {
  EXPECT_EQ(safe_cut("ab\ncd\n\nef", 5), 3u);   // after "ab\n", before "cd"
  EXPECT_EQ(safe_cut("ab\ncd\n\nef", 8), 3u);   // not after "\n\n": GPT-2 would merge it at a piece end
  EXPECT_EQ(safe_cut("ab\n cd", 5), 6u);        // "\n " is not a cut: no cut before 5
  EXPECT_EQ(safe_cut("a\n\nB", 3), 4u);         // no safe cut at all
  // U+3000 IDEOGRAPHIC SPACE before or after the newline would join its whitespace run.
  EXPECT_EQ(safe_cut("a\nb\xE3\x80\x80\nB", 7), 2u);
  EXPECT_EQ(safe_cut("a\nb\n\xE3\x80\x80\xE3\x80\x80x", 9), 2u);
}

}  // namespace
}  // namespace loom::data
