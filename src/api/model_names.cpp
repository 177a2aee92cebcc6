#include "api/model_names.h"

#include "common/strings.h"
#include "models/variants.h"

namespace oc::api {

NameMatch match_model_name(std::string_view name, const ServedName& served) {
  std::string base(name);
  std::string preset;
  if (auto slash = base.rfind('/'); slash != std::string::npos) {
    if (const auto* p = models::preset_by_name(std::string_view(base).substr(slash + 1))) {
      preset = p->name;
      base.resize(slash);
    }
  }
  bool names_model = iequals(base, served.id) || (!served.repo_id.empty() && iequals(base, served.repo_id));
  if (!names_model) {
    // "owner/id" when the repo id is unknown (a local folder named like the repo).
    auto slash = base.find('/');
    names_model = served.repo_id.empty() && slash != std::string::npos && slash > 0 &&
                  base.find('/', slash + 1) == std::string::npos &&
                  iequals(std::string_view(base).substr(slash + 1), served.id);
  }
  if (!names_model) return NameMatch::No;
  if (!preset.empty() && !served.preset.empty() && !iequals(preset, served.preset)) return NameMatch::OtherPreset;
  return NameMatch::Yes;
}

}  // namespace oc::api
