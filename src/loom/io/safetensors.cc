// safetensors reader and writer (format and rules in safetensors.h). The header is parsed
// with nlohmann::json into a DOM; a parser callback sees every key in file order, which is
// how repeated keys are caught (the DOM would silently keep the last one) and how entries
// keep the header's order (the DOM sorts keys). Error messages show at most a short excerpt
// of any value taken from the file, so a hostile header cannot produce a huge message.
#include "loom/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace loom {

// Tensor bytes are copied to and from memory as they are; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; add byte swapping");

namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the limit Hugging Face's reader uses
constexpr char kMetadataKey[] = "__metadata__";
constexpr size_t kMaxShownChars = 120;  // longest excerpt of file content in a message

constexpr DType kKnownDTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI64, DType::kI32,
                                  DType::kI16, DType::kU16, DType::kI8,  DType::kU8,  DType::kBool};

// `s` cut to `limit` bytes (at a UTF-8 character boundary) with "..." appended if cut.
std::string clip(std::string s, size_t limit = kMaxShownChars) {
  if (s.size() <= limit) return s;
  s.resize(limit);
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();  // continuation bytes
  if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();             // a dangling lead byte
  return s + "...";
}

// JSON text of `v` for a message, bounded in length and in nesting depth (dump() recurses
// without a limit and would print a 100 MB value whole).
void render(const Json& v, int depth, std::string* out) {
  if (out->size() > kMaxShownChars) return;
  if (v.is_object() || v.is_array()) {
    const bool is_object = v.is_object();
    if (depth >= 2 || v.empty()) {
      *out += v.empty() ? (is_object ? "{}" : "[]") : (is_object ? "{...}" : "[...]");
      return;
    }
    *out += is_object ? '{' : '[';
    bool first = true;
    for (auto it = v.begin(); it != v.end() && out->size() <= kMaxShownChars; ++it) {
      if (!first) *out += ", ";
      first = false;
      if (is_object) *out += Json(it.key()).dump() + ": ";
      render(it.value(), depth + 1, out);
    }
    *out += is_object ? '}' : ']';
    return;
  }
  *out += v.dump();  // a scalar; the parser already checked any string is valid UTF-8
}

std::string show(const Json& v) {
  std::string s;
  render(v, 0, &s);
  return clip(std::move(s));
}

// "F32, F16, ... and BOOL"
std::string known_dtype_list() {
  std::string s;
  const size_t n = std::size(kKnownDTypes);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) s += i + 1 == n ? " and " : ", ";
    s += dtype_name(kKnownDTypes[i]);
  }
  return s;
}

// A JSON integer >= 0 (unsigned, or signed but non-negative such as -0) as uint64.
bool as_u64(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

constexpr uint64_t kMaxCount = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// a * b, false if it exceeds 2^63 - 1. Element counts and byte sizes are kept within int64
// at every step, so shape_numel() (a signed product, left to right) is exact on any shape
// this file accepts or writes.
bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  if (b != 0 && a > kMaxCount / b) return false;
  *out = a * b;
  return true;
}

// "[begin, end]". Appends rather than chaining operator+, which trips a false -Wrestrict
// in GCC 12 at -O3.
std::string range_string(uint64_t begin, uint64_t end) {
  std::string s = "[";
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  s += ']';
  return s;
}

// What the parser callback learns while the DOM is built.
struct HeaderScan {
  std::vector<std::set<std::string>> open_objects;  // keys seen so far in each object being parsed
  std::vector<std::string> top_level_keys;          // in file order
  std::string repeated_key;                         // the first key seen twice in one object
  std::string repeated_in;                          // the top-level key it sits under ("" if top level)
  bool has_repeat = false;
};

// Parses the header JSON. Errors: invalid JSON (including invalid UTF-8 and numbers out of
// range), a non-object, a repeated key anywhere.
Status parse_header(const char* begin, const char* end, const std::string& where, Json* header,
                    std::vector<std::string>* order) {
  HeaderScan scan;
  const Json::parser_callback_t callback = [&scan](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        scan.open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        scan.open_objects.pop_back();
        break;
      case Json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (scan.open_objects.size() == 1) scan.top_level_keys.push_back(key);
        if (!scan.has_repeat && !scan.open_objects.back().insert(key).second) {
          scan.has_repeat = true;
          scan.repeated_key = key;
          if (scan.open_objects.size() > 1) scan.repeated_in = scan.top_level_keys.back();
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    *header = Json::parse(begin, end, callback);
  } catch (const Json::exception& e) {
    // nlohmann's text is "[json.exception.parse_error.101] parse error at ...; last read: '<token>'"; the
    // bracketed id is noise to a user, and the token comes from the file, hence the clip.
    std::string text = e.what();
    if (const size_t id_end = text.find("] "); text.rfind("[json.exception.", 0) == 0 && id_end != std::string::npos)
      text.erase(0, id_end + 2);
    return data_loss(where + ": the header is not valid JSON: " + clip(std::move(text), 3 * kMaxShownChars));
  }
  if (!header->is_object())
    return data_loss(where + ": the header is a JSON " + header->type_name() + " (" + show(*header) +
                     "), expected an object of tensors");
  if (scan.has_repeat) {
    if (scan.repeated_in.empty()) {
      const std::string what = scan.repeated_key == kMetadataKey ? std::string(kMetadataKey)
                                                                 : "tensor '" + clip(scan.repeated_key) + "'";
      return data_loss(where + ": " + what + " appears twice in the header; expected each name once");
    }
    const std::string what = scan.repeated_in == kMetadataKey ? std::string(kMetadataKey)
                                                              : "tensor '" + clip(scan.repeated_in) + "'";
    return data_loss(where + ": " + what + " has the key '" + clip(scan.repeated_key) +
                     "' twice; expected each key once");
  }
  *order = std::move(scan.top_level_keys);
  return ok_status();
}

Status parse_metadata(const Json& v, const std::string& where, std::map<std::string, std::string>* out) {
  if (!v.is_object())
    return data_loss(where + ": " + kMetadataKey + " is " + show(v) + ", expected an object of strings");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_string())
      return data_loss(where + ": " + kMetadataKey + " key '" + clip(it.key()) + "' is " + show(it.value()) +
                       ", expected a string (safetensors metadata values are strings)");
    (*out)[it.key()] = it.value().get<std::string>();
  }
  return ok_status();
}

// Checks one tensor's header entry against the data buffer; fills `e` and its offsets.
Status parse_entry(const std::string& what, const Json& v, const uint8_t* buffer, uint64_t buffer_size,
                   SafetensorsEntry* e, uint64_t* begin_out, uint64_t* end_out) {
  if (!v.is_object())
    return data_loss(what + " is " + show(v) + ", expected an object with dtype, shape and data_offsets");

  const auto dtype_it = v.find("dtype");
  if (dtype_it == v.end()) return data_loss(what + " has no dtype");
  if (!dtype_it->is_string())
    return data_loss(what + " has dtype " + show(*dtype_it) + ", expected a string such as \"F32\"");
  const std::string& dtype = dtype_it->get_ref<const std::string&>();
  if (!parse_dtype(dtype, &e->dtype))
    return data_loss(what + " has unknown dtype '" + clip(dtype) + "'; loom reads " + known_dtype_list());

  const auto shape_it = v.find("shape");
  if (shape_it == v.end()) return data_loss(what + " has no shape");
  if (!shape_it->is_array())
    return data_loss(what + " has shape " + show(*shape_it) + ", expected a list of dims such as [768, 3072]");
  uint64_t numel = 1;
  bool overflow = false;
  e->shape.reserve(shape_it->size());
  for (size_t i = 0; i < shape_it->size(); ++i) {
    const Json& d = (*shape_it)[i];
    uint64_t dim = 0;
    if (!as_u64(d, &dim) || dim > kMaxCount)
      return data_loss(what + " has shape " + show(*shape_it) + ": dim " + std::to_string(i) + " is " + show(d) +
                       ", expected an integer in [0, 2^63)");
    overflow = overflow || !checked_mul(numel, dim, &numel);
    e->shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t expected_bytes = 0;
  if (overflow || !checked_mul(numel, dtype_size(e->dtype), &expected_bytes))
    return data_loss(what + " has shape " + show(*shape_it) + " of dtype " + dtype +
                     ": its element count or byte size does not fit in 63 bits");

  const auto offsets_it = v.find("data_offsets");
  if (offsets_it == v.end()) return data_loss(what + " has no data_offsets; expected [begin, end]");
  uint64_t begin = 0, end = 0;
  if (!offsets_it->is_array() || offsets_it->size() != 2 || !as_u64((*offsets_it)[0], &begin) ||
      !as_u64((*offsets_it)[1], &end))
    return data_loss(what + " has data_offsets " + show(*offsets_it) + ", expected [begin, end] (two non-negative integers)");
  if (end < begin)
    return data_loss(what + " has data_offsets " + range_string(begin, end) + " whose end is before its begin");
  if (end > buffer_size)
    return data_loss(what + " has data_offsets " + range_string(begin, end) + " but the data buffer holds only " +
                     std::to_string(buffer_size) + " bytes; the file is truncated or corrupt");
  if (end - begin != expected_bytes)
    return data_loss(what + " has " + std::to_string(end - begin) + " bytes of data (data_offsets " +
                     range_string(begin, end) + "), but dtype " + dtype + " and shape " + clip(shape_to_string(e->shape)) +
                     " need " + std::to_string(expected_bytes));
  e->data = buffer + begin;
  e->nbytes = static_cast<size_t>(end - begin);
  *begin_out = begin;
  *end_out = end;
  return ok_status();
}

// Fails if two non-empty tensors share a byte.
Status check_no_overlap(const std::vector<SafetensorsEntry>& entries,
                        const std::vector<std::pair<uint64_t, uint64_t>>& ranges, const std::string& where) {
  std::vector<size_t> by_begin;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].nbytes > 0) by_begin.push_back(i);
  std::sort(by_begin.begin(), by_begin.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
  for (size_t k = 1; k < by_begin.size(); ++k) {
    const size_t prev = by_begin[k - 1], cur = by_begin[k];
    if (ranges[cur].first < ranges[prev].second)
      return data_loss(where + ": tensors '" + clip(entries[prev].name) + "' (data_offsets " +
                       range_string(ranges[prev].first, ranges[prev].second) + ") and '" + clip(entries[cur].name) +
                       "' (data_offsets " + range_string(ranges[cur].first, ranges[cur].second) +
                       ") overlap; each tensor needs its own bytes");
  }
  return ok_status();
}

// The padded header text for `tensors`, and the size of their data; or why they cannot be
// written. Built by hand rather than through a JSON object so the tensors keep their order
// and a header of many tensors costs linear time.
StatusOr<std::string> build_header(const std::vector<TensorToWrite>& tensors,
                                   const std::map<std::string, std::string>& metadata, uint64_t* data_bytes) {
  std::string header = "{";
  try {
    if (!metadata.empty()) header += std::string("\"") + kMetadataKey + "\":" + Json(metadata).dump();
    std::set<std::string_view> names;
    uint64_t offset = 0;
    for (const TensorToWrite& t : tensors) {
      const std::string what = "tensor '" + t.name + "'";
      if (t.name == kMetadataKey)
        return invalid_argument(what + ": that name is reserved for the file's metadata");
      if (!names.insert(t.name).second) return invalid_argument(what + " is given twice; names must be unique");
      uint64_t numel = 1;
      for (int64_t d : t.shape) {
        if (d < 0) return invalid_argument(what + " has shape " + shape_to_string(t.shape) + " with a negative dim");
        if (!checked_mul(numel, static_cast<uint64_t>(d), &numel))
          return invalid_argument(what + " has shape " + shape_to_string(t.shape) + ", too many elements");
      }
      uint64_t nbytes = 0;
      if (!checked_mul(numel, dtype_size(t.dtype), &nbytes) || nbytes > kMaxCount - offset)
        return invalid_argument(what + " has shape " + shape_to_string(t.shape) + ", too many bytes");
      if (nbytes > 0 && t.data == nullptr)
        return invalid_argument(what + " has no data, but shape " + shape_to_string(t.shape) + " needs " +
                                std::to_string(nbytes) + " bytes");
      if (header.size() > 1) header += ',';
      header += Json(t.name).dump() + ":{\"dtype\":\"" + dtype_name(t.dtype) + "\",\"shape\":" + Json(t.shape).dump() +
                ",\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]}";
      offset += nbytes;
    }
    *data_bytes = offset;
  } catch (const Json::type_error& e) {  // dump() refuses strings that are not valid UTF-8
    return invalid_argument(std::string("a tensor name or metadata string is not valid UTF-8: ") + e.what());
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  return header;
}

// The whole file for a header from build_header().
std::string assemble(const std::string& header, uint64_t data_bytes, const std::vector<TensorToWrite>& tensors) {
  std::string out;
  out.reserve(8 + header.size() + static_cast<size_t>(data_bytes));
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += header;
  for (const TensorToWrite& t : tensors) {
    const size_t nbytes = static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
    if (nbytes > 0) out.append(static_cast<const char*>(t.data), nbytes);
  }
  LOOM_CHECK_EQ(out.size(), 8 + header.size() + data_bytes);
  return out;
}

}  // namespace

StatusOr<std::vector<SafetensorsEntry>> parse_safetensors(const uint8_t* data, size_t size, const std::string& source,
                                                          std::map<std::string, std::string>* metadata) {
  LOOM_CHECK(data != nullptr || size == 0) << "parse_safetensors: null data with size " << size;
  const std::string where = "safetensors file '" + source + "'";
  if (size < 8)
    return data_loss(where + " is " + std::to_string(size) +
                     " bytes long; a safetensors file has at least 8 (the header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > size - 8)
    return data_loss(where + ": the header length is " + std::to_string(n) + " bytes but only " +
                     std::to_string(size - 8) + " follow it; the file is truncated or not safetensors");
  if (n > kMaxHeaderBytes)
    return data_loss(where + ": the header length is " + std::to_string(n) + " bytes, over the 100 MB limit; " +
                     "the file is corrupt or not safetensors");

  Json header;
  std::vector<std::string> order;
  const char* header_text = reinterpret_cast<const char*>(data + 8);
  LOOM_RETURN_IF_ERROR(parse_header(header_text, header_text + n, where, &header, &order));

  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  std::map<std::string, std::string> parsed_metadata;
  std::vector<SafetensorsEntry> entries;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // data_offsets of entries[i]
  entries.reserve(order.size());
  ranges.reserve(order.size());
  for (const std::string& name : order) {
    const Json& v = header.at(name);
    if (name == kMetadataKey) {
      LOOM_RETURN_IF_ERROR(parse_metadata(v, where, &parsed_metadata));
      continue;
    }
    SafetensorsEntry e;
    e.name = name;
    uint64_t begin = 0, end = 0;
    LOOM_RETURN_IF_ERROR(parse_entry(where + ": tensor '" + clip(name) + "'", v, buffer, buffer_size, &e, &begin, &end));
    entries.push_back(std::move(e));
    ranges.emplace_back(begin, end);
  }
  LOOM_RETURN_IF_ERROR(check_no_overlap(entries, ranges, where));
  if (metadata) *metadata = std::move(parsed_metadata);
  return entries;
}

StatusOr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;
  LOOM_ASSIGN_OR_RETURN(f.map_, MappedFile::open(path));
  LOOM_ASSIGN_OR_RETURN(f.entries_, parse_safetensors(f.map_.data(), f.map_.size(), path, &f.metadata_));
  for (size_t i = 0; i < f.entries_.size(); ++i) f.index_.emplace(f.entries_[i].name, i);
  return f;
}

const SafetensorsEntry* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  uint64_t data_bytes = 0;
  StatusOr<std::string> header = build_header(tensors, metadata, &data_bytes);
  LOOM_CHECK(header.ok()) << "serialize_safetensors: " << header.status().message();
  return assemble(*header, data_bytes, tensors);
}

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  uint64_t data_bytes = 0;
  StatusOr<std::string> header = build_header(tensors, metadata, &data_bytes);
  if (!header.ok()) return header.status().with_context("cannot write safetensors file '" + path + "'");
  return write_file_atomic(path, assemble(*header, data_bytes, tensors));
}

}  // namespace loom
