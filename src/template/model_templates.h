// A model folder's chat templates and the context they are rendered with, as transformers.js
// builds it: chat_template.jinja, else chat_template.json, else tokenizer_config.json's
// `chat_template` (a string, or a list of {name, template}); special tokens from
// tokenizer_config.json.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "template/value.h"

namespace oc::tmpl {

struct ModelTemplates {
  // The single template, or the named ones in file order (then `single` is empty).
  std::string single;
  std::vector<std::pair<std::string, std::string>> named;
  // bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token: the ones set.
  std::vector<std::pair<std::string, std::string>> special_tokens;
  std::string origin;  // the file the template came from ("" when none)

  bool empty() const { return single.empty() && named.empty(); }
  // The template transformers.js would use: `name` when given; else with tools "tool_use" when
  // present; else "default". nullptr when there is none (error() says why).
  const std::string* select(bool has_tools, std::string_view name = {}) const;
  std::string selection_error(std::string_view name = {}) const;
};

// Reads the files of a model folder. Throws oc::Error(ModelLoad) for unreadable or malformed
// files; a folder without any template gives an empty result.
ModelTemplates load_model_templates(const std::filesystem::path& model_dir);

// The render context: messages, add_generation_prompt, tools, documents (null when absent),
// the special tokens, then `extra` (custom kwargs; a key already present is replaced in place).
Value chat_context(const ModelTemplates& model, Value messages, bool add_generation_prompt, Value tools = nullptr,
                   Value documents = nullptr, const Object& extra = {});

}  // namespace oc::tmpl
