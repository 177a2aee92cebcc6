// The hub's HTTP API as huggingface_hub uses it: model info with the file listing, file metadata
// from the resolve URL (commit, ETag, size, CDN redirect), and one clear error line per failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/config.h"
#include "hub/http.h"

namespace oc::hub {

struct RemoteFile {
  std::string path;
  std::uint64_t size = 0;
  bool has_size = false;
  std::string blob_id;     // git blob id
  std::string lfs_sha256;  // for LFS files: the content's sha256 (also their ETag)
};

struct RepoInfo {
  std::string repo_id;
  std::string commit;  // "sha"
  std::vector<RemoteFile> files;
};

struct FileMetadata {
  std::string commit;  // X-Repo-Commit
  std::string etag;    // X-Linked-Etag or ETag, without quotes or W/
  std::uint64_t size = 0;
  bool has_size = false;
  std::string location;  // where to GET the content (CDN redirect or the resolve URL)
};

class HubClient {
 public:
  explicit HubClient(HubConfig config);
  const HubConfig& config() const { return config_; }

  // GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true
  RepoInfo model_info(const std::string& repo_id, const std::string& revision) const;
  // HEAD {endpoint}/{repo}/resolve/{rev}/{path}, following only same-host redirects.
  FileMetadata file_metadata(const std::string& repo_id, const std::string& revision, const std::string& path) const;
  std::string resolve_url(const std::string& repo_id, const std::string& revision, const std::string& path) const;
  // Headers for a request to url: the token only goes to the endpoint's own host.
  std::vector<std::pair<std::string, std::string>> headers_for(const std::string& url) const;

  // Throws the oc::Error that a failed hub answer means (401 gated / not found, 404 revision / entry, ...).
  [[noreturn]] void raise(const HttpResponse& response, const std::string& repo_id, const std::string& revision,
                          const std::string& path) const;
  // One line for a transport failure ("cannot reach ENDPOINT: why").
  [[noreturn]] void raise_unreachable(const TransportError& e) const;

 private:
  HubConfig config_;
};

// "W/\"abc\"" -> "abc".
std::string normalize_etag(std::string etag);
// A retryable answer: 408, 429, 5xx.
bool is_transient_status(long status);

}  // namespace oc::hub
