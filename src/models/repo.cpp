#include "models/repo.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/strings.h"
#include "models/variants.h"

namespace oc::models {

namespace {

const char* kKnownFiles[] = {
    "config.json",        "generation_config.json", "preprocessor_config.json", "processor_config.json",
    "tokenizer.json",     "tokenizer_config.json",  "special_tokens_map.json",  "chat_template.jinja",
    "chat_template.json",
};

}  // namespace

const Variant* Component::variant(std::string_view dtype) const {
  for (const auto& v : variants)
    if (v.dtype == dtype) return &v;
  return nullptr;
}

std::vector<std::string> Component::dtype_names() const {
  std::vector<std::string> out;
  for (const auto& v : variants) out.push_back(v.dtype);
  return out;
}

const Component* RepoInfo::component(std::string_view name) const {
  for (const auto& c : components)
    if (c.name == name) return &c;
  return nullptr;
}

const Component* RepoInfo::component_by_role(std::string_view role) const {
  for (const auto& c : components)
    if (c.role == role) return &c;
  return nullptr;
}

bool RepoInfo::has_file(const std::string& name) const {
  auto it = files.find(name);
  return it != files.end() && it->second;
}

std::vector<std::string> list_files(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 2) it.disable_recursion_pending();
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    // Lexically: fs::relative would resolve a hub snapshot's links into ../../blobs/<hash>.
    out.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

RepoInfo discover_repo(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorKind::ModelLoad, dir.string() + " is not a folder");
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path, ec))
    throw Error(ErrorKind::ModelLoad, "not a model folder: " + dir.string() + " has no config.json");

  RepoInfo repo;
  repo.dir = dir;
  try {
    auto config = nlohmann::json::parse(read_file(config_path));
    repo.model_type = config.value("model_type", "");
    if (config.contains("text_config") && config["text_config"].is_object())
      repo.text_model_type = config["text_config"].value("model_type", "");
    if (config.contains("architectures") && config["architectures"].is_array())
      for (const auto& a : config["architectures"])
        if (a.is_string()) repo.architectures.push_back(a.get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::ModelLoad, "config.json in " + dir.string() + " is not valid JSON: " + e.what());
  }
  for (const char* name : kKnownFiles) repo.files[name] = fs::exists(dir / name, ec);

  const auto listing = list_files(dir);
  for (const auto& rel : listing) {
    if (!starts_with(rel, "onnx/") && rel.find('/') != std::string::npos) continue;
    auto parsed = parse_component_file(rel);
    if (!parsed) continue;
    Variant v;
    v.dtype = parsed->dtype;
    v.onnx = dir / rel;
    v.bytes = file_size_or_zero(v.onnx);
    for (const auto& data : external_data_files(rel, listing)) {
      v.data.push_back(dir / data);
      v.bytes += file_size_or_zero(dir / data);
    }
    auto it = std::find_if(repo.components.begin(), repo.components.end(),
                           [&](const Component& c) { return c.name == parsed->component; });
    if (it == repo.components.end()) {
      repo.components.push_back(Component{parsed->component, component_role(parsed->component), {}});
      it = repo.components.end() - 1;
    }
    it->variants.push_back(std::move(v));
  }
  if (repo.components.empty())
    throw Error(ErrorKind::ModelLoad, "not a model folder: " + dir.string() + " has no onnx/*.onnx files");
  // Stable order for people: full precision first, then the quantized ones.
  static const std::vector<std::string> order = {"fp32", "fp16",  "quantized", "int8", "uint8",
                                                 "q4",   "q4f16", "bnb4",      "q2",   "q1"};
  auto rank = [&](const std::string& d) {
    auto it = std::find(order.begin(), order.end(), d);
    return static_cast<size_t>(it - order.begin());
  };
  for (auto& c : repo.components)
    std::stable_sort(c.variants.begin(), c.variants.end(),
                     [&](const Variant& a, const Variant& b) { return rank(a.dtype) < rank(b.dtype); });
  return repo;
}

const Variant& VariantChoice::require(const std::string& component, const fs::path& dir) const {
  auto it = chosen.find(component);
  if (it == chosen.end() || !it->second)
    throw Error(ErrorKind::ModelLoad, dir.string() + ": no onnx/" + component + "*.onnx file");
  return *it->second;
}

VariantChoice choose_variants(const RepoInfo& repo, std::string_view preset_name,
                              const std::map<std::string, std::string>& overrides) {
  const Preset* preset = preset_name.empty() ? &default_preset() : preset_by_name(preset_name);
  if (!preset) {
    std::vector<std::string> names;
    for (const auto& p : presets()) names.push_back(p.name);
    throw Error(ErrorKind::InvalidRequest,
                "unknown preset '" + std::string(preset_name) + "' (known: " + join(names, ", ") + ")");
  }
  VariantChoice out;
  for (const auto& c : repo.components) {
    std::string wanted;
    if (auto it = overrides.find(c.name); it != overrides.end())
      wanted = it->second;
    else if (c.role == "embed")
      wanted = preset->embed;
    else if (c.role == "decoder")
      wanted = preset->decoder;
    else if (c.role == "vision")
      wanted = preset->vision;
    else if (c.role == "audio")
      wanted = preset->audio;
    else
      wanted = preset->decoder;
    auto dtype = choose_dtype(wanted, c.dtype_names());
    if (!dtype) continue;
    if (*dtype != to_lower(wanted) && !(wanted == "q8" && *dtype == "quantized"))
      out.notes.push_back(c.name + ": " + wanted + " missing, using " + *dtype);
    out.chosen[c.name] = c.variant(*dtype);
  }
  return out;
}

}  // namespace oc::models
