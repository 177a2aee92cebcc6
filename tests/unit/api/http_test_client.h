// What the API server tests share: a raw HTTP/1.1 client over loopback sockets (requests, replies
// with chunked bodies joined, SSE data lines), a scripted model with a chat template, and a server
// on any free port serving an engine over that model.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "engine/fake_model.h"
#include "template/chat_template.h"

namespace oc::test {

// ---- the client ----

struct Reply {
  int status = 0;  // 0: no reply (connection failed or closed early)
  std::string headers;
  std::string body;  // de-chunked
  nlohmann::json j() const { return nlohmann::json::parse(body); }
};

// A socket connected to the loopback port, or -1.
inline int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The text of a request with `Connection: close`; a body (or any POST) gets its type and length.
inline std::string request_text(const std::string& method, const std::string& path, const std::string& body = "",
                                const std::string& extra_headers = "",
                                const std::string& content_type = "application/json") {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + extra_headers;
  if (!body.empty() || method == "POST")
    req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return req + "\r\n" + body;
}

// Sends all of `data` (a test failure when the connection takes less).
inline void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  EXPECT_EQ(sent, data.size()) << "the request was not sent in full";
}

inline void send_request(int fd, const std::string& method, const std::string& path, const std::string& body,
                         const std::string& extra_headers = "") {
  send_all(fd, request_text(method, path, body, extra_headers));
}

// The payload of a chunked body.
inline std::string dechunk(const std::string& raw) {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    size_t eol = raw.find("\r\n", i);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(raw.substr(i, eol - i), nullptr, 16);
    if (n == 0) break;
    out += raw.substr(eol + 2, n);
    i = eol + 2 + n + 2;
  }
  return out;
}

// Reads until the server closes the connection, then splits status, headers and body.
inline Reply read_reply(int fd) {
  std::string raw;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  Reply r;
  size_t sp = raw.find(' ');
  size_t end = raw.find("\r\n\r\n");
  if (sp == std::string::npos || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(sp + 1, 3));
  r.headers = raw.substr(0, end);
  std::string content = raw.substr(end + 4);
  r.body = r.headers.find("Transfer-Encoding: chunked") != std::string::npos ? dechunk(content) : content;
  return r;
}

// One request on a fresh connection, as raw text.
inline Reply http_exchange(int port, const std::string& request) {
  int fd = connect_to(port);
  if (fd < 0) {
    ADD_FAILURE() << "cannot connect to port " << port;
    return {};
  }
  send_all(fd, request);
  Reply r = read_reply(fd);
  ::close(fd);
  return r;
}

inline Reply http(int port, const std::string& method, const std::string& path, const std::string& body = "",
                  const std::string& extra_headers = "") {
  return http_exchange(port, request_text(method, path, body, extra_headers));
}

inline Reply post(int port, const std::string& path, const std::string& content_type, const std::string& body) {
  return http_exchange(port, request_text("POST", path, body, "", content_type));
}

// The `data: ` payloads of an SSE body, in order.
inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t i = 0;
  while ((i = body.find("data: ", i)) != std::string::npos) {
    size_t end = body.find("\n\n", i);
    out.push_back(body.substr(i + 6, end - i - 6));
    i = end;
  }
  return out;
}

// ---- the server ----

// An engine over `model` and an ApiServer for it on a free loopback port, serving on a thread until
// destroyed (then: server stopped, thread joined, engine shut down).
class RunningServer {
 public:
  RunningServer(std::shared_ptr<models::Model> model, engine::EngineConfig config, api::ServerOptions options)
      : engine(std::make_shared<engine::Engine>(std::move(model), config)) {
    options.port = 0;
    server_ = std::make_unique<api::ApiServer>(std::move(options));
    port = server_->bind();
    server_->set_engine(engine);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
    engine->shutdown(false);
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  std::shared_ptr<engine::Engine> engine;
  int port = 0;

 private:
  std::unique_ptr<api::ApiServer> server_;
  std::thread thread_;
};

}  // namespace oc::test
