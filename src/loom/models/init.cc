// Parameter initialisation by kind (see init.h).
#include "loom/models/init.h"

namespace loom::models {

void init_by_kind(nn::Module& model, Rng& rng, const std::function<float(const std::string& name)>& weight_std) {
  auto names = model.named_parameters();
  auto kinds = model.parameter_kinds();
  for (size_t i = 0; i < names.size(); ++i) {
    auto& [name, v] = names[i];
    float* p = v.mutable_value().f32();
    const int64_t n = v.value().numel();
    switch (kinds[i]) {
      case nn::ParamKind::kBias:
        for (int64_t j = 0; j < n; ++j) p[j] = 0.0f;
        break;
      case nn::ParamKind::kNorm:
        for (int64_t j = 0; j < n; ++j) p[j] = 1.0f;
        break;
      case nn::ParamKind::kWeight:
      case nn::ParamKind::kEmbedding: {
        const float s = weight_std(name);
        for (int64_t j = 0; j < n; ++j) p[j] = s * rng.normal();
        break;
      }
    }
  }
}

}  // namespace loom::models
