// safetensors tests: round trips through memory and disk; byte-exact agreement with the
// Hugging Face writer's layout and reading of Python-written variants (unpadded, spaced,
// out-of-order headers); every structural corruption rejected as `data loss` with a message
// naming the file, the tensor, the value found and what was expected; every truncation of a
// valid file rejected; writer refusals; and the fuzz seeds replayed.
#include "loom/io/safetensors.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace loom {
namespace {

// A file from a hand-written header: little-endian length, the header as given (no padding
// unless the text has it), then `data`.
std::string file_with_header(const std::string& header_json, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header_json + data;
}

StatusOr<std::vector<SafetensorsEntry>> parse(const std::string& bytes,
                                              std::map<std::string, std::string>* meta = nullptr) {
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.safetensors", meta);
}

std::string bytes_of(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "loom_st_" + std::to_string(::getpid()) + "_" + name;
}

// One tensor of every dtype, plus a scalar and a zero-size tensor, named out of
// alphabetical order so order preservation is visible.
struct Sample {
  std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.0f};
  std::vector<uint16_t> f16 = {0x3c00, 0xc000};  // 1.0, -2.0
  std::vector<uint16_t> bf16 = {0x3f80, 0x4040, 0xbf80};
  std::vector<double> f64 = {3.141592653589793};
  std::vector<int64_t> i64 = {-1, int64_t{1} << 40};
  std::vector<int32_t> i32 = {7, -8, 9};
  std::vector<int16_t> i16 = {-300, 300};
  std::vector<uint16_t> u16 = {65535};
  std::vector<int8_t> i8 = {-128, 0, 127};
  std::vector<uint8_t> u8 = {1, 2, 3, 4, 5};
  std::vector<uint8_t> boolean = {1, 0, 1};
  float scalar = 42.0f;

  std::vector<TensorToWrite> tensors() const {
    return {{"z.f32", DType::kF32, {2, 3}, f32.data()},  {"y.f16", DType::kF16, {2}, f16.data()},
            {"x.bf16", DType::kBF16, {3, 1}, bf16.data()}, {"w.f64", DType::kF64, {1}, f64.data()},
            {"v.i64", DType::kI64, {2}, i64.data()},     {"u.i32", DType::kI32, {3}, i32.data()},
            {"t.i16", DType::kI16, {2}, i16.data()},     {"s.u16", DType::kU16, {1, 1, 1}, u16.data()},
            {"r.i8", DType::kI8, {3}, i8.data()},        {"q.u8", DType::kU8, {5}, u8.data()},
            {"p.bool", DType::kBool, {3}, boolean.data()}, {"o.scalar", DType::kF32, {}, &scalar},
            {"n.empty", DType::kF32, {0, 4}, nullptr}};
  }
};

void expect_matches(const std::vector<SafetensorsEntry>& got, const std::vector<TensorToWrite>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(got[i].name, want[i].name);  // in the order written
    EXPECT_EQ(got[i].dtype, want[i].dtype);
    EXPECT_EQ(got[i].shape, want[i].shape);
    const size_t n = static_cast<size_t>(shape_numel(want[i].shape)) * dtype_size(want[i].dtype);
    ASSERT_EQ(got[i].nbytes, n);
    EXPECT_NE(got[i].data, nullptr);
    if (n > 0) {
      EXPECT_EQ(bytes_of(got[i].data, n), bytes_of(want[i].data, n));
    }
  }
}

TEST(Safetensors, RoundTripsEveryDtypeScalarsEmptyTensorsAndMetadata) {
  const Sample s;
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "héllo \"quoted\"\n"}, {"", "empty key"}};
  const std::string bytes = serialize_safetensors(s.tensors(), meta);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "the header is padded so the data starts 8-byte aligned";
  std::map<std::string, std::string> got_meta = {{"stale", "replaced"}};
  auto e = parse(bytes, &got_meta);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  expect_matches(*e, s.tensors());
  EXPECT_EQ(got_meta, meta);
}

TEST(Safetensors, RoundTripsThroughAFile) {
  const Sample s;
  const std::string path = temp_path("roundtrip.safetensors");
  ASSERT_TRUE(write_safetensors(path, s.tensors(), {{"step", "12"}}).ok());
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->path(), path);
  EXPECT_EQ(f->metadata(), (std::map<std::string, std::string>{{"step", "12"}}));
  expect_matches(f->entries(), s.tensors());
  // Moving keeps the entries and the lookup index valid.
  SafetensorsFile moved = std::move(*f);
  const SafetensorsEntry* i32 = moved.find("u.i32");
  ASSERT_NE(i32, nullptr);
  EXPECT_EQ(i32->name, "u.i32");
  int32_t v[3];
  std::memcpy(v, i32->data, sizeof v);
  EXPECT_EQ(v[1], -8);
  EXPECT_EQ(moved.find("u.i3"), nullptr);
  EXPECT_EQ(moved.find(""), nullptr);
  // Overwriting replaces the file whole.
  ASSERT_TRUE(write_safetensors(path, {}, {}).ok());
  auto empty = SafetensorsFile::open(path);
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  EXPECT_TRUE(empty->entries().empty());
  EXPECT_TRUE(empty->metadata().empty());
  std::filesystem::remove(path);
}

// Hugging Face's writer (safetensors' Rust `serialize`, behind safetensors.torch.save_file)
// emits compact JSON: __metadata__ first, then tensors in data order with keys dtype, shape,
// data_offsets, padded with spaces to a multiple of 8. Given tensors in the order it chose
// (it sorts by dtype alignment, then name), loom must produce the same bytes.
TEST(Safetensors, MatchesHuggingFaceLayoutByteForByte) {
  const float w[2] = {1.0f, 2.0f};
  const int32_t ids[1] = {7};
  std::string header =
      R"({"__metadata__":{"format":"pt"},"b.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a.ids":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string expected = file_with_header(header, bytes_of(w, 8) + bytes_of(ids, 4));
  EXPECT_EQ(serialize_safetensors({{"b.weight", DType::kF32, {2}, w}, {"a.ids", DType::kI32, {1}, ids}},
                                  {{"format", "pt"}}),
            expected);
  std::map<std::string, std::string> meta;
  auto e = parse(expected, &meta);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].name, "b.weight");
  EXPECT_EQ(meta.at("format"), "pt");
}

// What a plain-Python writer may produce: json.dumps with its default ", " / ": " separators,
// no padding (so the data is not aligned), __metadata__ last, keys in any order inside an
// entry, tensors listed out of data order, and an extra key the format does not define.
TEST(Safetensors, ReadsPythonStyleVariants) {
  const double d[2] = {0.5, -0.25};
  const uint16_t h[3] = {1, 2, 3};
  const std::string header =
      R"({"second": {"shape": [3], "data_offsets": [16, 22], "dtype": "U16", "comment": "ignored"}, )"
      R"("first": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}, "__metadata__": {"format": "np"}})";
  ASSERT_NE((8 + header.size()) % 8, 0u) << "the test wants unaligned data";
  const std::string file = file_with_header(header, bytes_of(d, 16) + bytes_of(h, 6));  // entries point into it
  std::map<std::string, std::string> meta;
  auto e = parse(file, &meta);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].name, "second");  // header order
  EXPECT_EQ((*e)[0].dtype, DType::kU16);
  EXPECT_EQ(bytes_of((*e)[0].data, 6), bytes_of(h, 6));
  double got[2];
  std::memcpy(got, (*e)[1].data, sizeof got);  // unaligned: copy, do not cast
  EXPECT_EQ(got[1], -0.25);
  EXPECT_EQ(meta.at("format"), "np");
}

// Gaps between tensors and trailing bytes cannot make a read unsafe, so they are accepted
// (Hugging Face's reader is stricter here); a header with no tensors at all is a valid file.
TEST(Safetensors, AcceptsGapsTrailingBytesAndNoTensors) {
  const std::string file = file_with_header(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})", "xxxxABzz");
  auto gap = parse(file);
  ASSERT_TRUE(gap.ok()) << gap.status().to_string();
  EXPECT_EQ(bytes_of((*gap)[0].data, 2), "AB");
  std::map<std::string, std::string> meta = {{"stale", "x"}};
  auto none = parse(file_with_header("{}", ""), &meta);
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(meta.empty());
}

struct CorruptCase {
  std::string label;                // the test name
  std::string bytes;                // the whole file
  std::vector<std::string> expect;  // substrings of the message: the tensor, the value, the rule
};

std::ostream& operator<<(std::ostream& os, const CorruptCase& c) { return os << c.label; }

class SafetensorsCorrupt : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(SafetensorsCorrupt, IsDataLossNamingFileTensorAndProblem) {
  const CorruptCase& c = GetParam();
  std::map<std::string, std::string> meta = {{"untouched", "yes"}};
  auto r = parse(c.bytes, &meta);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().to_string();
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("safetensors file 'test.safetensors'"), std::string::npos) << m;
  for (const auto& s : c.expect) EXPECT_NE(m.find(s), std::string::npos) << "missing \"" << s << "\" in: " << m;
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"untouched", "yes"}})) << "metadata changed on error";
}

std::string one_tensor(const std::string& body, const std::string& data = std::string(8, '\0')) {
  return file_with_header("{\"t\":" + body + "}", data);
}

std::vector<CorruptCase> corrupt_cases() {
  const std::string d8(8, '\0');
  std::string huge_length(8, '\xff');
  return {
      {"TooShort", "abc", {"3 bytes long", "at least 8"}},
      {"HeaderLengthBeyondFile", file_with_header("{}", "").substr(0, 8) + "{", {"header length is 2", "only 1 follow"}},
      {"HeaderLengthAbsurd", huge_length + "{}", {"header length is 18446744073709551615", "truncated"}},
      {"NotJson", file_with_header("{not json", d8), {"not valid JSON", "parse error"}},
      {"InvalidUtf8", file_with_header("{\"\xff\":1}", d8), {"not valid JSON", "UTF-8"}},
      {"NumberOutOfRange", one_tensor(R"({"dtype":"F16","shape":[2,2e99999],"data_offsets":[0,4]})"),
       {"not valid JSON", "2e99999"}},
      {"TrailingGarbage", file_with_header("{} x", ""), {"not valid JSON"}},
      {"HeaderNotObject", file_with_header("[1,2]", d8), {"JSON array", "[1, 2]", "expected an object"}},
      {"EntryNotObject", one_tensor("5"), {"tensor 't' is 5", "expected an object"}},
      {"DtypeMissing", one_tensor(R"({"shape":[2],"data_offsets":[0,8]})"), {"tensor 't' has no dtype"}},
      {"DtypeNotString", one_tensor(R"({"dtype":4,"shape":[2],"data_offsets":[0,8]})"),
       {"tensor 't' has dtype 4", "expected a string"}},
      {"DtypeUnknown", one_tensor(R"({"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]})"),
       {"tensor 't' has unknown dtype 'F8_E4M3'", "BF16"}},
      {"ShapeMissing", one_tensor(R"({"dtype":"F32","data_offsets":[0,8]})"), {"tensor 't' has no shape"}},
      {"ShapeNotArray", one_tensor(R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})"),
       {"tensor 't' has shape \"2\"", "expected a list"}},
      {"ShapeNegative", one_tensor(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
       {"tensor 't' has shape [-2]", "dim 0 is -2", "[0, 2^63)"}},
      {"ShapeFractional", one_tensor(R"({"dtype":"F32","shape":[1,2.5],"data_offsets":[0,8]})"),
       {"tensor 't'", "dim 1 is 2.5"}},
      {"ShapeDimOver2To63", one_tensor(R"({"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,8]})"),
       {"tensor 't'", "dim 0 is 9223372036854775808"}},
      {"ShapeElementsOverflow", one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]})"),
       {"tensor 't' has shape [4294967296, 4294967296, 16]", "does not fit in 63 bits"}},
      {"ShapeBytesOverflow", one_tensor(R"({"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]})"),
       {"tensor 't'", "does not fit in 63 bits"}},
      // Each prefix product of the dims must fit in int64 too, even when a later dim is 0.
      {"ShapeSignedOverflowBeforeZero", one_tensor(R"({"dtype":"U8","shape":[4611686018427387904,3,0],"data_offsets":[0,0]})"),
       {"tensor 't'", "does not fit in 63 bits"}},
      {"OffsetsMissing", one_tensor(R"({"dtype":"F32","shape":[2]})"), {"tensor 't' has no data_offsets"}},
      {"OffsetsThreeInts", one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"),
       {"tensor 't' has data_offsets [0, 4, 8]", "expected [begin, end]"}},
      {"OffsetsNegative", one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[-1,7]})"),
       {"tensor 't' has data_offsets [-1, 7]", "non-negative"}},
      {"OffsetsStrings", one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":["0","8"]})"),
       {"tensor 't' has data_offsets [\"0\", \"8\"]"}},
      {"OffsetsReversed", one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"),
       {"tensor 't' has data_offsets [8, 0]", "end is before its begin"}},
      {"OffsetsPastEnd", one_tensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})"),
       {"tensor 't' has data_offsets [0, 16]", "holds only 8 bytes"}},
      {"OffsetsPastEndHuge",
       one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]})"),
       {"tensor 't'", "holds only 8 bytes"}},
      {"ByteCountMismatch", one_tensor(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
       {"tensor 't' has 8 bytes of data", "F32 and shape [3] need 12"}},
      {"DuplicateTensor",
       file_with_header(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
       {"tensor 't' appears twice"}},
      {"DuplicateKeyInEntry", one_tensor(R"({"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]})"),
       {"tensor 't' has the key 'dtype' twice"}},
      {"DuplicateMetadata", file_with_header(R"({"__metadata__":{},"__metadata__":{"a":"b"}})", ""),
       {"__metadata__ appears twice"}},
      {"DuplicateMetadataKey", file_with_header(R"({"__metadata__":{"k":"1","k":"2"}})", ""),
       {"__metadata__ has the key 'k' twice"}},
      {"Overlap",
       file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
       {"tensors 'a' (data_offsets [0, 8]) and 'b' (data_offsets [4, 8]) overlap"}},
      {"MetadataNotObject", file_with_header(R"({"__metadata__":["a"]})", ""), {"__metadata__ is [\"a\"]"}},
      {"MetadataValueNotString", file_with_header(R"({"__metadata__":{"k":1}})", ""),
       {"__metadata__ key 'k' is 1", "expected a string"}},
  };
}

INSTANTIATE_TEST_SUITE_P(AllRules, SafetensorsCorrupt, ::testing::ValuesIn(corrupt_cases()),
                         [](const ::testing::TestParamInfo<CorruptCase>& p) { return p.param.label; });

TEST(Safetensors, MessagesShowOnlyAnExcerptOfHugeValues) {
  std::string big = "[";
  for (int i = 0; i < 100000; ++i) big += (i ? ",1" : "1");
  big += "]";
  std::string long_name(100000, 'n');
  for (const std::string& bytes :
       {one_tensor(R"({"dtype":"F32","shape":)" + big + R"(,"data_offsets":[0,8]})"),
        file_with_header("{\"" + long_name + "\":{\"dtype\":\"X\"}}", ""), file_with_header("[" + big + "]", "")}) {
    auto r = parse(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_LT(r.status().message().size(), 1000u) << r.status().message().substr(0, 300);
    EXPECT_NE(r.status().message().find("..."), std::string::npos) << r.status().message();
  }
}

TEST(Safetensors, HeaderOverTheLimitIsRejectedBeforeReadingIt) {
  // A sparse file: 8 + 100'000'001 bytes on paper, almost nothing on disk.
  const std::string path = temp_path("huge_header.safetensors");
  const uint64_t n = 100'000'001;
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) prefix[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, prefix.data(), 8), 8);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(8 + n)), 0);
  ::close(fd);
  auto f = SafetensorsFile::open(path);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("100000001 bytes, over the 100 MB limit"), std::string::npos)
      << f.status().message();
  std::filesystem::remove(path);
}

TEST(Safetensors, EveryTruncationIsAnErrorNotACrash) {
  const Sample s;
  const std::string bytes = serialize_safetensors(s.tensors(), {{"format", "pt"}});
  for (size_t len = 0; len < bytes.size(); ++len) {
    // A fresh allocation of exactly `len` bytes, so ASan sees any read past the end.
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    auto r = parse_safetensors(cut.data(), cut.size(), "cut.safetensors", nullptr);
    ASSERT_FALSE(r.ok()) << "length " << len;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << len;
    EXPECT_NE(r.status().message().find("cut.safetensors"), std::string::npos) << len;
  }
  EXPECT_TRUE(parse(bytes).ok());
}

TEST(Safetensors, OpenReportsMissingAndEmptyFiles) {
  auto missing = SafetensorsFile::open(temp_path("does_not_exist.safetensors"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("does_not_exist.safetensors"), std::string::npos);

  const std::string empty_path = temp_path("empty.safetensors");
  ASSERT_TRUE(write_file_atomic(empty_path, "").ok());
  auto empty = SafetensorsFile::open(empty_path);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(empty.status().message().find("is 0 bytes long"), std::string::npos) << empty.status().message();
  std::filesystem::remove(empty_path);
}

TEST(Safetensors, WriteIntoMissingDirectoryFailsClearly) {
  const float x = 1.0f;
  const std::string dir = temp_path("no_such_dir");
  const std::string path = dir + "/model.safetensors";
  Status s = write_safetensors(path, {{"x", DType::kF32, {}, &x}}, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

struct BadWrite {
  std::string label;
  std::vector<TensorToWrite> tensors;
  std::map<std::string, std::string> metadata;
  std::string expect;
};

std::ostream& operator<<(std::ostream& os, const BadWrite& c) { return os << c.label; }

class SafetensorsBadWrite : public ::testing::TestWithParam<BadWrite> {};

const float kFour[4] = {1, 2, 3, 4};

TEST_P(SafetensorsBadWrite, IsInvalidArgumentAndWritesNothing) {
  const BadWrite& c = GetParam();
  const std::string path = temp_path("bad_write_" + c.label + ".safetensors");
  Status s = write_safetensors(path, c.tensors, c.metadata);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(path));
}

INSTANTIATE_TEST_SUITE_P(
    AllRequirements, SafetensorsBadWrite,
    ::testing::Values(
        BadWrite{"DuplicateName", {{"w", DType::kF32, {2}, kFour}, {"w", DType::kF32, {2}, kFour + 2}}, {},
                 "tensor 'w' is given twice"},
        BadWrite{"ReservedName", {{"__metadata__", DType::kF32, {1}, kFour}}, {}, "reserved for the file's metadata"},
        BadWrite{"NegativeDim", {{"w", DType::kF32, {2, -2}, kFour}}, {}, "tensor 'w' has shape [2, -2] with a negative dim"},
        BadWrite{"NullData", {{"w", DType::kF32, {4}, nullptr}}, {}, "tensor 'w' has no data, but shape [4] needs 16 bytes"},
        BadWrite{"TooManyBytes", {{"w", DType::kF64, {int64_t{1} << 62, 4}, kFour}}, {}, "too many"},
        BadWrite{"NameNotUtf8", {{"w\xff", DType::kF32, {1}, kFour}}, {}, "not valid UTF-8"},
        BadWrite{"MetadataNotUtf8", {}, {{"k", "\xc3"}}, "not valid UTF-8"}),
    [](const ::testing::TestParamInfo<BadWrite>& p) { return p.param.label; });

TEST(SafetensorsDeathTest, SerializeChecksItsRequirements) {
  const float x[2] = {1, 2};
  EXPECT_DEATH((void)serialize_safetensors({{"w", DType::kF32, {1}, x}, {"w", DType::kF32, {1}, x + 1}}, {}),
               "tensor 'w' is given twice");
}

// The committed fuzz seeds (tests/fuzz_seeds/safetensors_fuzz, including inputs that once
// found bugs) replayed: each parses or fails cleanly, and any entries lie inside the input.
TEST(Safetensors, FuzzSeedsParseOrFailCleanly) {
  const std::filesystem::path dir = std::filesystem::path(LOOM_SOURCE_DIR) / "tests/fuzz_seeds/safetensors_fuzz";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0, parsed = 0;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    auto content = read_file(item.path().string());
    ASSERT_TRUE(content.ok()) << content.status().to_string();
    const std::vector<uint8_t> bytes(content->begin(), content->end());
    auto r = parse_safetensors(bytes.data(), bytes.size(), item.path().string(), nullptr);
    ++files;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << item.path();
      continue;
    }
    ++parsed;
    for (const auto& e : *r) {
      EXPECT_GE(e.data, bytes.data());
      EXPECT_LE(e.data + e.nbytes, bytes.data() + bytes.size());
    }
  }
  EXPECT_GT(files, 0);
  EXPECT_GT(parsed, 0) << "the seeds should include at least one valid file";
}

}  // namespace
}  // namespace loom
