// Model output -> content and tool calls, as it streams. Whatever the text and however it is cut
// into deltas, the parse is the same as for the whole text at once, and every call has a name and
// JSON arguments.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "api/structured_output.h"
#include "fuzz_support.h"

using namespace oc;

namespace {

struct Parsed {
  std::string content;
  std::vector<api::ToolCall> calls;
};

void add(Parsed& p, api::ToolCallParser::Out out) {
  p.content += out.content;
  for (auto& c : out.calls) p.calls.push_back(std::move(c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = data[0] % 16 + 1;  // the first byte: the delta length
  const std::string_view text = fuzz::as_text(data + 1, size - 1);

  api::ToolCallParser whole;
  Parsed a;
  add(a, whole.push(text));
  add(a, whole.flush());

  api::ToolCallParser streamed;
  Parsed b;
  for (size_t at = 0; at < text.size(); at += step) add(b, streamed.push(text.substr(at, step)));
  add(b, streamed.flush());

  fuzz::check(a.content == b.content, "streamed content differs from the whole text's");
  fuzz::check(a.calls.size() == b.calls.size(), "streamed calls differ from the whole text's");
  fuzz::check(whole.calls() == static_cast<int>(a.calls.size()), "calls() differs from the calls returned");
  for (size_t i = 0; i < a.calls.size(); ++i) {
    fuzz::check(a.calls[i].name == b.calls[i].name && a.calls[i].arguments == b.calls[i].arguments,
                "a streamed call differs from the whole text's");
    fuzz::check(!a.calls[i].id.empty(), "a call without an id");
  }
  return 0;
}
