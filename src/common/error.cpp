#include "common/error.h"

namespace oc {

const char* error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidRequest:
      return "invalid_request";
    case ErrorKind::Unauthorized:
      return "unauthorized";
    case ErrorKind::NotFound:
      return "not_found";
    case ErrorKind::TooLarge:
      return "too_large";
    case ErrorKind::Overloaded:
      return "overloaded";
    case ErrorKind::Unsupported:
      return "unsupported";
    case ErrorKind::ModelLoad:
      return "model_load";
    case ErrorKind::Cancelled:
      return "cancelled";
    case ErrorKind::Unavailable:
      return "unavailable";
    case ErrorKind::Internal:
      return "internal";
  }
  return "internal";
}

std::string prefixed(std::string_view what, const std::string& message) {
  return what.empty() ? message : std::string(what) + ": " + message;
}

}  // namespace oc
