#include "api/web_assets.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace {

oc::api::HttpResponse get(const std::string& path, const std::string& accept_encoding) {
  oc::api::HttpRequest req;
  req.method = "GET";
  req.path = path;
  if (!accept_encoding.empty()) req.headers.emplace_back("Accept-Encoding", accept_encoding);
  oc::api::HttpResponse res;
  EXPECT_TRUE(oc::api::serve_web_asset(req, res)) << path;
  return res;
}

std::string header(const oc::api::HttpResponse& res, const std::string& name) {
  for (const auto& [k, v] : res.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST(WebAssets, ThePageIsOneGzippedHtmlFileWithItsScript) {
  auto plain = get("/", "");
  EXPECT_EQ(plain.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(plain, "Content-Encoding"), "");
  EXPECT_EQ(plain.body.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(plain.body.find("<title>onnx-chat</title>"), std::string::npos);
  EXPECT_NE(plain.body.find("/v1/chat/completions"), std::string::npos);

  auto gz = get("/", "gzip, deflate, br");
  EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), plain.body.size() / 2);
  // The gzip bytes inflate to the plain page.
  std::string out(plain.body.size(), '\0');
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(gz.body.data());
  z.avail_in = static_cast<uInt>(gz.body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  inflateEnd(&z);
  EXPECT_EQ(out, plain.body);
}

TEST(WebAssets, GzipRefusedWithQZero) {
  EXPECT_EQ(header(get("/", "gzip;q=0, identity"), "Content-Encoding"), "");
  EXPECT_EQ(header(get("/", "*"), "Content-Encoding"), "gzip");
}

TEST(WebAssets, FontsAndUnknownPaths) {
  bool font = false;
  for (const auto& a : oc::api::web_assets()) {
    if (a.path == "/") continue;
    EXPECT_EQ(a.path.rfind("/assets/", 0), 0u);
    EXPECT_EQ(a.content_type, "font/woff2");
    auto res = get(std::string(a.path), "gzip");
    EXPECT_EQ(res.body.size(), a.size);
    font = true;
  }
  EXPECT_TRUE(font);
  oc::api::HttpRequest req;
  req.path = "/assets/missing.js";
  oc::api::HttpResponse res;
  EXPECT_FALSE(oc::api::serve_web_asset(req, res));
}
