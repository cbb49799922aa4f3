// SVG loss plot.
#include "loom/train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "loom/base/file.h"

namespace loom::train {

namespace {

struct Series {
  std::string label;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (step, loss)
};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

std::string fmt(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

}  // namespace

StatusOr<std::string> loss_plot_svg(const std::string& metrics_path, const std::string& title) {
  LOOM_ASSIGN_OR_RETURN(std::string text, read_file(metrics_path));
  // Keyed by step so records replayed after a resume replace the earlier ones.
  std::map<double, double> train, train_est, val;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      return data_loss("'" + metrics_path + "' line " + std::to_string(line_no) + " is not JSON: " + e.what());
    }
    if (!j.is_object() || !j.contains("event") || !j.contains("step")) continue;
    const double step = j["step"].get<double>();
    if (j["event"] == "train" && j.contains("loss")) train[step] = j["loss"].get<double>();
    if (j["event"] == "eval" && j.contains("val_loss")) {
      val[step] = j["val_loss"].get<double>();
      train_est[step] = j["train_loss"].get<double>();
    }
  }
  std::vector<Series> series = {{"train loss (step)", "#9ab8d8", {train.begin(), train.end()}},
                                {"train loss (estimate)", "#1f5fa8", {train_est.begin(), train_est.end()}},
                                {"val loss (estimate)", "#d0542a", {val.begin(), val.end()}}};
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  size_t n = 0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(y)) continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
      ++n;
    }
  if (n == 0) return invalid_argument("'" + metrics_path + "' has no loss records to plot yet");
  if (x1 == x0) x1 = x0 + 1;
  if (y1 - y0 < 1e-6) y1 = y0 + 1e-6;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  const int W = 720, H = 420, L = 60, R = 20, T = 40, B = 50;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape(title) << "</text>\n";
  for (int i = 0; i <= 5; ++i) {  // grid and axis labels
    const double y = y0 + (y1 - y0) * i / 5, x = x0 + (x1 - x0) * i / 5;
    o << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << py(y) << "\" y2=\"" << py(y)
      << "\" stroke=\"#eee\"/><text x=\"" << L - 6 << "\" y=\"" << py(y) + 4 << "\" text-anchor=\"end\">" << fmt(y)
      << "</text>\n<text x=\"" << px(x) << "\" y=\"" << H - B + 18 << "\" text-anchor=\"middle\">" << fmt(x, 6) << "</text>\n";
  }
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">step</text>\n"
    << "<text x=\"16\" y=\"" << (T + H - B) / 2 << "\" transform=\"rotate(-90 16 " << (T + H - B) / 2
    << ")\" text-anchor=\"middle\">loss (nats/token)</text>\n"
    << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"none\" stroke=\"#888\"/>\n";
  int legend = 0;
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.8\" points=\"";
    for (const auto& [x, y] : s.points)
      if (std::isfinite(y)) o << px(x) << "," << py(y) << " ";
    o << "\"/>\n";
    const int ly = T + 16 + 16 * legend++;
    o << "<line x1=\"" << W - R - 170 << "\" x2=\"" << W - R - 150 << "\" y1=\"" << ly - 4 << "\" y2=\"" << ly - 4
      << "\" stroke=\"" << s.color << "\" stroke-width=\"3\"/><text x=\"" << W - R - 145 << "\" y=\"" << ly << "\">"
      << escape(s.label) << " " << fmt(s.points.back().second, 4) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace loom::train
