#include "loom/base/profile.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "loom/base/env.h"

namespace loom::profile {

namespace {

std::atomic<int> g_state{-1};  // -1: not yet read from the environment
std::mutex g_mutex;
std::map<std::string, Entry, std::less<>>& table() {
  static auto* t = new std::map<std::string, Entry, std::less<>>();
  return *t;
}

}  // namespace

bool enabled() {
  int s = g_state.load(std::memory_order_relaxed);
  if (s < 0) {
    s = env_or("LOOM_PROFILE", "0") == "1" ? 1 : 0;
    int expected = -1;
    g_state.compare_exchange_strong(expected, s);
    s = g_state.load();
  }
  return s == 1;
}

void set_enabled(bool on) { g_state.store(on ? 1 : 0); }

void add(const char* name, double seconds) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = table().find(std::string_view(name));
  if (it == table().end()) it = table().emplace(name, Entry{name, 0, 0}).first;
  it->second.seconds += seconds;
  ++it->second.calls;
}

std::vector<Entry> snapshot() {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::vector<Entry> out;
  for (const auto& [name, e] : table()) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.seconds > b.seconds; });
  return out;
}

void clear() {
  std::lock_guard<std::mutex> lock(g_mutex);
  table().clear();
}

}  // namespace loom::profile
