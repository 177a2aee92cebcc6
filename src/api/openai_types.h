// OpenAI requests as native structs: parsed and validated at the edge (request_parse.cpp), so that
// nothing past the API layer sees JSON. Field meanings follow OpenAI's API; extensions are marked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "template/value.h"

namespace oc::api {

struct ContentPart {
  std::string type;  // "text", "image_url", "input_audio"
  std::string text;
  // image_url: `url` is a data: URI, an http(s):// or file:// URL, or (legacy `images` field
  // only) bare base64; `detail` as sent ("auto", "low", "high"; it changes nothing).
  std::string url;
  std::string detail;
  bool bare_base64 = false;  // legacy `images` entry that is not a data: URI
  // input_audio: base64 `data` and the client's `format` ("wav", "mp3", ...).
  std::string audio_data;
  std::string audio_format;
  // The request field this part came from, for error messages ("messages[1].content[0]",
  // "images[2]").
  std::string label;

  bool is_image() const { return type == "image_url"; }
  bool is_audio() const { return type == "input_audio"; }
};

struct ChatMessage {
  std::string role;  // system, developer, user, assistant, tool
  // content: a string, a list of parts, or null (an assistant message with tool calls).
  bool content_is_null = false;
  bool content_is_parts = false;
  std::string content;  // when a string
  std::vector<ContentPart> parts;
  std::string name;
  std::string tool_call_id;
  tmpl::Value tool_calls;  // as sent (undefined when absent)
};

struct SamplingOptions {
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<int> top_k;
  double frequency_penalty = 0, presence_penalty = 0;
  std::optional<int64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;
};

// The fields both endpoints take, with the same meaning and checks (parsed once for both).
struct CommonRequest {
  std::string model;
  std::optional<int> max_tokens;  // chat: max_tokens or max_completion_tokens; completions: OpenAI's default is 16
  SamplingOptions sampling;
  std::vector<std::string> stop;
  int n = 1;
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  bool return_token_ids = false;  // extension: token ids of prompt and choices in the response
  std::string user;
};

// A function the model may call (`tools` entry).
struct ToolDef {
  std::string name;
  std::string description;
  std::string parameters;  // JSON Schema as JSON text; "" when absent
  bool strict = false;
  tmpl::Value value;  // the whole entry as sent (for the chat template)
};

// response_format.
struct OutputFormat {
  enum class Kind { Text, JsonObject, JsonSchema };
  Kind kind = Kind::Text;
  std::string schema;  // json_schema: the schema as JSON text
};

struct ChatRequest : CommonRequest {
  std::vector<ChatMessage> messages;
  OutputFormat format;
  std::vector<ToolDef> tools;
  // tool_choice: "none", "auto", "required", or "function" (one named function).
  std::string tool_choice = "auto";
  std::string tool_choice_name;
  bool parallel_tool_calls = true;
  bool logprobs = false;
  int top_logprobs = 0;
  int image_count = 0;  // image parts (legacy `images` included)
  int audio_count = 0;  // input_audio parts
};

struct CompletionRequest : CommonRequest {
  bool prompt_is_ids = false;
  std::string prompt;               // when text
  std::vector<int32_t> prompt_ids;  // when token ids
  std::optional<int> logprobs;      // 0..5 alternatives per token
  bool echo = false;
};

// A /v1/responses request as a chat request (messages are the input items as chat messages:
// function calls as assistant tool_calls, function call outputs as tool messages; text.format as
// the format, max_output_tokens as max_tokens).
struct ResponsesRequest {
  ChatRequest chat;
  std::string instructions;
  std::string previous_response_id;
  bool store = true;
};

struct ParseLimits {
  int max_n = 16;
  int max_stop = 16;
  int max_images = 8;       // image parts per request (--max-images)
  int max_audio_clips = 4;  // input_audio parts per request (--max-audio-clips)
};

// Parse + validate. Throw oc::Error: InvalidRequest (malformed JSON, wrong types, out-of-range
// values, unknown fields, too many images or audio clips: param names the field), Unsupported (an
// OpenAI field or content part the server does not implement: param names it). The legacy
// top-level `images` array (base64 or data: URIs) becomes image parts appended, in order, to the
// last user message (400 when there is none).
ChatRequest parse_chat_request(std::string_view body, const ParseLimits& limits = {});
CompletionRequest parse_completion_request(std::string_view body, const ParseLimits& limits = {});
ResponsesRequest parse_responses_request(std::string_view body, const ParseLimits& limits = {});

// The template context's `messages` for a chat request (system/developer -> "system"). Image parts
// become {"type": "image"} and audio parts {"type": "audio"}: the chat template places one media
// placeholder per part, in message and part order (the order of media_parts()).
tmpl::Value messages_value(const std::vector<ChatMessage>& messages);

// The media parts of a request in the order the template places them.
std::vector<const ContentPart*> media_parts(const std::vector<ChatMessage>& messages);

}  // namespace oc::api
