// onnx-chat rm REPO[@REV][/PRESET]: remove a cached model, one revision, or one preset's files.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "hub/config.h"
#include "hub/manage.h"

namespace oc::app {
namespace {

const RegisterCommand reg{
    {"rm", "remove a model (or org/name@REV, or org/name/PRESET) from the hub cache",
     [](CLI::App& cmd, Options& o) -> std::function<int()> {
       add_options(cmd, o, {"model-arg", "cache-dir", "json"});
       return [&o]() {
         if (o.model.empty())
           throw Error(ErrorKind::InvalidRequest, "give a cached model: onnx-chat rm org/name[@revision][/PRESET]");
         hub::HubConfig config = hub::config_from_env();
         std::filesystem::path dir = o.cache_dir.empty() ? config.cache_dir : std::filesystem::path(o.cache_dir);
         auto r = hub::remove_cached(dir, o.model);
         if (o.json)
           std::printf(
               "%s\n",
               nlohmann::json{{"removed", r.what}, {"freed_bytes", r.freed_bytes}, {"removed_files", r.removed_files}}
                   .dump(2)
                   .c_str());
         else
           std::printf("removed %s: %zu file(s), %s freed\n", r.what.c_str(), r.removed_files,
                       human_bytes(r.freed_bytes).c_str());
         return 0;
       };
     }}};

}  // namespace
}  // namespace oc::app
