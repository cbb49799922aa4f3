// Status and StatusOr: how loom reports errors that come from the outside world
// (files, configs, flags, requests). Library code returns these; only the CLI turns
// them into a one-line message and an exit code. Broken internal invariants use
// LOOM_CHECK (check.h) instead.
//
// Message shape (see docs/architecture.md): say what failed, the value found, the value
// expected, and a hint, e.g.
//   checkpoint 'run/model.safetensors': tensor 'transformer.wte.weight' has shape [65, 128],
//   config expects [50257, 128]. Was it saved with a different vocab_size?
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "loom/base/check.h"

namespace loom {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a bad flag, config value or request
  kNotFound,         // a missing file, key or tensor
  kDataLoss,         // a corrupt or truncated file
  kIoError,          // the OS refused: permissions, disk full, ...
  kFailedPrecondition,  // e.g. training diverged (NaN loss)
  kCancelled,        // the user interrupted
  kUnimplemented,
  kInternal,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", or "ok".
  std::string to_string() const;

  // Returns a copy whose message is prefixed with `context: `, to say where an error happened.
  Status with_context(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status ok_status() { return Status(); }
inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
// invalid_argument("<name> is <value>; it must be a positive integer") unless value > 0.
inline Status require_positive(const std::string& name, int64_t value) {
  if (value > 0) return {};
  return invalid_argument(name + " is " + std::to_string(value) + "; it must be a positive integer");
}
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status failed_precondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }

// Holds either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {  // NOLINT: implicit by design
    LOOM_CHECK(!status_.ok()) << "StatusOr built from an ok Status without a value";
  }
  StatusOr(Status&& status) : status_(std::move(status)) {  // NOLINT
    LOOM_CHECK(!status_.ok()) << "StatusOr built from an ok Status without a value";
  }
  StatusOr(const T& value) : value_(value) {}       // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    LOOM_CHECK(ok()) << "value() on an error StatusOr: " << status_.to_string();
    return *value_;
  }
  const T& value() const& {
    LOOM_CHECK(ok()) << "value() on an error StatusOr: " << status_.to_string();
    return *value_;
  }
  T&& value() && {
    LOOM_CHECK(ok()) << "value() on an error StatusOr: " << status_.to_string();
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace loom

#define LOOM_STATUS_CONCAT_INNER_(a, b) a##b
#define LOOM_STATUS_CONCAT_(a, b) LOOM_STATUS_CONCAT_INNER_(a, b)

// Returns early from the enclosing function if `expr` (a Status) is not ok.
#define LOOM_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::loom::Status loom_status_ = (expr);          \
    if (!loom_status_.ok()) return loom_status_;   \
  } while (0)

// `LOOM_ASSIGN_OR_RETURN(auto x, f());` declares x from a StatusOr or returns its error.
#define LOOM_ASSIGN_OR_RETURN(lhs, expr) \
  LOOM_ASSIGN_OR_RETURN_IMPL_(LOOM_STATUS_CONCAT_(loom_statusor_, __LINE__), lhs, expr)
#define LOOM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
