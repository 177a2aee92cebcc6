// Media URL fetching: URL parts, the host allow-list, and fetches from a loopback server (size cap,
// error status, redirects checked against the allow-list, timeout).
#include "hub/url_fetch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/http_server.h"
#include "common/error.h"

using namespace oc;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(UrlFetch, UrlParts) {
  auto p = hub::url_parts("HTTPS://user:pw@Example.COM:8443/a/b?c#d");
  EXPECT_EQ(p.scheme, "https");
  EXPECT_EQ(p.host, "example.com");
  EXPECT_EQ(hub::url_parts("http://[::1]:8080/x").host, "::1");
  EXPECT_EQ(hub::url_parts("http://host").host, "host");
  EXPECT_EQ(hub::url_parts("no scheme").scheme, "");
  EXPECT_EQ(hub::url_parts("http://").host, "");
  EXPECT_EQ(hub::url_parts("http://[::1/x").host, "");
  // Where hand-written parsers and the fetching library disagree, the library's reading wins.
  EXPECT_EQ(hub::url_parts("http://allowed.example@evil.example/").host, "evil.example");
  EXPECT_EQ(hub::url_parts("http://evil.example#@allowed.example/").host, "evil.example");
  EXPECT_EQ(hub::url_parts("http://evil.example?@allowed.example/").host, "evil.example");
  EXPECT_EQ(hub::url_parts("http://a b.example/").host, "");
  EXPECT_EQ(hub::url_parts("http://[fe80::1%25eth0]/").host, "fe80::1");  // the zone is not the host
  EXPECT_EQ(hub::url_parts("http:///path").host, "path");  // curl reads a host here, so the check does too
}

TEST(UrlFetch, HostAllowList) {
  const std::vector<std::string> allowed = {"images.example.com", "*.cdn.example.org"};
  EXPECT_TRUE(hub::host_allowed("images.example.com", allowed));
  EXPECT_TRUE(hub::host_allowed("IMAGES.example.com", allowed));
  EXPECT_FALSE(hub::host_allowed("evil-images.example.com", allowed));
  EXPECT_FALSE(hub::host_allowed("example.com", allowed));
  EXPECT_TRUE(hub::host_allowed("a.cdn.example.org", allowed));
  EXPECT_TRUE(hub::host_allowed("a.b.cdn.example.org", allowed));
  EXPECT_FALSE(hub::host_allowed("cdn.example.org", allowed));
  EXPECT_FALSE(hub::host_allowed("xcdn.example.org", allowed));
  EXPECT_FALSE(hub::host_allowed("", {"*"}));
  EXPECT_TRUE(hub::host_allowed("anything", {"*"}));
  EXPECT_FALSE(hub::host_allowed("anything", {}));
}

class UrlFetchServer : public ::testing::Test {
 protected:
  void SetUp() override {
    api::HttpServerOptions o;
    o.port = 0;
    o.host = "127.0.0.1";
    server = api::make_http_server(o);
    server->route("GET", "/img", [](const api::HttpRequest&, api::HttpResponse& res) {
      res.content_type = "image/png";
      res.body = std::string(1000, 'x');
    });
    server->route("GET", "/missing", [](const api::HttpRequest&, api::HttpResponse& res) {
      res.status = 404;
      res.body = "no";
    });
    server->route("GET", "/to-img", [this](const api::HttpRequest&, api::HttpResponse& res) {
      res.status = 302;
      res.set_header("Location", base("127.0.0.1") + "/img");
    });
    server->route("GET", "/to-localhost", [this](const api::HttpRequest&, api::HttpResponse& res) {
      res.status = 302;
      res.set_header("Location", base("localhost") + "/img");
    });
    server->route("GET", "/loop", [](const api::HttpRequest&, api::HttpResponse& res) {
      res.status = 302;
      res.set_header("Location", "/loop");
    });
    server->route("GET", "/slow", [](const api::HttpRequest&, api::HttpResponse& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      res.body = "late";
    });
    port = server->bind();
    thread = std::thread([this] { server->run(); });
    options.allowed_hosts = {"127.0.0.1"};
    options.max_bytes = 4096;
    options.timeout_s = 1;
  }
  void TearDown() override {
    server->stop();
    thread.join();
  }
  std::string base(const std::string& host) const { return "http://" + host + ":" + std::to_string(port); }
  std::string error_of(const std::string& path) {
    try {
      hub::fetch_url(base("127.0.0.1") + path, options, "images[0]");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidRequest);
      EXPECT_TRUE(contains(e.what(), "images[0]: ")) << e.what();
      return e.what();
    }
    return "no error";
  }

  std::unique_ptr<api::HttpServer> server;
  std::thread thread;
  int port = 0;
  hub::UrlFetchOptions options;
};

TEST_F(UrlFetchServer, FetchesFromAnAllowedHost) {
  auto f = hub::fetch_url(base("127.0.0.1") + "/img", options, "x");
  EXPECT_EQ(f.data, std::string(1000, 'x'));
  EXPECT_EQ(f.content_type, "image/png");
  f = hub::fetch_url(base("127.0.0.1") + "/to-img", options, "x");
  EXPECT_EQ(f.data.size(), 1000u);
  EXPECT_EQ(f.url, base("127.0.0.1") + "/img");
}

TEST_F(UrlFetchServer, Refusals) {
  EXPECT_TRUE(contains(error_of("/missing"), "HTTP status 404"));
  EXPECT_TRUE(contains(error_of("/to-localhost"), "'localhost' is not in the server's allow-list"));
  EXPECT_TRUE(contains(error_of("/loop"), "too many redirects"));
  options.max_bytes = 999;
  EXPECT_TRUE(contains(error_of("/img"), "--max-media-mb"));
  options.allowed_hosts = {"localhost"};
  EXPECT_TRUE(contains(error_of("/img"), "'127.0.0.1' is not in the server's allow-list"));
  EXPECT_TRUE(contains(
      [&] {
        try {
          hub::fetch_url("ftp://127.0.0.1/x", options, "images[0]");
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string("no error");
      }(),
      "only http:// and https://"));
}

TEST_F(UrlFetchServer, Timeout) {
  auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of("/slow");
  EXPECT_TRUE(contains(e, "cannot fetch the URL")) << e;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(5000));
}
