// A small blocking HTTP client over libcurl (kept out of this header): GET / HEAD with headers,
// redirects on or off, a byte-range start, and the body streamed to a sink. Only http:// and
// https:// URLs are fetched (redirects included).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace oc::hub {

struct HttpRequest {
  std::string method = "GET";  // GET or HEAD
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  bool follow_redirects = true;
  long connect_timeout_s = 10;
  long stall_timeout_s = 60;      // abort when no byte arrives for this long
  long timeout_s = 0;             // > 0: abort the whole transfer after this long
  std::uint64_t range_start = 0;  // > 0: "Range: bytes=N-"
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the last response, names lower-cased
  std::string body;                            // error bodies, and whole bodies when there is no sink
  std::string effective_url;
  std::string redirect_url;  // where a 3xx points (absolute), when redirects are not followed

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// The request never reached an answer: DNS, connection, TLS, timeout, reset mid-body.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Called with the status and each chunk of a 2xx body; returning false aborts the transfer (a
// TransportError).
using BodySink = std::function<bool(long status, const char* data, std::size_t size)>;

HttpResponse http_request(const HttpRequest& request, const BodySink& sink = {});

// Percent-encodes one path segment or query value (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s, bool keep_slash = false);
// "https://host:port/..." -> "https://host:port".
std::string url_origin(std::string_view url);

}  // namespace oc::hub
