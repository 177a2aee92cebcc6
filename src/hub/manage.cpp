#include "hub/manage.h"

#include <algorithm>
#include <set>

#include "common/error.h"
#include "common/fs.h"
#include "common/strings.h"
#include "hub/model_ref.h"
#include "hub/select.h"
#include "models/variants.h"

namespace oc::hub {
namespace {

const std::vector<std::string> kAllModalities = {"text", "image", "audio"};

std::vector<CachedPreset> presets_in(const RepoCache& rc, const CachedSnapshot& snap) {
  std::vector<CachedPreset> out;
  for (const auto& preset : models::presets()) {
    if (!preset_complete(snap.files, preset, "text")) continue;
    CachedPreset cp;
    cp.name = preset.name;
    for (const auto& m : kAllModalities)
      if (preset_complete(snap.files, preset, m)) cp.modalities.push_back(m);
    for (const auto& f : select_files(snap.files, preset, cp.modalities).files)
      cp.size += file_size_or_zero(rc.snapshot_file(snap.commit, f));
    out.push_back(std::move(cp));
  }
  return out;
}

std::uint64_t dir_size(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && !it->is_symlink()) total += file_size_or_zero(it->path());
  return total;
}

[[noreturn]] void not_cached(const fs::path& cache_dir, const std::string& what) {
  throw Error(ErrorKind::NotFound, "not in the cache: " + what + " (" + cache_dir.string() + ")", "model",
              "not_cached");
}

}  // namespace

std::vector<CachedModel> list_cached_models(const fs::path& cache_dir) {
  std::vector<CachedModel> out;
  for (auto& repo : scan_cache(cache_dir)) {
    CachedModel m;
    RepoCache rc(cache_dir, repo.repo_id);
    for (const auto& snap : repo.snapshots) m.presets.push_back(presets_in(rc, snap));
    m.repo = std::move(repo);
    out.push_back(std::move(m));
  }
  return out;
}

RemoveResult remove_cached(const fs::path& cache_dir, const std::string& spec) {
  ModelRef ref = parse_model_ref(spec);
  if (ref.kind != ModelRef::Kind::Repo) throw Error(ErrorKind::InvalidRequest, "rm takes a hub repo id: " + spec);
  std::error_code ec;
  if (!fs::is_directory(cache_dir / repo_folder_name(ref.repo_id), ec) && ref.repo_id.find('/') == std::string::npos) {
    // A bare name of a cached repo.
    std::vector<std::string> matches;
    for (const auto& r : scan_cache(cache_dir))
      if (ends_with(r.repo_id, "/" + ref.repo_id)) matches.push_back(r.repo_id);
    if (matches.size() > 1)
      throw Error(ErrorKind::InvalidRequest,
                  "'" + ref.repo_id + "' matches several cached models: " + join(matches, ", "));
    if (matches.size() == 1) ref.repo_id = matches.front();
  }
  RepoCache rc(cache_dir, ref.repo_id);
  if (!fs::is_directory(rc.root(), ec)) not_cached(cache_dir, ref.repo_id);
  RemoveResult result;
  result.what = to_string(ref);

  if (ref.revision.empty() && ref.preset.empty()) {
    result.freed_bytes = dir_size(rc.root());
    if (auto repo = scan_repo(cache_dir, ref.repo_id))
      for (const auto& s : repo->snapshots) result.removed_files += s.files.size();
    fs::remove_all(rc.root(), ec);
    if (ec) throw Error(ErrorKind::ModelLoad, "cannot remove " + rc.root().string() + ": " + ec.message());
    fs::remove_all(cache_dir / ".locks" / repo_folder_name(ref.repo_id), ec);
    return result;
  }

  // The snapshots in scope: the revision's, or all of them.
  std::vector<std::string> commits;
  if (!ref.revision.empty()) {
    auto commit = rc.commit_for(ref.revision);
    if (!commit) not_cached(cache_dir, ref.repo_id + "@" + ref.revision);
    commits.push_back(*commit);
  } else if (auto repo = scan_repo(cache_dir, ref.repo_id)) {
    for (const auto& s : repo->snapshots) commits.push_back(s.commit);
  }

  const std::uint64_t before = dir_size(rc.root());
  if (ref.preset.empty()) {
    for (const auto& commit : commits) {
      result.removed_files += rc.snapshot_files(commit).size();
      fs::remove_all(rc.snapshot(commit), ec);
      // Refs that pointed at it go too.
      fs::path refs = rc.root() / "refs";
      std::vector<fs::path> stale;
      for (auto it = fs::recursive_directory_iterator(refs, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        if (it->is_regular_file() && rc.read_ref(it->path().lexically_relative(refs).generic_string()) == commit)
          stale.push_back(it->path());
      for (const auto& p : stale) fs::remove(p, ec);
    }
  } else {
    const models::Preset* preset = models::preset_by_name(ref.preset);
    bool any = false;
    for (const auto& commit : commits) {
      auto files = rc.snapshot_files(commit);
      if (!preset_complete(files, *preset, "text")) continue;
      any = true;
      // The preset's model files, except those another cached preset also uses.
      std::set<std::string> keep;
      for (const auto& other : models::presets()) {
        if (other.name == preset->name || !preset_complete(files, other, "text")) continue;
        for (const auto& f : select_files(files, other, kAllModalities).files) keep.insert(f);
      }
      for (const auto& f : select_files(files, *preset, kAllModalities).files) {
        if (is_config_file(f) || keep.count(f)) continue;
        fs::remove(rc.snapshot_file(commit, f), ec);
        ++result.removed_files;
      }
    }
    if (!any) not_cached(cache_dir, result.what);
  }
  collect_garbage(rc);
  // An empty repo folder goes entirely.
  bool snapshots_left = false;
  for (auto it = fs::directory_iterator(rc.root() / "snapshots", ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    snapshots_left = true;
  std::uint64_t after = dir_size(rc.root());
  if (!snapshots_left) {
    fs::remove_all(rc.root(), ec);
    fs::remove_all(cache_dir / ".locks" / repo_folder_name(ref.repo_id), ec);
    after = 0;
  }
  result.freed_bytes = before > after ? before - after : 0;
  return result;
}

}  // namespace oc::hub
