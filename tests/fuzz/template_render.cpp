// Chat templates (model files) parsed and rendered with client messages: every failure is a
// TemplateError (a 400 for the client) or an oc::Error, within the step, output and depth limits.
// Input: the template source, then '\0', then the user message (invalid UTF-8 is fine).
#include <algorithm>
#include <chrono>
#include <cstdint>

#include "fuzz_support.h"
#include "template/chat_template.h"

using namespace oc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::as_text(data, size);
  const size_t cut = std::min(in.find('\0'), in.size());
  const std::string source(in.substr(0, cut));
  const std::string message(in.substr(std::min(cut + 1, in.size())));
  tmpl::RenderLimits limits;
  limits.max_steps = 200'000;  // hostile templates loop: smaller limits keep the fuzzer fast
  limits.max_output_bytes = 1 << 20;
  limits.max_depth = 100;
  try {
    const tmpl::ChatTemplate t(source);
    tmpl::Array messages;
    messages.emplace_back(tmpl::Object{{"role", tmpl::Value(std::string("user"))}, {"content", tmpl::Value(message)}});
    messages.emplace_back(
        tmpl::Object{{"role", tmpl::Value(std::string("assistant"))}, {"content", tmpl::Value(std::string("ok"))}});
    tmpl::Object ctx{{"messages", tmpl::Value(std::move(messages))},
                     {"add_generation_prompt", tmpl::Value(true)},
                     {"bos_token", tmpl::Value(std::string("<s>"))},
                     {"eos_token", tmpl::Value(std::string("</s>"))},
                     {"tools", tmpl::Value(nullptr)}};
    const std::string out =
        t.render(tmpl::Value(std::move(ctx)), limits, std::chrono::system_clock::time_point(std::chrono::seconds(0)));
    fuzz::check(out.size() <= limits.max_output_bytes, "rendered output over the limit");
  } catch (const tmpl::TemplateError&) {
  } catch (const Error& e) {
    fuzz::check(e.kind() != ErrorKind::Internal, "a template failure mapped to a server error");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: unexpected exception escaped: %s\n", e.what());
    std::abort();
  }
  return 0;
}
