// Discovery of a model folder: its config files, its ONNX components and every dtype variant of
// each (with the external data files and total sizes). Reads file names and configs only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oc::models {

struct Variant {
  std::string dtype;                        // "fp32", "q4", ...
  std::filesystem::path onnx;               // the .onnx file
  std::vector<std::filesystem::path> data;  // external data files beside it
  uint64_t bytes = 0;                       // .onnx + external data
};

struct Component {
  std::string name;  // "decoder_model_merged"
  std::string role;  // "decoder", "embed", "vision", "audio", or the name
  std::vector<Variant> variants;
  const Variant* variant(std::string_view dtype) const;
  std::vector<std::string> dtype_names() const;
};

struct RepoInfo {
  std::filesystem::path dir;
  std::string model_type;       // config.json model_type
  std::string text_model_type;  // config.json text_config.model_type, if any
  std::vector<std::string> architectures;
  std::vector<Component> components;
  std::map<std::string, bool> files;  // config/tokenizer/template file name -> present

  const Component* component(std::string_view name) const;
  const Component* component_by_role(std::string_view role) const;
  bool has_file(const std::string& name) const;
};

// The folder's files, relative to dir, with '/' separators (used for variant matching).
std::vector<std::string> list_files(const std::filesystem::path& dir);

// Throws oc::Error(ModelLoad) with a one-line reason when dir is not a model folder.
RepoInfo discover_repo(const std::filesystem::path& dir);

// Resolves which variant to load for each component under a preset (default Q4_MIXED), with
// fallback to the nearest dtype present. Returns component name -> chosen variant, and notes
// describing any fallback ("decoder_model_merged: q4 missing, using fp32").
struct VariantChoice {
  std::map<std::string, const Variant*> chosen;
  std::vector<std::string> notes;
  // The chosen variant of a component; throws oc::Error(ModelLoad) naming the missing file.
  const Variant& require(const std::string& component, const std::filesystem::path& dir) const;
};
VariantChoice choose_variants(const RepoInfo& repo, std::string_view preset_name,
                              const std::map<std::string, std::string>& overrides = {});

}  // namespace oc::models
