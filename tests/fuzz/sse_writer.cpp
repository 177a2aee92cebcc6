// The SSE writer: any text (a token, an error message naming client input, invalid UTF-8
// included) becomes exactly one well-formed `data:` event whose payload is JSON.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "common/utf8.h"
#include "fuzz_support.h"

using namespace oc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(fuzz::as_text(data, size));
  const api::ApiError e{400, text, "invalid_request_error", text, text};
  const std::string event = api::error_sse(e);
  fuzz::check(event.rfind("data: ", 0) == 0, "an event not starting with 'data: '");
  fuzz::check(event.size() >= 8 && event.compare(event.size() - 2, 2, "\n\n") == 0, "an event not ending a frame");
  const std::string_view payload(event.data() + 6, event.size() - 8);
  fuzz::check(payload.find_first_of("\r\n") == std::string_view::npos, "a line break inside one event");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(payload);
  } catch (const nlohmann::json::exception&) {
    fuzz::check(false, "an event payload that is not JSON");
  }
  fuzz::check(j["error"]["message"].is_string(), "no error message");
  if (utf8::is_valid(text)) fuzz::check(j["error"]["message"] == text, "the message changed on the way");
  return 0;
}
