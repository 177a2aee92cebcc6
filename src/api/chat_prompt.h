// Chat messages -> prompt text through the model's chat template (shared by the server and
// `onnx-chat run`).
#pragma once

#include <string>

#include "models/model.h"
#include "template/value.h"

namespace oc::api {

// Renders `messages` (an Array of {role, content, ...}) with add_generation_prompt and the
// model's special-token strings. Throws oc::Error(InvalidRequest, param "messages", code
// "template_error") with the template's message when the template rejects the conversation, and
// oc::Error(Unsupported) when the model has no chat template. `tools` (when defined) goes into the
// context as `tools`, and picks the model's tool template when it has one.
std::string render_chat_prompt(const models::Model& model, const tmpl::Value& messages,
                               bool add_generation_prompt = true, const tmpl::Value& tools = {});

}  // namespace oc::api
