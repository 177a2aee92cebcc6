// Fetches files of one commit of a repo into the cache: the hub's resolve URLs (ETag, CDN
// redirect), blobs written as <etag>.incomplete and resumed with HTTP Range, parallel files,
// retries with backoff, the LFS sha256 checked, an atomic rename, then the snapshot symlink.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/cache.h"
#include "hub/client.h"
#include "hub/progress.h"

namespace oc::hub {

struct DownloadItem {
  std::string path;
  std::uint64_t size = 0;
  bool has_size = false;
  std::string sha256;  // LFS files: the expected content hash
};

struct DownloadOptions {
  int workers = 4;       // files fetched at once
  int retries = 5;       // further attempts per file after a transient failure
  int backoff_ms = 500;  // first wait between attempts, doubled each time (at most 8 s)
  bool verify = false;   // re-hash cached LFS blobs and fetch again the ones that do not match
  ProgressFn progress;
};

struct DownloadResult {
  std::uint64_t downloaded_bytes = 0;  // transferred in this run
  std::size_t fetched_files = 0;
  std::size_t cached_files = 0;
  std::size_t repaired_files = 0;  // cached but corrupted, fetched again
};

DownloadResult fetch_files(const HubClient& client, const RepoCache& cache, const std::string& commit,
                           const std::vector<DownloadItem>& items, const DownloadOptions& options);

}  // namespace oc::hub
