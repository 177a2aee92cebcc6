// Typed errors shared by every layer. The API layer maps an ErrorKind to an HTTP status and an
// OpenAI error body in exactly one place; lower layers only say what went wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace oc {

enum class ErrorKind {
  InvalidRequest,  // the client sent something wrong (400)
  Unauthorized,    // missing or wrong API key (401)
  NotFound,        // unknown model or route (404)
  TooLarge,        // a body or media limit was exceeded (413)
  Overloaded,      // the queue is full (429)
  Unsupported,     // a valid request the server does not support (400, names the field)
  ModelLoad,       // a model folder or file cannot be used
  Cancelled,       // the request was cancelled (client gone, shutdown)
  Unavailable,     // the server is not ready (503)
  Internal,        // a bug or an unexpected runtime failure (500)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string param = {}, std::string code = {})
      : std::runtime_error(std::move(message)), kind_(kind), param_(std::move(param)), code_(std::move(code)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& param() const noexcept { return param_; }
  const std::string& code() const noexcept { return code_; }

 private:
  ErrorKind kind_;
  std::string param_;
  std::string code_;
};

}  // namespace oc
