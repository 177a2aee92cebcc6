// Request bodies -> native structs (chat, completions and responses): every failure is a 4xx OpenAI error.
#include <cstdint>
#include <functional>

#include "api/errors.h"
#include "api/openai_types.h"
#include "fuzz_support.h"

using namespace oc;

namespace {

// The error mapper's view: what the client would get.
void expect_4xx(const std::function<void()>& f) {
  try {
    f();
  } catch (...) {
    const api::ApiError e = api::api_error(std::current_exception());
    fuzz::check(e.status >= 400 && e.status < 500, "a request body answered with a 5xx");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body = fuzz::as_text(data, size);
  const api::ParseLimits limits;
  expect_4xx([&] {
    api::ChatRequest r = api::parse_chat_request(body, limits);
    fuzz::check(!r.messages.empty(), "a chat request without messages was accepted");
    fuzz::check(r.n >= 1 && r.n <= limits.max_n, "n out of its limits");
    fuzz::check(r.image_count <= limits.max_images && r.audio_count <= limits.max_audio_clips, "media over limits");
    pipeline::template_messages(r.messages);
  });
  expect_4xx([&] {
    api::CompletionRequest r = api::parse_completion_request(body, limits);
    fuzz::check(r.prompt_is_ids ? !r.prompt_ids.empty() : true, "an empty id prompt was accepted");
  });
  expect_4xx([&] { api::parse_responses_request(body, limits); });
  return 0;
}
