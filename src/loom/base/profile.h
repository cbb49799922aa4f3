// Per-op wall-time accounting for finding where a training step's time goes. Off by default,
// when a Scope costs one branch. Turned on by a program (loom_bench --profile) or by
// LOOM_PROFILE=1 in the environment (read once, at the first enabled() call).
//
//   { profile::Scope s("linear"); ... }      // adds the scope's wall time to "linear"
//   for (const auto& e : profile::snapshot()) printf("%s %.3f s in %lld calls\n", ...);
//
// Times are wall-clock and nest: a scope inside another is counted in both, so only use
// scopes that do not nest (loom puts one around each autograd op's forward and backward).
// Safe to use from several threads; the ops record from the calling thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace loom::profile {

bool enabled();
void set_enabled(bool on);
void add(const char* name, double seconds);

struct Entry {
  std::string name;
  double seconds = 0;
  int64_t calls = 0;
};
// Every name recorded since the last clear(), most time first.
std::vector<Entry> snapshot();
void clear();

class Scope {
 public:
  explicit Scope(const char* name) : name_(enabled() ? name : nullptr) {
    if (name_) t0_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (name_) add(name_, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* name_;
  std::chrono::steady_clock::time_point t0_{};
};

}  // namespace loom::profile
