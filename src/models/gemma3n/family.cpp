// Registration of the gemma3n family: chosen for config.json model_type "gemma3n" with the
// embed_tokens and decoder_model_merged components present.
#include "models/family.h"

#include <algorithm>

#include "common/error.h"

namespace oc::models {

std::unique_ptr<Model> load_gemma3n(const FamilyProbe& probe, const LoadOptions& options);

void register_family_gemma3n() {
  Family f;
  f.name = "gemma3n";
  f.match = [](const FamilyProbe& p) {
    if (p.model_type != "gemma3n") return 0;
    auto c = p.components();
    auto has = [&](const char* name) { return std::find(c.begin(), c.end(), name) != c.end(); };
    return has("embed_tokens") && has("decoder_model_merged") ? 100 : 0;
  };
  f.load = [](const FamilyProbe& p, const LoadOptions& o) { return load_gemma3n(p, o); };
  register_family(std::move(f));
}

}  // namespace oc::models
