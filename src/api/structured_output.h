// Structured output and tool calls of chat requests: the grammar the output must follow
// (response_format, tool_choice "required" or a named function), the tool definitions and the tool
// history in the prompt (through the model's chat template when it renders tools, else in the
// generic format of docs/STRUCTURED.md), and the model's tool-call text parsed back into calls.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/openai_types.h"
#include "grammar/matcher.h"
#include "models/model.h"
#include "template/value.h"

namespace oc::api {

struct ToolCall {
  std::string id;  // "call_..."
  std::string name;
  std::string arguments;  // JSON text
};

// The conversation a chat request renders: `messages` and, when the template renders tools, `tools`
// (undefined otherwise; the generic format puts the tools into a system message and the tool
// history into text turns instead). `source[i]` is the index in the request of the message that
// `messages[i]` comes from (errors located in `messages` name the request's message).
struct PromptInput {
  std::vector<pipeline::Message> messages;
  tmpl::Value tools;
  std::vector<int> source;
};
PromptInput prompt_input(const models::Model& model, const ChatRequest& request);

// The grammar the output follows, or nullptr for free text. Throws oc::Error naming the request
// field ("response_format.json_schema.schema", "tools[0].function.parameters") for a schema that
// cannot be enforced.
std::shared_ptr<const grammar::Constraint> output_constraint(const models::Model& model, const ChatRequest& request);

// Splits one choice's text into content and tool calls as it streams: text deltas in, content
// deltas and completed calls out. A call is `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`;
// text that cannot be one is content.
class ToolCallParser {
 public:
  struct Out {
    std::string content;
    std::vector<ToolCall> calls;
  };
  Out push(std::string_view text);
  Out flush();  // the end of the output: held text is content
  int calls() const { return calls_; }

 private:
  Out drain(bool at_end);
  std::string held_;
  int calls_ = 0;
};

}  // namespace oc::api
