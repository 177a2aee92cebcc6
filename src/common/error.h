// Typed errors shared by every layer. The API layer maps an ErrorKind to an HTTP status and an
// OpenAI error body in exactly one place; lower layers only say what went wrong.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

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

// Where in a request an error lies, in the request's own terms: a content part of a message of a
// conversation, or the n-th entry of a named list (`field`, `part`). Only the API layer spells it
// as a parameter name; a message of a located error does not name the place itself.
struct Location {
  int message = -1;   // index of the message in the conversation; -1: not in a message
  int part = -1;      // index of the content part in that message (or of the entry in `field`)
  std::string field;  // a list outside the messages ("images"), when message is -1

  bool empty() const noexcept { return message < 0 && part < 0 && field.empty(); }
  bool operator==(const Location&) const = default;
};

class Error : public std::runtime_error {
 public:
  // `param` names the request field the error is about ("prompt", "max_tokens").
  Error(ErrorKind kind, std::string message, std::string param = {}, std::string code = {})
      : std::runtime_error(std::move(message)), kind_(kind), param_(std::move(param)), code_(std::move(code)) {}
  Error(ErrorKind kind, std::string message, Location location, std::string code = {})
      : std::runtime_error(std::move(message)), kind_(kind), location_(std::move(location)), code_(std::move(code)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& param() const noexcept { return param_; }
  const Location& location() const noexcept { return location_; }
  const std::string& code() const noexcept { return code_; }

 private:
  ErrorKind kind_;
  std::string param_;
  Location location_;
  std::string code_;
};

// "what: message", or the message alone when `what` is empty (the caller locates the error).
std::string prefixed(std::string_view what, const std::string& message);

}  // namespace oc
