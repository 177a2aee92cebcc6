#include "common/error.h"

namespace oc {

std::string prefixed(std::string_view what, const std::string& message) {
  return what.empty() ? message : std::string(what) + ": " + message;
}

}  // namespace oc
