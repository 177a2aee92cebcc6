// The web chat page's files, bundled from webui/ at build time (webui/build.mjs generates
// web_assets()) and served at GET / and GET /assets/... by serve_web_asset.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "api/http_server.h"

namespace oc::api {

struct WebAsset {
  std::string_view path;          // "/" or "/assets/NAME"
  std::string_view content_type;  // of the file itself
  std::string_view stored;        // the bytes as stored: gzip when `gzipped`, else the file
  bool gzipped;
  size_t size;  // of the file itself
};

// Every embedded asset (generated).
std::span<const WebAsset> web_assets();

// Answers a GET for an embedded asset: the stored gzip bytes with `Content-Encoding: gzip` when the
// request accepts gzip, else the file decompressed. Returns false (res untouched) for a path that
// names no asset.
bool serve_web_asset(const HttpRequest& req, HttpResponse& res);

}  // namespace oc::api
