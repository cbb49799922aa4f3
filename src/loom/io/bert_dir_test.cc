// BERT model directories: save, read back (config, labels, tokenizer), load weights into a
// classifier from a pretraining directory, and the errors for mismatched pieces.
#include <gtest/gtest.h>

#include <fstream>

#include "loom/base/file.h"
#include "loom/io/bert_dir.h"
#include "loom/testing/test_support.h"
#include "loom/tokenizers/wordpiece.h"

namespace loom::io {
namespace {

models::BertConfig tiny_config(int64_t vocab) {
  models::BertConfig c;
  c.vocab_size = vocab;
  c.hidden_size = 8;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 16;
  c.max_position_embeddings = 16;
  return c;
}

WordPiece tiny_wordpiece() {
  auto wp = WordPiece::from_vocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "##ly"}, {});
  LOOM_CHECK(wp.ok());
  return std::move(*wp);
}

TEST(BertDir, PretrainedEncoderStartsAClassifier) {
  const std::string dir = testing::fresh_temp_dir("bert_dir", "roundtrip");
  const WordPiece wp = tiny_wordpiece();
  const models::BertConfig cfg = tiny_config(wp.vocab_size());
  models::BertForPreTraining pre(cfg);
  Rng rng(7);
  pre.init_weights(rng);
  ASSERT_TRUE(save_bert_dir(dir + "/pre", pre, cfg, BertHead::kPretraining, {}, wp).ok());
  EXPECT_TRUE(file_exists(dir + "/pre/vocab.txt"));

  auto read = read_bert_dir(dir + "/pre");
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(read->head, BertHead::kPretraining);
  EXPECT_EQ(read->config.hidden_size, 8);
  EXPECT_EQ(read->tokenizer->vocab_size(), wp.vocab_size());

  models::BertForSequenceClassification cls(read->config, 2);
  auto loaded = load_bert_weights(dir + "/pre", cls, "bert.");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(*loaded, static_cast<int64_t>(cls.named_parameters().size()) - 2);  // all but classifier.*
  auto a = pre.bert().named_parameters(), b = cls.bert().named_parameters();
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(0, std::memcmp(a[i].second.value().f32(), b[i].second.value().f32(), a[i].second.value().nbytes()))
        << a[i].first;

  ASSERT_TRUE(save_bert_dir(dir + "/cls", cls, cfg, BertHead::kClassification, {"neg", "pos"}, wp).ok());
  auto again = read_bert_dir(dir + "/cls");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->head, BertHead::kClassification);
  EXPECT_EQ(again->labels, (std::vector<std::string>{"neg", "pos"}));
}

TEST(BertDir, MismatchesAreNamed) {
  const std::string dir = testing::fresh_temp_dir("bert_dir", "errors");
  const WordPiece wp = tiny_wordpiece();
  models::BertConfig cfg = tiny_config(wp.vocab_size() + 5);  // model and tokenizer disagree
  models::BertForPreTraining pre(cfg);
  ASSERT_TRUE(save_bert_dir(dir + "/a", pre, cfg, BertHead::kPretraining, {}, wp).ok());
  auto r = read_bert_dir(dir + "/a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the tokenizer has 8 tokens but config.json says vocab_size 13"),
            std::string::npos)
      << r.status().message();

  // A deeper model cannot take a shallower checkpoint's encoder.
  cfg = tiny_config(wp.vocab_size());
  models::BertForPreTraining shallow(cfg);
  ASSERT_TRUE(save_bert_dir(dir + "/b", shallow, cfg, BertHead::kPretraining, {}, wp).ok());
  models::BertConfig deep = cfg;
  deep.num_hidden_layers = 2;
  models::BertForSequenceClassification cls(deep, 2);
  auto l = load_bert_weights(dir + "/b", cls, "bert.");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("bert.encoder.layer.1"), std::string::npos) << l.status().message();

  std::ofstream(dir + "/b/config.json") << "{\"model_type\": \"bert\", \"vocab_size\": 8, \"hidden_size\": 8, "
                                           "\"num_hidden_layers\": 1, \"num_attention_heads\": 3, \"intermediate_size\": 4}";
  auto bad = read_bert_dir(dir + "/b");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not divisible by num_attention_heads"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace loom::io
