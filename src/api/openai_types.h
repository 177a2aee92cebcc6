// OpenAI requests as native structs: parsed and validated at the edge (request_parse.cpp), so that
// nothing past the API layer sees JSON. Field meanings follow OpenAI's API; extensions are marked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "pipeline/conversation.h"

namespace oc::api {

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
  // Image parts hold their image_url as a MediaSource::Url (or ::Base64 for a legacy `images`
  // entry), audio parts their input_audio data as ::Base64 with its format.
  std::vector<pipeline::Message> messages;
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
  // The legacy `images` entries are the parts of message images_message from images_first_part on.
  int images_message = -1;
  int images_first_part = 0;
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

// Where a location in a chat request's messages lies in the request as sent: the part itself
// ({message, part}: "messages[m].content[p]"), or an entry of the legacy `images` field.
Location request_location(const ChatRequest& r, const Location& at);

}  // namespace oc::api
