// Loss curves as a self-contained SVG: training loss (every logged step) and train/val
// estimates (every evaluation) against the step, read from a run's metrics.jsonl. Written
// next to the checkpoint (loss.svg) so a run can be looked at in any browser.
#pragma once

#include <string>

#include "loom/base/status.h"

namespace loom::train {

inline constexpr char kLossPlotFileName[] = "loss.svg";

// Reads `metrics_path` (JSONL as written by the trainer) and returns the SVG document.
// Errors: unreadable file, a line that is not JSON, no records to plot.
StatusOr<std::string> loss_plot_svg(const std::string& metrics_path, const std::string& title);

}  // namespace loom::train
