// HttpServer on cpp-httplib (Debian's libcpp-httplib, 0.11).
#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "api/http_server.h"
#include "common/error.h"
#include "common/log.h"
#include "common/strings.h"

namespace oc::api {

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

bool HttpRequest::has_header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return true;
  return false;
}

void HttpResponse::set_header(std::string name, std::string value) {
  for (auto& [k, v] : headers)
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  headers.emplace_back(std::move(name), std::move(value));
}

namespace {

int port_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return -1;
}

// The connected socket of this process whose ends are (local_port, remote_port). The handler runs
// on the thread that owns the connection, so the descriptor cannot be closed or reused meanwhile.
int find_connection_fd(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end) continue;
    sockaddr_storage peer{}, self{};
    socklen_t plen = sizeof(peer), slen = sizeof(self);
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &plen) != 0) continue;
    if (port_of(peer) != remote_port) continue;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&self), &slen) != 0) continue;
    if (port_of(self) != local_port) continue;
    found = static_cast<int>(fd);
    break;
  }
  closedir(dir);
  return found;
}

// Open unless the peer has hung up (readable with nothing to read) or the socket failed.
bool socket_open(int fd) {
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, 0);
  if (r < 0) return errno == EINTR;
  if (r == 0) return true;
  if (p.revents & (POLLERR | POLLNVAL)) return false;
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return true;  // a pipelined request: still there
  if (n == 0) return false;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

HttpRequest convert(const httplib::Request& req) {
  HttpRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.headers) {
    if (k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" || k == "LOCAL_PORT") continue;
    r.headers.emplace_back(k, v);
  }
  for (size_t i = 1; i < req.matches.size(); ++i) r.path_params.push_back(req.matches[i].str());
  r.remote = req.remote_addr + ":" + std::to_string(req.remote_port);
  return r;
}

class SinkAdapter final : public StreamSink {
 public:
  explicit SinkAdapter(httplib::DataSink& sink) : sink_(sink) {}
  bool write(std::string_view data) override {
    if (!ok_) return false;
    if (data.empty()) return client_connected();
    ok_ = sink_.is_writable() && sink_.write(data.data(), data.size());
    return ok_;
  }
  bool client_connected() override {
    if (ok_) ok_ = sink_.is_writable();
    return ok_;
  }
  bool ok() const { return ok_; }

 private:
  httplib::DataSink& sink_;
  bool ok_ = true;
};

class HttplibServer final : public HttpServer {
  // How long a connection may stay idle, before its first request as well as between requests
  // (the library has one timeout for both): a client slow to send its request after connecting
  // (the soak's, on a loaded machine, once took 2.0 s) must not have the connection closed under
  // it. An idle keep-alive connection delays shutdown by up to this long (the library does not
  // wake it), but clients that follow the hint below have closed theirs long before.
  static constexpr int kIdleSeconds = 10;
  // What responses tell clients, well below kIdleSeconds: clients that keep idle connections
  // longer than the server would send a request on a connection the server is closing (undici,
  // which subtracts 2 s from the hint, then does not reuse connections at all). It also keeps an
  // idle server idle: the library polls each open connection about 90 times a second.
  static constexpr int kKeepAliveHintSeconds = 2;

 public:
  explicit HttplibServer(const HttpServerOptions& options) : options_(options) {
    size_t threads = options.threads ? options.threads : 32;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    if (options.max_body_bytes) server_.set_payload_max_length(options.max_body_bytes);
    server_.set_read_timeout(options.read_timeout_s, 0);
    server_.set_write_timeout(options.write_timeout_s, 0);
    server_.set_keep_alive_timeout(kIdleSeconds);
    server_.set_keep_alive_max_count(1000);
    server_.set_tcp_nodelay(true);
    server_.set_socket_options([this](socket_t sock) {
      httplib::default_socket_options(sock);
      listen_fd_ = sock;
    });
    server_.set_error_handler(
        httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty() || !error_body_) return httplib::Server::HandlerResponse::Unhandled;
          HttpResponse r;
          r.status = res.status;
          error_body_(res.status, r);
          res.set_content(r.body, r.content_type.c_str());
          for (const auto& [k, v] : r.headers) res.set_header(k.c_str(), v);
          return httplib::Server::HandlerResponse::Handled;
        }));
    server_.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      HttpResponse r;
      r.status = 500;
      if (error_body_) error_body_(500, r);
      res.set_content(r.body, r.content_type.c_str());
    });
    server_.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      // The library has already written its own hint (kIdleSeconds) on responses that keep the
      // connection open, and none on those that close it.
      if (res.has_header("Keep-Alive")) {
        res.headers.erase("Keep-Alive");
        res.set_header("Keep-Alive", "timeout=" + std::to_string(kKeepAliveHintSeconds));
      }
      if (!response_headers_) return;
      for (const auto& [k, v] : response_headers_(convert(req)))
        if (!res.has_header(k.c_str())) res.set_header(k.c_str(), v);
    });
  }

  void route(const std::string& method, const std::string& pattern, Handler handler) override {
    auto h = [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
      HttpRequest r = convert(req);
      r.body = req.body;
      for (const auto& [name, f] : req.files) r.form.push_back({f.name, f.filename, f.content_type, f.content});
      const int local_port = req.local_port, remote_port = req.remote_port;
      auto fd = std::make_shared<int>(-2);
      r.client_connected = [fd, local_port, remote_port] {
        if (*fd == -2) *fd = find_connection_fd(local_port, remote_port);
        return *fd < 0 || socket_open(*fd);
      };
      HttpResponse out;
      handler(r, out);
      res.status = out.status;
      for (const auto& [k, v] : out.headers) res.set_header(k.c_str(), v);
      if (out.stream) {
        auto stream = std::make_shared<std::function<void(StreamSink&)>>(std::move(out.stream));
        res.set_chunked_content_provider(
            out.content_type,
            [stream](size_t, httplib::DataSink& sink) {
              SinkAdapter adapter(sink);
              if (*stream) {
                auto fn = std::move(*stream);
                *stream = nullptr;
                fn(adapter);
              }
              if (!adapter.ok()) return false;
              sink.done();
              return true;
            },
            [stream](bool) { *stream = nullptr; });
      } else if (res.has_header("Content-Encoding")) {
        // Already encoded (the embedded web page's gzip): a body of known length, which the
        // library sends as is instead of compressing it again.
        auto body = std::make_shared<std::string>(std::move(out.body));
        res.set_content_provider(body->size(), out.content_type,
                                 [body](size_t offset, size_t length, httplib::DataSink& sink) {
                                   return sink.write(body->data() + offset, std::min(length, body->size() - offset));
                                 });
      } else {
        res.set_content(out.body, out.content_type.c_str());
      }
    };
    if (method == "GET")
      server_.Get(pattern, std::move(h));
    else if (method == "POST")
      server_.Post(pattern, std::move(h));
    else if (method == "OPTIONS")
      server_.Options(pattern, std::move(h));
    else if (method == "DELETE")
      server_.Delete(pattern, std::move(h));
    else if (method == "PUT")
      server_.Put(pattern, std::move(h));
    else
      throw Error(ErrorKind::Internal, "http: unsupported method " + method);
  }

  void set_error_body(std::function<void(int, HttpResponse&)> fill) override { error_body_ = std::move(fill); }
  void set_response_headers(std::function<Headers(const HttpRequest&)> headers) override {
    response_headers_ = std::move(headers);
  }

  int bind() override {
    if (options_.port == 0) {
      port_ = server_.bind_to_any_port(options_.host);
      if (port_ <= 0) throw Error(ErrorKind::Unavailable, "cannot listen on " + options_.host + " (any port)");
    } else {
      if (!server_.bind_to_port(options_.host, options_.port))
        throw Error(ErrorKind::Unavailable, "cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                                                " (address in use or not available)");
      port_ = options_.port;
    }
    // The library listens with a backlog of 5: a burst of new connections (clients that open one
    // per request, as undici does here) overflowed it, and each dropped SYN cost its client a 1 s
    // retransmission before the request even reached the server. Listening again on the bound
    // socket raises the backlog (to the system's limit).
    if (listen_fd_ >= 0 && ::listen(listen_fd_, SOMAXCONN) != 0)
      log::warn(std::string("http: could not raise the listen backlog: ") + std::strerror(errno));
    return port_;
  }

  void run() override {
    entered_ = true;
    if (!stopping_) server_.listen_after_bind();
    returned_ = true;
  }
  // A stop() racing with the start of run() must not be lost: wait until the server listens (or
  // run() gave up) before stopping it.
  void stop() override {
    stopping_ = true;
    if (entered_)
      while (!server_.is_running() && !returned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
  }
  int port() const override { return port_; }

 private:
  HttpServerOptions options_;
  httplib::Server server_;
  std::function<void(int, HttpResponse&)> error_body_;
  std::function<Headers(const HttpRequest&)> response_headers_;
  int port_ = 0;
  socket_t listen_fd_ = -1;  // the listening socket, seen when the library creates it
  std::atomic<bool> entered_{false}, returned_{false}, stopping_{false};
};

}  // namespace

std::unique_ptr<HttpServer> make_http_server(const HttpServerOptions& options) {
  return std::make_unique<HttplibServer>(options);
}

}  // namespace oc::api
