// Training state files (see training_state.h).
#include "loom/train/training_state.h"

#include <cstring>
#include <stdexcept>
#include <vector>

#include "loom/io/model_dir.h"
#include "loom/io/safetensors.h"

namespace loom::train {

Status write_training_state(const std::string& path, const std::string& format, int64_t next_step,
                            const nn::NamedParameters& params, const optim::Optimizer& optimizer,
                            const std::string& model_config, std::map<std::string, std::string> extra) {
  std::vector<TensorToWrite> tensors = io::parameters_to_write(params, "model.");
  const auto opt_state = optimizer.state();
  for (const auto& [name, t] : opt_state) tensors.push_back({name, DType::kF32, t.shape(), t.f32()});
  extra["format"] = format;
  extra["step"] = std::to_string(next_step);
  extra["optimizer_steps"] = std::to_string(optimizer.steps_taken());
  extra["model_config"] = model_config;
  return write_safetensors(path, tensors, extra).with_context("saving checkpoint");
}

StatusOr<int64_t> read_training_state(const std::string& path, const std::string& format,
                                      const std::string& model_config, const nn::NamedParameters& params,
                                      optim::Optimizer& optimizer) {
  LOOM_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open(path));
  const auto& meta = f.metadata();
  auto get = [&](const char* key) -> StatusOr<std::string> {
    auto it = meta.find(key);
    if (it == meta.end())
      return data_loss("checkpoint '" + path + "' has no '" + key + "' entry; it was not written by loom");
    return it->second;
  };
  LOOM_ASSIGN_OR_RETURN(std::string found_format, get("format"));
  if (found_format != format)
    return data_loss("checkpoint '" + path + "' has format '" + found_format + "', expected '" + format + "'");
  LOOM_ASSIGN_OR_RETURN(std::string cfg_text, get("model_config"));
  if (cfg_text != model_config)
    return invalid_argument("checkpoint '" + path + "' was saved with model config " + cfg_text +
                            " but this run's model config is " + model_config +
                            "; resume with the same model settings, or start the run in another directory");
  LOOM_RETURN_IF_ERROR(io::load_parameters(f, params, "model."));
  std::vector<std::pair<std::string, Tensor>> state;
  for (const auto& [name, t] : optimizer.state()) {
    const SafetensorsEntry* e = f.find(name);
    if (!e) return not_found("checkpoint '" + path + "': optimizer state '" + name + "' is missing");
    if (e->dtype != DType::kF32 || e->shape != t.shape())
      return data_loss("checkpoint '" + path + "': optimizer state '" + name + "' has " + dtype_name(e->dtype) + " " +
                       shape_to_string(e->shape) + ", expected F32 " + t.shape_str());
    Tensor copy = Tensor::empty(e->shape);
    std::memcpy(copy.f32(), e->data, e->nbytes);
    state.emplace_back(name, copy);
  }
  LOOM_ASSIGN_OR_RETURN(std::string step_text, get("step"));
  LOOM_ASSIGN_OR_RETURN(std::string opt_steps_text, get("optimizer_steps"));
  int64_t step = 0, opt_steps = 0;
  try {
    step = std::stoll(step_text);
    opt_steps = std::stoll(opt_steps_text);
  } catch (const std::logic_error&) {
    return data_loss("checkpoint '" + path + "': step '" + step_text + "' is not a number");
  }
  LOOM_RETURN_IF_ERROR(optimizer.load_state(state, opt_steps));
  return step;
}

}  // namespace loom::train
