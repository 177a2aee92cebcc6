#include "models/family.h"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "models/variants.h"

namespace oc::models {

void register_builtin_families();  // generated from the folders of src/models

namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::vector<Family>& registry() {
  static std::vector<Family> list;
  return list;
}

void ensure_builtin() {
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_families(); });
}

}  // namespace

bool FamilyProbe::has(std::string_view relative_path) const {
  return std::binary_search(files.begin(), files.end(), relative_path,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

std::vector<std::string> FamilyProbe::components() const {
  std::vector<std::string> out;
  for (const auto& f : files) {
    if (f.rfind("onnx/", 0) != 0 || f.find('/', 5) != std::string::npos) continue;
    auto parsed = parse_component_file(f);
    if (parsed && std::find(out.begin(), out.end(), parsed->component) == out.end()) out.push_back(parsed->component);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void register_family(Family family) {
  std::lock_guard lock(registry_mutex());
  auto& list = registry();
  for (auto& f : list)
    if (f.name == family.name) {
      f = std::move(family);
      return;
    }
  list.push_back(std::move(family));
}

const std::vector<Family>& families() {
  ensure_builtin();
  return registry();
}

FamilyProbe probe_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(ErrorKind::ModelLoad, "model folder not found: " + dir.string());
  FamilyProbe probe;
  probe.dir = dir;
  auto it = std::filesystem::recursive_directory_iterator(
      dir, std::filesystem::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 3) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) probe.files.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(probe.files.begin(), probe.files.end());
  if (auto text = try_read_file(dir / "config.json")) {
    try {
      auto j = nlohmann::json::parse(*text);
      if (j.contains("model_type") && j["model_type"].is_string()) probe.model_type = j["model_type"];
      if (j.contains("text_config") && j["text_config"].is_object() && j["text_config"].contains("model_type") &&
          j["text_config"]["model_type"].is_string())
        probe.text_model_type = j["text_config"]["model_type"];
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::ModelLoad, (dir / "config.json").string() + ": invalid JSON: " + e.what());
    }
  }
  return probe;
}

const Family* find_family(const FamilyProbe& probe) {
  const Family* best = nullptr;
  int best_score = 0;
  for (const auto& f : families()) {
    int score = f.match ? f.match(probe) : 0;
    if (score > best_score) {
      best = &f;
      best_score = score;
    }
  }
  return best;
}

std::unique_ptr<Model> load_model(const std::filesystem::path& dir, const LoadOptions& options) {
  FamilyProbe probe = probe_dir(dir);
  const Family* family = find_family(probe);
  if (!family) {
    std::string names;
    for (const auto& f : families()) names += (names.empty() ? "" : ", ") + f.name;
    throw Error(ErrorKind::ModelLoad, "no model family serves " + dir.string() + " (config.json model_type '" +
                                          probe.model_type + "'; families: " + names + ")");
  }
  log::info("loading " + dir.string() + " as family " + family->name);
  return family->load(probe, options);
}

}  // namespace oc::models
