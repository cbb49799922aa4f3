// MLM/NSP instance creation and masking, and the classification file reader.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "loom/data/bert_pretraining.h"
#include "loom/data/classification.h"
#include "loom/testing/test_support.h"
#include "loom/tokenizers/wordpiece.h"

namespace loom::data {
namespace {

WordPiece tiny_wordpiece() {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on",
                                    "mat",   "a",     "dog",   "ran",   ".",      "play", "##ing", "##ed", "it"};
  auto wp = WordPiece::from_vocab(vocab, {});
  LOOM_CHECK(wp.ok()) << wp.status().to_string();
  return std::move(*wp);
}

std::string write(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(BertPretraining, SplitsSentences) {
  EXPECT_EQ(split_sentences("The cat sat. A dog ran! Did it? yes"),
            (std::vector<std::string>{"The cat sat.", "A dog ran!", "Did it?", "yes"}));
  EXPECT_EQ(split_sentences("e.g. 3.5 is fine"), (std::vector<std::string>{"e.g.", "3.5 is fine"}));
  EXPECT_EQ(split_sentences("他来了。她走了！好吗？"), (std::vector<std::string>{"他来了。", "她走了！", "好吗？"}));
  EXPECT_TRUE(split_sentences("   ").empty());
}

TEST(BertPretraining, ReadsDocumentsAndMakesMaskedPairs) {
  const std::string dir = testing::fresh_temp_dir("bert_data", "pairs");
  std::string text;
  for (int d = 0; d < 6; ++d) {
    for (int s = 0; s < 5; ++s) text += "the cat sat on the mat . a dog ran playing .\n";
    text += "\n";
  }
  const std::string path = write(dir, "corpus.txt", text);
  const WordPiece wp = tiny_wordpiece();
  PretrainCorpusStats stats;
  auto docs = read_pretraining_documents({path}, wp, &stats);
  ASSERT_TRUE(docs.ok()) << docs.status().to_string();
  EXPECT_EQ(stats.documents, 6);
  EXPECT_EQ(stats.sentences, 60);  // each line is two sentences (". " splits)
  auto special = BertSpecialIds::from(wp);
  ASSERT_TRUE(special.ok());
  const std::vector<bool> cont = continuation_pieces(wp);
  EXPECT_TRUE(cont[15]);  // ##ing
  EXPECT_FALSE(cont[14]);

  PretrainOptions o;
  o.max_seq_len = 24;
  o.max_predictions = 5;
  const auto inst = make_instances(*docs, o, *special, cont, 0);
  ASSERT_GT(inst.size(), 6u);
  int64_t random_next = 0, predictions = 0, masked = 0, tokens = 0;
  for (const auto& in : inst) {
    ASSERT_LE(static_cast<int64_t>(in.ids.size()), o.max_seq_len);
    ASSERT_EQ(in.ids.front(), special->cls);
    ASSERT_EQ(in.ids.back(), special->sep);
    // [CLS] A [SEP] B [SEP]: types 0 through the first [SEP], 1 after.
    const size_t first_sep = std::find(in.ids.begin() + 1, in.ids.end(), special->sep) - in.ids.begin();
    ASSERT_LT(first_sep + 1, in.ids.size()) << "B is empty";
    for (size_t t = 0; t < in.ids.size(); ++t) EXPECT_EQ(in.token_types[t], t <= first_sep ? 0 : 1);
    ASSERT_FALSE(in.positions.empty());
    ASSERT_LE(static_cast<int64_t>(in.positions.size()), o.max_predictions);
    for (size_t k = 0; k < in.positions.size(); ++k) {
      const int32_t p = in.positions[k];
      EXPECT_NE(p, 0);
      EXPECT_NE(static_cast<size_t>(p), first_sep);
      EXPECT_NE(in.labels[k], special->cls);
      EXPECT_NE(in.labels[k], special->sep);
      masked += in.ids[static_cast<size_t>(p)] == special->mask;
    }
    random_next += in.is_random_next;
    predictions += static_cast<int64_t>(in.positions.size());
    tokens += static_cast<int64_t>(in.ids.size());
  }
  // Roughly half random next sentences, ~80% of predictions shown as [MASK].
  const double frac_random = static_cast<double>(random_next) / static_cast<double>(inst.size());
  EXPECT_GT(frac_random, 0.2);
  EXPECT_LT(frac_random, 0.8);
  EXPECT_GT(static_cast<double>(masked) / static_cast<double>(predictions), 0.6);

  // Deterministic per epoch, different across epochs (dynamic masking).
  const auto again = make_instances(*docs, o, *special, cont, 0);
  const auto next = make_instances(*docs, o, *special, cont, 1);
  ASSERT_EQ(again.size(), inst.size());
  for (size_t i = 0; i < inst.size(); ++i) EXPECT_EQ(again[i].ids, inst[i].ids);
  bool differs = next.size() != inst.size();
  for (size_t i = 0; !differs && i < inst.size(); ++i) differs = next[i].ids != inst[i].ids;
  EXPECT_TRUE(differs);

  // The batch: padded to its longest instance, flat positions, one NSP label per row.
  const PretrainBatch b = collate(inst, 0, 4, special->pad);
  EXPECT_EQ(b.batch, 4);
  int64_t longest = 0;
  size_t n_pred = 0;
  for (size_t i = 0; i < 4; ++i) {
    longest = std::max<int64_t>(longest, static_cast<int64_t>(inst[i].ids.size()));
    n_pred += inst[i].positions.size();
  }
  EXPECT_EQ(b.seq_len, longest);
  ASSERT_EQ(b.mlm_positions.size(), n_pred);
  for (size_t k = 0; k < n_pred; ++k) EXPECT_EQ(b.ids[static_cast<size_t>(b.mlm_positions[k])] == special->pad, false);
  for (size_t i = 0; i < 4; ++i)
    for (int64_t t = 0; t < b.seq_len; ++t)
      EXPECT_EQ(b.attention_mask[i * static_cast<size_t>(b.seq_len) + static_cast<size_t>(t)],
                t < static_cast<int64_t>(inst[i].ids.size()) ? 1 : 0);
}

TEST(BertPretraining, WholeWordMaskingTakesWordsWhole) {
  const std::string dir = testing::fresh_temp_dir("bert_data", "wwm");
  std::string text;
  for (int d = 0; d < 4; ++d) text += "playing played playing played playing played\nplaying played playing\n\n";
  const WordPiece wp = tiny_wordpiece();
  auto docs = read_pretraining_documents({write(dir, "c.txt", text)}, wp, nullptr);
  ASSERT_TRUE(docs.ok());
  auto special = BertSpecialIds::from(wp);
  PretrainOptions o;
  o.whole_word_masking = true;
  o.mask_prob = 0.3f;
  const auto cont = continuation_pieces(wp);
  for (const auto& in : make_instances(*docs, o, *special, cont, 3)) {
    std::set<int32_t> pos(in.positions.begin(), in.positions.end());
    for (size_t k = 0; k < in.positions.size(); ++k) {
      const int32_t p = in.positions[k], label = in.labels[k];
      // Every "play" here is followed by "##ing" or "##ed": masked together, or not at all.
      if (label == 14) {
        EXPECT_TRUE(pos.count(p + 1)) << "word head masked without its continuation";
      }
      if (label == 15 || label == 16) {
        EXPECT_TRUE(pos.count(p - 1)) << "continuation masked without its head";
      }
    }
  }
}

TEST(BertPretraining, ErrorsNameTheProblem) {
  const std::string dir = testing::fresh_temp_dir("bert_data", "errors");
  const WordPiece wp = tiny_wordpiece();
  auto empty = read_pretraining_documents({write(dir, "empty.txt", "\n\n  \n")}, wp, nullptr);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no sentence"), std::string::npos);
  auto missing = read_pretraining_documents({dir + "/nope.txt"}, wp, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.txt"), std::string::npos);
  auto bad = read_pretraining_documents({write(dir, "bad.txt", "fine line\nbad \xff byte\n")}, wp, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.txt:2"), std::string::npos) << bad.status().message();
  auto no_mask = WordPiece::from_vocab({"[UNK]", "[CLS]", "[SEP]", "a"}, {});
  ASSERT_TRUE(no_mask.ok());
  auto sp = BertSpecialIds::from(*no_mask);
  ASSERT_FALSE(sp.ok());
  EXPECT_NE(sp.status().message().find("[MASK]"), std::string::npos);
}

TEST(Classification, ReadsEveryFormat) {
  const std::string dir = testing::fresh_temp_dir("classify", "formats");
  ClassifyFormat lf;
  lf.format = TableFormat::kLabelFirst;
  auto sst = read_classification_file(write(dir, "sst.txt", "1 a fine film\n0 dull , dull\n"), lf);
  ASSERT_TRUE(sst.ok()) << sst.status().to_string();
  ASSERT_EQ(sst->size(), 2u);
  EXPECT_EQ((*sst)[0].label, "1");
  EXPECT_EQ((*sst)[1].text, "dull , dull");

  auto tsv = read_classification_file(write(dir, "chn.txt", "很好\t1\n不好\t0\n"), ClassifyFormat{});
  ASSERT_TRUE(tsv.ok()) << tsv.status().to_string();
  EXPECT_EQ((*tsv)[0].text, "很好");
  EXPECT_EQ((*tsv)[1].label, "0");

  ClassifyFormat rte;
  rte.text = "sentence1";
  rte.pair = "sentence2";
  rte.label = "label";
  auto pair = read_classification_file(
      write(dir, "rte.tsv", "sentence1\tsentence2\tlabel\tidx\nA man sleeps.\tA man rests.\t0\t0\n"), rte);
  ASSERT_TRUE(pair.ok()) << pair.status().to_string();
  EXPECT_EQ((*pair)[0].pair.value_or(""), "A man rests.");
  EXPECT_EQ((*pair)[0].line, 2);

  ClassifyFormat csv;
  csv.text = "2";
  csv.label = "0";
  auto news = read_classification_file(
      write(dir, "news.csv", "\"3\",\"Title\",\"A \"\"quoted\"\"\nline, with comma\"\n\"1\",\"T2\",\"plain\"\n"), csv);
  ASSERT_TRUE(news.ok()) << news.status().to_string();
  ASSERT_EQ(news->size(), 2u);
  EXPECT_EQ((*news)[0].text, "A \"quoted\"\nline, with comma");
  EXPECT_EQ((*news)[1].line, 3);

  auto jsonl =
      read_classification_file(write(dir, "d.jsonl", "{\"text\": \"good\", \"label\": 1}\n{\"text\": \"bad\", \"label\": 0}\n"),
                               ClassifyFormat{});
  ASSERT_TRUE(jsonl.ok()) << jsonl.status().to_string();
  EXPECT_EQ((*jsonl)[0].label, "1");

  auto labels = label_set_for(*sst, "sst.txt", {});
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->names, (std::vector<std::string>{"0", "1"}));
}

TEST(Classification, ReadsUnlabelledInputForPrediction) {
  const std::string dir = testing::fresh_temp_dir("classify", "unlabelled");
  // One-column TSV and JSONL without a label key.
  ClassifyFormat unlabelled;
  unlabelled.labelled = false;
  auto texts = read_classification_file(write(dir, "texts.tsv", "a fine film\ndull\n"), unlabelled);
  ASSERT_TRUE(texts.ok()) << texts.status().to_string();
  EXPECT_EQ((*texts)[1].text, "dull");
  EXPECT_EQ((*texts)[1].label, "");
  auto jtexts = read_classification_file(write(dir, "texts.jsonl", "{\"text\": \"good\"}\n"), unlabelled);
  ASSERT_TRUE(jtexts.ok()) << jtexts.status().to_string();
  EXPECT_EQ((*jtexts)[0].text, "good");
}

TEST(Classification, BadInputNamesFileLineAndProblem) {
  const std::string dir = testing::fresh_temp_dir("classify", "bad");
  auto expect_error = [](const StatusOr<std::vector<ClassifyExample>>& r, const std::string& needle) {
    ASSERT_FALSE(r.ok()) << "expected an error containing " << needle;
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect_error(read_classification_file(write(dir, "a.tsv", "good\t1\n\nbad\t0\n"), ClassifyFormat{}),
               "a.tsv:2: empty line");
  ClassifyFormat named;
  named.text = "sentence";
  named.label = "label";
  expect_error(read_classification_file(write(dir, "b.tsv", "text\tlabel\nfine\t1\n"), named),
               "no column named \"sentence\"");
  ClassifyFormat idx;
  idx.text = "0";
  idx.label = "2";
  expect_error(read_classification_file(write(dir, "c.tsv", "fine\t1\t0\nshort\t1\n"), idx),
               "c.tsv:2: the label column 2 is missing");
  expect_error(read_classification_file(write(dir, "d.csv", "\"unclosed,1\n"), ClassifyFormat{}), "never closed");
  expect_error(read_classification_file(write(dir, "e.jsonl", "{\"text\": \"x\"}\n"), ClassifyFormat{}),
               "e.jsonl:1: no key \"label\"");
  expect_error(read_classification_file(write(dir, "f.tsv", "\t1\n"), ClassifyFormat{}), "f.tsv:1: the text is empty");

  auto ex = read_classification_file(write(dir, "g.tsv", "good\t1\nbad\tmaybe\n"), ClassifyFormat{});
  ASSERT_TRUE(ex.ok());
  auto ls = label_set_for(*ex, "g.tsv", {"0", "1"});
  ASSERT_FALSE(ls.ok());
  EXPECT_NE(ls.status().message().find("g.tsv:2: label \"maybe\" is not in the label set {0, 1}"), std::string::npos)
      << ls.status().message();
}

}  // namespace
}  // namespace loom::data
