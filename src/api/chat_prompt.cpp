#include "api/chat_prompt.h"

#include "common/error.h"
#include "template/chat_template.h"

namespace oc::api {

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

}  // namespace oc::api
