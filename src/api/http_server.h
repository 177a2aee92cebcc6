// The HTTP server seen by the API layer: routes, requests, responses and streamed bodies. The
// library behind it (cpp-httplib today) is an implementation detail of http_server_httplib.cpp.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oc::api {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One field of a multipart/form-data body.
struct FormField {
  std::string name;
  std::string filename;  // "" for a plain field
  std::string content_type;
  std::string data;
};

struct HttpRequest {
  std::string method;
  std::string path;
  Headers headers;
  std::string body;                      // empty for multipart/form-data: see form
  std::vector<FormField> form;           // multipart/form-data fields (ordered by name)
  std::vector<std::string> path_params;  // regex captures of the route pattern, in order
  std::string remote;                    // "addr:port" of the client
  // Polls whether the client still has the connection open (false once it hung up). Cheap enough
  // to call every ~100 ms while a handler waits; always true when the library cannot tell.
  std::function<bool()> client_connected;

  // First header with this name (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// Where a streamed body goes. write() returns false once the client is gone.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual bool write(std::string_view data) = 0;
  virtual bool client_connected() = 0;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body is streamed (chunked transfer): called once with a sink after the status
  // and headers are sent, and returns when the body is complete. If the client is gone before
  // that, the function is destroyed without being called: captured resources must clean up in
  // their destructors.
  std::function<void(StreamSink&)> stream;

  void set_header(std::string name, std::string value);
};

using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;            // 0: any free port (see HttpServer::port())
  size_t max_body_bytes = 0;  // 0: unlimited; larger bodies answer 413 through the error body hook
  size_t threads = 32;        // connections served at once
  int read_timeout_s = 30;
  int write_timeout_s = 30;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // pattern is an ECMAScript regex matched against the whole path; captures go to path_params.
  virtual void route(const std::string& method, const std::string& pattern, Handler handler) = 0;
  // Body for responses the library produces itself (unknown route, 413, malformed request line)
  // and for any >= 400 response whose handler left the body empty.
  virtual void set_error_body(std::function<void(int status, HttpResponse&)> fill) = 0;
  // Extra headers for every response (CORS), computed from the request.
  virtual void set_response_headers(std::function<Headers(const HttpRequest&)> headers) = 0;
  // Binds the listening socket; throws oc::Error when it cannot. Returns the bound port.
  virtual int bind() = 0;
  // Serves until stop(); returns after the in-flight requests have finished.
  virtual void run() = 0;
  // Stops accepting connections; thread-safe, callable from a signal-handling thread.
  virtual void stop() = 0;
  virtual int port() const = 0;
};

std::unique_ptr<HttpServer> make_http_server(const HttpServerOptions& options);

}  // namespace oc::api
