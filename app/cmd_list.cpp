// onnx-chat list: the models in the hub cache, their revisions, presets present and sizes on disk.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/fs.h"
#include "common/strings.h"
#include "hub/config.h"
#include "hub/manage.h"

namespace oc::app {
namespace {

int run_list(const Options& o) {
  hub::HubConfig config = hub::config_from_env();
  std::filesystem::path dir = o.cache_dir.empty() ? config.cache_dir : std::filesystem::path(o.cache_dir);
  auto models = hub::list_cached_models(dir);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : models) {
      nlohmann::json snaps = nlohmann::json::array();
      for (std::size_t i = 0; i < m.repo.snapshots.size(); ++i) {
        const auto& s = m.repo.snapshots[i];
        nlohmann::json presets = nlohmann::json::array();
        for (const auto& p : m.presets[i])
          presets.push_back({{"name", p.name}, {"modalities", p.modalities}, {"size_bytes", p.size}});
        snaps.push_back(
            {{"commit", s.commit}, {"refs", s.refs}, {"files", s.files}, {"size_bytes", s.size}, {"presets", presets}});
      }
      out.push_back({{"repo_id", m.repo.repo_id},
                     {"path", m.repo.path.string()},
                     {"size_on_disk", m.repo.size_on_disk},
                     {"partial_bytes", m.repo.partial_bytes},
                     {"snapshots", snaps}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (models.empty()) {
    std::printf("no models in the cache (%s)\n", dir.string().c_str());
    return 0;
  }
  std::size_t width = 5;
  for (const auto& m : models) width = std::max(width, m.repo.repo_id.size());
  std::printf("%-*s  %-10s  %-8s  %9s  %s\n", static_cast<int>(width), "MODEL", "REVISION", "COMMIT", "SIZE",
              "PRESETS");
  std::uint64_t total = 0;
  for (const auto& m : models) {
    total += m.repo.size_on_disk + m.repo.partial_bytes;
    std::string size = human_bytes(m.repo.size_on_disk);
    for (std::size_t i = 0; i < m.repo.snapshots.size(); ++i) {
      const auto& s = m.repo.snapshots[i];
      std::vector<std::string> presets;
      for (const auto& p : m.presets[i])
        presets.push_back(p.name + " (" + join(p.modalities, "+") + ", " + human_bytes(p.size) + ")");
      std::printf("%-*s  %-10s  %-8s  %9s  %s\n", static_cast<int>(width), i == 0 ? m.repo.repo_id.c_str() : "",
                  s.refs.empty() ? "-" : join(s.refs, ",").c_str(), s.commit.substr(0, 8).c_str(),
                  i == 0 ? size.c_str() : "", presets.empty() ? "(no complete preset)" : join(presets, ", ").c_str());
    }
    if (m.repo.snapshots.empty())
      std::printf("%-*s  %-10s  %-8s  %9s  %s\n", static_cast<int>(width), m.repo.repo_id.c_str(), "-", "-",
                  size.c_str(), "(no snapshot)");
    if (m.repo.partial_bytes)
      std::printf("%-*s  %s of partial downloads (pull again to resume)\n", static_cast<int>(width), "",
                  human_bytes(m.repo.partial_bytes).c_str());
  }
  std::printf("%zu model(s), %s on disk in %s\n", models.size(), human_bytes(total).c_str(), dir.string().c_str());
  return 0;
}

const RegisterCommand reg{{"list", "list the models in the hub cache with their presets and sizes",
                           [](CLI::App& cmd, Options& o) -> std::function<int()> {
                             add_options(cmd, o, {"cache-dir", "json"});
                             return [&o]() { return run_list(o); };
                           }}};

}  // namespace
}  // namespace oc::app
