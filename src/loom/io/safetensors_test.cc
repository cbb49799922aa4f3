// safetensors tests: round trip, hand-built files in the Python writer's form, and every
// structural corruption rejected with a message naming the problem (never a crash).
#include "loom/io/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

namespace loom {
namespace {

std::string header_file(const std::string& header_json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header_json + data;
}

StatusOr<std::vector<SafetensorsEntry>> parse(const std::string& bytes, std::map<std::string, std::string>* meta = nullptr) {
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.safetensors", meta);
}

TEST(Safetensors, RoundTripsDtypesShapesAndMetadata) {
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.0f};
  std::vector<int32_t> b = {7, -8, 9};
  float scalar = 42.0f;
  std::vector<TensorToWrite> t = {{"a.weight", DType::kF32, {2, 3}, a.data()},
                                  {"b", DType::kI32, {3}, b.data()},
                                  {"s", DType::kF32, {}, &scalar},
                                  {"empty", DType::kF32, {0, 4}, nullptr}};
  std::string bytes = serialize_safetensors(t, {{"format", "pt"}, {"note", "héllo"}});
  // The header is padded so the data starts 8-byte aligned.
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  std::map<std::string, std::string> meta;
  auto e = parse(bytes, &meta);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_EQ(e->size(), 4u);
  EXPECT_EQ(meta["note"], "héllo");
  for (const auto& entry : *e) {
    if (entry.name == "a.weight") {
      EXPECT_EQ(entry.shape, (std::vector<int64_t>{2, 3}));
      EXPECT_EQ(std::memcmp(entry.data, a.data(), 24), 0);
    } else if (entry.name == "b") {
      EXPECT_EQ(entry.dtype, DType::kI32);
      EXPECT_EQ(std::memcmp(entry.data, b.data(), 12), 0);
    } else if (entry.name == "s") {
      EXPECT_TRUE(entry.shape.empty());
      EXPECT_EQ(*reinterpret_cast<const float*>(entry.data), 42.0f);
    } else {
      EXPECT_EQ(entry.name, "empty");
      EXPECT_EQ(entry.nbytes, 0u);
    }
  }
  // Through a file.
  std::string path = ::testing::TempDir() + "loom_st_" + std::to_string(::getpid()) + ".safetensors";
  ASSERT_TRUE(write_safetensors(path, t, {}).ok());
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok());
  ASSERT_NE(f->find("b"), nullptr);
  EXPECT_EQ(f->find("nope"), nullptr);
  EXPECT_FALSE(write_safetensors("/nonexistent-dir/x.safetensors", t, {}).ok());
}

TEST(Safetensors, ReadsHandBuiltFile) {
  float v[2] = {1.0f, 2.0f};
  std::string data(reinterpret_cast<const char*>(v), 8);
  auto e = parse(header_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}})", data));
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(reinterpret_cast<const float*>((*e)[0].data)[1], 2.0f);
}

struct Corrupt {
  std::string name;
  std::string bytes;
  std::string expect;  // substring of the message
};

TEST(Safetensors, RejectsCorruptFilesWithClearMessages) {
  const std::string d8(8, '\0');
  const auto tensor = [](const std::string& body) { return "{\"t\":" + body + "}"; };
  std::vector<Corrupt> cases = {
      {"short", "abc", "at least 8"},
      {"header too long", header_file("{}", "").substr(0, 8) + "{", "exceeds the file size"},
      {"bad json", header_file("{not json", d8), "not valid JSON"},
      {"not object", header_file("[1,2]", d8), "expected an object"},
      {"entry not object", header_file(tensor("5"), d8), "expected an object"},
      {"unknown dtype", header_file(tensor(R"({"dtype":"F33","shape":[2],"data_offsets":[0,8]})"), d8), "unknown dtype 'F33'"},
      {"bad shape", header_file(tensor(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), d8), "non-negative"},
      {"missing offsets", header_file(tensor(R"({"dtype":"F32","shape":[2]})"), d8), "data_offsets"},
      {"reversed offsets", header_file(tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), d8), "outside"},
      {"offsets past end", header_file(tensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})"), d8), "outside"},
      {"size mismatch", header_file(tensor(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), d8), "need 12"},
      {"huge dims", header_file(tensor(R"({"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]})"), d8),
       "larger than"},
      {"duplicate", header_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
       "appears twice"},
      {"overlap", header_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8),
       "share bytes"},
      {"metadata not string", header_file(R"({"__metadata__":{"k":1}})", ""), "must be strings"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.bytes);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << c.name;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.name << ": " << r.status().message();
    EXPECT_NE(r.status().message().find("test.safetensors"), std::string::npos) << c.name;
  }
}

TEST(Safetensors, EveryTruncationIsAnErrorNotACrash) {
  std::vector<float> a(10, 1.0f);
  std::string bytes = serialize_safetensors({{"a", DType::kF32, {10}, a.data()}}, {});
  for (size_t len = 0; len < bytes.size(); ++len) EXPECT_FALSE(parse(bytes.substr(0, len)).ok()) << len;
  EXPECT_TRUE(parse(bytes).ok());
}

}  // namespace
}  // namespace loom

namespace loom {
namespace {

// Found by the fuzzer: a number too large for any C++ type in the header must be an error,
// not an uncaught exception.
TEST(Safetensors, NumberOverflowInHeaderIsAnError) {
  std::string h = R"({"a":{"dtype":"F16","shape":[2,2e99999],"data_offsets":[0,4]}})";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(h.size());
  bytes += h;
  auto r = parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "big.safetensors", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("big.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace loom
