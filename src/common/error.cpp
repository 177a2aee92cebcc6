#include "common/error.h"

namespace oc {

std::string prefixed(std::string_view what, const std::string& message) {
  if (what.empty()) return message;
  std::string out(what);
  out += ": ";
  out += message;
  return out;
}

}  // namespace oc
