// safetensors reader and writer.
#include "loom/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

namespace loom {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;

// nlohmann keeps the last of duplicate keys silently; this SAX pass finds duplicates in the
// top-level object first.
struct DuplicateKeyFinder : nlohmann::json_sax<json> {
  int depth = 0;
  std::set<std::string> seen;
  std::string duplicate;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth;
    return true;
  }
  bool key(string_t& k) override {
    if (depth == 1 && !seen.insert(k).second && duplicate.empty()) duplicate = k;
    return true;
  }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth;
    return true;
  }
  bool end_array() override {
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

}  // namespace

StatusOr<std::vector<SafetensorsEntry>> parse_safetensors(const uint8_t* data, size_t size, const std::string& source,
                                                          std::map<std::string, std::string>* metadata) {
  const std::string where = "safetensors file '" + source + "'";
  if (size < 8)
    return data_loss(where + " is " + std::to_string(size) + " bytes; a valid file has at least 8 (the header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > kMaxHeader || n > size - 8)
    return data_loss(where + ": header length " + std::to_string(n) + " exceeds the file size " + std::to_string(size) +
                     " (or the 100 MB limit); the file is truncated or not safetensors");
  const char* hb = reinterpret_cast<const char*>(data + 8);
  DuplicateKeyFinder dup;
  if (!json::sax_parse(hb, hb + n, &dup)) {
    try {
      json ignored = json::parse(hb, hb + n);
      (void)ignored;
    } catch (const json::exception& e) {
      return data_loss(where + ": header is not valid JSON: " + e.what());
    }
    return data_loss(where + ": header is not valid JSON");
  }
  if (!dup.duplicate.empty()) return data_loss(where + ": tensor '" + dup.duplicate + "' appears twice in the header");
  json header;
  try {
    header = json::parse(hb, hb + n);
  } catch (const json::exception& e) {
    return data_loss(where + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) return data_loss(where + ": header is a JSON " + std::string(header.type_name()) + ", expected an object");
  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  std::vector<SafetensorsEntry> entries;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return data_loss(where + ": __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return data_loss(where + ": metadata '" + m.key() + "' is " + m.value().dump() + "; values must be strings");
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string what = where + ": tensor '" + name + "'";
    if (!v.is_object()) return data_loss(what + " is " + v.dump() + ", expected an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) return data_loss(what + " has no dtype string");
    SafetensorsEntry e;
    e.name = name;
    if (!parse_dtype(v["dtype"].get<std::string>(), &e.dtype))
      return data_loss(what + " has unknown dtype '" + v["dtype"].get<std::string>() + "'");
    if (!v.contains("shape") || !v["shape"].is_array()) return data_loss(what + " has no shape array");
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) return data_loss(what + " has shape " + v["shape"].dump() + "; dims must be non-negative integers");
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > UINT64_MAX / dim) overflow = true;
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    if (overflow || numel > buffer_size) {
      if (numel != 0 || overflow)
        return data_loss(what + " has shape " + v["shape"].dump() + ", larger than the file's data (" +
                         std::to_string(buffer_size) + " bytes)");
    }
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2 ||
        !v["data_offsets"][0].is_number_unsigned() || !v["data_offsets"][1].is_number_unsigned())
      return data_loss(what + " has data_offsets " + (v.contains("data_offsets") ? v["data_offsets"].dump() : "missing") +
                       "; expected [begin, end]");
    const uint64_t b = v["data_offsets"][0].get<uint64_t>(), end = v["data_offsets"][1].get<uint64_t>();
    if (end < b || end > buffer_size)
      return data_loss(what + " has data_offsets [" + std::to_string(b) + ", " + std::to_string(end) +
                       "] outside the data buffer of " + std::to_string(buffer_size) + " bytes; the file is truncated or corrupt");
    const uint64_t expect = numel * dtype_size(e.dtype);
    if (end - b != expect)
      return data_loss(what + " has " + std::to_string(end - b) + " bytes of data, but dtype " + dtype_name(e.dtype) +
                       " and shape " + shape_to_string(e.shape) + " need " + std::to_string(expect));
    e.data = buffer + b;
    e.nbytes = static_cast<size_t>(end - b);
    if (e.nbytes > 0) ranges.emplace_back(b, end);
    entries.push_back(std::move(e));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      return data_loss(where + ": two tensors share bytes [" + std::to_string(ranges[i].first) + ", " +
                       std::to_string(ranges[i - 1].second) + ") of the data buffer");
  return entries;
}

StatusOr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  LOOM_ASSIGN_OR_RETURN(f.map_, MappedFile::open(path));
  LOOM_ASSIGN_OR_RETURN(f.entries_, parse_safetensors(f.map_.data(), f.map_.size(), path, &f.metadata_));
  return f;
}

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const uint64_t nbytes = static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + h.size() + offset);
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += h;
  for (const auto& t : tensors) {
    const size_t nbytes = static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    out.append(static_cast<const char*>(t.data), nbytes);
  }
  return out;
}

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  return write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

}  // namespace loom
