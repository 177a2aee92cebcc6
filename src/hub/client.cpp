#include "hub/client.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/strings.h"
#include "hub/model_ref.h"

namespace oc::hub {

std::string normalize_etag(std::string etag) {
  if (starts_with(etag, "W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

bool is_transient_status(long status) { return status == 408 || status == 429 || status >= 500; }

HubClient::HubClient(HubConfig config) : config_(std::move(config)) {}

std::vector<std::pair<std::string, std::string>> HubClient::headers_for(const std::string& url) const {
  std::vector<std::pair<std::string, std::string>> h;
  if (!config_.token.empty() && url_origin(url) == url_origin(config_.endpoint))
    h.emplace_back("Authorization", "Bearer " + config_.token);
  return h;
}

std::string HubClient::resolve_url(const std::string& repo_id, const std::string& revision,
                                   const std::string& path) const {
  return config_.endpoint + "/" + repo_id + "/resolve/" + url_encode(revision) + "/" + url_encode(path, true);
}

void HubClient::raise_unreachable(const TransportError& e) const {
  throw Error(ErrorKind::Unavailable,
              "cannot reach the hub at " + config_.endpoint + " (" + e.what() +
                  "); to use the local cache only, set HF_HUB_OFFLINE=1",
              "", "hub_unreachable");
}

void HubClient::raise(const HttpResponse& r, const std::string& repo_id, const std::string& revision,
                      const std::string& path) const {
  const std::string code = r.header("x-error-code");
  std::string server_message = r.header("x-error-message");
  if (server_message.empty()) {
    try {
      auto j = nlohmann::json::parse(r.body);
      if (j.is_object() && j.contains("error") && j["error"].is_string()) server_message = j["error"];
    } catch (...) {
    }
  }
  const std::string repo_url = config_.endpoint + "/" + repo_id;
  const std::string status = "HTTP " + std::to_string(r.status);
  if (code == "GatedRepo" || (r.status == 403 && !config_.token.empty()))
    throw Error(ErrorKind::Unauthorized,
                repo_id + " is gated (" + status + "): accept its conditions at " + repo_url +
                    (config_.token.empty() ? " and set HF_TOKEN" : " with the account of HF_TOKEN"),
                "", "gated_repo");
  if (code == "RepoNotFound" || (r.status == 401 && code.empty()))
    throw Error(
        ErrorKind::NotFound,
        "repository not found: " + repo_id + " (" + status + ")" +
            (config_.token.empty() ? "; if it is private or gated, set HF_TOKEN" : "; or HF_TOKEN has no access to it"),
        "", "repo_not_found");
  if (code == "RevisionNotFound")
    throw Error(ErrorKind::NotFound, "revision not found: " + revision + " in " + repo_id + " (" + status + ")", "",
                "revision_not_found");
  if (code == "EntryNotFound" || (r.status == 404 && !path.empty()))
    throw Error(ErrorKind::NotFound,
                "file not found: " + path + " in " + repo_id + "@" + revision + " (" + status + ")", "",
                "entry_not_found");
  if (r.status == 404)
    throw Error(ErrorKind::NotFound, "not found on the hub: " + repo_id + "@" + revision + " (" + status + ")", "",
                "repo_not_found");
  if (r.status == 401 || r.status == 403)
    throw Error(ErrorKind::Unauthorized,
                "access denied to " + repo_id + " (" + status + (server_message.empty() ? "" : ": " + server_message) +
                    "); check HF_TOKEN",
                "", "unauthorized");
  throw Error(ErrorKind::Unavailable,
              "the hub answered " + status + " for " + repo_id + (path.empty() ? "" : "/" + path) +
                  (server_message.empty() ? "" : ": " + server_message),
              "", "hub_error");
}

RepoInfo HubClient::model_info(const std::string& repo_id, const std::string& revision) const {
  HttpRequest req;
  req.url = config_.endpoint + "/api/models/" + repo_id + "/revision/" + url_encode(revision) + "?blobs=true";
  req.headers = headers_for(req.url);
  req.connect_timeout_s = config_.etag_timeout_s;
  req.stall_timeout_s = std::max(30L, config_.etag_timeout_s);
  HttpResponse r;
  try {
    r = http_request(req);
  } catch (const TransportError& e) {
    raise_unreachable(e);
  }
  if (r.status != 200) raise(r, repo_id, revision, "");
  RepoInfo info;
  info.repo_id = repo_id;
  try {
    auto j = nlohmann::json::parse(r.body);
    info.commit = j.value("sha", "");
    if (j.contains("siblings") && j["siblings"].is_array()) {
      for (const auto& s : j["siblings"]) {
        RemoteFile f;
        f.path = s.value("rfilename", "");
        if (f.path.empty()) continue;
        if (s.contains("size") && s["size"].is_number_unsigned()) {
          f.size = s["size"].get<std::uint64_t>();
          f.has_size = true;
        }
        f.blob_id = s.value("blobId", "");
        if (s.contains("lfs") && s["lfs"].is_object()) {
          f.lfs_sha256 = s["lfs"].value("sha256", "");
          if (s["lfs"].contains("size") && s["lfs"]["size"].is_number_unsigned()) {
            f.size = s["lfs"]["size"].get<std::uint64_t>();
            f.has_size = true;
          }
        }
        info.files.push_back(std::move(f));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Unavailable, "the hub sent an unreadable model info for " + repo_id + ": " + e.what(), "",
                "hub_error");
  }
  if (!is_commit_hash(info.commit))
    throw Error(ErrorKind::Unavailable, "the hub's model info for " + repo_id + " has no commit hash", "", "hub_error");
  return info;
}

namespace {

FileMetadata metadata_from(const HttpResponse& r, std::string location) {
  FileMetadata m;
  m.commit = r.header("x-repo-commit");
  m.etag = normalize_etag(!r.header("x-linked-etag").empty() ? r.header("x-linked-etag") : r.header("etag"));
  std::string size = !r.header("x-linked-size").empty() ? r.header("x-linked-size") : r.header("content-length");
  if (!size.empty() && size.find_first_not_of("0123456789") == std::string::npos && size.size() < 20) {
    m.size = std::stoull(size);
    m.has_size = true;
  }
  m.location = std::move(location);
  return m;
}

}  // namespace

FileMetadata HubClient::file_metadata(const std::string& repo_id, const std::string& revision,
                                      const std::string& path) const {
  std::string url = resolve_url(repo_id, revision, path);
  for (int hop = 0; hop < 5; ++hop) {
    HttpRequest req;
    req.method = "HEAD";
    req.url = url;
    req.follow_redirects = false;
    req.headers = headers_for(url);
    req.connect_timeout_s = config_.etag_timeout_s;
    req.stall_timeout_s = std::max(30L, config_.etag_timeout_s);
    HttpResponse r;
    try {
      r = http_request(req);
    } catch (const TransportError& e) {
      raise_unreachable(e);
    }
    if (r.status >= 300 && r.status < 400) {
      std::string loc = r.header("location");
      if (loc.empty()) raise(r, repo_id, revision, path);
      // As huggingface_hub: a relative redirect (a renamed repo) stays on the hub and is followed;
      // an absolute one (the CDN, for LFS files) is where the content is fetched from.
      if (starts_with(loc, "/")) {
        url = url_origin(url) + loc;
        continue;
      }
      return metadata_from(r, loc);
    }
    if (r.status != 200) raise(r, repo_id, revision, path);
    return metadata_from(r, url);
  }
  throw Error(ErrorKind::Unavailable, "too many redirects for " + path + " in " + repo_id, "", "hub_error");
}

}  // namespace oc::hub
