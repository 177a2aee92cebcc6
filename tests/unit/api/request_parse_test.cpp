#include <gtest/gtest.h>

#include "api/errors.h"
#include "api/model_names.h"
#include "api/openai_types.h"
#include "common/error.h"

using namespace oc;
using namespace oc::api;

namespace {

// The error a body raises, as (kind, param).
std::pair<ErrorKind, std::string> chat_error(const std::string& body) {
  try {
    parse_chat_request(body);
  } catch (const Error& e) {
    return {e.kind(), e.param()};
  }
  return {ErrorKind::Internal, "<no error>"};
}

const char* kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

std::string chat(const std::string& extra) { return std::string("{\"model\":\"m\",") + kMsgs + extra + "}"; }

}  // namespace

TEST(ChatParse, MinimalRequest) {
  ChatRequest r = parse_chat_request(chat(""));
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].role, "user");
  EXPECT_EQ(r.messages[0].content, "hi");
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.n, 1);
}

TEST(ChatParse, AllSamplingFields) {
  ChatRequest r = parse_chat_request(chat(
      R"(,"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,"frequency_penalty":0.1,"presence_penalty":-0.2,)"
      R"("repetition_penalty":1.1,"seed":42,"stop":["a","b"],"n":2,"logprobs":true,"top_logprobs":3,)"
      R"("logit_bias":{"17":-100},"max_completion_tokens":12,"stream":true,"stream_options":{"include_usage":true},)"
      R"("response_format":{"type":"text"},"user":"u","parallel_tool_calls":true,"tools":[],"tool_choice":"none")"));
  EXPECT_DOUBLE_EQ(*r.sampling.temperature, 0.5);
  EXPECT_EQ(*r.sampling.top_k, 40);
  EXPECT_EQ(*r.sampling.seed, 42);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.n, 2);
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
  ASSERT_EQ(r.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(r.sampling.logit_bias[0].first, 17);
  EXPECT_EQ(*r.max_tokens, 12);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(ChatParse, NullMeansDefault) {
  ChatRequest r = parse_chat_request(chat(R"(,"temperature":null,"stop":null,"max_tokens":null,"seed":null)"));
  EXPECT_FALSE(r.sampling.temperature.has_value());
  EXPECT_FALSE(r.max_tokens.has_value());
}

TEST(ChatParse, StopString) {
  EXPECT_EQ(parse_chat_request(chat(R"(,"stop":"END")")).stop, std::vector<std::string>{"END"});
}

TEST(ChatParse, TextParts) {
  ChatRequest r = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})");
  ASSERT_TRUE(r.messages[0].content_is_parts);
  EXPECT_EQ(r.messages[0].parts.size(), 2u);
}

TEST(ChatParse, Errors) {
  EXPECT_EQ(chat_error("{not json").first, ErrorKind::InvalidRequest);
  EXPECT_EQ(chat_error("[1,2]").first, ErrorKind::InvalidRequest);
  EXPECT_EQ(chat_error(chat(R"(,"temperature":"hot")")),
            std::make_pair(ErrorKind::InvalidRequest, std::string("temperature")));
  EXPECT_EQ(chat_error(chat(R"(,"temperature":3)")).second, "temperature");
  EXPECT_EQ(chat_error(chat(R"(,"max_tokens":0)")).second, "max_tokens");
  EXPECT_EQ(chat_error(chat(R"(,"max_tokens":1.5)")).second, "max_tokens");
  EXPECT_EQ(chat_error(chat(R"(,"n":100)")).second, "n");
  EXPECT_EQ(chat_error(chat(R"(,"bogus":1)")), std::make_pair(ErrorKind::InvalidRequest, std::string("bogus")));
  EXPECT_EQ(chat_error(chat(R"(,"stream_options":{"x":1})")).second, "stream_options.x");
  EXPECT_EQ(chat_error(chat(R"(,"top_logprobs":2)")).second, "top_logprobs");
  EXPECT_EQ(chat_error(chat(R"(,"stop":[""])")).second, "stop");
  EXPECT_EQ(chat_error(R"({"model":"m","messages":[]})").second, "messages");
  EXPECT_EQ(chat_error(R"({"model":"m","messages":"hi"})").second, "messages");
  EXPECT_EQ(chat_error(R"({"messages":[{"role":"user","content":"x"}]})").second, "model");
  EXPECT_EQ(chat_error(R"({"model":3,"messages":[{"role":"user","content":"x"}]})").second, "model");
  EXPECT_EQ(chat_error(R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})").second, "messages[0].role");
  EXPECT_EQ(chat_error(R"({"model":"m","messages":[{"role":"user"}]})").second, "messages[0].content");
  EXPECT_EQ(chat_error(R"({"model":"m","messages":[{"role":"user","content":"x","foo":1}]})").second,
            "messages[0].foo");
  EXPECT_EQ(chat_error(R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})").second,
            "messages[0].content[0].text");
}

TEST(ChatParse, UnsupportedFieldsAreNamed) {
  EXPECT_EQ(chat_error(chat(R"(,"tools":[{"type":"function","function":{"name":"f"}}])")),
            std::make_pair(ErrorKind::Unsupported, std::string("tools")));
  EXPECT_EQ(chat_error(chat(R"(,"response_format":{"type":"json_schema","json_schema":{}})")),
            std::make_pair(ErrorKind::Unsupported, std::string("response_format")));
  EXPECT_EQ(chat_error(chat(R"(,"images":["AAAA"])")), std::make_pair(ErrorKind::Unsupported, std::string("images")));
  EXPECT_EQ(
      chat_error(
          R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})"),
      std::make_pair(ErrorKind::Unsupported, std::string("messages[0].content[0]")));
}

TEST(ChatParse, MessagesValueMapsDeveloperToSystem) {
  ChatRequest r = parse_chat_request(
      R"({"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}]})");
  tmpl::Value v = messages_value(r.messages);
  ASSERT_TRUE(v.is_array());
  EXPECT_EQ(v.as_array()[0].get("role").as_string(), "system");
  EXPECT_EQ(v.as_array()[1].get("content").as_string(), "hi");
}

TEST(CompletionParse, PromptForms) {
  auto r = parse_completion_request(R"({"model":"m","prompt":"hello"})");
  EXPECT_FALSE(r.prompt_is_ids);
  EXPECT_EQ(r.prompt, "hello");
  r = parse_completion_request(R"({"model":"m","prompt":[2,3,4]})");
  EXPECT_TRUE(r.prompt_is_ids);
  EXPECT_EQ(r.prompt_ids, (std::vector<int32_t>{2, 3, 4}));
  r = parse_completion_request(R"({"model":"m","prompt":["x"],"logprobs":2,"echo":true})");
  EXPECT_EQ(r.prompt, "x");
  EXPECT_EQ(*r.logprobs, 2);
  EXPECT_THROW(parse_completion_request(R"({"model":"m","prompt":["x","y"]})"), Error);
  EXPECT_THROW(parse_completion_request(R"({"model":"m","prompt":{}})"), Error);
  EXPECT_THROW(parse_completion_request(R"({"model":"m","prompt":"x","messages":[]})"), Error);
}

TEST(ModelNames, Matching) {
  ServedName s{"gemma-3n-E2B-it-ONNX", "onnx-community/gemma-3n-E2B-it-ONNX", "Q4_MIXED"};
  EXPECT_EQ(match_model_name("gemma-3n-E2B-it-ONNX", s), NameMatch::Yes);
  EXPECT_EQ(match_model_name("Gemma-3n-E2B-it-ONNX/Q4_MIXED", s), NameMatch::Yes);
  EXPECT_EQ(match_model_name("gemma-3n-e2b-it-onnx/q4_mixed", s), NameMatch::Yes);
  EXPECT_EQ(match_model_name("onnx-community/gemma-3n-E2B-it-ONNX", s), NameMatch::Yes);
  EXPECT_EQ(match_model_name("ONNX-COMMUNITY/gemma-3n-E2B-it-ONNX/Q4_MIXED", s), NameMatch::Yes);
  EXPECT_EQ(match_model_name("gemma-3n-E2B-it-ONNX/FP16", s), NameMatch::OtherPreset);
  EXPECT_EQ(match_model_name("gpt-4o", s), NameMatch::No);
  EXPECT_EQ(match_model_name("other/gemma-3n-E2B-it-ONNX", s), NameMatch::No);
  ServedName local{"tiny", "", "Q4_MIXED"};
  EXPECT_EQ(match_model_name("someone/tiny", local), NameMatch::Yes);
  EXPECT_EQ(match_model_name("a/b/tiny", local), NameMatch::No);
}

TEST(Errors, Mapping) {
  ApiError a = api_error(Error(ErrorKind::InvalidRequest, "bad", "temperature"));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(error_json(a),
            R"({"error":{"code":null,"message":"bad","param":"temperature","type":"invalid_request_error"}})");
  EXPECT_EQ(api_error(Error(ErrorKind::Unauthorized, "x")).status, 401);
  EXPECT_EQ(api_error(Error(ErrorKind::NotFound, "x", "model", "model_not_found")).code, "model_not_found");
  EXPECT_EQ(api_error(Error(ErrorKind::TooLarge, "x")).status, 413);
  ApiError busy = api_error(Error(ErrorKind::Overloaded, "x"));
  EXPECT_EQ(busy.status, 429);
  EXPECT_GT(busy.retry_after_s, 0);
  EXPECT_EQ(api_error(Error(ErrorKind::Unavailable, "x")).status, 503);
  EXPECT_EQ(api_error(std::make_exception_ptr(std::runtime_error("boom"))).status, 500);
  EXPECT_EQ(api_error_for_status(413).code, "request_too_large");
}
