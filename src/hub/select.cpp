#include "hub/select.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/error.h"
#include "common/strings.h"

namespace oc::hub {
namespace {

struct Group {
  std::string dir;  // "onnx/" or ""
  std::string component;
  std::vector<std::string> dtypes;
};

// Components grouped by folder and name, with the dtypes present for each.
std::vector<Group> component_groups(const std::vector<std::string>& listing) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> groups;
  for (const auto& path : listing) {
    auto parsed = models::parse_component_file(path);
    if (!parsed) continue;
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    groups[{dir, parsed->component}].push_back(parsed->dtype);
  }
  std::vector<Group> out;
  for (auto& [key, dtypes] : groups) out.push_back({key.first, key.second, dtypes});
  // A merged decoder replaces the separate with/without-past decoders of older exports.
  std::set<std::string> merged_dirs;
  for (const auto& g : out)
    if (g.component == "decoder_model_merged") merged_dirs.insert(g.dir);
  std::erase_if(out, [&](const Group& g) {
    return merged_dirs.count(g.dir) && (g.component == "decoder_model" || g.component == "decoder_with_past_model");
  });
  return out;
}

std::string onnx_path(const Group& g, std::string_view dtype) {
  auto d = models::dtype_by_name(dtype);
  return g.dir + g.component + std::string(d ? d->suffix : "") + ".onnx";
}

}  // namespace

std::vector<std::string> parse_modalities(std::string_view csv) {
  std::vector<std::string> out = {"text"};
  for (auto& raw : split(csv, ',')) {
    std::string m = to_lower(raw);
    m.erase(std::remove(m.begin(), m.end(), ' '), m.end());
    if (m.empty() || m == "text") continue;
    if (m == "all") {
      out = {"text", "image", "audio"};
      continue;
    }
    if (m == "vision") m = "image";
    if (m != "image" && m != "audio")
      throw Error(ErrorKind::InvalidRequest, "unknown modality '" + raw + "' (text, image, audio, all)", "modalities");
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

std::string role_modality(std::string_view role) {
  if (role == "vision") return "image";
  if (role == "audio") return "audio";
  return "text";
}

std::string preset_dtype(const models::Preset& preset, std::string_view role) {
  if (role == "embed") return preset.embed;
  if (role == "vision") return preset.vision;
  if (role == "audio") return preset.audio;
  return preset.decoder;
}

bool is_config_file(std::string_view path) {
  if (path.find('/') != std::string_view::npos) return false;
  return ends_with(path, ".json") || ends_with(path, ".jinja") || ends_with(path, ".txt");
}

Selection select_files(const std::vector<std::string>& listing, const models::Preset& preset,
                       const std::vector<std::string>& modalities) {
  auto wanted_modality = [&](const std::string& m) {
    return m == "text" || std::find(modalities.begin(), modalities.end(), m) != modalities.end();
  };
  Selection sel;
  std::set<std::string> files;
  std::set<std::string> served;
  for (const auto& g : component_groups(listing)) {
    std::string role = models::component_role(g.component);
    std::string modality = role_modality(role);
    served.insert(modality);
    if (!wanted_modality(modality)) continue;
    SelectedComponent c;
    c.component = g.component;
    c.role = role;
    c.wanted = preset_dtype(preset, role);
    c.dtype = models::choose_dtype(c.wanted, g.dtypes).value_or(g.dtypes.front());
    c.onnx = onnx_path(g, c.dtype);
    c.data = models::external_data_files(c.onnx, listing);
    files.insert(c.onnx);
    files.insert(c.data.begin(), c.data.end());
    sel.components.push_back(std::move(c));
  }
  for (const auto& m : modalities)
    if (m != "text" && !served.count(m)) sel.missing_modalities.push_back(m);
  for (const auto& path : listing)
    if (is_config_file(path)) files.insert(path);
  sel.files.assign(files.begin(), files.end());
  return sel;
}

bool preset_complete(const std::vector<std::string>& listing, const models::Preset& preset, std::string_view modality) {
  bool any = false;
  for (const auto& g : component_groups(listing)) {
    std::string role = models::component_role(g.component);
    if (role_modality(role) != modality) continue;
    any = true;
    std::string wanted = preset_dtype(preset, role);
    if (models::dtype_by_name(wanted) &&
        std::find(g.dtypes.begin(), g.dtypes.end(), models::dtype_by_name(wanted)->name) == g.dtypes.end())
      return false;
  }
  return any;
}

}  // namespace oc::hub
