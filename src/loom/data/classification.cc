// Reading labelled classification files (see classification.h).
#include "loom/data/classification.h"

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"

namespace loom::data {

const char* table_format_name(TableFormat f) {
  switch (f) {
    case TableFormat::kAuto: return "auto";
    case TableFormat::kTsv: return "tsv";
    case TableFormat::kCsv: return "csv";
    case TableFormat::kJsonl: return "jsonl";
    case TableFormat::kLabelFirst: return "label-first";
  }
  return "?";
}

bool parse_table_format(const std::string& s, TableFormat* out) {
  for (TableFormat f : {TableFormat::kAuto, TableFormat::kTsv, TableFormat::kCsv, TableFormat::kJsonl,
                        TableFormat::kLabelFirst})
    if (s == table_format_name(f)) {
      *out = f;
      return true;
    }
  return false;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

// One CSV record from `text` at `*pos` (may span lines inside quotes); advances *pos and *line.
StatusOr<std::vector<std::string>> csv_record(const std::string& text, size_t* pos, int64_t* line,
                                              const std::string& path) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  const int64_t start_line = *line;
  size_t i = *pos;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          fields.back() += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++*line;
        fields.back() += c;
      }
      continue;
    }
    if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted)
    return invalid_argument(where(path, start_line) + ": a quoted CSV field is never closed; expected a closing \" "
                            "(write a quote inside a field as \"\")");
  *pos = i + 1;
  return fields;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

// Resolves a column spec (name or index) against a header; `fallback` when the spec is empty.
StatusOr<size_t> column_index(const std::string& spec, const std::vector<std::string>& header, bool has_header,
                              size_t fallback, const char* role, const std::string& path) {
  if (spec.empty()) return fallback;
  if (is_index(spec)) return static_cast<size_t>(std::strtoull(spec.c_str(), nullptr, 10));
  if (!has_header)
    return invalid_argument(path + ": the " + role + " column is given by name (\"" + spec +
                            "\") but the file has no header; give its 0-based index instead");
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == spec) return i;
  std::string names;
  for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
  return invalid_argument(where(path, 1) + ": no column named \"" + spec + "\" for the " + role +
                          "; the header has: " + names);
}

}  // namespace

StatusOr<std::vector<ClassifyExample>> read_classification_file(const std::string& path, const ClassifyFormat& f) {
  LOOM_ASSIGN_OR_RETURN(std::string text, read_file(path));
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // UTF-8 BOM
  TableFormat format = f.format;
  if (format == TableFormat::kAuto)
    format = ends_with(path, ".jsonl") || ends_with(path, ".json") ? TableFormat::kJsonl
             : ends_with(path, ".csv")                             ? TableFormat::kCsv
                                                                   : TableFormat::kTsv;
  std::vector<ClassifyExample> out;
  auto check_text = [&](const std::string& s, int64_t line, const char* what) -> Status {
    if (s.find_first_not_of(" \t\r") == std::string::npos)
      return invalid_argument(where(path, line) + ": the " + what + " is empty; every example needs text");
    return ok_status();
  };

  if (format == TableFormat::kJsonl || format == TableFormat::kLabelFirst) {
    const std::string text_key = f.text.empty() ? "text" : f.text, label_key = f.label.empty() ? "label" : f.label;
    size_t pos = 0;
    int64_t line_no = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos)
        return invalid_argument(where(path, line_no) + ": empty line; expected one example per line");
      ClassifyExample ex;
      ex.line = line_no;
      if (format == TableFormat::kLabelFirst) {
        const size_t sp = line.find(' ');
        if (sp == std::string::npos || sp == 0)
          return invalid_argument(where(path, line_no) + ": expected \"<label> <text>\", found \"" + line.substr(0, 60) +
                                  "\"");
        ex.label = line.substr(0, sp);
        ex.text = line.substr(sp + 1);
      } else {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          return invalid_argument(where(path, line_no) + ": not a JSON object (" + e.what() + ")");
        }
        if (!j.is_object()) return invalid_argument(where(path, line_no) + ": expected a JSON object per line");
        auto field = [&](const std::string& key, std::string* dst) -> Status {
          auto it = j.find(key);
          if (it == j.end())
            return invalid_argument(where(path, line_no) + ": no key \"" + key + "\"; choose the key with --" +
                                    (key == label_key ? "label-col" : key == text_key ? "text-col" : "pair-col"));
          if (it->is_string())
            *dst = it->get<std::string>();
          else if (it->is_number_integer() || it->is_boolean())
            *dst = it->dump();
          else
            return invalid_argument(where(path, line_no) + ": \"" + key + "\" is " + it->type_name() +
                                    "; expected a string (or an integer label)");
          return ok_status();
        };
        LOOM_RETURN_IF_ERROR(field(text_key, &ex.text));
        if (f.labelled) LOOM_RETURN_IF_ERROR(field(label_key, &ex.label));
        if (!f.pair.empty()) {
          std::string p;
          LOOM_RETURN_IF_ERROR(field(f.pair, &p));
          ex.pair = std::move(p);
        }
      }
      LOOM_RETURN_IF_ERROR(check_text(ex.text, line_no, "text"));
      if (ex.pair) LOOM_RETURN_IF_ERROR(check_text(*ex.pair, line_no, "second text"));
      out.push_back(std::move(ex));
    }
  } else {
    const bool by_name = (!f.text.empty() && !is_index(f.text)) || (!f.pair.empty() && !is_index(f.pair)) ||
                         (!f.label.empty() && !is_index(f.label));
    const bool has_header = f.header.value_or(by_name);
    size_t pos = 0;
    int64_t line_no = 1;
    std::vector<std::vector<std::string>> rows;
    std::vector<int64_t> row_lines;
    while (pos < text.size()) {
      const int64_t at = line_no;
      std::vector<std::string> fields;
      if (format == TableFormat::kCsv) {
        LOOM_ASSIGN_OR_RETURN(fields, csv_record(text, &pos, &line_no, path));
      } else {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        fields = split_tabs(line);
      }
      ++line_no;
      if (fields.size() == 1 && fields[0].find_first_not_of(" \t\r") == std::string::npos)
        return invalid_argument(where(path, at) + ": empty line; expected one example per line");
      rows.push_back(std::move(fields));
      row_lines.push_back(at);
    }
    if (rows.empty() || (has_header && rows.size() == 1))
      return invalid_argument(path + ": no examples in the file");
    const std::vector<std::string> header = has_header ? rows[0] : std::vector<std::string>{};
    const size_t first = has_header ? 1 : 0;
    const size_t width = rows[first].size();
    LOOM_ASSIGN_OR_RETURN(size_t text_col, column_index(f.text, header, has_header, 0, "text", path));
    size_t label_col = 0;
    if (f.labelled) {
      LOOM_ASSIGN_OR_RETURN(label_col, column_index(f.label, header, has_header, width - 1, "label", path));
    }
    std::optional<size_t> pair_col;
    if (!f.pair.empty()) {
      LOOM_ASSIGN_OR_RETURN(size_t pc, column_index(f.pair, header, has_header, 0, "pair", path));
      pair_col = pc;
    }
    for (size_t r = first; r < rows.size(); ++r) {
      const auto& fields = rows[r];
      const int64_t line = row_lines[r];
      auto need = [&](size_t col, const char* role) -> Status {
        if (col >= fields.size())
          return invalid_argument(where(path, line) + ": the " + role + " column " + std::to_string(col) +
                                  " is missing; the line has " + std::to_string(fields.size()) + " column(s)");
        return ok_status();
      };
      LOOM_RETURN_IF_ERROR(need(text_col, "text"));
      if (f.labelled) LOOM_RETURN_IF_ERROR(need(label_col, "label"));
      ClassifyExample ex;
      ex.line = line;
      ex.text = fields[text_col];
      if (f.labelled) ex.label = fields[label_col];
      if (pair_col) {
        LOOM_RETURN_IF_ERROR(need(*pair_col, "pair"));
        ex.pair = fields[*pair_col];
      }
      LOOM_RETURN_IF_ERROR(check_text(ex.text, line, "text"));
      if (ex.pair) LOOM_RETURN_IF_ERROR(check_text(*ex.pair, line, "second text"));
      if (f.labelled && ex.label.empty()) return invalid_argument(where(path, line) + ": the label is empty");
      out.push_back(std::move(ex));
    }
  }
  if (out.empty()) return invalid_argument(path + ": no examples in the file");
  return out;
}

LabelSet LabelSet::from_names(const std::vector<std::string>& names) {
  LabelSet s;
  s.names = names;
  for (size_t i = 0; i < names.size(); ++i) s.ids[names[i]] = static_cast<int32_t>(i);
  return s;
}

StatusOr<LabelSet> label_set_for(const std::vector<ClassifyExample>& examples, const std::string& path,
                                 const std::vector<std::string>& given) {
  if (!given.empty()) {
    LabelSet s = LabelSet::from_names(given);
    if (s.ids.size() != given.size()) return invalid_argument("the given label set repeats a label");
    LOOM_RETURN_IF_ERROR(label_ids(examples, s, path).status());
    return s;
  }
  std::vector<std::string> names;
  for (const auto& e : examples)
    if (std::find(names.begin(), names.end(), e.label) == names.end()) names.push_back(e.label);
  const bool numeric = std::all_of(names.begin(), names.end(), [](const std::string& n) {
    return !n.empty() && n.size() < 10 &&
           std::all_of(n.begin() + (n[0] == '-' ? 1 : 0), n.end(), [](char c) { return c >= '0' && c <= '9'; });
  });
  std::sort(names.begin(), names.end(), [numeric](const std::string& a, const std::string& b) {
    return numeric ? std::atoi(a.c_str()) < std::atoi(b.c_str()) : a < b;
  });
  if (names.size() < 2)
    return invalid_argument(path + ": only one label (\"" + (names.empty() ? "" : names[0]) +
                            "\") in the file; a classifier needs at least two");
  return LabelSet::from_names(names);
}

StatusOr<std::vector<int32_t>> label_ids(const std::vector<ClassifyExample>& examples, const LabelSet& labels,
                                         const std::string& path) {
  std::vector<int32_t> out;
  out.reserve(examples.size());
  for (const auto& e : examples) {
    auto it = labels.ids.find(e.label);
    if (it == labels.ids.end()) {
      std::string known;
      for (const auto& n : labels.names) known += (known.empty() ? "" : ", ") + n;
      return invalid_argument(where(path, e.line) + ": label \"" + e.label + "\" is not in the label set {" + known +
                              "}");
    }
    out.push_back(it->second);
  }
  return out;
}

}  // namespace loom::data
