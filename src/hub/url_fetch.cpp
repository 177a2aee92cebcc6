#include "hub/url_fetch.h"

#include <curl/curl.h>

#include <memory>

#include "common/error.h"
#include "common/strings.h"
#include "hub/http.h"

namespace oc::hub {
namespace {

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(ErrorKind::InvalidRequest, prefixed(what, message), "", "invalid_url");
}

}  // namespace

UrlParts url_parts(std::string_view url) {
  // curl's own URL parser: the host checked is the host curl connects to.
  std::unique_ptr<CURLU, void (*)(CURLU*)> u(curl_url(), &curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, std::string(url).c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return {};
  auto part = [&](CURLUPart which) {
    char* text = nullptr;
    if (curl_url_get(u.get(), which, &text, 0) != CURLUE_OK || !text) return std::string();
    std::string out = to_lower(text);
    curl_free(text);
    return out;
  };
  UrlParts p{part(CURLUPART_SCHEME), part(CURLUPART_HOST)};
  if (p.host.size() >= 2 && p.host.front() == '[' && p.host.back() == ']') p.host = p.host.substr(1, p.host.size() - 2);
  if (p.scheme.empty() || p.host.empty()) return {};
  return p;
}

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
  if (host.empty()) return false;
  const std::string h = to_lower(host);
  for (const auto& entry : allowed) {
    const std::string e = to_lower(entry);
    if (e == "*" || e == h) return true;
    if (e.size() > 2 && e.compare(0, 2, "*.") == 0) {
      std::string_view suffix = std::string_view(e).substr(1);  // ".example.com"
      if (h.size() > suffix.size() && std::string_view(h).substr(h.size() - suffix.size()) == suffix) return true;
    }
  }
  return false;
}

FetchedUrl fetch_url(const std::string& url, const UrlFetchOptions& options, std::string_view what) {
  std::string current = url;
  for (int hop = 0;; ++hop) {
    UrlParts parts = url_parts(current);
    if (parts.scheme != "http" && parts.scheme != "https") fail(what, "only http:// and https:// URLs can be fetched");
    if (!host_allowed(parts.host, options.allowed_hosts))
      fail(what, "host '" + parts.host + "' is not in the server's allow-list (--media-url-allow)");
    HttpRequest req;
    req.url = current;
    req.follow_redirects = false;  // each hop is checked against the allow-list
    req.connect_timeout_s = options.timeout_s;
    req.stall_timeout_s = options.timeout_s;
    req.timeout_s = options.timeout_s;
    req.headers.emplace_back("Accept", "image/*, audio/*, */*;q=0.5");
    FetchedUrl out;
    bool too_large = false;
    HttpResponse res;
    try {
      res = http_request(req, [&](long, const char* data, std::size_t n) {
        if (out.data.size() + n > options.max_bytes) {
          too_large = true;
          return false;
        }
        out.data.append(data, n);
        return true;
      });
    } catch (const TransportError& e) {
      if (too_large)
        fail(what, "the file at the URL exceeds the server's limit of " + std::to_string(options.max_bytes) +
                       " bytes (--max-media-mb)");
      fail(what, std::string("cannot fetch the URL: ") + e.what());
    }
    if (res.status >= 300 && res.status < 400 && !res.redirect_url.empty()) {
      if (hop >= options.max_redirects) fail(what, "too many redirects");
      current = res.redirect_url;
      continue;
    }
    if (res.status < 200 || res.status >= 300)
      fail(what, "fetching the URL failed with HTTP status " + std::to_string(res.status));
    out.content_type = res.header("content-type");
    out.url = current;
    return out;
  }
}

}  // namespace oc::hub
