#include "hub/cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>

#include "common/error.h"
#include "common/fs.h"
#include "common/strings.h"
#include "hub/model_ref.h"

namespace oc::hub {
namespace {

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  std::string s = ".";
  s += std::to_string(::getpid());
  s += '.';
  s += std::to_string(counter++);
  s += ".tmp";
  return s;
}

[[noreturn]] void fs_fail(const std::string& what, const fs::path& p, const std::error_code& ec) {
  throw Error(ErrorKind::ModelLoad, "cache: cannot " + what + " " + p.string() + ": " + ec.message());
}

}  // namespace

std::string repo_folder_name(std::string_view repo_id) {
  std::string out = "models--";
  for (char c : repo_id) {
    if (c == '/')
      out += "--";
    else
      out.push_back(c);
  }
  return out;
}

std::optional<std::string> repo_id_from_folder(std::string_view name) {
  if (!starts_with(name, "models--")) return std::nullopt;
  std::string rest(name.substr(8));
  std::string id;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest.compare(i, 2, "--") == 0) {
      id.push_back('/');
      ++i;
    } else {
      id.push_back(rest[i]);
    }
  }
  if (!is_valid_repo_id(id)) return std::nullopt;
  return id;
}

RepoCache::RepoCache(fs::path cache_dir, std::string repo_id)
    : cache_dir_(std::move(cache_dir)), repo_id_(std::move(repo_id)) {}

fs::path RepoCache::root() const { return cache_dir_ / repo_folder_name(repo_id_); }
fs::path RepoCache::blob(std::string_view etag) const { return root() / "blobs" / std::string(etag); }
fs::path RepoCache::incomplete(std::string_view etag) const {
  return root() / "blobs" / (std::string(etag) + ".incomplete");
}
fs::path RepoCache::snapshot(std::string_view commit) const { return root() / "snapshots" / std::string(commit); }
fs::path RepoCache::snapshot_file(std::string_view commit, std::string_view path) const {
  return snapshot(commit) / std::string(path);
}
fs::path RepoCache::ref_file(std::string_view revision) const { return root() / "refs" / std::string(revision); }
fs::path RepoCache::lock_file(std::string_view etag) const {
  return cache_dir_ / ".locks" / repo_folder_name(repo_id_) / (std::string(etag) + ".lock");
}

std::optional<std::string> RepoCache::read_ref(std::string_view revision) const {
  auto text = try_read_file(ref_file(revision));
  if (!text) return std::nullopt;
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (!is_commit_hash(s)) return std::nullopt;
  return s;
}

void RepoCache::write_ref(std::string_view revision, std::string_view commit) const {
  fs::path file = ref_file(revision);
  if (read_ref(revision) == std::string(commit)) return;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) fs_fail("create", file.parent_path(), ec);
  fs::path tmp = file.string() + unique_suffix();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << commit;
    if (!out) fs_fail("write", tmp, std::make_error_code(std::errc::io_error));
  }
  fs::rename(tmp, file, ec);
  if (ec) fs_fail("write", file, ec);
}

std::optional<std::string> RepoCache::commit_for(std::string_view revision) const {
  std::error_code ec;
  if (is_commit_hash(revision) && fs::is_directory(snapshot(revision), ec)) return std::string(revision);
  return read_ref(revision);
}

void RepoCache::link(std::string_view commit, std::string_view path, std::string_view etag) const {
  fs::path file = snapshot_file(commit, path);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) fs_fail("create", file.parent_path(), ec);
  fs::path target = blob(etag).lexically_relative(file.parent_path());
  fs::path tmp = file.string() + unique_suffix();
  fs::create_symlink(target, tmp, ec);
  if (ec) fs_fail("link", tmp, ec);
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp);
    fs_fail("link", file, ec);
  }
}

std::vector<std::string> RepoCache::snapshot_files(std::string_view commit) const {
  std::vector<std::string> out;
  fs::path dir = snapshot(commit);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!fs::is_regular_file(it->path(), ec)) continue;  // follows the link: dangling ones drop out
    std::string rel = it->path().lexically_relative(dir).generic_string();
    if (ends_with(rel, ".tmp")) continue;
    out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

FileLock::FileLock(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(ErrorKind::ModelLoad, "cache: cannot open the lock " + path.string());
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd_);
      throw Error(ErrorKind::ModelLoad, "cache: cannot take the lock " + path.string());
    }
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

std::optional<CachedRepo> scan_repo(const fs::path& cache_dir, std::string_view repo_id) {
  RepoCache rc(cache_dir, std::string(repo_id));
  std::error_code ec;
  if (!fs::is_directory(rc.root(), ec)) return std::nullopt;
  CachedRepo repo;
  repo.repo_id = std::string(repo_id);
  repo.path = rc.root();
  for (auto it = fs::directory_iterator(rc.root() / "blobs", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto size = file_size_or_zero(it->path());
    if (ends_with(it->path().filename().string(), ".incomplete"))
      repo.partial_bytes += size;
    else
      repo.size_on_disk += size;
  }
  ec.clear();
  for (auto it = fs::directory_iterator(rc.root() / "snapshots", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!it->is_directory()) continue;
    CachedSnapshot snap;
    snap.commit = it->path().filename().string();
    snap.files = rc.snapshot_files(snap.commit);
    for (const auto& f : snap.files) snap.size += file_size_or_zero(rc.snapshot_file(snap.commit, f));
    repo.snapshots.push_back(std::move(snap));
  }
  ec.clear();
  fs::path refs = rc.root() / "refs";
  for (auto it = fs::recursive_directory_iterator(refs, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().lexically_relative(refs).generic_string();
    auto commit = rc.read_ref(name);
    if (!commit) continue;
    for (auto& s : repo.snapshots)
      if (s.commit == *commit) s.refs.push_back(name);
  }
  for (auto& s : repo.snapshots) std::sort(s.refs.begin(), s.refs.end());
  std::sort(repo.snapshots.begin(), repo.snapshots.end(),
            [](const CachedSnapshot& a, const CachedSnapshot& b) { return a.commit < b.commit; });
  return repo;
}

std::vector<CachedRepo> scan_cache(const fs::path& cache_dir) {
  std::vector<CachedRepo> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(cache_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (!it->is_directory()) continue;
    auto id = repo_id_from_folder(it->path().filename().string());
    if (!id) continue;
    if (auto repo = scan_repo(cache_dir, *id)) out.push_back(std::move(*repo));
  }
  std::sort(out.begin(), out.end(), [](const CachedRepo& a, const CachedRepo& b) { return a.repo_id < b.repo_id; });
  return out;
}

std::uint64_t collect_garbage(const RepoCache& repo, bool keep_incomplete) {
  std::set<fs::path> used;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(repo.root() / "snapshots", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink()) continue;
    std::error_code ec2;
    fs::path target = fs::weakly_canonical(it->path(), ec2);
    if (!ec2) used.insert(target);
  }
  std::uint64_t freed = 0;
  ec.clear();
  std::vector<fs::path> doomed;
  for (auto it = fs::directory_iterator(repo.root() / "blobs", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    fs::path p = it->path();
    bool partial = ends_with(p.filename().string(), ".incomplete");
    if (partial && keep_incomplete) continue;
    std::error_code ec2;
    if (!partial && used.count(fs::weakly_canonical(p, ec2))) continue;
    doomed.push_back(p);
  }
  for (const auto& p : doomed) {
    freed += file_size_or_zero(p);
    fs::remove(p, ec);
  }
  return freed;
}

}  // namespace oc::hub
