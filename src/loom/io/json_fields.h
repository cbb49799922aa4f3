// Typed reads of config.json keys with errors that name the file, the key, the value found
// and the type expected. A missing key leaves *out unchanged (or is an error if required).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "loom/base/status.h"

namespace loom::io {

Status json_int(const nlohmann::json& j, const char* key, int64_t* out, bool required, const std::string& source);
Status json_float(const nlohmann::json& j, const char* key, float* out, const std::string& source);
Status json_bool(const nlohmann::json& j, const char* key, bool* out, const std::string& source);

}  // namespace loom::io
