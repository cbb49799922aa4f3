// Progress bar implementation.
#include "loom/train/progress.h"

#include <cmath>

namespace loom::train {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

Progress::Progress(std::FILE* out, bool interactive, int64_t total_steps)
    : out_(out), interactive_(interactive), total_(total_steps) {}

void Progress::update(int64_t step, double loss, double lr, double tps, double sps) {
  const double eta = sps * static_cast<double>(total_ - step);
  if (interactive_) {
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * step / total_) : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), '.');
    std::fprintf(out_, "\r[%s] step %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s   ", bar.c_str(),
                 static_cast<long long>(step), static_cast<long long>(total_), loss, lr, tps, format_duration(eta).c_str());
    bar_visible_ = true;
  } else {
    std::fprintf(out_, "step %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s\n", static_cast<long long>(step),
                 static_cast<long long>(total_), loss, lr, tps, format_duration(eta).c_str());
  }
  std::fflush(out_);
}

void Progress::line(const std::string& text) {
  if (bar_visible_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", text.c_str());
  bar_visible_ = false;
  std::fflush(out_);
}

void Progress::finish() {
  if (bar_visible_) std::fprintf(out_, "\n");
  bar_visible_ = false;
  std::fflush(out_);
}

}  // namespace loom::train
