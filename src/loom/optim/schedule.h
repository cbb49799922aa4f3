// Learning-rate schedules: linear warmup from lr/(warmup+1) to lr over warmup_iters, then
// cosine or linear decay to min_lr at decay_iters (and min_lr after), or constant lr.
// Same formula as nanoGPT's get_lr so runs compare one to one.
#pragma once

#include <cstdint>
#include <string>

#include "loom/base/status.h"

namespace loom::optim {

enum class ScheduleType { kCosine, kLinear, kConstant };
const char* schedule_type_name(ScheduleType t);
bool parse_schedule_type(const std::string& s, ScheduleType* out);

struct LrSchedule {
  ScheduleType type = ScheduleType::kCosine;
  float lr = 1e-3f;
  float min_lr = 1e-4f;
  int64_t warmup_iters = 100;
  int64_t decay_iters = 2000;

  Status validate() const;
  // The learning rate for 0-based step `it`.
  float at(int64_t it) const;
};

}  // namespace loom::optim
