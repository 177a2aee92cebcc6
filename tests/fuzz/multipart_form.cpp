// The fields of a multipart/form-data upload -> TranscriptionRequest. cpp-httplib splits the body
// into fields (Debian ships it as a compiled library, outside this instrumented build); what the
// server makes of the fields is fuzzed here. Input framing: fields separated by '\0', each
// "name\x01filename\x01content-type\x01data" (missing parts empty).
#include <algorithm>
#include <cstdint>
#include <functional>

#include "api/errors.h"
#include "api/transcription.h"
#include "fuzz_support.h"

using namespace oc;

namespace {

std::vector<api::FormField> fields_of(std::string_view in) {
  std::vector<api::FormField> out;
  while (!in.empty()) {
    const size_t end = std::min(in.find('\0'), in.size());
    std::string_view f = in.substr(0, end);
    in.remove_prefix(std::min(end + 1, in.size()));
    std::string parts[4];
    for (int i = 0; i < 4; ++i) {
      const size_t cut = i == 3 ? f.size() : std::min(f.find('\x01'), f.size());
      parts[i] = std::string(f.substr(0, cut));
      f.remove_prefix(std::min(cut + 1, f.size()));
    }
    out.push_back({parts[0], parts[1], parts[2], parts[3]});
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto form = fields_of(fuzz::as_text(data, size));
  for (bool translate : {false, true}) {
    try {
      api::TranscriptionRequest r = api::parse_transcription_request(form, translate);
      fuzz::check(!r.file.empty() && r.translate == translate, "a form without a file was accepted");
      api::transcription_instruction(r);
      if (r.temperature) fuzz::check(*r.temperature >= 0 && *r.temperature <= 1, "temperature out of range");
    } catch (...) {
      const api::ApiError e = api::api_error(std::current_exception());
      fuzz::check(e.status >= 400 && e.status < 500, "a form answered with a 5xx");
    }
  }
  return 0;
}
