#include "models/model.h"

#include "common/error.h"

namespace oc::models {

const char* modality_name(Modality m) {
  switch (m) {
    case Modality::Text:
      return "text";
    case Modality::Image:
      return "image";
    case Modality::Audio:
      return "audio";
  }
  return "unknown";
}

size_t Prompt::tokens_of(Modality m) const {
  size_t n = 0;
  for (const auto& s : media)
    if (s.modality == m) n += s.length;
  return n;
}

const tmpl::ChatTemplate* Model::chat_template(bool has_tools, std::string_view name) const {
  auto find = [&](std::string_view n) -> const tmpl::ChatTemplate* {
    for (const auto& [k, t] : chat_templates_)
      if (k == n) return t.get();
    return nullptr;
  };
  if (!name.empty()) return find(name);
  if (has_tools)
    if (auto* t = find("tool_use")) return t;
  if (auto* t = find("default")) return t;
  return chat_templates_.size() == 1 ? chat_templates_.front().second.get() : nullptr;
}

void Model::parse_templates() {
  chat_templates_.clear();
  auto parse = [&](const std::string& name, const std::string& source) {
    try {
      chat_templates_.emplace_back(name, std::make_shared<const tmpl::ChatTemplate>(source));
    } catch (const tmpl::TemplateError& e) {
      throw Error(ErrorKind::ModelLoad, info_.dir.string() + ": chat template '" + name + "' (" + templates_.origin +
                                            ") does not parse: " + e.what());
    }
  };
  if (!templates_.single.empty()) parse("default", templates_.single);
  for (const auto& [name, source] : templates_.named) parse(name, source);
}

std::vector<std::string> Model::chat_template_names() const {
  std::vector<std::string> out;
  for (const auto& [k, t] : chat_templates_) out.push_back(k);
  return out;
}

}  // namespace oc::models
