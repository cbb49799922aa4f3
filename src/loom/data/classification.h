// Labelled text for classification: one example per line of a TSV, CSV or JSONL file, or
// "label text" lines (SST's format). Each example has a text, an optional second text (for
// pair tasks such as entailment) and a label, kept as the string found in the file.
//
//   ClassifyFormat f;                 // TSV, columns by header name or 0-based index
//   f.text = "sentence1"; f.pair = "sentence2"; f.label = "label";
//   LOOM_ASSIGN_OR_RETURN(auto examples, read_classification_file("rte/train.tsv", f));
//
// Errors name the file and line: a missing column, an empty line or text, a malformed CSV
// quote or JSON line, a label outside a given label set.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loom/base/status.h"

namespace loom::data {

enum class TableFormat {
  kAuto,        // by extension: .jsonl/.json JSONL, .csv CSV, else TSV
  kTsv,
  kCsv,         // RFC 4180 quoting ("a ""quoted"" field")
  kJsonl,       // one JSON object per line; columns are keys
  kLabelFirst,  // "<label> <text>" (the first space separates them)
};
const char* table_format_name(TableFormat f);
bool parse_table_format(const std::string& s, TableFormat* out);

struct ClassifyFormat {
  TableFormat format = TableFormat::kAuto;
  // TSV/CSV: the first line names the columns. Unset: a header is assumed exactly when
  // the columns are given by name.
  std::optional<bool> header;
  // Columns by header name / JSON key, or by 0-based index ("0", "1", ...). An empty text
  // column means: "text" (JSONL) or column 0; an empty label column: "label" (JSONL) or the
  // last column. The pair column is optional (empty = single texts).
  std::string text;
  std::string pair;
  std::string label;
  // False for unlabelled input (prediction): no label column is read, labels stay empty
  // (label-first lines still carry one).
  bool labelled = true;
};

struct ClassifyExample {
  std::string text;
  std::optional<std::string> pair;
  std::string label;
  int64_t line = 0;  // 1-based line in its file
};

StatusOr<std::vector<ClassifyExample>> read_classification_file(const std::string& path, const ClassifyFormat& format);

// The label set: the labels found, sorted (numerically when all are integers), unless
// `given` lists them in the order to use (then every
// example's label must be one of them: the error names file, line and label).
struct LabelSet {
  std::vector<std::string> names;
  std::map<std::string, int32_t> ids;
  static LabelSet from_names(const std::vector<std::string>& names);
};
StatusOr<LabelSet> label_set_for(const std::vector<ClassifyExample>& examples, const std::string& path,
                                 const std::vector<std::string>& given);
// Each example's label id; an unknown label is an error naming file, line and the known set.
StatusOr<std::vector<int32_t>> label_ids(const std::vector<ClassifyExample>& examples, const LabelSet& labels,
                                         const std::string& path);

}  // namespace loom::data
