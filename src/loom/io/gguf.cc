// The GGUF reader (see gguf.h): a bounds-checked cursor over the mapped bytes.
#include "loom/io/gguf.h"

#include <bit>
#include <cstring>
#include <utility>

#include "loom/tokenizers/utf8.h"

namespace loom {

namespace {

static_assert(std::endian::native == std::endian::little, "GGUF is read as little-endian");

constexpr uint32_t kMaxDims = 4;           // GGML_MAX_DIMS
constexpr uint64_t kMaxElements = 1ull << 62;
constexpr uint64_t kDefaultAlignment = 32;

// (elements per block, bytes per block) of the ggml types loom knows, by type id.
struct BlockSize {
  uint32_t type;
  uint64_t elements;
  uint64_t bytes;
};
constexpr BlockSize kBlockSizes[] = {
    {0, 1, 4},      // F32
    {1, 1, 2},      // F16
    {2, 32, 18},    // Q4_0
    {3, 32, 20},    // Q4_1
    {6, 32, 22},    // Q5_0
    {7, 32, 24},    // Q5_1
    {8, 32, 34},    // Q8_0
    {9, 32, 36},    // Q8_1
    {10, 256, 84},  // Q2_K
    {11, 256, 110}, // Q3_K
    {12, 256, 144}, // Q4_K
    {13, 256, 176}, // Q5_K
    {14, 256, 210}, // Q6_K
    {15, 256, 292}, // Q8_K
    {24, 1, 1},     // I8
    {25, 1, 2},     // I16
    {26, 1, 4},     // I32
    {27, 1, 8},     // I64
    {28, 1, 8},     // F64
    {30, 1, 2},     // BF16
};

// Smallest encoded size of one value of a type, so an array's count can be checked against
// the bytes left before anything is allocated.
uint64_t min_encoded_size(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool: return 1;
    case GgufType::kUint16:
    case GgufType::kInt16: return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32: return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
    case GgufType::kString: return 8;
    case GgufType::kArray: return 12;
  }
  return 1;
}

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& source) : data_(data), size_(size), source_(source) {}

  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  Status error(const std::string& what, const std::string& problem) const {
    return data_loss("'" + source_ + "': " + what + " at byte " + std::to_string(pos_) + ": " + problem);
  }

  template <typename T>
  Status read(T* out, const std::string& what) {
    if (left() < sizeof(T))
      return error(what, "the file ends " + std::to_string(left()) + " bytes in, " + std::to_string(sizeof(T)) +
                             " needed (truncated file?)");
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return ok_status();
  }

  Status read_string(std::string* out, const std::string& what) {
    uint64_t n = 0;
    LOOM_RETURN_IF_ERROR(read(&n, what + " (length)"));
    if (n > left())
      return error(what, "a string of " + std::to_string(n) + " bytes, but only " + std::to_string(left()) +
                             " are left in the file");
    out->assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return ok_status();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& source_;
};

Status read_type(Cursor& c, GgufType* out, const std::string& what) {
  uint32_t t = 0;
  LOOM_RETURN_IF_ERROR(c.read(&t, what));
  if (t > static_cast<uint32_t>(GgufType::kFloat64))
    return c.error(what, "value type " + std::to_string(t) + " is not a GGUF type (expected 0..12)");
  *out = static_cast<GgufType>(t);
  return ok_status();
}

// One scalar of type `t` appended to `v`.
Status read_scalar(Cursor& c, GgufType t, GgufValue* v, const std::string& what) {
  switch (t) {
    case GgufType::kUint8: { uint8_t x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->ints.push_back(x); return ok_status(); }
    case GgufType::kInt8: { int8_t x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->ints.push_back(x); return ok_status(); }
    case GgufType::kUint16: { uint16_t x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->ints.push_back(x); return ok_status(); }
    case GgufType::kInt16: { int16_t x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->ints.push_back(x); return ok_status(); }
    case GgufType::kUint32: { uint32_t x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->ints.push_back(x); return ok_status(); }
    case GgufType::kInt32: { int32_t x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->ints.push_back(x); return ok_status(); }
    case GgufType::kInt64: { int64_t x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->ints.push_back(x); return ok_status(); }
    case GgufType::kUint64: {
      uint64_t x;
      LOOM_RETURN_IF_ERROR(c.read(&x, what));
      if (x > static_cast<uint64_t>(INT64_MAX)) return c.error(what, "uint64 value " + std::to_string(x) + " is over 2^63 - 1");
      v->ints.push_back(static_cast<int64_t>(x));
      return ok_status();
    }
    case GgufType::kBool: {
      uint8_t x;
      LOOM_RETURN_IF_ERROR(c.read(&x, what));
      if (x > 1) return c.error(what, "bool byte is " + std::to_string(x) + ", expected 0 or 1");
      v->ints.push_back(x);
      return ok_status();
    }
    case GgufType::kFloat32: { float x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->floats.push_back(x); return ok_status(); }
    case GgufType::kFloat64: { double x; LOOM_RETURN_IF_ERROR(c.read(&x, what)); v->floats.push_back(x); return ok_status(); }
    case GgufType::kString: {
      std::string s;
      LOOM_RETURN_IF_ERROR(c.read_string(&s, what));
      v->strings.push_back(std::move(s));
      return ok_status();
    }
    case GgufType::kArray: break;
  }
  return c.error(what, "an array inside an array is not supported");
}

Status read_value(Cursor& c, GgufValue* v, const std::string& what) {
  LOOM_RETURN_IF_ERROR(read_type(c, &v->type, what + " (type)"));
  if (!v->is_array()) return read_scalar(c, v->type, v, what);
  LOOM_RETURN_IF_ERROR(read_type(c, &v->element_type, what + " (element type)"));
  if (v->element_type == GgufType::kArray)
    return c.error(what, "an array of arrays; loom does not support nested arrays (no tokenizer or model uses them)");
  uint64_t n = 0;
  LOOM_RETURN_IF_ERROR(c.read(&n, what + " (count)"));
  if (n > c.left() / min_encoded_size(v->element_type))
    return c.error(what, "an array of " + std::to_string(n) + " " + std::string(gguf_type_name(v->element_type)) +
                             " values cannot fit in the " + std::to_string(c.left()) + " bytes left");
  const size_t count = static_cast<size_t>(n);
  if (v->holds_strings()) {
    v->strings.reserve(count);
  } else if (v->holds_floats()) {
    v->floats.reserve(count);
  } else {
    v->ints.reserve(count);
  }
  for (size_t i = 0; i < count; ++i)
    LOOM_RETURN_IF_ERROR(read_scalar(c, v->element_type, v, what + "[" + std::to_string(i) + "]"));
  return ok_status();
}

std::string type_of(const GgufValue& v) {
  if (v.is_array()) return "array of " + std::string(gguf_type_name(v.element_type));
  return std::string(gguf_type_name(v.type));
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::kUint8: return "uint8";
    case GgufType::kInt8: return "int8";
    case GgufType::kUint16: return "uint16";
    case GgufType::kInt16: return "int16";
    case GgufType::kUint32: return "uint32";
    case GgufType::kInt32: return "int32";
    case GgufType::kFloat32: return "float32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kUint64: return "uint64";
    case GgufType::kInt64: return "int64";
    case GgufType::kFloat64: return "float64";
  }
  return "unknown";
}

StatusOr<GgufFile> GgufFile::open(const std::string& path) {
  LOOM_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  LOOM_ASSIGN_OR_RETURN(GgufFile file, parse(map.data(), map.size(), path));
  file.map_ = std::move(map);
  return file;
}

StatusOr<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, const std::string& source) {
  GgufFile file;
  file.source_ = source;
  Cursor c(data, size, file.source_);
  char magic[4];
  LOOM_RETURN_IF_ERROR(c.read(&magic, "the magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0)
    return data_loss("'" + source + "': not a GGUF file: it starts with " +
                     quote_text(std::string_view(magic, 4)) + ", expected \"GGUF\"");
  LOOM_RETURN_IF_ERROR(c.read(&file.version_, "the version"));
  if (file.version_ != 2 && file.version_ != 3)
    return data_loss("'" + source + "': GGUF version " + std::to_string(file.version_) +
                     "; loom reads versions 2 and 3 (version 1 files need converting with llama.cpp)");
  uint64_t n_tensors = 0;
  uint64_t n_kv = 0;
  LOOM_RETURN_IF_ERROR(c.read(&n_tensors, "the tensor count"));
  LOOM_RETURN_IF_ERROR(c.read(&n_kv, "the metadata count"));
  // A key-value pair takes at least 8 + 4 + 1 bytes, a tensor entry at least 8 + 4 + 8 + 4 + 8.
  if (n_kv > c.left() / 13 || n_tensors > c.left() / 32)
    return data_loss("'" + source + "': the header promises " + std::to_string(n_kv) + " metadata entries and " +
                     std::to_string(n_tensors) + " tensors, more than the " + std::to_string(c.left()) +
                     " bytes left can hold (truncated or corrupt file)");

  file.kv_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    LOOM_RETURN_IF_ERROR(c.read_string(&key, "metadata key #" + std::to_string(i)));
    if (Status s = validate_utf8(key, "metadata key #" + std::to_string(i)); !s.ok())
      return data_loss("'" + source + "': " + s.message());
    GgufValue value;
    LOOM_RETURN_IF_ERROR(read_value(c, &value, "metadata '" + key + "'"));
    if (!file.index_.emplace(key, file.kv_.size()).second)
      return data_loss("'" + source + "': metadata key '" + key + "' appears twice");
    file.kv_.emplace_back(std::move(key), std::move(value));
  }

  uint64_t alignment = kDefaultAlignment;
  if (const GgufValue* a = file.find("general.alignment")) {
    if (a->is_array() || !a->holds_ints() || a->ints[0] <= 0 || !std::has_single_bit(static_cast<uint64_t>(a->ints[0])))
      return data_loss("'" + source + "': general.alignment must be a power of two, found " +
                       (a->holds_ints() && !a->is_array() ? std::to_string(a->ints[0]) : type_of(*a)));
    alignment = static_cast<uint64_t>(a->ints[0]);
  }

  std::map<std::string, size_t, std::less<>> tensor_names;
  file.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    const std::string what = "tensor #" + std::to_string(i);
    LOOM_RETURN_IF_ERROR(c.read_string(&t.name, what + " name"));
    const std::string named = "tensor '" + t.name + "'";
    uint32_t n_dims = 0;
    LOOM_RETURN_IF_ERROR(c.read(&n_dims, named + " dims"));
    if (n_dims == 0 || n_dims > kMaxDims)
      return c.error(named, std::to_string(n_dims) + " dims; expected 1 to " + std::to_string(kMaxDims));
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      LOOM_RETURN_IF_ERROR(c.read(&dim, named + " dim"));
      if (dim == 0 || dim > kMaxElements / elements)
        return c.error(named, "dim " + std::to_string(d) + " is " + std::to_string(dim) +
                                  (dim == 0 ? "; dims must be positive" : "; the element count passes 2^62"));
      elements *= dim;
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    LOOM_RETURN_IF_ERROR(c.read(&t.ggml_type, named + " type"));
    LOOM_RETURN_IF_ERROR(c.read(&t.offset, named + " offset"));
    if (t.offset % alignment != 0)
      return c.error(named, "data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                                std::to_string(alignment));
    for (const BlockSize& b : kBlockSizes) {
      if (b.type != t.ggml_type) continue;
      if (static_cast<uint64_t>(t.dims[0]) % b.elements != 0)
        return c.error(named, "row length " + std::to_string(t.dims[0]) + " is not a multiple of its type's block of " +
                                  std::to_string(b.elements));
      t.nbytes = elements / b.elements * b.bytes;
    }
    if (!tensor_names.emplace(t.name, i).second) return data_loss("'" + source + "': " + named + " appears twice");
    file.tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment (or the end of a file
  // without tensors).
  const uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  for (const GgufTensorInfo& t : file.tensors_) {
    if (!t.nbytes) continue;
    if (data_start > size || t.offset > size - data_start || *t.nbytes > size - data_start - t.offset)
      return data_loss("'" + source + "': tensor '" + t.name + "' has " + std::to_string(*t.nbytes) +
                       " bytes at data offset " + std::to_string(t.offset) + ", past the end of the " +
                       std::to_string(size) + "-byte file (truncated file?)");
  }
  return file;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {

Status missing(const std::string& source, std::string_view key) {
  return not_found("'" + source + "': metadata '" + std::string(key) + "' is missing");
}

Status wrong_type(const std::string& source, std::string_view key, const GgufValue& v, const std::string& want) {
  return data_loss("'" + source + "': metadata '" + std::string(key) + "' is " + type_of(v) + ", expected " + want);
}

}  // namespace

StatusOr<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(source_, key);
  if (v->is_array() || !v->holds_strings()) return wrong_type(source_, key, *v, "string");
  return v->strings[0];
}

StatusOr<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(source_, key);
  if (v->is_array() || !v->holds_ints()) return wrong_type(source_, key, *v, "an integer");
  return v->ints[0];
}

StatusOr<const std::vector<std::string>*> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(source_, key);
  if (!v->is_array() || !v->holds_strings()) return wrong_type(source_, key, *v, "array of string");
  return &v->strings;
}

StatusOr<const std::vector<int64_t>*> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return missing(source_, key);
  if (!v->is_array() || !v->holds_ints()) return wrong_type(source_, key, *v, "array of integers");
  return &v->ints;
}

}  // namespace loom
