// Generation tests: KV-cache generation equals full recomputation, sampling options behave,
// stop strings and bad prompts.
#include <gtest/gtest.h>

#include <cmath>

#include "loom/infer/generator.h"
#include "loom/tokenizers/char_tokenizer.h"

namespace loom::infer {
namespace {

struct Fixture {
  CharTokenizer tok = CharTokenizer::train("abcdefghijklmnopqrstuvwxyz .,\n").value();
  models::GPTConfig cfg;
  std::unique_ptr<models::GPT> model;
  Fixture(models::PosEncoding pos = models::PosEncoding::kLearned) {
    cfg.vocab_size = tok.vocab_size();
    cfg.block_size = 32;
    cfg.n_layer = 2;
    cfg.n_head = 2;
    cfg.n_embd = 16;
    cfg.pos_encoding = pos;
    model = std::make_unique<models::GPT>(cfg);
    Rng rng(5);
    model->init_weights(rng);
    // Larger weights than GPT-2's init so the distribution is far from uniform.
    for (auto& [name, v] : model->named_parameters())
      for (int64_t i = 0; i < v.value().numel(); ++i) v.mutable_value().f32()[i] *= 20.0f;
  }
};

TEST(Generate, KvCacheEqualsFullRecomputation) {
  for (auto pos : {models::PosEncoding::kLearned, models::PosEncoding::kSinusoidal}) {
    Fixture f(pos);
    for (float temperature : {0.0f, 1.0f}) {
      GenerateOptions o;
      o.max_new_tokens = 24;
      o.sampling.temperature = temperature;
      o.seed = 9;
      o.use_kv_cache = true;
      auto a = generate(*f.model, f.tok, "the cat", o);
      o.use_kv_cache = false;
      auto b = generate(*f.model, f.tok, "the cat", o);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(a->new_ids, b->new_ids);
      EXPECT_EQ(a->new_ids.size(), 24u);
      EXPECT_EQ(a->text, f.tok.decode(a->new_ids));
    }
  }
}

TEST(Generate, ContinuesPastTheContext) {
  Fixture f;
  GenerateOptions o;
  o.max_new_tokens = 100;  // block_size is 32
  o.sampling.temperature = 0.0f;
  auto r = generate(*f.model, f.tok, "abc", o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->new_ids.size(), 100u);
}

TEST(Generate, StreamsAndStopsAtStopString) {
  Fixture f;
  GenerateOptions o;
  o.max_new_tokens = 30;
  o.sampling.temperature = 0.0f;
  auto full = generate(*f.model, f.tok, "the", o);
  ASSERT_TRUE(full.ok());
  ASSERT_GE(full->text.size(), 6u);
  o.stop = {full->text.substr(3, 2)};
  std::string streamed;
  auto r = generate(*f.model, f.tok, "the", o, [&](const std::string& s) { streamed += s; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop_reason, "stop");
  EXPECT_EQ(streamed, r->text);
  EXPECT_EQ(r->text, full->text.substr(0, full->text.find(o.stop[0])));
}

TEST(Generate, RejectsBadPrompts) {
  Fixture f;
  GenerateOptions o;
  auto too_long = generate(*f.model, f.tok, std::string(40, 'a'), o);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("40 tokens"), std::string::npos);
  EXPECT_NE(too_long.status().message().find("32"), std::string::npos);
  EXPECT_FALSE(generate(*f.model, f.tok, "", o).ok());
  EXPECT_FALSE(generate(*f.model, f.tok, "ABC", o).ok());  // not in the vocabulary
  o.sampling.top_p = 0.0f;
  EXPECT_FALSE(generate(*f.model, f.tok, "abc", o).ok());
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  std::vector<float> scratch;
  Rng rng(1);
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_k = 1;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(logits, {}, o, rng, &scratch), 1);
  o.top_k = 0;
  o.top_p = 0.01f;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(logits, {}, o, rng, &scratch), 1);
  // A strong repetition penalty moves greedy off a token already seen.
  o = SamplingOptions{};
  o.temperature = 0.0f;
  o.repetition_penalty = 10.0f;
  std::vector<int32_t> hist = {1};
  EXPECT_EQ(sample_token(logits, hist, o, rng, &scratch), 3);
  // Sampling at temperature 1 follows the softmax.
  o = SamplingOptions{};
  o.temperature = 1.0f;
  std::vector<float> two = {0.0f, std::log(3.0f)};
  int ones = 0;
  for (int i = 0; i < 4000; ++i) ones += sample_token(two, {}, o, rng, &scratch);
  EXPECT_NEAR(ones / 4000.0, 0.75, 0.03);
}

}  // namespace
}  // namespace loom::infer
