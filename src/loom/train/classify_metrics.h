// Classification metrics: accuracy; precision, recall and F1 per class, macro-averaged
// (unweighted mean over classes) and micro-averaged (over all decisions; for single-label
// classification these equal accuracy); the confusion matrix (row = true label, column =
// predicted). A class never predicted has precision 0, one never present recall 0 (as
// scikit-learn's zero_division=0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loom::train {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // examples whose true label is this class
};

struct ClassificationReport {
  std::vector<std::string> labels;
  int64_t examples = 0;
  double accuracy = 0;
  std::vector<ClassMetrics> per_class;
  ClassMetrics macro, micro;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
};

// truth and predicted: label ids in [0, labels.size()), same length.
ClassificationReport classification_report(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted,
                                           const std::vector<std::string>& labels);
nlohmann::json report_to_json(const ClassificationReport& r);
// A table for people: per-class rows, macro and micro, accuracy, then the confusion matrix.
std::string report_to_text(const ClassificationReport& r);

}  // namespace loom::train
