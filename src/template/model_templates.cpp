#include "template/model_templates.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"

namespace oc::tmpl {
namespace {

using ojson = nlohmann::ordered_json;

ojson parse_json_file(const std::filesystem::path& path) {
  std::string text = read_file(path);
  try {
    return ojson::parse(text);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::ModelLoad, path.string() + ": invalid JSON: " + e.what());
  }
}

void read_template_field(const ojson& field, const std::filesystem::path& path, ModelTemplates& out) {
  if (field.is_string()) {
    out.single = field.get<std::string>();
  } else if (field.is_array()) {
    for (const auto& item : field) {
      if (!item.is_object() || !item.contains("name") || !item.contains("template") || !item["name"].is_string() ||
          !item["template"].is_string())
        throw Error(ErrorKind::ModelLoad,
                    path.string() + ": chat_template must be a list of objects with \"name\" and \"template\"");
      std::string name = item["name"].get<std::string>();
      std::string source = item["template"].get<std::string>();
      bool replaced = false;
      for (auto& [n, t] : out.named)
        if (n == name) t = source, replaced = true;
      if (!replaced) out.named.emplace_back(std::move(name), std::move(source));
    }
  } else if (!field.is_null()) {
    throw Error(ErrorKind::ModelLoad, path.string() + ": chat_template must be a string or a list");
  }
  if (!out.empty()) out.origin = path.string();
}

}  // namespace

const std::string* ModelTemplates::select(bool has_tools, std::string_view name) const {
  if (named.empty()) return (!single.empty() && name.empty()) ? &single : nullptr;
  auto find = [&](std::string_view n) -> const std::string* {
    for (const auto& [k, t] : named)
      if (k == n) return &t;
    return nullptr;
  };
  if (!name.empty()) return find(name);
  if (has_tools)
    if (const std::string* t = find("tool_use")) return t;
  return find("default");
}

std::string ModelTemplates::selection_error(std::string_view name) const {
  if (empty()) return "the model has no chat template";
  if (named.empty())
    return "the model has a single chat template; there is no template named '" + std::string(name) + "'";
  std::string names;
  for (const auto& [k, t] : named) names += (names.empty() ? "" : ", ") + k;
  if (!name.empty()) return "no chat template named '" + std::string(name) + "' (available: " + names + ")";
  return "the model has several chat templates and none is named 'default' (available: " + names + ")";
}

ModelTemplates load_model_templates(const std::filesystem::path& dir) {
  ModelTemplates out;
  auto jinja = dir / "chat_template.jinja";
  auto json_file = dir / "chat_template.json";
  auto config_file = dir / "tokenizer_config.json";
  if (std::filesystem::exists(jinja)) {
    out.single = read_file(jinja);
    out.origin = jinja.string();
  } else if (std::filesystem::exists(json_file)) {
    ojson j = parse_json_file(json_file);
    if (j.is_object() && j.contains("chat_template")) read_template_field(j["chat_template"], json_file, out);
  }
  if (std::filesystem::exists(config_file)) {
    ojson config = parse_json_file(config_file);
    if (!config.is_object()) throw Error(ErrorKind::ModelLoad, config_file.string() + ": expected a JSON object");
    if (out.empty() && config.contains("chat_template")) read_template_field(config["chat_template"], config_file, out);
    for (const char* key :
         {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
      if (!config.contains(key)) continue;
      const ojson& item = config[key];
      std::string value;
      if (item.is_string())
        value = item.get<std::string>();
      else if (item.is_object() && item.contains("content") && item["content"].is_string())
        value = item["content"].get<std::string>();
      if (!value.empty()) out.special_tokens.emplace_back(key, value);
    }
  }
  return out;
}

Value chat_context(const ModelTemplates& model, Value messages, bool add_generation_prompt, Value tools,
                   Value documents, const Object& extra) {
  Value ctx{Object{}};
  ctx.set("messages", std::move(messages));
  ctx.set("add_generation_prompt", add_generation_prompt);
  ctx.set("tools", tools.is_undefined() ? Value(nullptr) : std::move(tools));
  ctx.set("documents", documents.is_undefined() ? Value(nullptr) : std::move(documents));
  for (const auto& [k, v] : model.special_tokens) ctx.set(k, v);
  for (const auto& [k, v] : extra) ctx.set(k, v);
  return ctx;
}

}  // namespace oc::tmpl
