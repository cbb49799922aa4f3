// Learning-rate schedule formulas.
#include "loom/optim/schedule.h"

#include <cmath>

namespace loom::optim {

const char* schedule_type_name(ScheduleType t) {
  switch (t) {
    case ScheduleType::kCosine: return "cosine";
    case ScheduleType::kLinear: return "linear";
    case ScheduleType::kConstant: return "constant";
  }
  return "?";
}

bool parse_schedule_type(const std::string& s, ScheduleType* out) {
  if (s == "cosine") *out = ScheduleType::kCosine;
  else if (s == "linear") *out = ScheduleType::kLinear;
  else if (s == "constant") *out = ScheduleType::kConstant;
  else return false;
  return true;
}

Status LrSchedule::validate() const {
  if (!(lr > 0)) return invalid_argument("lr is " + std::to_string(lr) + "; it must be > 0");
  if (!(min_lr >= 0) || min_lr > lr)
    return invalid_argument("min_lr is " + std::to_string(min_lr) + "; it must be in [0, lr=" +
                            std::to_string(lr) + "]");
  if (warmup_iters < 0)
    return invalid_argument("warmup_iters is " + std::to_string(warmup_iters) + "; it must be >= 0");
  if (type != ScheduleType::kConstant && decay_iters <= warmup_iters)
    return invalid_argument("lr_decay_iters (" + std::to_string(decay_iters) +
                            ") must be greater than warmup_iters (" + std::to_string(warmup_iters) + ")");
  return ok_status();
}

float LrSchedule::at(int64_t it) const {
  if (it < warmup_iters)
    return lr * static_cast<float>(it + 1) / static_cast<float>(warmup_iters + 1);
  if (type == ScheduleType::kConstant) return lr;
  if (it > decay_iters) return min_lr;
  const double ratio = static_cast<double>(it - warmup_iters) / static_cast<double>(decay_iters - warmup_iters);
  const double coeff = type == ScheduleType::kCosine ? 0.5 * (1.0 + std::cos(M_PI * ratio)) : 1.0 - ratio;
  return static_cast<float>(min_lr + coeff * (lr - min_lr));
}

}  // namespace loom::optim
