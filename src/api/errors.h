// The one error mapper: typed errors -> HTTP status + OpenAI error body (and SSE error events).
#pragma once

#include <exception>
#include <string>

#include "api/http_server.h"
#include "common/error.h"

namespace oc::api {

struct ApiError {
  int status = 500;
  std::string message;
  std::string type;       // OpenAI error type: invalid_request_error, authentication_error, ...
  std::string param;      // "" -> null
  std::string code;       // "" -> null
  int retry_after_s = 0;  // 429: Retry-After
};

// The parameter a location names: "messages[1].content[0]", "messages[1]", "images[2]".
std::string param_name(const Location& at);

// Status, type and default code of a kind. A located error (no param of its own) names its
// location as param, and its message starts with it ("messages[0].content[1]: truncated PNG data").
ApiError api_error(const Error& e);
// Any exception (oc::Error, a template error, std::exception, unknown) as an ApiError.
ApiError api_error(std::exception_ptr e);
// An error for a status the HTTP library produced itself (404 route, 413 body, 400 request line).
ApiError api_error_for_status(int status);

// {"error":{"message","type","param","code"}}
std::string error_json(const ApiError& e);
// "data: {error json}\n\n" for a stream that already sent its headers.
std::string error_sse(const ApiError& e);
// Fills status, body and headers of a response.
void write_error(HttpResponse& res, const ApiError& e);

}  // namespace oc::api
