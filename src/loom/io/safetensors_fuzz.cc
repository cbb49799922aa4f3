// libFuzzer target: arbitrary bytes through the safetensors parser. It must return an
// error or a consistent set of entries (each inside the buffer), never crash.
#include <cstdint>
#include <cstdlib>

#include "loom/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::map<std::string, std::string> meta;
  auto r = loom::parse_safetensors(data, size, "<fuzz input>", &meta);
  if (r.ok()) {
    for (const auto& e : *r) {
      if (e.nbytes > 0 && (e.data < data || e.data + e.nbytes > data + size)) std::abort();
      volatile uint8_t sink = 0;
      for (size_t i = 0; i < e.nbytes; ++i) sink = static_cast<uint8_t>(sink ^ e.data[i]);
    }
  }
  return 0;
}
