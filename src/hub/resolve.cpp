#include "hub/resolve.h"

#include <algorithm>
#include <map>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strings.h"
#include "hub/cache.h"
#include "hub/client.h"
#include "hub/model_ref.h"
#include "hub/select.h"
#include "models/variants.h"

namespace oc::hub {
namespace {

std::vector<std::string> list_folder(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (starts_with(name, ".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!fs::is_regular_file(it->path())) continue;
    out.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void warn(ResolvedModel& m, std::string text) {
  log::warn("hub: " + text);
  m.warnings.push_back(std::move(text));
}

// Fills the model's components, files and size from a selection over files under m.folder.
void fill(ResolvedModel& m, const Selection& sel) {
  for (const auto& c : sel.components) {
    ResolvedComponent r{c.component, c.role, c.wanted, c.dtype, m.folder / c.onnx, {}};
    for (const auto& d : c.data) r.data.push_back(m.folder / d);
    m.components.push_back(std::move(r));
  }
  m.files = sel.files;
  m.size_bytes = 0;
  for (const auto& f : m.files) m.size_bytes += file_size_or_zero(m.folder / f);
  for (const auto& mod : sel.missing_modalities)
    warn(m, "no " + mod + " encoder in " + (m.repo_id.empty() ? m.folder.string() : m.repo_id) + "; serving without " +
                mod + " input");
}

// A bare name ("gemma-3n-E2B-it-ONNX") that matches exactly one cached repo.
std::optional<std::string> cached_repo_by_name(const fs::path& cache_dir, const std::string& name) {
  if (name.find('/') != std::string::npos) return std::nullopt;
  std::error_code ec;
  if (fs::is_directory(cache_dir / repo_folder_name(name), ec)) return std::nullopt;
  std::vector<std::string> matches;
  for (auto it = fs::directory_iterator(cache_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto id = repo_id_from_folder(it->path().filename().string());
    if (id && (ends_with(*id, "/" + name))) matches.push_back(*id);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1)
    throw Error(ErrorKind::InvalidRequest,
                "'" + name + "' matches several cached models: " + join(matches, ", ") + "; give the full repo id",
                "model");
  return std::nullopt;
}

ResolvedModel from_cache(const RepoCache& cache, const std::string& revision, const models::Preset& preset,
                         const std::vector<std::string>& modalities, const std::string& why) {
  auto commit = cache.commit_for(revision);
  if (!commit)
    throw Error(ErrorKind::NotFound,
                why + " and " + cache.repo_id() + "@" + revision + " is not in the cache (" +
                    cache.cache_dir().string() + "); pull it while online first",
                "model", "not_cached");
  ResolvedModel m;
  m.source = ResolvedModel::Source::Cache;
  m.repo_id = cache.repo_id();
  m.revision = revision;
  m.commit = *commit;
  m.preset = preset.name;
  m.modalities = modalities;
  m.folder = cache.snapshot(*commit);
  auto sel = select_files(cache.snapshot_files(*commit), preset, modalities);
  if (sel.components.empty())
    throw Error(ErrorKind::NotFound,
                why + " and the cache holds no ONNX files of " + cache.repo_id() + "@" + revision + " (" +
                    m.folder.string() + ")",
                "model", "not_cached");
  fill(m, sel);
  for (const auto& c : m.components)
    if (c.dtype != c.wanted)
      warn(m, c.component + ": " + c.wanted + " is not in the cache, using " + c.dtype + " (" + why + ")");
  return m;
}

}  // namespace

const char* source_name(ResolvedModel::Source source) {
  switch (source) {
    case ResolvedModel::Source::LocalFolder:
      return "folder";
    case ResolvedModel::Source::Cache:
      return "cache";
    case ResolvedModel::Source::Hub:
      return "hub";
  }
  return "?";
}

ResolvedModel resolve_model(const std::string& arg, const ResolveOptions& options) {
  ModelRef ref = parse_model_ref(arg);
  const models::Preset* preset = &models::default_preset();
  std::string preset_name = !options.preset.empty() ? options.preset : ref.preset;
  if (!preset_name.empty()) {
    preset = models::preset_by_name(preset_name);
    if (!preset)
      throw Error(ErrorKind::InvalidRequest,
                  "unknown preset '" + preset_name + "' (presets: Q4_MIXED, QUANTIZED, FP16, FP32)", "preset");
  }
  std::vector<std::string> modalities = options.modalities;
  if (std::find(modalities.begin(), modalities.end(), "text") == modalities.end())
    modalities.insert(modalities.begin(), "text");

  if (ref.kind == ModelRef::Kind::LocalFolder) {
    ResolvedModel m;
    m.source = ResolvedModel::Source::LocalFolder;
    m.folder = fs::absolute(ref.folder).lexically_normal();
    m.preset = preset->name;
    m.modalities = modalities;
    fill(m, select_files(list_folder(m.folder), *preset, modalities));
    return m;
  }

  HubConfig config = options.config ? *options.config : config_from_env();
  if (!options.cache_dir.empty()) config.cache_dir = options.cache_dir;
  if (auto id = cached_repo_by_name(config.cache_dir, ref.repo_id)) ref.repo_id = *id;
  const std::string revision =
      !options.revision.empty() ? options.revision : (!ref.revision.empty() ? ref.revision : kDefaultRevision);
  RepoCache cache(config.cache_dir, ref.repo_id);

  if (config.offline) return from_cache(cache, revision, *preset, modalities, "offline (HF_HUB_OFFLINE=1)");
  if (!options.download) return from_cache(cache, revision, *preset, modalities, "downloads are off");

  if (options.progress) {
    Progress p;
    p.repo_id = ref.repo_id;
    p.phase = "resolving";
    options.progress(p);
  }
  HubClient client(config);
  RepoInfo info;
  try {
    info = client.model_info(ref.repo_id, revision);
  } catch (const Error& e) {
    if (e.code() != "hub_unreachable" || !cache.commit_for(revision)) throw;
    auto m = from_cache(cache, revision, *preset, modalities, "the hub is unreachable");
    warn(m, std::string(e.what()) + "; using the cached snapshot " + m.commit.substr(0, 8));
    return m;
  }
  if (!is_commit_hash(revision)) cache.write_ref(revision, info.commit);

  std::vector<std::string> listing;
  std::map<std::string, const RemoteFile*> by_path;
  for (const auto& f : info.files) {
    listing.push_back(f.path);
    by_path[f.path] = &f;
  }
  auto sel = select_files(listing, *preset, modalities);
  if (sel.components.empty())
    throw Error(ErrorKind::ModelLoad, "no ONNX model files in " + ref.repo_id + "@" + revision, "model", "no_onnx");
  std::vector<DownloadItem> items;
  for (const auto& path : sel.files) {
    const RemoteFile* f = by_path[path];
    items.push_back({path, f->size, f->has_size, f->lfs_sha256});
  }
  DownloadOptions dl;
  dl.workers = options.workers;
  dl.retries = options.retries;
  dl.backoff_ms = options.backoff_ms;
  dl.verify = options.verify;
  dl.progress = options.progress;

  ResolvedModel m;
  m.source = ResolvedModel::Source::Hub;
  m.repo_id = ref.repo_id;
  m.revision = revision;
  m.commit = info.commit;
  m.preset = preset->name;
  m.modalities = modalities;
  m.folder = cache.snapshot(info.commit);
  m.download = fetch_files(client, cache, info.commit, items, dl);
  fill(m, sel);
  if (options.progress && m.download.fetched_files == 0) {
    Progress p;
    p.repo_id = ref.repo_id;
    p.phase = "done";
    p.files_total = 0;
    p.event = "all " + std::to_string(m.files.size()) + " file(s) of " + ref.repo_id + " (" + preset->name +
              ") are in the cache";
    options.progress(p);
  }
  return m;
}

}  // namespace oc::hub
