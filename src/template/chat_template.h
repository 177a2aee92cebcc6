// Chat templates: a Jinja interpreter sufficient for Hugging Face chat templates, rendering
// byte-identical to the reference (@huggingface/jinja).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

#include "template/value.h"

namespace oc::tmpl {

// A template that cannot be parsed, or that fails while rendering (raise_exception, a type
// error, a limit). message() is what the client sees in a 400.
class TemplateError : public std::runtime_error {
 public:
  TemplateError(std::string message, int line = 0, int column = 0)
      : std::runtime_error(std::move(message)), line_(line), column_(column) {}
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_;
  int column_;
};

struct RenderLimits {
  size_t max_steps = 10'000'000;       // evaluated nodes and loop iterations
  size_t max_output_bytes = 64 << 20;  // rendered text (and any string a template builds)
  size_t max_depth = 250;              // nested evaluations (recursive macros); ~1.5 KB of stack each
};

class ChatTemplate {
 public:
  // Parses once; throws TemplateError with line/column.
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;

  // context is an Object: messages, tools, add_generation_prompt, bos_token, eos_token, and any
  // custom kwargs. Throws TemplateError.
  std::string render(const Value& context, const RenderLimits& limits = {}) const;
  // The same with a fixed clock for strftime_now (local time of `now`), for reproducible renders.
  std::string render(const Value& context, const RenderLimits& limits, std::chrono::system_clock::time_point now) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oc::tmpl
