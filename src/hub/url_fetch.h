// Fetching a file that a request names by URL (an image_url "https://..."): only from allowed
// hosts, with a size cap and a total timeout; redirects are followed only to allowed hosts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oc::hub {

struct UrlFetchOptions {
  // Hosts that may be fetched from: "example.com" (that host), "*.example.com" (its subdomains),
  // "*" (any host). Empty: none.
  std::vector<std::string> allowed_hosts;
  uint64_t max_bytes = 32u << 20;  // larger bodies fail (checked against Content-Length and while reading)
  long timeout_s = 10;             // the whole transfer, connection included
  int max_redirects = 3;
};

struct FetchedUrl {
  std::string data;
  std::string content_type;  // as the server sent it ("" when absent)
  std::string url;           // after redirects
};

// The scheme ("http", lowercased) and host (lowercased, no port, IPv6 without brackets) of a URL;
// empty strings when the URL has no "scheme://host".
struct UrlParts {
  std::string scheme;
  std::string host;
};
UrlParts url_parts(std::string_view url);

// Whether `host` matches an entry of `allowed` (see UrlFetchOptions::allowed_hosts).
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);

// GETs an http(s) URL. Throws oc::Error(InvalidRequest) whose message starts with `what` (unless empty) when the
// host is not allowed, the server cannot be reached or answers an error status, the transfer times
// out, or the body exceeds max_bytes.
FetchedUrl fetch_url(const std::string& url, const UrlFetchOptions& options, std::string_view what);

}  // namespace oc::hub
