// onnx-chat pull REPO[@REV][/PRESET]: fetch the files a preset needs into the hub cache.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/strings.h"
#include "hub/progress.h"
#include "hub/resolve.h"
#include "hub/select.h"
#include "model_setup.h"

namespace oc::app {
namespace {

nlohmann::json to_json(const hub::ResolvedModel& m) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : m.components) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& d : c.data) data.push_back(d.string());
    components.push_back({{"component", c.component},
                          {"role", c.role},
                          {"wanted", c.wanted},
                          {"dtype", c.dtype},
                          {"onnx", c.onnx.string()},
                          {"data", data}});
  }
  return {{"repo_id", m.repo_id},
          {"revision", m.revision},
          {"commit", m.commit},
          {"preset", m.preset},
          {"modalities", m.modalities},
          {"source", hub::source_name(m.source)},
          {"folder", m.folder.string()},
          {"files", m.files},
          {"size_bytes", m.size_bytes},
          {"downloaded_bytes", m.download.downloaded_bytes},
          {"fetched_files", m.download.fetched_files},
          {"cached_files", m.download.cached_files},
          {"repaired_files", m.download.repaired_files},
          {"components", components},
          {"warnings", m.warnings}};
}

const RegisterCommand reg{
    {"pull", "download a model's files for a preset from the hub into the cache",
     [](CLI::App& cmd, Options& o) -> std::function<int()> {
       add_options(cmd, o,
                   {"model-arg", "preset", "revision", "modalities", "cache-dir", "verify", "download-workers",
                    "download-retries", "json", "log-level"});
       return [&o]() {
         if (o.model.empty())
           throw Error(ErrorKind::InvalidRequest, "give a hub repo id: onnx-chat pull org/name[@revision][/PRESET]");
         hub::ResolveOptions ro = resolve_options(o);
         auto m = hub::resolve_model(o.model, ro);
         if (m.source == hub::ResolvedModel::Source::LocalFolder)
           throw Error(ErrorKind::InvalidRequest, "pull takes a hub repo id; " + o.model + " is a local folder");
         if (o.json) {
           std::printf("%s\n", to_json(m).dump(2).c_str());
           return 0;
         }
         std::printf("%s@%s (%s) %s [%s]: %zu files, %s", m.repo_id.c_str(), m.revision.c_str(),
                     m.commit.substr(0, 8).c_str(), m.preset.c_str(), join(m.modalities, ",").c_str(), m.files.size(),
                     human_bytes(m.size_bytes).c_str());
         if (m.source == hub::ResolvedModel::Source::Hub)
           std::printf(", downloaded %s", human_bytes(m.download.downloaded_bytes).c_str());
         else
           std::printf(", from the cache (%s)", hub::source_name(m.source));
         std::printf("\n%s\n", m.folder.string().c_str());
         return 0;
       };
     }}};

}  // namespace
}  // namespace oc::app
