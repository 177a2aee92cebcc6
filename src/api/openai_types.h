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
  std::string type;  // "text" (media parts are rejected until their issues land)
  std::string text;
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

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<int> max_tokens;  // max_tokens or max_completion_tokens
  SamplingOptions sampling;
  std::vector<std::string> stop;
  int n = 1;
  bool logprobs = false;
  int top_logprobs = 0;
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  bool return_token_ids = false;  // extension: token ids of prompt and choices in the response
  std::string user;
};

struct CompletionRequest {
  std::string model;
  bool prompt_is_ids = false;
  std::string prompt;               // when text
  std::vector<int32_t> prompt_ids;  // when token ids
  std::optional<int> max_tokens;    // OpenAI's default is 16
  SamplingOptions sampling;
  std::vector<std::string> stop;
  int n = 1;
  std::optional<int> logprobs;  // 0..5 alternatives per token
  bool echo = false;
  bool stream = false;
  bool include_usage = false;
  bool return_token_ids = false;
  std::string user;
};

struct ParseLimits {
  int max_n = 16;
  int max_stop = 16;
};

// Parse + validate. Throw oc::Error: InvalidRequest (malformed JSON, wrong types, out-of-range
// values, unknown fields: param names the field), Unsupported (an OpenAI field or content part
// the server does not implement yet: param names it).
ChatRequest parse_chat_request(std::string_view body, const ParseLimits& limits = {});
CompletionRequest parse_completion_request(std::string_view body, const ParseLimits& limits = {});

// The template context's `messages` for a chat request (system/developer -> "system").
tmpl::Value messages_value(const std::vector<ChatMessage>& messages);

}  // namespace oc::api
