// Corpus preparation: streaming reader, parallel tokenization, shard writers.
#include "loom/data/prepare.h"

#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"
#include "loom/base/threads.h"
#include "loom/data/token_shards.h"

namespace loom::data {

namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

bool is_jsonl(const std::string& path, InputFormat f) {
  if (f != InputFormat::kAuto) return f == InputFormat::kJsonl;
  return path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0;
}

// Writes ids into numbered shards of one split.
class SplitWriter {
 public:
  SplitWriter(std::string dir, std::string split, uint32_t vocab, uint32_t sep, uint64_t per_shard)
      : dir_(std::move(dir)), split_(std::move(split)), vocab_(vocab), sep_(sep), per_shard_(per_shard) {}

  Status append(const std::vector<int32_t>& ids) {
    size_t pos = 0;
    while (pos < ids.size()) {
      if (!writer_) {
        char name[64];
        std::snprintf(name, sizeof name, "%s_%05zu.bin", split_.c_str(), names_.size());
        names_.push_back(join_path(dir_, name));
        LOOM_ASSIGN_OR_RETURN(writer_, ShardWriter::create(names_.back(), vocab_, sep_));
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(ids.size() - pos, per_shard_ - writer_->count()));
      std::vector<int32_t> part(ids.begin() + static_cast<int64_t>(pos), ids.begin() + static_cast<int64_t>(pos + take));
      LOOM_RETURN_IF_ERROR(writer_->append(part));
      total_ += take;
      pos += take;
      if (writer_->count() >= per_shard_) LOOM_RETURN_IF_ERROR(close());
    }
    return ok_status();
  }
  Status close() {
    if (writer_) LOOM_RETURN_IF_ERROR(writer_->finish());
    writer_.reset();
    return ok_status();
  }
  // An empty split still gets one (empty) shard so readers find it.
  Status finish() {
    if (names_.empty()) {
      char name[64];
      std::snprintf(name, sizeof name, "%s_%05d.bin", split_.c_str(), 0);
      names_.push_back(join_path(dir_, name));
      LOOM_ASSIGN_OR_RETURN(writer_, ShardWriter::create(names_.back(), vocab_, sep_));
    }
    return close();
  }
  uint64_t total() const { return total_; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::string dir_, split_;
  uint32_t vocab_, sep_;
  uint64_t per_shard_;
  std::unique_ptr<ShardWriter> writer_;
  std::vector<std::string> names_;
  uint64_t total_ = 0;
};

struct Piece {
  std::string text;
  bool end_of_document = false;
  bool val = false;
};

}  // namespace

namespace {
// i, or the first position after it that starts a UTF-8 character (or the end).
size_t char_start(std::string_view text, size_t i) {
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  return i;
}
}  // namespace

size_t safe_cut(std::string_view text, size_t max) {
  if (max >= text.size()) return text.size();
  // A lone '\n' between two ASCII non-space characters: GPT-2-style pre-tokenizers give it a
  // token of its own whether or not the text ends there ("a\n\nB" is not safe: at the end of
  // a piece "\n\n" would become one token). The neighbours must be ASCII because a byte of a
  // multi-byte character may belong to Unicode whitespace (U+3000 before the '\n' would join
  // its run).
  auto plain = [](char c) { return static_cast<unsigned char>(c) < 0x80 && !is_space(c); };
  for (size_t i = max; i >= 2; --i)
    if (text[i - 1] == '\n' && plain(text[i]) && plain(text[i - 2])) return i;
  return text.size();
}

Status PrepareOptions::validate() const {
  if (inputs.empty()) return invalid_argument("no input files given; pass one or more text or JSONL files");
  if (out_dir.empty()) return invalid_argument("no output directory given; pass --out_dir DIR");
  if (!(val_fraction >= 0.0 && val_fraction < 1.0))
    return invalid_argument("val_fraction is " + std::to_string(val_fraction) + "; it must be in [0, 1)");
  if (shard_tokens == 0) return invalid_argument("shard_tokens must be > 0");
  if (chunk_bytes == 0) return invalid_argument("chunk_bytes must be > 0");
  return ok_status();
}

StatusOr<PrepareResult> prepare_corpus(const Tokenizer& tokenizer, const PrepareOptions& o,
                                       const PrepareProgress& progress) {
  LOOM_RETURN_IF_ERROR(o.validate());
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t total_bytes = 0;
  for (const auto& in : o.inputs) {
    if (is_directory(in)) return invalid_argument("input '" + in + "' is a directory; give text or JSONL files");
    std::ifstream f(in, std::ios::binary | std::ios::ate);
    if (!f) return not_found("input file '" + in + "' does not exist or cannot be read");
    total_bytes += static_cast<uint64_t>(f.tellg());
  }
  if (total_bytes == 0) return invalid_argument("the input files are empty; there is nothing to prepare");
  const uint64_t val_start = static_cast<uint64_t>(static_cast<double>(total_bytes) * (1.0 - o.val_fraction));
  LOOM_RETURN_IF_ERROR(make_directories(o.out_dir));
  const auto eos = tokenizer.special_tokens().eos;
  const uint32_t sep = eos ? static_cast<uint32_t>(*eos) : kNoSeparator;
  const uint32_t vocab = static_cast<uint32_t>(tokenizer.vocab_size());
  SplitWriter train(o.out_dir, "train", vocab, sep, o.shard_tokens), val(o.out_dir, "val", vocab, sep, o.shard_tokens);
  PrepareResult r;
  uint64_t done = 0;

  // Tokenizes a batch of pieces in parallel and writes them in order.
  std::vector<Piece> batch;
  size_t batch_bytes = 0;
  auto flush = [&]() -> Status {
    std::vector<std::vector<int32_t>> ids(batch.size());
    std::vector<Status> errors(batch.size());
    parallel_dynamic(static_cast<int64_t>(batch.size()), [&](int, int64_t k) {
      const auto i = static_cast<size_t>(k);
      auto e = tokenizer.encode(batch[i].text);
      if (e.ok()) {
        ids[i] = std::move(e).value();
        if (batch[i].end_of_document && eos) ids[i].push_back(*eos);
      } else {
        errors[i] = e.status();
      }
    });
    for (size_t i = 0; i < batch.size(); ++i) {
      LOOM_RETURN_IF_ERROR(errors[i]);
      LOOM_RETURN_IF_ERROR((batch[i].val ? val : train).append(ids[i]));
    }
    batch.clear();
    batch_bytes = 0;
    return ok_status();
  };
  auto add = [&](std::string text, bool eod, bool is_val) -> Status {
    batch_bytes += text.size();
    batch.push_back({std::move(text), eod, is_val});
    if (batch_bytes >= o.chunk_bytes * 8) return flush();
    return ok_status();
  };

  for (const auto& in : o.inputs) {
    std::ifstream f(in, std::ios::binary);
    if (!f) return io_error("cannot read '" + in + "'");
    if (is_jsonl(in, o.format)) {
      std::string line;
      uint64_t line_no = 0;
      while (std::getline(f, line)) {
        ++line_no;
        const uint64_t at = done;
        done += line.size() + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          return invalid_argument("'" + in + "' line " + std::to_string(line_no) + " is not valid JSON: " + e.what());
        }
        if (!j.is_object() || !j.contains(o.jsonl_field) || !j[o.jsonl_field].is_string())
          return invalid_argument("'" + in + "' line " + std::to_string(line_no) + " has no string field '" +
                                  o.jsonl_field + "'; choose the field with --jsonl_field");
        ++r.documents;
        LOOM_RETURN_IF_ERROR(add(j[o.jsonl_field].get<std::string>(), true, at >= val_start));
        if (progress && line_no % 1024 == 0) progress(done, total_bytes);
      }
    } else {
      // One document per file, cut into chunks at safe points; the val boundary is a cut too.
      ++r.documents;
      std::string carry;
      bool in_val = done >= val_start;
      std::vector<char> buf(o.chunk_bytes);
      bool eof = false;
      while (!eof || !carry.empty()) {
        if (!eof) {
          f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
          carry.append(buf.data(), static_cast<size_t>(f.gcount()));
          eof = f.gcount() == 0 || f.eof();
        }
        if (carry.empty()) break;
        size_t limit = carry.size();
        if (!eof) limit = safe_cut(carry, carry.size() > 1 ? carry.size() - 1 : carry.size());
        if (!eof && limit == carry.size()) {
          // No safe cut point yet: read more, unless a single line has grown past 16 chunks
          // (then cut anyway; tokens at that one seam may differ from whole-text encoding).
          if (carry.size() < 16 * o.chunk_bytes) continue;
          limit = char_start(carry, o.chunk_bytes);
        }
        const bool crosses_val = done < val_start && done + limit > val_start;
        if (crosses_val) {
          const size_t at = static_cast<size_t>(val_start - done);
          size_t cut = safe_cut(carry, at);
          if (cut >= limit && !in_val && eof && limit == carry.size()) {
            // No safe cut before the boundary, and this chunk, still train, runs to the end of
            // the file (e.g. WikiText, whose lines all start with a space, read whole): cut after the
            // last newline before the boundary, else at it, on a character start. The seam's
            // ids may differ from whole-text encoding, which a train/val boundary can afford;
            // keeping it all in train would leave this file's share of validation empty.
            // (Otherwise validation starts after this chunk, at a safe cut.)
            const size_t nl = carry.rfind('\n', at - 1);
            cut = char_start(carry, nl != std::string::npos ? nl + 1 : at);
          }
          if (cut < limit) limit = cut;
        }
        const bool last = eof && limit == carry.size();
        LOOM_RETURN_IF_ERROR(add(carry.substr(0, limit), last, in_val));
        done += limit;
        // Everything after the cut at the boundary (which may lie a little before it) is val.
        if (crosses_val || done >= val_start) in_val = true;
        carry.erase(0, limit);
        if (progress) progress(done, total_bytes);
      }
    }
  }
  LOOM_RETURN_IF_ERROR(flush());
  LOOM_RETURN_IF_ERROR(train.finish());
  LOOM_RETURN_IF_ERROR(val.finish());
  LOOM_RETURN_IF_ERROR(save_tokenizer(tokenizer, o.out_dir));
  r.bytes = total_bytes;
  r.train_tokens = train.total();
  r.val_tokens = val.total();
  r.shards = train.names();
  r.shards.insert(r.shards.end(), val.names().begin(), val.names().end());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json meta = {{"format", "loom-prepared-1"},     {"inputs", o.inputs},
                         {"vocab_size", vocab},             {"separator", eos ? nlohmann::json(*eos) : nlohmann::json(nullptr)},
                         {"documents", r.documents},        {"bytes", r.bytes},
                         {"train_tokens", r.train_tokens},  {"val_tokens", r.val_tokens},
                         {"val_fraction", o.val_fraction},  {"shards", r.shards}};
  LOOM_RETURN_IF_ERROR(write_file_atomic(join_path(o.out_dir, "meta.json"), meta.dump(2) + "\n"));
  return r;
}

}  // namespace loom::data
