// Classification metrics (see classify_metrics.h).
#include "loom/train/classify_metrics.h"

#include <algorithm>
#include <cstdio>

#include "loom/base/check.h"

namespace loom::train {

namespace {
double ratio(int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); }
double f1_of(double p, double r) { return p + r == 0 ? 0.0 : 2 * p * r / (p + r); }
}  // namespace

ClassificationReport classification_report(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                                           const std::vector<std::string>& labels) {
  LOOM_CHECK_EQ(truth.size(), predicted.size());
  const size_t k = labels.size();
  ClassificationReport r;
  r.labels = labels;
  r.examples = static_cast<int64_t>(truth.size());
  r.confusion.assign(k, std::vector<int64_t>(k, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    LOOM_CHECK(truth[i] >= 0 && static_cast<size_t>(truth[i]) < k && predicted[i] >= 0 &&
               static_cast<size_t>(predicted[i]) < k);
    ++r.confusion[static_cast<size_t>(truth[i])][static_cast<size_t>(predicted[i])];
    correct += truth[i] == predicted[i];
  }
  r.accuracy = ratio(correct, r.examples);
  int64_t tp_all = 0, fp_all = 0, fn_all = 0;
  for (size_t c = 0; c < k; ++c) {
    int64_t tp = r.confusion[c][c], fp = 0, fn = 0;
    for (size_t o = 0; o < k; ++o) {
      if (o == c) continue;
      fp += r.confusion[o][c];
      fn += r.confusion[c][o];
    }
    ClassMetrics m;
    m.precision = ratio(tp, tp + fp);
    m.recall = ratio(tp, tp + fn);
    m.f1 = f1_of(m.precision, m.recall);
    m.support = tp + fn;
    r.per_class.push_back(m);
    r.macro.precision += m.precision / static_cast<double>(k);
    r.macro.recall += m.recall / static_cast<double>(k);
    r.macro.f1 += m.f1 / static_cast<double>(k);
    tp_all += tp;
    fp_all += fp;
    fn_all += fn;
  }
  r.macro.support = r.micro.support = r.examples;
  r.micro.precision = ratio(tp_all, tp_all + fp_all);
  r.micro.recall = ratio(tp_all, tp_all + fn_all);
  r.micro.f1 = f1_of(r.micro.precision, r.micro.recall);
  return r;
}

nlohmann::json report_to_json(const ClassificationReport& r) {
  auto m = [](const ClassMetrics& c) {
    return nlohmann::json{{"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}, {"support", c.support}};
  };
  nlohmann::json per = nlohmann::json::object();
  for (size_t c = 0; c < r.labels.size(); ++c) per[r.labels[c]] = m(r.per_class[c]);
  return nlohmann::json{{"examples", r.examples}, {"accuracy", r.accuracy}, {"per_class", per},
                        {"macro", m(r.macro)},    {"micro", m(r.micro)},    {"labels", r.labels},
                        {"confusion", r.confusion}};
}

std::string report_to_text(const ClassificationReport& r) {
  size_t w = 9;
  for (const auto& l : r.labels) w = std::max(w, l.size());
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9s %9s\n", static_cast<int>(w), "label", "precision", "recall", "f1",
                "support");
  out += buf;
  auto row = [&](const std::string& name, const ClassMetrics& m) {
    std::snprintf(buf, sizeof buf, "%-*s %9.4f %9.4f %9.4f %9lld\n", static_cast<int>(w), name.c_str(), m.precision,
                  m.recall, m.f1, static_cast<long long>(m.support));
    out += buf;
  };
  for (size_t c = 0; c < r.labels.size(); ++c) row(r.labels[c], r.per_class[c]);
  row("macro", r.macro);
  row("micro", r.micro);
  std::snprintf(buf, sizeof buf, "accuracy %.4f (%lld examples)\n\nconfusion (rows: true, columns: predicted)\n",
                r.accuracy, static_cast<long long>(r.examples));
  out += buf;
  std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w), "");
  out += buf;
  for (const auto& l : r.labels) {
    std::snprintf(buf, sizeof buf, " %*s", static_cast<int>(std::max<size_t>(l.size(), 6)), l.c_str());
    out += buf;
  }
  out += "\n";
  for (size_t t = 0; t < r.labels.size(); ++t) {
    std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w), r.labels[t].c_str());
    out += buf;
    for (size_t p = 0; p < r.labels.size(); ++p) {
      std::snprintf(buf, sizeof buf, " %*lld", static_cast<int>(std::max<size_t>(r.labels[p].size(), 6)),
                    static_cast<long long>(r.confusion[t][p]));
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace loom::train
