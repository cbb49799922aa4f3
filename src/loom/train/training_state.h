// The resumable training state shared by loom's training loops: weights ("model.<param>"),
// optimizer state ("optim.*") and metadata (format, step, optimizer_steps, model_config and
// the caller's extra entries) in one safetensors file written atomically, so weights and
// optimizer state always come from the same instant.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "loom/base/status.h"
#include "loom/nn/module.h"
#include "loom/optim/optimizer.h"

namespace loom::train {

// `next_step` is the step a resume continues at; `model_config` is compared on resume.
Status write_training_state(const std::string& path, const std::string& format, int64_t next_step,
                            const nn::NamedParameters& params, const optim::Optimizer& optimizer,
                            const std::string& model_config, std::map<std::string, std::string> extra = {});

// Restores the weights and the optimizer state and returns the step to continue at. Errors
// name the file: another format, another model config (both shown), a missing or misshapen
// tensor, a step that is not a number.
StatusOr<int64_t> read_training_state(const std::string& path, const std::string& format,
                                      const std::string& model_config, const nn::NamedParameters& params,
                                      optim::Optimizer& optimizer);

}  // namespace loom::train
