#include "template/chat_template.h"

#include "template/lexer.h"
#include "template/parser.h"
#include "template/runtime.h"

namespace oc::tmpl {

struct ChatTemplate::Impl {
  std::string source;
  detail::NodePtr program;
};

ChatTemplate::ChatTemplate(const std::string& source) : impl_(std::make_unique<Impl>()) {
  impl_->source = source;
  auto tokens = detail::tokenize(impl_->source);
  impl_->program = detail::parse(tokens, impl_->source);
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const Value& context, const RenderLimits& limits) const {
  return render(context, limits, std::chrono::system_clock::now());
}

std::string ChatTemplate::render(const Value& context, const RenderLimits& limits,
                                 std::chrono::system_clock::time_point now) const {
  detail::Interpreter interpreter(impl_->source, limits, now);
  return interpreter.run(*impl_->program, context);
}

}  // namespace oc::tmpl
