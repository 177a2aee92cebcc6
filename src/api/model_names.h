// Which model a request's `model` field names: the served id (folder or repo name), the repo id
// ("owner/name"), either followed by "/PRESET"; case-insensitive.
#pragma once

#include <string>
#include <string_view>

namespace oc::api {

struct ServedName {
  std::string id;       // "gemma-3n-E2B-it-ONNX"
  std::string repo_id;  // "onnx-community/gemma-3n-E2B-it-ONNX", or "" when unknown
  std::string preset;   // the preset the model was loaded with ("Q4_MIXED")
};

enum class NameMatch { Yes, No, OtherPreset };

// Yes when `name` names the served model (with no preset or its loaded preset); OtherPreset when it
// names the model with a preset that is not loaded; No otherwise.
NameMatch match_model_name(std::string_view name, const ServedName& served);

}  // namespace oc::api
