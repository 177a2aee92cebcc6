// Serving the embedded web page: content negotiation for gzip and caching headers.
#include "api/web_assets.h"

#include <zlib.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "common/strings.h"

namespace oc::api {
namespace {

bool accepts_gzip(const HttpRequest& req) {
  // "gzip" listed without "q=0" (browsers send "gzip, deflate, br, zstd").
  for (auto& item : split(to_lower(req.header("Accept-Encoding")), ',')) {
    std::string coding = item.substr(0, item.find(';'));
    coding.erase(0, coding.find_first_not_of(' '));
    coding.erase(coding.find_last_not_of(' ') + 1);
    if (coding != "gzip" && coding != "*") continue;
    auto q = item.find("q=");
    if (q == std::string::npos || std::strtod(item.c_str() + q + 2, nullptr) > 0) return true;
  }
  return false;
}

std::string gunzip(std::string_view in, size_t size) {
  std::string out(size, '\0');
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.total_out != size) throw std::runtime_error("corrupt embedded web asset");
  return out;
}

}  // namespace

bool serve_web_asset(const HttpRequest& req, HttpResponse& res) {
  for (const WebAsset& a : web_assets()) {
    if (a.path != req.path) continue;
    res.content_type = std::string(a.content_type);
    // The page itself is revalidated on every load; the fonts are named by their content hash.
    res.set_header("Cache-Control", a.path == "/" ? "no-cache" : "public, max-age=31536000, immutable");
    if (!a.gzipped) {
      res.body = std::string(a.stored);
    } else if (accepts_gzip(req)) {
      res.set_header("Content-Encoding", "gzip");
      res.body = std::string(a.stored);
    } else {
      res.body = gunzip(a.stored, a.size);
    }
    if (a.gzipped) res.set_header("Vary", "Accept-Encoding");
    return true;
  }
  return false;
}

}  // namespace oc::api
