// The cache layout of Python's huggingface_hub, so both share one cache:
//   CACHE/models--ORG--NAME/blobs/<etag>               file contents (<etag>.incomplete while downloading)
//   CACHE/models--ORG--NAME/snapshots/<commit>/<path>  relative symlinks into blobs
//   CACHE/models--ORG--NAME/refs/<revision>            the commit hash a branch or tag points to
//   CACHE/.locks/models--ORG--NAME/<etag>.lock         one writer per blob (flock, as filelock does)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oc::hub {

namespace fs = std::filesystem;

// "onnx-community/gemma" <-> "models--onnx-community--gemma".
std::string repo_folder_name(std::string_view repo_id);
std::optional<std::string> repo_id_from_folder(std::string_view folder_name);

class RepoCache {
 public:
  RepoCache(fs::path cache_dir, std::string repo_id);

  const std::string& repo_id() const { return repo_id_; }
  const fs::path& cache_dir() const { return cache_dir_; }
  fs::path root() const;
  fs::path blob(std::string_view etag) const;
  fs::path incomplete(std::string_view etag) const;
  fs::path snapshot(std::string_view commit) const;
  fs::path snapshot_file(std::string_view commit, std::string_view path) const;
  fs::path ref_file(std::string_view revision) const;
  fs::path lock_file(std::string_view etag) const;

  std::optional<std::string> read_ref(std::string_view revision) const;
  void write_ref(std::string_view revision, std::string_view commit) const;  // atomic replace
  // A commit hash as is (when its snapshot exists), else the commit refs/<revision> holds.
  std::optional<std::string> commit_for(std::string_view revision) const;
  // snapshots/<commit>/<path> -> relative symlink to blobs/<etag>, replaced atomically.
  void link(std::string_view commit, std::string_view path, std::string_view etag) const;
  // Relative paths of the files of a snapshot whose links resolve to a file, sorted.
  std::vector<std::string> snapshot_files(std::string_view commit) const;

 private:
  fs::path cache_dir_;
  std::string repo_id_;
};

// An exclusive advisory lock on a file (created if missing), held for the object's lifetime.
class FileLock {
 public:
  explicit FileLock(const fs::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

struct CachedSnapshot {
  std::string commit;
  std::vector<std::string> refs;   // revisions pointing at it
  std::vector<std::string> files;  // relative paths
  std::uint64_t size = 0;          // sum of the files' sizes
};

struct CachedRepo {
  std::string repo_id;
  fs::path path;
  std::uint64_t size_on_disk = 0;   // complete blobs
  std::uint64_t partial_bytes = 0;  // *.incomplete blobs
  std::vector<CachedSnapshot> snapshots;
};

std::vector<CachedRepo> scan_cache(const fs::path& cache_dir);
std::optional<CachedRepo> scan_repo(const fs::path& cache_dir, std::string_view repo_id);
// Deletes blobs (and stale .incomplete files) no snapshot links to; returns the bytes freed.
std::uint64_t collect_garbage(const RepoCache& repo, bool keep_incomplete = true);

}  // namespace oc::hub
