#include "api/structured_output.h"

#include <nlohmann/json.hpp>
#include <random>

#include "api/template_json.h"
#include "common/error.h"
#include "grammar/json_schema.h"

namespace oc::api {

namespace {

using json = nlohmann::json;

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

std::string call_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "call_%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// A schema compiled into `b`, errors naming the request field.
grammar::Elem schema_elem(grammar::GrammarBuilder& b, const std::string& schema, const std::string& param) {
  try {
    return grammar::add_json_schema(b, schema);
  } catch (const Error& e) {
    throw Error(e.kind(), "Invalid '" + param + "': " + e.what(), param, e.code());
  }
}

bool template_renders_tools(const models::Model& model) {
  const std::string* source = model.templates().select(true);
  return source && source->find("tools") != std::string::npos;
}

std::string tool_call_text(const std::string& name, const std::string& arguments) {
  return std::string(kOpen) + "{\"name\": " + json(name).dump() +
         ", \"arguments\": " + (arguments.empty() ? std::string("{}") : arguments) + "}" + std::string(kClose);
}

std::string text_of(const pipeline::Message& m) {
  if (!m.content_is_parts) return m.content;
  std::string s;
  for (const auto& p : m.parts)
    if (p.type == pipeline::Modality::Text) s += p.text;
  return s;
}

// The generic format for templates that do not render tools: the tools in a system message, calls
// as text in assistant turns, results as user turns.
void generic_messages(const ChatRequest& r, bool with_tools, PromptInput& in) {
  std::vector<pipeline::Message>& out = in.messages;
  bool merged_system = false;  // the first message is the system message with the tools appended
  if (with_tools) {
    std::string text =
        "You can call the functions listed below. To call functions, reply with one line per call, each exactly "
        "of the form\n<tool_call>{\"name\": \"function name\", \"arguments\": {the arguments as a JSON "
        "object}}</tool_call>\nand nothing else. The results come back in <tool_response> blocks. If no function "
        "is needed, reply normally.\n\nFunctions:";
    for (const auto& t : r.tools) text += "\n" + tmpl::value_to_json(t.value).dump();
    pipeline::Message sys;
    if (!r.messages.empty() && (r.messages[0].role == "system" || r.messages[0].role == "developer") &&
        !r.messages[0].content_is_parts) {
      sys = r.messages[0];
      sys.content += "\n\n" + text;
      merged_system = true;
    } else {
      sys.role = "system";
      sys.content = std::move(text);
    }
    out.push_back(std::move(sys));
    in.source.push_back(0);
  }
  for (size_t i = merged_system ? 1 : 0; i < r.messages.size(); ++i) {
    const pipeline::Message& m = r.messages[i];
    if (m.role == "tool") {
      const std::string block = "<tool_response>\n" + text_of(m) + "\n</tool_response>";
      if (!out.empty() && out.back().role == "user" && !out.back().content_is_parts &&
          out.back().content.rfind("<tool_response>", 0) == 0) {
        out.back().content += "\n" + block;
      } else {
        pipeline::Message u;
        u.role = "user";
        u.content = block;
        out.push_back(std::move(u));
        in.source.push_back(static_cast<int>(i));
      }
      continue;
    }
    pipeline::Message c = m;
    if (m.role == "assistant" && m.tool_calls.is_array()) {
      std::string text = m.content_is_null ? std::string() : text_of(m);
      for (const auto& call : m.tool_calls.as_array()) {
        const tmpl::Value f = call.get("function");
        const tmpl::Value name = f.get("name"), args = f.get("arguments");
        if (!name.is_string()) continue;
        if (!text.empty()) text += "\n";
        text += tool_call_text(name.as_string(), args.is_string() ? args.as_string() : "{}");
      }
      c.content_is_null = false;
      c.content_is_parts = false;
      c.parts.clear();
      c.content = std::move(text);
      c.tool_calls = tmpl::Value();
    }
    out.push_back(std::move(c));
    in.source.push_back(static_cast<int>(i));
  }
}

// Tool-call arguments as objects (what chat templates expect) where they are JSON text.
tmpl::Value with_argument_objects(const tmpl::Value& calls) {
  tmpl::Array out;
  for (const auto& call : calls.as_array()) {
    const tmpl::Value f = call.get("function");
    const tmpl::Value args = f.get("arguments");
    if (!f.is_object() || !args.is_string()) {
      out.push_back(call);
      continue;
    }
    tmpl::Value parsed;
    try {
      parsed = tmpl::value_from_json_text(args.as_string());
    } catch (const std::exception&) {
      out.push_back(call);
      continue;
    }
    tmpl::Object nf;
    for (const auto& [k, v] : f.as_object()) nf.emplace_back(k, k == "arguments" ? parsed : v);
    tmpl::Object nc;
    for (const auto& [k, v] : call.as_object()) nc.emplace_back(k, k == "function" ? tmpl::Value(std::move(nf)) : v);
    out.push_back(tmpl::Value(std::move(nc)));
  }
  return out;
}

}  // namespace

PromptInput prompt_input(const models::Model& model, const ChatRequest& r) {
  PromptInput in;
  const bool with_tools = !r.tools.empty() && r.tool_choice != "none";
  if (template_renders_tools(model)) {
    in.messages = r.messages;
    for (size_t i = 0; i < in.messages.size(); ++i) {
      pipeline::Message& m = in.messages[i];
      if (m.tool_calls.is_array()) m.tool_calls = with_argument_objects(m.tool_calls);
      in.source.push_back(static_cast<int>(i));
    }
    if (with_tools) {
      tmpl::Array tools;
      for (const auto& t : r.tools) tools.push_back(t.value);
      in.tools = std::move(tools);
    }
  } else {
    generic_messages(r, with_tools, in);
  }
  return in;
}

std::shared_ptr<const grammar::Constraint> output_constraint(const models::Model& model, const ChatRequest& r) {
  const bool forced = r.tool_choice == "required" || r.tool_choice == "function";
  if (!forced && r.format.kind == OutputFormat::Kind::Text) return nullptr;
  grammar::GrammarBuilder b;
  int32_t root = 0;
  std::string param = "response_format";
  if (forced) {
    param = "tools";
    const int32_t call = b.new_rule();
    for (size_t i = 0; i < r.tools.size(); ++i) {
      const ToolDef& t = r.tools[i];
      if (r.tool_choice == "function" && t.name != r.tool_choice_name) continue;
      grammar::Seq s = b.literal(std::string(kOpen) + "{\"name\": " + json(t.name).dump() + ", \"arguments\": ");
      s.push_back(t.parameters.empty()
                      ? grammar::add_any_json(b, true)
                      : schema_elem(b, t.parameters, "tools[" + std::to_string(i) + "].function.parameters"));
      grammar::append(s, b.literal("}" + std::string(kClose)));
      b.add_alt(call, std::move(s));
    }
    grammar::Seq all = {grammar::GrammarBuilder::ref(call)};
    if (r.tool_choice == "required" && r.parallel_tool_calls) {
      grammar::Seq more = b.literal("\n");
      more.push_back(grammar::GrammarBuilder::ref(call));
      all.push_back(b.star(more));
    }
    root = b.rule_of({all});
  } else if (r.format.kind == OutputFormat::Kind::JsonObject) {
    root = b.rule_of({{grammar::add_any_json(b, true)}});
  } else {
    param = "response_format.json_schema.schema";
    root = b.rule_of({{schema_elem(b, r.format.schema, param)}});
  }
  std::shared_ptr<const grammar::Grammar> g;
  try {
    g = std::make_shared<const grammar::Grammar>(b.finish(root));
  } catch (const Error& e) {
    throw Error(e.kind(), "Invalid '" + param + "': " + e.what(), param, e.code());
  }
  return std::make_shared<const grammar::Constraint>(g, grammar::TokenTable::of(model.tokenizer()),
                                                     model.generation_defaults().eos_ids);
}

ToolCallParser::Out ToolCallParser::push(std::string_view text) {
  held_ += text;
  return drain(false);
}

ToolCallParser::Out ToolCallParser::flush() { return drain(true); }

ToolCallParser::Out ToolCallParser::drain(bool at_end) {
  Out out;
  auto is_ws = [](const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; };
  while (true) {
    const size_t open = held_.find(kOpen);
    if (open == std::string::npos) {
      size_t keep = 0;
      if (!at_end) {
        // A tail that may still become "<tool_call>", and trailing whitespace (dropped before a call).
        for (size_t k = std::min(held_.size(), kOpen.size() - 1); k > 0; --k)
          if (held_.compare(held_.size() - k, k, kOpen, 0, k) == 0) {
            keep = k;
            break;
          }
        const size_t body = held_.size() - keep;
        size_t ws = body;
        while (ws > 0 && std::string_view(" \t\r\n").find(held_[ws - 1]) != std::string_view::npos) --ws;
        keep = held_.size() - ws;
      } else if (calls_ > 0 && is_ws(held_)) {
        held_.clear();
      }
      out.content += held_.substr(0, held_.size() - keep);
      held_.erase(0, held_.size() - keep);
      return out;
    }
    const std::string before = held_.substr(0, open);
    const size_t close = held_.find(kClose, open + kOpen.size());
    if (close == std::string::npos) {
      if (at_end) {  // an unfinished call: plain text
        out.content += held_;
        held_.clear();
      } else if (!is_ws(before)) {
        out.content += before;
        held_.erase(0, open);
      }
      return out;
    }
    if (!is_ws(before)) out.content += before;
    const std::string body = held_.substr(open + kOpen.size(), close - open - kOpen.size());
    held_.erase(0, close + kClose.size());
    json j;
    try {
      j = json::parse(body);
    } catch (const json::exception&) {
      j = nullptr;
    }
    const json* args = nullptr;
    if (j.is_object() && j.contains("arguments")) args = &j["arguments"];
    if (j.is_object() && !args && j.contains("parameters")) args = &j["parameters"];
    if (j.is_object() && j.contains("name") && j["name"].is_string() && args) {
      ToolCall c;
      c.id = call_id();
      c.name = j["name"].get<std::string>();
      c.arguments = args->is_string() ? args->get<std::string>() : args->dump();
      out.calls.push_back(std::move(c));
      ++calls_;
    } else {
      out.content += std::string(kOpen) + body + std::string(kClose);
    }
  }
}

}  // namespace oc::api
