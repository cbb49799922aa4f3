// Progress reporting for long work: on a terminal, one line redrawn in place with a bar,
// step, loss, learning rate, tokens/s and ETA; otherwise (a log file, CI) plain lines
// at each log interval, so logs stay readable.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace loom::train {

class Progress {
 public:
  // `out` is where lines go; `interactive` redraws in place (use isatty of the stream).
  Progress(std::FILE* out, bool interactive, int64_t total_steps);
  // Reports step (1-based count of steps done), loss, lr, throughput.
  void update(int64_t step, double loss, double lr, double tokens_per_second, double seconds_per_step);
  // Prints a full line (e.g. an evaluation result) without breaking the bar.
  void line(const std::string& text);
  void finish();

 private:
  std::FILE* out_;
  bool interactive_;
  int64_t total_;
  bool bar_visible_ = false;
};

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace loom::train
