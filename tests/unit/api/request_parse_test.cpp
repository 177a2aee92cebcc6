#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>

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

TEST(ChatParse, ToolsAndResponseFormat) {
  ChatRequest r = parse_chat_request(chat(
      R"(,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"b":{},"a":{}}}}}],)"
      R"("tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,)"
      R"("response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"z":{},"y":{}}}}})"));
  ASSERT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(r.tools[0].name, "f");
  EXPECT_EQ(r.tools[0].parameters, R"({"type":"object","properties":{"b":{},"a":{}}})");  // document order
  EXPECT_EQ(r.tool_choice, "function");
  EXPECT_EQ(r.tool_choice_name, "f");
  EXPECT_FALSE(r.parallel_tool_calls);
  EXPECT_EQ(r.format.kind, OutputFormat::Kind::JsonSchema);
  EXPECT_EQ(r.format.schema, R"({"type":"object","properties":{"z":{},"y":{}}})");
  EXPECT_EQ(chat_error(chat(R"(,"tools":[{"type":"function","function":{"name":"a b"}}])")),
            std::make_pair(ErrorKind::InvalidRequest, std::string("tools[0].function.name")));
  EXPECT_EQ(chat_error(chat(R"(,"tool_choice":"required")")),
            std::make_pair(ErrorKind::InvalidRequest, std::string("tool_choice")));
  EXPECT_EQ(chat_error(chat(R"(,"response_format":{"type":"json_schema","json_schema":{}})")),
            std::make_pair(ErrorKind::InvalidRequest, std::string("response_format.json_schema.name")));
}

// Numbers the JSON library cannot hold and bodies nested too deeply are the client's error
// (invalid_json), on both endpoints, wherever they appear.
TEST(ChatParse, OutOfRangeNumbersAndDeepNestingAreInvalidJson) {
  auto code_of = [](auto parse, const std::string& body) {
    try {
      parse(body, ParseLimits{});
    } catch (const Error& e) {
      return std::to_string(static_cast<int>(e.kind())) + " " + e.code();
    } catch (const std::exception& e) {
      return std::string("escaped: ") + e.what();
    }
    return std::string("no error");
  };
  const std::string want = std::to_string(static_cast<int>(ErrorKind::InvalidRequest)) + " invalid_json";
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  for (const std::string& body :
       {chat(R"(,"temperature":1e999)"), chat(R"(,"seed":-1E+400)"), chat(R"(,"metadata":{"a":[1e999]})"),
        std::string(R"({"x":1e999})"), std::string("1e999"),
        R"({"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":)" + deep + "}]}"})
    EXPECT_EQ(code_of(parse_chat_request, body), want) << body.substr(0, 120);
  for (const std::string& body :
       {std::string(R"({"model":"m","prompt":[1e999]})"), std::string(R"({"model":"m","prompt":"x","top_p":1e999})"),
        R"({"model":"m","prompt":)" + deep + "}"})
    EXPECT_EQ(code_of(parse_completion_request, body), want) << body.substr(0, 120);
  // 100 levels are fine (real requests nest far less).
  std::string nested = "{}";
  for (int i = 0; i < 99; ++i) nested = R"({"a":)" + nested + "}";
  EXPECT_EQ(code_of(parse_chat_request, chat(R"(,"metadata":)" + nested)), "no error");
}

TEST(ChatParse, UnsupportedFieldsAreNamed) {
  EXPECT_EQ(chat_error(chat(R"(,"tools":[{"type":"code_interpreter"}])")),
            std::make_pair(ErrorKind::Unsupported, std::string("tools[0].type")));
  EXPECT_EQ(chat_error(R"({"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{}}]}]})"),
            std::make_pair(ErrorKind::Unsupported, std::string("messages[0].content[0]")));
}

TEST(ChatParse, MessagesValueMapsDeveloperToSystem) {
  ChatRequest r = parse_chat_request(
      R"({"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}]})");
  tmpl::Value v = pipeline::template_messages(r.messages);
  ASSERT_TRUE(v.is_array());
  EXPECT_EQ(v.as_array()[0].get("role").as_string(), "system");
  EXPECT_EQ(v.as_array()[1].get("content").as_string(), "hi");
}

// ---- media content parts ----

namespace {

std::string user_parts(const std::string& parts, const std::string& extra = "") {
  return R"({"model":"m","messages":[{"role":"user","content":[)" + parts + "]}]" + extra + "}";
}

const char* kImagePart = R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}})";
const char* kAudioPart = R"({"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}})";

std::vector<std::string> template_types(const tmpl::Value& messages, size_t index) {
  std::vector<std::string> out;
  for (const auto& p : messages.as_array()[index].get("content").as_array()) out.push_back(p.get("type").as_string());
  return out;
}

}  // namespace

TEST(ChatMedia, ImageAndAudioParts) {
  ChatRequest r = parse_chat_request(user_parts(
      std::string(R"({"type":"text","text":"what is this?"},)") + kImagePart + "," +
      R"({"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}},)" + kAudioPart));
  EXPECT_EQ(r.image_count, 2);
  EXPECT_EQ(r.audio_count, 1);
  const auto& parts = r.messages[0].parts;
  ASSERT_EQ(parts.size(), 4u);
  using Kind = pipeline::MediaSource::Kind;
  EXPECT_EQ(parts[1].type, pipeline::Modality::Image);
  EXPECT_EQ(parts[1].source.data, "data:image/png;base64,AAAA");
  EXPECT_EQ(parts[1].source.kind, Kind::Url);
  EXPECT_EQ(parts[2].source.data, "https://example.com/a.png");
  EXPECT_EQ(parts[3].type, pipeline::Modality::Audio);
  EXPECT_EQ(parts[3].source.kind, Kind::Base64);
  EXPECT_EQ(parts[3].source.data, "AAAA");
  EXPECT_EQ(parts[3].source.format, "wav");
  EXPECT_EQ(param_name(request_location(r, Location{0, 3, {}})), "messages[0].content[3]");

  tmpl::Value v = pipeline::template_messages(r.messages);
  EXPECT_EQ(template_types(v, 0), (std::vector<std::string>{"text", "image", "image", "audio"}));
}

TEST(ChatMedia, ImageUrlAsString) {
  ChatRequest r = parse_chat_request(user_parts(R"({"type":"image_url","image_url":"data:image/jpeg;base64,/9j/"})"));
  EXPECT_EQ(r.messages[0].parts[0].source.data, "data:image/jpeg;base64,/9j/");
}

TEST(ChatMedia, OrderAcrossMessages) {
  ChatRequest r = parse_chat_request(
      std::string(R"({"model":"m","messages":[{"role":"user","content":[)") + kAudioPart + "," + kImagePart +
      R"(]},{"role":"assistant","content":"ok"},{"role":"user","content":[)" + kImagePart + "]}]}");
  tmpl::Value v = pipeline::template_messages(r.messages);
  EXPECT_EQ(template_types(v, 0), (std::vector<std::string>{"audio", "image"}));
  EXPECT_EQ(template_types(v, 2), (std::vector<std::string>{"image"}));
}

TEST(ChatMedia, PartErrorsNameTheField) {
  auto err = [](const std::string& part) { return chat_error(user_parts(part)); };
  const auto bad = ErrorKind::InvalidRequest;
  EXPECT_EQ(err(R"({"type":"image_url"})"), std::make_pair(bad, std::string("messages[0].content[0].image_url")));
  EXPECT_EQ(err(R"({"type":"image_url","image_url":{}})"),
            std::make_pair(bad, std::string("messages[0].content[0].image_url.url")));
  EXPECT_EQ(err(R"({"type":"image_url","image_url":{"url":""}})"),
            std::make_pair(bad, std::string("messages[0].content[0].image_url.url")));
  EXPECT_EQ(err(R"({"type":"image_url","image_url":{"url":5}})"),
            std::make_pair(bad, std::string("messages[0].content[0].image_url.url")));
  EXPECT_EQ(err(R"({"type":"image_url","image_url":{"url":"x","detail":"ultra"}})"),
            std::make_pair(bad, std::string("messages[0].content[0].image_url.detail")));
  EXPECT_EQ(err(R"({"type":"image_url","image_url":{"url":"x","size":1}})"),
            std::make_pair(bad, std::string("messages[0].content[0].image_url.size")));
  EXPECT_EQ(err(R"({"type":"image_url","image_url":{"url":"x"},"text":"t"})"),
            std::make_pair(bad, std::string("messages[0].content[0].text")));
  EXPECT_EQ(err(R"({"type":"input_audio","input_audio":{"data":"AAAA"}})"),
            std::make_pair(bad, std::string("messages[0].content[0].input_audio.format")));
  EXPECT_EQ(err(R"({"type":"input_audio","input_audio":{"format":"wav"}})"),
            std::make_pair(bad, std::string("messages[0].content[0].input_audio.data")));
  EXPECT_EQ(err(R"({"type":"input_audio","input_audio":{"data":"","format":"wav"}})"),
            std::make_pair(bad, std::string("messages[0].content[0].input_audio.data")));
  EXPECT_EQ(err(R"({"type":"input_audio","input_audio":"AAAA"})"),
            std::make_pair(bad, std::string("messages[0].content[0].input_audio")));
  EXPECT_EQ(err(R"({"type":"video_url","video_url":{}})"),
            std::make_pair(bad, std::string("messages[0].content[0].type")));
}

TEST(ChatMedia, MediaOnlyInUserMessages) {
  EXPECT_EQ(chat_error(std::string(R"({"model":"m","messages":[{"role":"system","content":[)") + kImagePart + "]}]}"),
            std::make_pair(ErrorKind::InvalidRequest, std::string("messages[0].content[0].type")));
  EXPECT_EQ(chat_error(std::string(R"({"model":"m","messages":[{"role":"user","content":"a"},)") +
                       R"({"role":"assistant","content":[)" + kAudioPart + "]}]}"),
            std::make_pair(ErrorKind::InvalidRequest, std::string("messages[1].content[0].type")));
}

TEST(ChatMedia, PerRequestLimits) {
  ParseLimits limits;
  limits.max_images = 2;
  limits.max_audio_clips = 1;
  std::string three = std::string(kImagePart) + "," + kImagePart + "," + kImagePart;
  try {
    parse_chat_request(user_parts(three), limits);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidRequest);
    EXPECT_EQ(e.param(), "messages[0].content[2]");
    EXPECT_EQ(e.code(), "too_many_images");
    EXPECT_NE(std::string(e.what()).find("at most 2 images"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(parse_chat_request(user_parts(std::string(kImagePart) + "," + kImagePart), limits));
  try {
    parse_chat_request(user_parts(std::string(kAudioPart) + "," + kAudioPart), limits);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.param(), "messages[0].content[1]");
    EXPECT_EQ(e.code(), "too_many_audio_clips");
  }
  // The legacy field counts too.
  try {
    parse_chat_request(user_parts(std::string(kImagePart) + "," + kImagePart, R"(,"images":["AAAA"])"), limits);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.param(), "images[0]");
  }
}

TEST(ChatMedia, LegacyImagesGoToTheLastUserMessage) {
  ChatRequest r = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},)"
      R"({"role":"user","content":"describe"}],"images":["iVBORw0KGgo=","data:image/png;base64,iVBORw0KGgo="]})");
  EXPECT_EQ(r.image_count, 2);
  EXPECT_FALSE(r.messages[0].content_is_parts);
  const pipeline::Message& last = r.messages[2];
  ASSERT_TRUE(last.content_is_parts);
  ASSERT_EQ(last.parts.size(), 3u);
  EXPECT_EQ(last.parts[0].type, pipeline::Modality::Text);
  EXPECT_EQ(last.parts[0].text, "describe");
  EXPECT_EQ(last.parts[1].type, pipeline::Modality::Image);
  EXPECT_EQ(last.parts[1].source.kind, pipeline::MediaSource::Kind::Base64);
  EXPECT_EQ(last.parts[2].source.data, "data:image/png;base64,iVBORw0KGgo=");
  // Their locations are spelled as entries of `images`; the other parts' are not.
  EXPECT_EQ(param_name(request_location(r, Location{2, 1, {}})), "images[0]");
  EXPECT_EQ(param_name(request_location(r, Location{2, 2, {}})), "images[1]");
  EXPECT_EQ(param_name(request_location(r, Location{2, 0, {}})), "messages[2].content[0]");
  EXPECT_EQ(param_name(request_location(r, Location{0, 0, {}})), "messages[0].content[0]");
  tmpl::Value v = pipeline::template_messages(r.messages);
  EXPECT_EQ(template_types(v, 2), (std::vector<std::string>{"text", "image", "image"}));
  // Key order does not matter, parts are appended after existing ones, an empty list is nothing.
  r = parse_chat_request(std::string(R"({"images":["AAAA"],"model":"m","messages":[{"role":"user","content":[)") +
                         kAudioPart + "]}]}");
  ASSERT_EQ(r.messages[0].parts.size(), 2u);
  EXPECT_EQ(r.messages[0].parts[0].type, pipeline::Modality::Audio);
  EXPECT_EQ(r.messages[0].parts[1].type, pipeline::Modality::Image);
  EXPECT_EQ(parse_chat_request(chat(R"(,"images":[])")).image_count, 0);
  EXPECT_EQ(parse_chat_request(chat(R"(,"images":null)")).image_count, 0);
}

TEST(ChatMedia, LegacyImagesErrors) {
  EXPECT_EQ(chat_error(R"({"model":"m","messages":[{"role":"system","content":"s"}],"images":["AAAA"]})"),
            std::make_pair(ErrorKind::InvalidRequest, std::string("images")));
  EXPECT_EQ(chat_error(chat(R"(,"images":"AAAA")")), std::make_pair(ErrorKind::InvalidRequest, std::string("images")));
  EXPECT_EQ(chat_error(chat(R"(,"images":[1])")), std::make_pair(ErrorKind::InvalidRequest, std::string("images[0]")));
  EXPECT_EQ(chat_error(chat(R"(,"images":["AAAA",""])")),
            std::make_pair(ErrorKind::InvalidRequest, std::string("images[1]")));
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

// ---- fields both endpoints share ----

namespace {

struct ParseError {
  ErrorKind kind = ErrorKind::Internal;
  std::string message = "<no error>", param, code;
  bool operator==(const ParseError&) const = default;
};

std::ostream& operator<<(std::ostream& os, const ParseError& e) {
  return os << "{kind " << static_cast<int>(e.kind) << ", '" << e.message << "', param '" << e.param << "', code '"
            << e.code << "'}";
}

// The error parsing `body` raises, in full.
template <typename Request>
ParseError parse_error(Request (*parse)(std::string_view, const ParseLimits&), const nlohmann::json& body) {
  try {
    parse(body.dump(), {});
  } catch (const Error& e) {
    return {e.kind(), e.what(), e.param(), e.code()};
  }
  return {};
}
ParseError chat_parse_error(const nlohmann::json& body) { return parse_error(parse_chat_request, body); }
ParseError completion_parse_error(const nlohmann::json& body) { return parse_error(parse_completion_request, body); }

const nlohmann::json kChatBody = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
const nlohmann::json kCompletionBody = {{"model", "m"}, {"prompt", "hi"}};

// The errors of (chat, completions) for their minimal bodies with `key` set to `value` (or removed).
std::pair<ParseError, ParseError> shared_errors(const std::string& key, const nlohmann::json& value,
                                                bool remove = false) {
  nlohmann::json chat = kChatBody, completion = kCompletionBody;
  for (nlohmann::json* b : {&chat, &completion}) {
    if (remove)
      b->erase(key);
    else
      (*b)[key] = value;
  }
  return {chat_parse_error(chat), completion_parse_error(completion)};
}

}  // namespace

TEST(SharedFields, ErrorsAreTheSameOnBothEndpoints) {
  using nlohmann::json;
  const auto bad = ErrorKind::InvalidRequest;
  struct Case {
    std::string key;
    json value;
    ParseError want;
  };
  const std::vector<Case> cases = {
      {"temperature",
       "hot",
       {bad, "Invalid type for 'temperature': expected a number, but got a string.", "temperature", "invalid_type"}},
      {"temperature",
       3,
       {bad, "Invalid 'temperature': expected a value between 0 and 2, but got 3.", "temperature", "invalid_value"}},
      {"top_p", -1, {bad, "Invalid 'top_p': expected a value between 0 and 1, but got -1.", "top_p", "invalid_value"}},
      {"top_k",
       -2,
       {bad, "Invalid 'top_k': expected a value between -1 and 1048576, but got -2.", "top_k", "invalid_value"}},
      {"top_k",
       1.5,
       {bad, "Invalid type for 'top_k': expected an integer, but got a number.", "top_k", "invalid_type"}},
      {"min_p", 2, {bad, "Invalid 'min_p': expected a value between 0 and 1, but got 2.", "min_p", "invalid_value"}},
      {"repetition_penalty",
       0,
       {bad, "Invalid 'repetition_penalty': expected a value between 0.01 and 10, but got 0.", "repetition_penalty",
        "invalid_value"}},
      {"frequency_penalty",
       3,
       {bad, "Invalid 'frequency_penalty': expected a value between -2 and 2, but got 3.", "frequency_penalty",
        "invalid_value"}},
      {"presence_penalty",
       -3,
       {bad, "Invalid 'presence_penalty': expected a value between -2 and 2, but got -3.", "presence_penalty",
        "invalid_value"}},
      {"seed", "x", {bad, "Invalid type for 'seed': expected an integer, but got a string.", "seed", "invalid_type"}},
      {"logit_bias",
       json::array(),
       {bad, "Invalid type for 'logit_bias': expected an object mapping token ids to numbers, but got an array.",
        "logit_bias", "invalid_type"}},
      {"logit_bias",
       {{"x", 1}},
       {bad, "Invalid 'logit_bias': key 'x' is not a token id.", "logit_bias", "invalid_value"}},
      {"logit_bias",
       {{"5", 200}},
       {bad, "Invalid 'logit_bias.5': expected a value between -100 and 100, but got 200.", "logit_bias.5",
        "invalid_value"}},
      {"stop",
       5,
       {bad, "Invalid type for 'stop': expected a string or an array of strings, but got an integer.", "stop",
        "invalid_type"}},
      {"stop",
       {1},
       {bad, "Invalid type for 'stop[0]': expected a string, but got an integer.", "stop[0]", "invalid_type"}},
      {"stop", {""}, {bad, "Invalid 'stop': stop sequences must not be empty.", "stop", "invalid_value"}},
      {"stop",
       std::vector<std::string>(17, "x"),
       {bad, "Invalid 'stop': at most 16 stop sequences are allowed.", "stop", "invalid_value"}},
      {"n", 0, {bad, "Invalid 'n': expected a value between 1 and 16, but got 0.", "n", "invalid_value"}},
      {"n", "2", {bad, "Invalid type for 'n': expected an integer, but got a string.", "n", "invalid_type"}},
      {"max_tokens",
       0,
       {bad, "Invalid 'max_tokens': expected a value between 1 and 2147483647, but got 0.", "max_tokens",
        "invalid_value"}},
      {"max_tokens",
       "5",
       {bad, "Invalid type for 'max_tokens': expected an integer, but got a string.", "max_tokens", "invalid_type"}},
      {"stream",
       "yes",
       {bad, "Invalid type for 'stream': expected a boolean, but got a string.", "stream", "invalid_type"}},
      {"stream_options",
       1,
       {bad, "Invalid type for 'stream_options': expected an object, but got an integer.", "stream_options",
        "invalid_type"}},
      {"stream_options",
       {{"include_usage", "y"}},
       {bad, "Invalid type for 'stream_options.include_usage': expected a boolean, but got a string.",
        "stream_options.include_usage", "invalid_type"}},
      {"stream_options",
       {{"include_obfuscation", 1}},
       {bad, "Invalid type for 'stream_options.include_obfuscation': expected a boolean, but got an integer.",
        "stream_options.include_obfuscation", "invalid_type"}},
      {"stream_options",
       {{"x", 1}},
       {bad, "Unrecognized request argument supplied: stream_options.x", "stream_options.x", "unknown_parameter"}},
      {"user", 5, {bad, "Invalid type for 'user': expected a string, but got an integer.", "user", "invalid_type"}},
      {"return_token_ids",
       "y",
       {bad, "Invalid type for 'return_token_ids': expected a boolean, but got a string.", "return_token_ids",
        "invalid_type"}},
      {"model", 3, {bad, "Invalid type for 'model': expected a string, but got an integer.", "model", "invalid_type"}},
      {"model", nullptr, {bad, "Invalid type for 'model': expected a string, but got null.", "model", "invalid_type"}},
      {"bogus", 1, {bad, "Unrecognized request argument supplied: bogus", "bogus", "unknown_parameter"}},
      {"bogus", nullptr, {bad, "Unrecognized request argument supplied: bogus", "bogus", "unknown_parameter"}},
  };
  for (const auto& c : cases) {
    auto [chat, completion] = shared_errors(c.key, c.value);
    EXPECT_EQ(chat, c.want) << "chat, " << c.key << ": " << c.value.dump();
    EXPECT_EQ(completion, c.want) << "completions, " << c.key << ": " << c.value.dump();
  }
  const ParseError no_model{bad, "Missing required parameter: 'model'.", "model", "missing_required_parameter"};
  EXPECT_EQ(shared_errors("model", nullptr, true), std::make_pair(no_model, no_model));
}

TEST(SharedFields, NullMeansDefaultOnBothEndpoints) {
  for (const char* key :
       {"temperature", "top_p", "top_k", "min_p", "repetition_penalty", "frequency_penalty", "presence_penalty", "seed",
        "logit_bias", "max_tokens", "stop", "n", "logprobs", "stream", "stream_options", "user", "return_token_ids"}) {
    EXPECT_EQ(shared_errors(key, nullptr), std::make_pair(ParseError{}, ParseError{})) << key;
  }
}

TEST(SharedFields, ValuesOnBothEndpoints) {
  const std::string fields =
      R"("temperature":0.5,"top_p":0.9,"top_k":-1,"min_p":0.05,"repetition_penalty":1.1,"frequency_penalty":0.1,)"
      R"("presence_penalty":-0.2,"seed":-7,"logit_bias":{"17":-100,"3":2.5},"max_tokens":12,"stop":"END","n":3,)"
      R"("stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false},"user":"u",)"
      R"("return_token_ids":true})";
  auto check = [](const auto& r) {
    EXPECT_EQ(r.model, "m");
    EXPECT_DOUBLE_EQ(*r.sampling.temperature, 0.5);
    EXPECT_DOUBLE_EQ(*r.sampling.top_p, 0.9);
    EXPECT_EQ(*r.sampling.top_k, 0);  // -1: off
    EXPECT_DOUBLE_EQ(*r.sampling.min_p, 0.05);
    EXPECT_DOUBLE_EQ(*r.sampling.repetition_penalty, 1.1);
    EXPECT_DOUBLE_EQ(r.sampling.frequency_penalty, 0.1);
    EXPECT_DOUBLE_EQ(r.sampling.presence_penalty, -0.2);
    EXPECT_EQ(*r.sampling.seed, -7);
    EXPECT_EQ(r.sampling.logit_bias, (std::vector<std::pair<int32_t, float>>{{17, -100.0f}, {3, 2.5f}}));
    EXPECT_EQ(*r.max_tokens, 12);
    EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
    EXPECT_EQ(r.n, 3);
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
    EXPECT_EQ(r.user, "u");
    EXPECT_TRUE(r.return_token_ids);
  };
  check(parse_chat_request(std::string(R"({"model":"m",)") + kMsgs + "," + fields));
  check(parse_completion_request(R"({"model":"m","prompt":"hi",)" + fields));
}

TEST(SharedFields, EndpointFieldsStayOnTheirEndpoint) {
  // Each endpoint's own optional fields take null as "default".
  for (const char* key : {"max_completion_tokens", "top_logprobs", "response_format", "tools", "tool_choice",
                          "parallel_tool_calls", "store", "metadata", "service_tier", "functions", "function_call",
                          "modalities", "audio", "prediction", "reasoning_effort", "images", "web_search_options"}) {
    nlohmann::json body = kChatBody;
    body[key] = nullptr;
    EXPECT_EQ(chat_parse_error(body), ParseError{}) << key;
  }
  for (const char* key : {"echo", "best_of", "suffix"}) {
    nlohmann::json body = kCompletionBody;
    body[key] = nullptr;
    EXPECT_EQ(completion_parse_error(body), ParseError{}) << key;
  }
  // Fields of one endpoint are unknown to the other, null or not.
  for (const char* key : {"echo", "best_of", "suffix"}) {
    nlohmann::json body = kChatBody;
    body[key] = nullptr;
    EXPECT_EQ(chat_error(body.dump()), std::make_pair(ErrorKind::InvalidRequest, std::string(key)));
  }
  for (const char* key : {"messages", "max_completion_tokens", "top_logprobs", "response_format", "tools", "images"}) {
    nlohmann::json body = kCompletionBody;
    body[key] = nullptr;
    ParseError e = completion_parse_error(body);
    EXPECT_EQ(e.param, key);
    EXPECT_EQ(e.code, "unknown_parameter");
  }
  // Each endpoint's own required field, null or missing.
  auto [chat_prompt, completion_prompt] = shared_errors("prompt", nullptr);
  EXPECT_EQ(chat_prompt.code, "unknown_parameter");
  EXPECT_EQ(completion_prompt, (ParseError{ErrorKind::InvalidRequest,
                                           "Invalid type for 'prompt': expected a string or token ids, but got null.",
                                           "prompt", "invalid_type"}));
  EXPECT_EQ(completion_parse_error({{"model", "m"}}),
            (ParseError{ErrorKind::InvalidRequest, "Missing required parameter: 'prompt'.", "prompt",
                        "missing_required_parameter"}));
  EXPECT_EQ(chat_parse_error({{"model", "m"}, {"messages", nullptr}}),
            (ParseError{ErrorKind::InvalidRequest, "Invalid type for 'messages': expected an array, but got null.",
                        "messages", "invalid_type"}));
  EXPECT_EQ(chat_parse_error({{"model", "m"}}),
            (ParseError{ErrorKind::InvalidRequest, "Missing required parameter: 'messages'.", "messages",
                        "missing_required_parameter"}));
  // max_completion_tokens is chat's other name for max_tokens, with its own param.
  EXPECT_EQ(*parse_chat_request(chat(R"(,"max_completion_tokens":7)")).max_tokens, 7);
  ParseError e = chat_parse_error(nlohmann::json::parse(chat(R"(,"max_completion_tokens":0)")));
  EXPECT_EQ(e, (ParseError{ErrorKind::InvalidRequest,
                           "Invalid 'max_completion_tokens': expected a value between 1 and 2147483647, but got 0.",
                           "max_completion_tokens", "invalid_value"}));
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

TEST(Errors, LocationsBecomeParams) {
  ApiError a = api_error(Error(ErrorKind::InvalidRequest, "truncated PNG data", Location{1, 0, {}}, "invalid_image"));
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.param, "messages[1].content[0]");
  EXPECT_EQ(a.message, "messages[1].content[0]: truncated PNG data");
  EXPECT_EQ(a.code, "invalid_image");
  EXPECT_EQ(api_error(Error(ErrorKind::InvalidRequest, "x", Location{-1, 2, "images"})).param, "images[2]");
  EXPECT_EQ(param_name(Location{3, -1, {}}), "messages[3]");
  EXPECT_EQ(param_name(Location{-1, -1, "file"}), "file");
  // An error without a location keeps its message.
  EXPECT_EQ(api_error(Error(ErrorKind::InvalidRequest, "bad", "temperature")).message, "bad");
}
