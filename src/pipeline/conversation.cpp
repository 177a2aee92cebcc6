#include "pipeline/conversation.h"

#include "common/error.h"
#include "template/chat_template.h"

namespace oc::pipeline {

tmpl::Value template_messages(const std::vector<Message>& messages) {
  tmpl::Array out;
  for (const auto& m : messages) {
    tmpl::Object o;
    o.emplace_back("role", m.role == "developer" ? std::string("system") : m.role);
    if (m.content_is_null) {
      o.emplace_back("content", tmpl::Value(nullptr));
    } else if (m.content_is_parts) {
      tmpl::Array parts;
      for (const auto& p : m.parts) {
        if (p.is_media())
          parts.push_back(tmpl::Object{{"type", std::string(models::modality_name(p.type))}});
        else
          parts.push_back(tmpl::Object{{"type", std::string("text")}, {"text", p.text}});
      }
      o.emplace_back("content", std::move(parts));
    } else {
      o.emplace_back("content", m.content);
    }
    if (!m.name.empty()) o.emplace_back("name", m.name);
    if (!m.tool_call_id.empty()) o.emplace_back("tool_call_id", m.tool_call_id);
    if (!m.tool_calls.is_undefined()) o.emplace_back("tool_calls", m.tool_calls);
    out.push_back(std::move(o));
  }
  return out;
}

std::string render_chat_prompt(const models::Model& model, const tmpl::Value& messages, bool add_generation_prompt,
                               const tmpl::Value& tools) {
  const tmpl::ChatTemplate* tpl = model.chat_template(!tools.is_undefined());
  if (!tpl)
    throw Error(ErrorKind::Unsupported, "model '" + model.id() + "' has no chat template; use /v1/completions",
                "messages", "no_chat_template");
  const auto& d = model.template_defaults();
  tmpl::Object ctx;
  ctx.emplace_back("messages", messages);
  if (!tools.is_undefined()) ctx.emplace_back("tools", tools);
  ctx.emplace_back("add_generation_prompt", add_generation_prompt);
  ctx.emplace_back("bos_token", d.bos_token);
  ctx.emplace_back("eos_token", d.eos_token);
  ctx.emplace_back("pad_token", d.pad_token);
  ctx.emplace_back("unk_token", d.unk_token);
  try {
    return tpl->render(tmpl::Value(std::move(ctx)));
  } catch (const tmpl::TemplateError& e) {
    throw Error(ErrorKind::InvalidRequest, std::string("chat template: ") + e.what(), "messages", "template_error");
  }
}

}  // namespace oc::pipeline
