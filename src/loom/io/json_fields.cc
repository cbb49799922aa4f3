// Typed config.json reads (see json_fields.h).
#include "loom/io/json_fields.h"

namespace loom::io {

Status json_int(const nlohmann::json& j, const char* key, int64_t* out, bool required, const std::string& source) {
  if (!j.contains(key)) {
    if (required) return data_loss(source + ": required key '" + key + "' is missing");
    return ok_status();
  }
  if (!j[key].is_number_integer())
    return data_loss(source + ": key '" + key + "' is " + j[key].dump() + "; expected an integer");
  *out = j[key].get<int64_t>();
  return ok_status();
}

Status json_float(const nlohmann::json& j, const char* key, float* out, const std::string& source) {
  if (!j.contains(key)) return ok_status();
  if (!j[key].is_number()) return data_loss(source + ": key '" + key + "' is " + j[key].dump() + "; expected a number");
  *out = j[key].get<float>();
  return ok_status();
}

Status json_bool(const nlohmann::json& j, const char* key, bool* out, const std::string& source) {
  if (!j.contains(key)) return ok_status();
  if (!j[key].is_boolean())
    return data_loss(source + ": key '" + key + "' is " + j[key].dump() + "; expected true/false");
  *out = j[key].get<bool>();
  return ok_status();
}

}  // namespace loom::io
