// JSON -> ChatRequest / CompletionRequest, with OpenAI-style errors naming the offending field.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>

#include "api/errors.h"
#include "api/openai_types.h"
#include "common/error.h"
#include "common/strings.h"

namespace oc::api {
namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void invalid(const std::string& param, const std::string& message, const std::string& code = {}) {
  throw Error(ErrorKind::InvalidRequest, message, param, code);
}

[[noreturn]] void unsupported(const std::string& param, const std::string& message) {
  throw Error(ErrorKind::Unsupported, message, param, "unsupported_parameter");
}

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "an unknown type";
  }
}

[[noreturn]] void wrong_type(const std::string& param, const json& v, const char* expected) {
  invalid(param, "Invalid type for '" + param + "': expected " + expected + ", but got " + type_name(v) + ".",
          "invalid_type");
}

// Deeper bodies are refused while parsing: converting and freeing values recurse.
constexpr int kMaxJsonDepth = 128;

json parse_body(std::string_view body) {
  json j;
  try {
    j = json::parse(body.begin(), body.end(), [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxJsonDepth)
        invalid(
            "",
            "The JSON body of your request is nested too deeply (over " + std::to_string(kMaxJsonDepth) + " levels).",
            "invalid_json");
      return true;
    });
  } catch (const json::exception& e) {
    // Syntax errors and numbers out of range (1e999) alike: the client's JSON, never a server error.
    invalid("", std::string("We could not parse the JSON body of your request: ") + e.what(), "invalid_json");
  }
  if (!j.is_object())
    invalid("", "The request body must be a JSON object, but got " + std::string(type_name(j)) + ".", "invalid_json");
  return j;
}

std::string get_string(const std::string& param, const json& v) {
  if (!v.is_string()) wrong_type(param, v, "a string");
  return v.get<std::string>();
}

bool get_bool(const std::string& param, const json& v) {
  if (!v.is_boolean()) wrong_type(param, v, "a boolean");
  return v.get<bool>();
}

double get_number(const std::string& param, const json& v, double lo, double hi) {
  if (!v.is_number()) wrong_type(param, v, "a number");
  double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    std::ostringstream s;
    s << "Invalid '" << param << "': expected a value between " << lo << " and " << hi << ", but got " << v.dump()
      << ".";
    invalid(param, s.str(), "invalid_value");
  }
  return d;
}

int64_t get_int(const std::string& param, const json& v, int64_t lo, int64_t hi) {
  // Integral floats (2.0) are accepted as integers, as OpenAI does.
  int64_t i = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      i = std::numeric_limits<int64_t>::max();
    else
      i = v.get<int64_t>();
  } else if (v.is_number_float() && std::isfinite(v.get<double>()) && v.get<double>() == std::floor(v.get<double>()) &&
             std::abs(v.get<double>()) < 9e18) {
    i = static_cast<int64_t>(v.get<double>());
  } else {
    wrong_type(param, v, "an integer");
  }
  if (i < lo || i > hi) {
    invalid(param,
            "Invalid '" + param + "': expected a value between " + std::to_string(lo) + " and " + std::to_string(hi) +
                ", but got " + v.dump() + ".",
            "invalid_value");
  }
  return i;
}

std::vector<std::string> get_stop(const json& v, int max_stop) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (static_cast<int>(v.size()) > max_stop)
      invalid("stop", "Invalid 'stop': at most " + std::to_string(max_stop) + " stop sequences are allowed.",
              "invalid_value");
    for (size_t i = 0; i < v.size(); ++i) out.push_back(get_string("stop[" + std::to_string(i) + "]", v[i]));
  } else {
    wrong_type("stop", v, "a string or an array of strings");
  }
  for (const auto& s : out)
    if (s.empty()) invalid("stop", "Invalid 'stop': stop sequences must not be empty.", "invalid_value");
  return out;
}

std::vector<std::pair<int32_t, float>> get_logit_bias(const json& v) {
  if (!v.is_object()) wrong_type("logit_bias", v, "an object mapping token ids to numbers");
  std::vector<std::pair<int32_t, float>> out;
  for (const auto& [key, val] : v.items()) {
    const std::string param = "logit_bias." + key;
    char* end = nullptr;
    long id = std::strtol(key.c_str(), &end, 10);
    if (key.empty() || *end || id < 0 || id > std::numeric_limits<int32_t>::max())
      invalid("logit_bias", "Invalid 'logit_bias': key '" + key + "' is not a token id.", "invalid_value");
    out.emplace_back(static_cast<int32_t>(id), static_cast<float>(get_number(param, val, -100, 100)));
  }
  return out;
}

void parse_stream_options(const json& v, bool& include_usage) {
  if (!v.is_object()) wrong_type("stream_options", v, "an object");
  for (const auto& [key, val] : v.items()) {
    if (key == "include_usage") {
      if (!val.is_null()) include_usage = get_bool("stream_options.include_usage", val);
    } else if (key == "include_obfuscation") {
      if (!val.is_null()) get_bool("stream_options.include_obfuscation", val);  // no obfuscation is ever added
    } else {
      invalid("stream_options." + key, "Unrecognized request argument supplied: stream_options." + key,
              "unknown_parameter");
    }
  }
}

[[noreturn]] void missing(const std::string& param) {
  invalid(param, "Missing required parameter: '" + param + "'.", "missing_required_parameter");
}

[[noreturn]] void unknown_field(const std::string& param) {
  invalid(param, "Unrecognized request argument supplied: " + param, "unknown_parameter");
}

int get_max_tokens(const std::string& param, const json& v) {
  return static_cast<int>(get_int(param, v, 1, std::numeric_limits<int>::max()));
}

// A field both endpoints take, into `r`; false when `key` is not one of them.
bool parse_common_field(const std::string& key, const json& v, CommonRequest& r, const ParseLimits& limits) {
  SamplingOptions& s = r.sampling;
  if (key == "model") {
    r.model = get_string(key, v);
  } else if (key == "temperature") {
    s.temperature = get_number(key, v, 0, 2);
  } else if (key == "top_p") {
    s.top_p = get_number(key, v, 0, 1);
  } else if (key == "top_k") {
    int64_t k = get_int(key, v, -1, 1 << 20);
    s.top_k = static_cast<int>(k < 0 ? 0 : k);
  } else if (key == "min_p") {
    s.min_p = get_number(key, v, 0, 1);
  } else if (key == "repetition_penalty") {
    s.repetition_penalty = get_number(key, v, 0.01, 10);
  } else if (key == "frequency_penalty") {
    s.frequency_penalty = get_number(key, v, -2, 2);
  } else if (key == "presence_penalty") {
    s.presence_penalty = get_number(key, v, -2, 2);
  } else if (key == "seed") {
    s.seed = get_int(key, v, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  } else if (key == "logit_bias") {
    s.logit_bias = get_logit_bias(v);
  } else if (key == "max_tokens") {
    r.max_tokens = get_max_tokens(key, v);
  } else if (key == "stop") {
    r.stop = get_stop(v, limits.max_stop);
  } else if (key == "n") {
    r.n = static_cast<int>(get_int(key, v, 1, limits.max_n));
  } else if (key == "stream") {
    r.stream = get_bool(key, v);
  } else if (key == "stream_options") {
    parse_stream_options(v, r.include_usage);
  } else if (key == "user") {
    r.user = get_string(key, v);
  } else if (key == "return_token_ids") {
    r.return_token_ids = get_bool(key, v);
  } else {
    return false;
  }
  return true;
}

// The optional fields of parse_common_field (`logprobs` is optional on both endpoints too, but
// means something else on each).
constexpr const char* kCommonOptional[] = {"temperature",
                                           "top_p",
                                           "top_k",
                                           "min_p",
                                           "repetition_penalty",
                                           "frequency_penalty",
                                           "presence_penalty",
                                           "seed",
                                           "logit_bias",
                                           "max_tokens",
                                           "stop",
                                           "n",
                                           "stream",
                                           "stream_options",
                                           "user",
                                           "return_token_ids"};

bool one_of(const std::string& key, std::span<const char* const> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return key == n; });
}

OutputFormat parse_response_format(const json& v) {
  if (!v.is_object()) wrong_type("response_format", v, "an object");
  auto it = v.find("type");
  if (it == v.end()) missing("response_format.type");
  std::string type = get_string("response_format.type", *it);
  OutputFormat f;
  if (type == "text" || type == "json_object") {
    for (const auto& [key, val] : v.items())
      if (key != "type") unknown_field("response_format." + key);
    if (type == "json_object") f.kind = OutputFormat::Kind::JsonObject;
    return f;
  }
  if (type == "json_schema") {
    for (const auto& [key, val] : v.items())
      if (key != "type" && key != "json_schema") unknown_field("response_format." + key);
    auto js = v.find("json_schema");
    if (js == v.end()) missing("response_format.json_schema");
    if (!js->is_object()) wrong_type("response_format.json_schema", *js, "an object");
    for (const auto& [key, val] : js->items()) {
      const std::string p = "response_format.json_schema." + key;
      if (key == "name" || key == "description") {
        get_string(p, val);
      } else if (key == "strict") {
        if (!val.is_null()) get_bool(p, val);
      } else if (key == "schema") {
        if (!val.is_object() && !val.is_boolean()) wrong_type(p, val, "an object");
        f.schema = val.dump();
      } else {
        unknown_field(p);
      }
    }
    if (!js->contains("name")) missing("response_format.json_schema.name");
    f.kind = OutputFormat::Kind::JsonSchema;
    if (f.schema.empty()) f.schema = "{}";
    return f;
  }
  invalid(
      "response_format.type",
      "Invalid 'response_format.type': expected one of 'text', 'json_object', 'json_schema', but got '" + type + "'.",
      "invalid_value");
}

tmpl::Value to_value(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return tmpl::Value(nullptr);
    case json::value_t::boolean:
      return tmpl::Value(j.get<bool>());
    case json::value_t::number_integer:
      return tmpl::Value(j.get<int64_t>());
    case json::value_t::number_unsigned:
      return tmpl::Value(static_cast<int64_t>(j.get<uint64_t>()));
    case json::value_t::number_float:
      return tmpl::Value(j.get<double>());
    case json::value_t::string:
      return tmpl::Value(j.get<std::string>());
    case json::value_t::array: {
      tmpl::Array a;
      for (const auto& x : j) a.push_back(to_value(x));
      return tmpl::Value(std::move(a));
    }
    case json::value_t::object: {
      tmpl::Object o;
      for (const auto& [k, x] : j.items()) o.emplace_back(k, to_value(x));
      return tmpl::Value(std::move(o));
    }
    default:
      return {};
  }
}

// {"type":"image_url","image_url":{"url": URL, "detail": "auto"|"low"|"high"}}; the URL may also be
// given directly as the value of image_url.
void parse_image_url(const std::string& param, const json& v, pipeline::ContentPart& part) {
  const std::string p = param + ".image_url";
  std::string& url = part.source.data;
  part.source.kind = pipeline::MediaSource::Kind::Url;
  if (v.is_string()) {
    url = v.get<std::string>();
  } else if (v.is_object()) {
    for (const auto& [key, val] : v.items()) {
      if (key == "url") {
        url = get_string(p + ".url", val);
      } else if (key == "detail") {  // checked; it changes nothing
        if (val.is_null()) continue;
        const std::string detail = get_string(p + ".detail", val);
        if (detail != "auto" && detail != "low" && detail != "high")
          invalid(p + ".detail",
                  "Invalid '" + p + ".detail': expected one of 'auto', 'low', 'high', but got '" + detail + "'.",
                  "invalid_value");
      } else {
        unknown_field(p + "." + key);
      }
    }
    if (!v.contains("url")) missing(p + ".url");
  } else {
    wrong_type(p, v, "an object with a 'url'");
  }
  if (url.empty()) invalid(p + ".url", "Invalid '" + p + ".url': the URL is empty.", "invalid_value");
}

// {"type":"input_audio","input_audio":{"data": base64, "format": "wav"|"mp3"|...}}
void parse_input_audio(const std::string& param, const json& v, pipeline::ContentPart& part) {
  part.source.kind = pipeline::MediaSource::Kind::Base64;
  const std::string p = param + ".input_audio";
  if (!v.is_object()) wrong_type(p, v, "an object with 'data' and 'format'");
  for (const auto& [key, val] : v.items()) {
    if (key == "data")
      part.source.data = get_string(p + ".data", val);
    else if (key == "format")
      part.source.format = get_string(p + ".format", val);
    else
      unknown_field(p + "." + key);
  }
  if (!v.contains("data")) missing(p + ".data");
  if (!v.contains("format")) missing(p + ".format");
  if (part.source.data.empty())
    invalid(p + ".data", "Invalid '" + p + ".data': the audio data is empty.", "invalid_value");
  if (part.source.format.empty())
    invalid(p + ".format", "Invalid '" + p + ".format': the format is empty (e.g. 'wav', 'mp3').", "invalid_value");
}

pipeline::ContentPart parse_part(const std::string& param, const json& v, const std::string& role) {
  if (!v.is_object()) wrong_type(param, v, "an object");
  auto t = v.find("type");
  if (t == v.end()) missing(param + ".type");
  pipeline::ContentPart part;
  const std::string type = get_string(param + ".type", *t);
  const char* payload = nullptr;  // the member holding the part's value
  if (type == "text") {
    payload = "text";
  } else if (type == "image_url") {
    payload = "image_url";
    part.type = pipeline::Modality::Image;
  } else if (type == "input_audio") {
    payload = "input_audio";
    part.type = pipeline::Modality::Audio;
  } else if (type == "file") {
    unsupported(param, "'file' content parts are not supported");
  } else if (type == "refusal") {
    unsupported(param, "'refusal' content parts are not supported");
  } else {
    invalid(param + ".type",
            "Invalid '" + param + ".type': expected one of 'text', 'image_url', 'input_audio', but got '" + type + "'.",
            "invalid_value");
  }
  for (const auto& [key, val] : v.items()) {
    if (key == "type") continue;
    if (key != payload) unknown_field(param + "." + key);
    if (part.type == pipeline::Modality::Text)
      part.text = get_string(param + ".text", val);
    else if (part.type == pipeline::Modality::Image)
      parse_image_url(param, val, part);
    else
      parse_input_audio(param, val, part);
  }
  if (!v.contains(payload)) missing(param + "." + payload);
  if (part.is_media() && role != "user")
    invalid(param + ".type",
            "Invalid '" + param + "': '" + type + "' content parts are only allowed in user messages, not in '" + role +
                "' messages.",
            "invalid_value");
  return part;
}

pipeline::Message parse_message(const std::string& param, const json& v) {
  if (!v.is_object()) wrong_type(param, v, "an object");
  pipeline::Message m;
  auto r = v.find("role");
  if (r == v.end())
    invalid(param + ".role", "Missing required parameter: '" + param + ".role'.", "missing_required_parameter");
  m.role = get_string(param + ".role", *r);
  static const char* roles[] = {"system", "developer", "user", "assistant", "tool"};
  bool known = false;
  for (const char* x : roles) known |= m.role == x;
  if (!known)
    invalid(param + ".role",
            "Invalid '" + param +
                ".role': expected one of 'system', 'developer', 'user', 'assistant', 'tool', but got '" + m.role + "'.",
            "invalid_value");
  bool has_content = false;
  for (const auto& [key, val] : v.items()) {
    const std::string p = param + "." + key;
    if (key == "role") continue;
    if (key == "content") {
      has_content = true;
      if (val.is_null()) {
        m.content_is_null = true;
      } else if (val.is_string()) {
        m.content = val.get<std::string>();
      } else if (val.is_array()) {
        m.content_is_parts = true;
        for (size_t i = 0; i < val.size(); ++i)
          m.parts.push_back(parse_part(p + "[" + std::to_string(i) + "]", val[i], m.role));
      } else {
        wrong_type(p, val, "a string or an array of content parts");
      }
    } else if (key == "name") {
      m.name = get_string(p, val);
    } else if (key == "tool_call_id") {
      m.tool_call_id = get_string(p, val);
    } else if (key == "tool_calls") {
      if (!val.is_null()) {
        if (!val.is_array()) wrong_type(p, val, "an array");
        m.tool_calls = to_value(val);
      }
    } else if (key == "refusal" || key == "audio" || key == "function_call") {
      if (!val.is_null()) unsupported(p, "'" + p + "' is not supported");
    } else {
      unknown_field(p);
    }
  }
  bool content_optional = m.role == "assistant" && !m.tool_calls.is_undefined();
  if ((!has_content || m.content_is_null) && !content_optional)
    invalid(param + ".content", "Missing required parameter: '" + param + ".content'.", "missing_required_parameter");
  if (!has_content) m.content_is_null = true;
  return m;
}

// The older Python server's `images`: image parts appended, in order, to the last user message
// (whose string content becomes a text part first).
void attach_legacy_images(ChatRequest& r, std::vector<pipeline::ContentPart> images) {
  for (size_t i = 0; i < r.messages.size(); ++i)
    if (r.messages[i].role == "user") r.images_message = static_cast<int>(i);
  if (r.images_message < 0)
    invalid("images", "Invalid 'images': the request has no user message to attach the images to.", "invalid_value");
  pipeline::Message& last_user = r.messages[static_cast<size_t>(r.images_message)];
  if (!last_user.content_is_parts) {
    last_user.content_is_parts = true;
    if (!last_user.content.empty()) {
      pipeline::ContentPart text;
      text.text = std::move(last_user.content);
      last_user.parts.push_back(std::move(text));
    }
    last_user.content.clear();
  }
  r.images_first_part = static_cast<int>(last_user.parts.size());
  for (auto& p : images) last_user.parts.push_back(std::move(p));
}

// Counts the media parts and enforces the per-request limits (the first part over a limit is named).
void count_media(ChatRequest& r, const ParseLimits& limits) {
  for (size_t m = 0; m < r.messages.size(); ++m) {
    const auto& parts = r.messages[m].parts;
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto label = [&] {
        return param_name(request_location(r, Location{static_cast<int>(m), static_cast<int>(i), {}}));
      };
      if (parts[i].type == pipeline::Modality::Image && ++r.image_count == limits.max_images + 1)
        invalid(label(),
                "Too many images: this server accepts at most " + std::to_string(limits.max_images) +
                    " images per request (--max-images); '" + label() + "' is image " + std::to_string(r.image_count) +
                    ".",
                "too_many_images");
      if (parts[i].type == pipeline::Modality::Audio && ++r.audio_count == limits.max_audio_clips + 1)
        invalid(label(),
                "Too many audio clips: this server accepts at most " + std::to_string(limits.max_audio_clips) +
                    " audio clips per request (--max-audio-clips); '" + label() + "' is clip " +
                    std::to_string(r.audio_count) + ".",
                "too_many_audio_clips");
    }
  }
}

// {"type":"function","function":{"name","description","parameters","strict"}}, also the flat form
// of the Responses API ({"type":"function","name",...}).
std::vector<ToolDef> parse_tools(const json& v, const std::string& param = "tools") {
  if (!v.is_array()) wrong_type(param, v, "an array");
  std::vector<ToolDef> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = param + "[" + std::to_string(i) + "]";
    const json& t = v[i];
    if (!t.is_object()) wrong_type(p, t, "an object");
    auto type = t.find("type");
    if (type == t.end()) missing(p + ".type");
    if (get_string(p + ".type", *type) != "function")
      unsupported(p + ".type", "only tools of type 'function' are supported");
    const bool nested = t.contains("function");
    const json& f = nested ? t["function"] : t;
    const std::string fp = nested ? p + ".function" : p;
    if (!f.is_object()) wrong_type(fp, f, "an object");
    ToolDef d;
    for (const auto& [key, val] : f.items()) {
      const std::string kp = fp + "." + key;
      if (key == "type" && !nested) continue;
      if (key == "name") {
        d.name = get_string(kp, val);
      } else if (key == "description") {
        if (!val.is_null()) d.description = get_string(kp, val);
      } else if (key == "parameters") {
        if (val.is_null()) continue;
        if (!val.is_object()) wrong_type(kp, val, "an object");
        d.parameters = val.dump();
      } else if (key == "strict") {
        if (!val.is_null()) d.strict = get_bool(kp, val);
      } else {
        unknown_field(kp);
      }
    }
    if (nested)
      for (const auto& [key, val] : t.items())
        if (key != "type" && key != "function") unknown_field(p + "." + key);
    if (d.name.empty()) missing(fp + ".name");
    for (char c : d.name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
        invalid(fp + ".name", "Invalid '" + fp + ".name': use only a-z, A-Z, 0-9, underscores and dashes.",
                "invalid_value");
    for (const auto& o : out)
      if (o.name == d.name)
        invalid(fp + ".name", "Invalid '" + fp + ".name': duplicate function name '" + d.name + "'.", "invalid_value");
    json fn = {{"name", d.name}};
    if (!d.description.empty()) fn["description"] = d.description;
    fn["parameters"] =
        d.parameters.empty() ? json{{"type", "object"}, {"properties", json::object()}} : json::parse(d.parameters);
    d.value = to_value(json{{"type", "function"}, {"function", fn}});
    out.push_back(std::move(d));
  }
  return out;
}

// "none" | "auto" | "required" | {"type":"function","function":{"name"}} (or {"type":"function","name"}).
void parse_tool_choice(const json& v, std::string& choice, std::string& name,
                       const std::string& param = "tool_choice") {
  if (v.is_string()) {
    choice = v.get<std::string>();
    if (choice != "none" && choice != "auto" && choice != "required")
      invalid(param,
              "Invalid '" + param + "': expected one of 'none', 'auto', 'required', or a function, but got '" + choice +
                  "'.",
              "invalid_value");
    return;
  }
  if (!v.is_object()) wrong_type(param, v, "a string or an object");
  auto type = v.find("type");
  if (type == v.end()) missing(param + ".type");
  if (get_string(param + ".type", *type) != "function")
    unsupported(param + ".type", "only 'function' tool choices are supported");
  const json* f = &v;
  std::string fp = param;
  if (v.contains("function")) {
    f = &v["function"];
    fp = param + ".function";
    if (!f->is_object()) wrong_type(fp, *f, "an object");
  }
  auto n = f->find("name");
  if (n == f->end()) missing(fp + ".name");
  name = get_string(fp + ".name", *n);
  choice = "function";
}

void check_tool_choice(const std::vector<ToolDef>& tools, const std::string& choice, const std::string& name,
                       const std::string& param = "tool_choice") {
  if (choice == "required" && tools.empty())
    invalid(param, "Invalid '" + param + "': 'required' needs at least one tool in 'tools'.", "invalid_value");
  if (choice == "function" &&
      std::none_of(tools.begin(), tools.end(), [&](const ToolDef& t) { return t.name == name; }))
    invalid(param, "Invalid '" + param + "': the function '" + name + "' is not among 'tools'.", "invalid_value");
}

// What one endpoint takes besides the common fields.
struct EndpointFields {
  const char* input;                      // the required field besides `model`: "messages", "prompt"
  const char* input_type;                 // what it must be, for the error when it is null
  std::span<const char* const> optional;  // the endpoint's own optional fields
};

// Parses the body's fields in key order: the common ones into `r`, the endpoint's own through
// `own_field` (false: not one of them, an unknown field). null means "default" for every optional
// field and is a wrong type for a required one; a missing required field is named, `model` first.
template <typename OwnField>
void parse_fields(std::string_view body, const EndpointFields& endpoint, const ParseLimits& limits, CommonRequest& r,
                  OwnField&& own_field) {
  const json j = parse_body(body);
  for (const auto& [key, v] : j.items()) {
    if (v.is_null()) {
      if (key == "model") wrong_type(key, v, "a string");
      if (key == endpoint.input) wrong_type(key, v, endpoint.input_type);
      if (!one_of(key, kCommonOptional) && !one_of(key, endpoint.optional)) unknown_field(key);
      continue;
    }
    if (!parse_common_field(key, v, r, limits) && !own_field(key, v)) unknown_field(key);
  }
  if (!j.contains("model")) missing("model");
  if (!j.contains(endpoint.input)) missing(endpoint.input);
}

constexpr const char* kChatOptional[] = {"max_completion_tokens",
                                         "logprobs",
                                         "top_logprobs",
                                         "response_format",
                                         "tools",
                                         "tool_choice",
                                         "parallel_tool_calls",
                                         "store",
                                         "metadata",
                                         "service_tier",
                                         "functions",
                                         "function_call",
                                         "modalities",
                                         "audio",
                                         "prediction",
                                         "reasoning_effort",
                                         "images",
                                         "web_search_options"};
// OpenAI chat fields this server does not implement (a 400 naming them when not null).
constexpr const char* kChatUnsupported[] = {"service_tier", "functions",  "function_call",    "modalities",
                                            "audio",        "prediction", "reasoning_effort", "web_search_options"};
constexpr EndpointFields kChatFields{"messages", "an array", kChatOptional};

constexpr const char* kCompletionOptional[] = {"logprobs", "echo", "best_of", "suffix"};
constexpr EndpointFields kCompletionFields{"prompt", "a string or token ids", kCompletionOptional};

}  // namespace

ChatRequest parse_chat_request(std::string_view body, const ParseLimits& limits) {
  ChatRequest r;
  std::vector<pipeline::ContentPart> legacy_images;  // the legacy top-level `images` field
  parse_fields(body, kChatFields, limits, r, [&](const std::string& key, const json& v) {
    if (key == "messages") {
      if (!v.is_array()) wrong_type(key, v, "an array");
      for (size_t i = 0; i < v.size(); ++i)
        r.messages.push_back(parse_message("messages[" + std::to_string(i) + "]", v[i]));
    } else if (key == "max_completion_tokens") {
      r.max_tokens = get_max_tokens(key, v);
    } else if (key == "logprobs") {
      r.logprobs = get_bool(key, v);
    } else if (key == "top_logprobs") {
      r.top_logprobs = static_cast<int>(get_int(key, v, 0, 20));
    } else if (key == "response_format") {
      r.format = parse_response_format(v);
    } else if (key == "tools") {
      r.tools = parse_tools(v);
    } else if (key == "tool_choice") {
      parse_tool_choice(v, r.tool_choice, r.tool_choice_name);
    } else if (key == "parallel_tool_calls") {
      r.parallel_tool_calls = get_bool(key, v);
    } else if (key == "store") {
      if (get_bool(key, v)) unsupported(key, "'store' is not supported (completions are never stored)");
    } else if (key == "metadata") {
      if (!v.is_object()) wrong_type(key, v, "an object");
    } else if (key == "images") {
      if (!v.is_array()) wrong_type(key, v, "an array of base64 strings or data: URIs");
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string p = "images[" + std::to_string(i) + "]";
        pipeline::ContentPart part;
        part.type = pipeline::Modality::Image;
        part.source.kind = pipeline::MediaSource::Kind::Base64;  // or a data: URI
        part.source.data = get_string(p, v[i]);
        if (part.source.data.empty()) invalid(p, "Invalid '" + p + "': the image is empty.", "invalid_value");
        legacy_images.push_back(std::move(part));
      }
    } else if (one_of(key, kChatUnsupported)) {
      unsupported(key, "'" + key + "' is not supported");
    } else {
      return false;
    }
    return true;
  });
  if (r.messages.empty())
    invalid("messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty "
            "array instead.",
            "empty_array");
  if (r.top_logprobs > 0 && !r.logprobs)
    invalid("top_logprobs", "Invalid 'top_logprobs': requires 'logprobs' to be true.", "invalid_value");
  if (!legacy_images.empty()) attach_legacy_images(r, std::move(legacy_images));
  count_media(r, limits);
  check_tool_choice(r.tools, r.tool_choice, r.tool_choice_name);
  return r;
}

CompletionRequest parse_completion_request(std::string_view body, const ParseLimits& limits) {
  CompletionRequest r;
  int best_of = 1;
  parse_fields(body, kCompletionFields, limits, r, [&](const std::string& key, const json& v) {
    if (key == "prompt") {
      auto ids_of = [](const std::string& param, const json& arr) {
        std::vector<int32_t> ids;
        for (size_t i = 0; i < arr.size(); ++i)
          ids.push_back(static_cast<int32_t>(
              get_int(param + "[" + std::to_string(i) + "]", arr[i], 0, std::numeric_limits<int32_t>::max())));
        return ids;
      };
      if (v.is_string()) {
        r.prompt = v.get<std::string>();
      } else if (v.is_array() && !v.empty() && v[0].is_number()) {
        r.prompt_is_ids = true;
        r.prompt_ids = ids_of("prompt", v);
      } else if (v.is_array() && v.size() == 1 && v[0].is_string()) {
        r.prompt = v[0].get<std::string>();
      } else if (v.is_array() && v.size() == 1 && v[0].is_array()) {
        r.prompt_is_ids = true;
        r.prompt_ids = ids_of("prompt[0]", v[0]);
      } else if (v.is_array() && v.size() > 1 && (v[0].is_string() || v[0].is_array())) {
        unsupported("prompt", "batched prompts (more than one prompt per request) are not supported");
      } else {
        wrong_type("prompt", v, "a string, an array of token ids, or a one-element array of either");
      }
      if (r.prompt_is_ids && r.prompt_ids.empty())
        invalid("prompt", "Invalid 'prompt': the prompt must not be empty.", "invalid_value");
    } else if (key == "logprobs") {
      r.logprobs = static_cast<int>(get_int(key, v, 0, 5));
    } else if (key == "echo") {
      r.echo = get_bool(key, v);
    } else if (key == "best_of") {
      best_of = static_cast<int>(get_int(key, v, 1, limits.max_n));
    } else if (key == "suffix") {
      if (!get_string(key, v).empty()) unsupported(key, "'suffix' (insertion) is not supported");
    } else {
      return false;
    }
    return true;
  });
  if (best_of != r.n && best_of != 1) unsupported("best_of", "'best_of' other than 1 or n is not supported");
  return r;
}

namespace {

// A Responses content part as the chat part it means.
json chat_part(const std::string& param, const json& p) {
  if (!p.is_object()) wrong_type(param, p, "an object");
  auto t = p.find("type");
  if (t == p.end()) missing(param + ".type");
  const std::string type = get_string(param + ".type", *t);
  if (type == "input_text" || type == "output_text" || type == "text") {
    auto text = p.find("text");
    if (text == p.end()) missing(param + ".text");
    return {{"type", "text"}, {"text", get_string(param + ".text", *text)}};
  }
  if (type == "input_image") {
    auto url = p.find("image_url");
    if (url == p.end() || url->is_null()) missing(param + ".image_url");
    json img = {{"url", get_string(param + ".image_url", *url)}};
    if (p.contains("detail") && !p["detail"].is_null()) img["detail"] = p["detail"];
    return {{"type", "image_url"}, {"image_url", img}};
  }
  if (type == "input_audio") {
    auto a = p.find("input_audio");
    if (a == p.end()) missing(param + ".input_audio");
    return {{"type", "input_audio"}, {"input_audio", *a}};
  }
  if (type == "input_file" || type == "refusal")
    unsupported(param + ".type", "'" + type + "' content parts are not supported");
  invalid(param + ".type",
          "Invalid '" + param +
              ".type': expected one of 'input_text', 'input_image', 'input_audio', 'output_text', but got '" + type +
              "'.",
          "invalid_value");
}

// Responses input items -> chat messages: messages as they are, function calls as assistant tool
// calls (consecutive ones in one message), function call outputs as tool messages.
void input_messages(const json& input, std::vector<pipeline::Message>& out) {
  if (input.is_string()) {
    pipeline::Message m;
    m.role = "user";
    m.content = input.get<std::string>();
    out.push_back(std::move(m));
    return;
  }
  if (!input.is_array()) wrong_type("input", input, "a string or an array of items");
  bool calls_open = false;  // the last message holds function calls that more may join
  for (size_t i = 0; i < input.size(); ++i) {
    const std::string p = "input[" + std::to_string(i) + "]";
    const json& item = input[i];
    if (!item.is_object()) wrong_type(p, item, "an object");
    const std::string type = item.contains("type") ? get_string(p + ".type", item["type"]) : "message";
    if (type == "message") {
      json msg = {{"role", item.contains("role") ? item["role"] : json()}};
      if (!item.contains("role")) missing(p + ".role");
      auto c = item.find("content");
      if (c == item.end()) missing(p + ".content");
      if (c->is_array()) {
        json parts = json::array();
        for (size_t k = 0; k < c->size(); ++k)
          parts.push_back(chat_part(p + ".content[" + std::to_string(k) + "]", (*c)[k]));
        msg["content"] = parts;
      } else {
        msg["content"] = *c;
      }
      for (const auto& [key, val] : item.items())
        if (key != "type" && key != "role" && key != "content" && key != "id" && key != "status")
          unknown_field(p + "." + key);
      out.push_back(parse_message(p, msg));
      calls_open = false;
    } else if (type == "function_call") {
      for (const char* k : {"call_id", "name", "arguments"})
        if (!item.contains(k)) missing(p + "." + k);
      json call = {{"id", get_string(p + ".call_id", item["call_id"])},
                   {"type", "function"},
                   {"function",
                    {{"name", get_string(p + ".name", item["name"])},
                     {"arguments", get_string(p + ".arguments", item["arguments"])}}}};
      if (calls_open) {
        out.back().tool_calls.as_array().push_back(to_value(call));
      } else {
        pipeline::Message m;
        m.role = "assistant";
        m.content_is_null = true;
        m.tool_calls = to_value(json::array({call}));
        out.push_back(std::move(m));
        calls_open = true;
      }
    } else if (type == "function_call_output") {
      for (const char* k : {"call_id", "output"})
        if (!item.contains(k)) missing(p + "." + k);
      pipeline::Message m;
      m.role = "tool";
      m.tool_call_id = get_string(p + ".call_id", item["call_id"]);
      const json& o = item["output"];
      m.content = o.is_string() ? o.get<std::string>() : o.dump();
      out.push_back(std::move(m));
      calls_open = false;
    } else {
      unsupported(p + ".type", "input items of type '" + type + "' are not supported");
    }
  }
}

// text.format: {"type":"text"} | {"type":"json_object"} | {"type":"json_schema","name","schema","strict"}.
OutputFormat parse_text_format(const json& v) {
  if (!v.is_object()) wrong_type("text", v, "an object");
  OutputFormat f;
  for (const auto& [key, val] : v.items()) {
    if (key == "verbosity") continue;
    if (key != "format") unknown_field("text." + key);
    if (val.is_null()) continue;
    if (!val.is_object()) wrong_type("text.format", val, "an object");
    json as_chat = {{"type", val.value("type", "")}};
    if (as_chat["type"] == "json_schema") {
      json js = val;
      js.erase("type");
      as_chat["json_schema"] = js;
    }
    try {
      f = parse_response_format(as_chat);
    } catch (const Error& e) {
      std::string param = e.param();
      if (param.rfind("response_format", 0) == 0) param = "text.format" + param.substr(15);
      const size_t at = param.find(".json_schema");
      if (at != std::string::npos) param.erase(at, 12);
      throw Error(e.kind(), e.what(), param, e.code());
    }
  }
  return f;
}

}  // namespace

ResponsesRequest parse_responses_request(std::string_view body, const ParseLimits& limits) {
  ResponsesRequest rr;
  ChatRequest& r = rr.chat;
  const json j = parse_body(body);
  static const char* sampling[] = {
      "temperature", "top_p",      "top_k",  "min_p", "repetition_penalty", "frequency_penalty", "presence_penalty",
      "seed",        "logit_bias", "stream", "user"};
  for (const auto& [key, v] : j.items()) {
    if (v.is_null()) {
      if (key == "model") wrong_type(key, v, "a string");
      if (key == "input") wrong_type(key, v, "a string or an array");
      continue;
    }
    if (key == "model") {
      r.model = get_string(key, v);
    } else if (key == "input") {
      input_messages(v, r.messages);
    } else if (key == "instructions") {
      rr.instructions = get_string(key, v);
    } else if (key == "previous_response_id") {
      rr.previous_response_id = get_string(key, v);
    } else if (key == "max_output_tokens") {
      r.max_tokens = get_max_tokens(key, v);
    } else if (one_of(key, sampling)) {
      parse_common_field(key, v, r, limits);
    } else if (key == "tools") {
      r.tools = parse_tools(v);
    } else if (key == "tool_choice") {
      parse_tool_choice(v, r.tool_choice, r.tool_choice_name);
    } else if (key == "parallel_tool_calls") {
      r.parallel_tool_calls = get_bool(key, v);
    } else if (key == "text") {
      r.format = parse_text_format(v);
    } else if (key == "store") {
      rr.store = get_bool(key, v);
    } else if (key == "metadata") {
      if (!v.is_object()) wrong_type(key, v, "an object");
    } else if (key == "truncation") {
      if (get_string(key, v) != "disabled" && v != "auto")
        invalid(key, "Invalid 'truncation': expected 'auto' or 'disabled'.", "invalid_value");
    } else if (key == "reasoning" || key == "include" || key == "background" || key == "service_tier" ||
               key == "prompt" || key == "conversation" || key == "top_logprobs" || key == "max_tool_calls") {
      unsupported(key, "'" + key + "' is not supported");
    } else {
      unknown_field(key);
    }
  }
  if (!j.contains("model")) missing("model");
  if (!j.contains("input") || j["input"].is_null()) missing("input");
  check_tool_choice(r.tools, r.tool_choice, r.tool_choice_name);
  count_media(r, limits);
  return rr;
}

Location request_location(const ChatRequest& r, const Location& at) {
  if (at.message >= 0 && at.message == r.images_message && at.part >= r.images_first_part)
    return Location{-1, at.part - r.images_first_part, "images"};
  return at;
}

}  // namespace oc::api
