// A chat request as the pipeline takes it: messages whose content is text or a list of text,
// image and audio parts, each media part naming where its bytes come from. Endpoints and
// commands map their own input (OpenAI messages, a messages file, a terminal chat) onto these.
#pragma once

#include <string>
#include <vector>

#include "models/model.h"
#include "template/value.h"

namespace oc::pipeline {

using models::Modality;

// Where the encoded bytes of an image or audio part come from.
struct MediaSource {
  enum class Kind {
    Bytes,    // `data` is the file itself, read by the caller (no allow-list applies)
    Base64,   // `data` is base64 text, or a data: URI
    Url,      // `data` is a data: URI, an http(s):// URL or a file:// URL (see MediaPolicy)
    Samples,  // decoded mono audio: `samples` at `sample_rate`
  };
  Kind kind = Kind::Bytes;
  std::string data;
  std::string format;  // the format the sender named ("png", "wav", ...), when known
  std::vector<float> samples;
  int sample_rate = 0;
};

struct ContentPart {
  Modality type = Modality::Text;
  std::string text;    // Text
  MediaSource source;  // Image, Audio

  bool is_media() const { return type != Modality::Text; }
};

struct Message {
  std::string role;  // system, developer, user, assistant, tool
  // content: a string, a list of parts, or null (an assistant message with tool calls).
  bool content_is_null = false;
  bool content_is_parts = false;
  std::string content;  // when a string
  std::vector<ContentPart> parts;
  std::string name;
  std::string tool_call_id;
  tmpl::Value tool_calls;  // as sent (undefined when absent)
};

// The template context's `messages` (system/developer -> "system"). Image parts become
// {"type": "image"} and audio parts {"type": "audio"}: the chat template places one media
// placeholder per part, in message and part order.
tmpl::Value template_messages(const std::vector<Message>& messages);

// Renders `messages` (an Array of {role, content, ...}) with add_generation_prompt and the
// model's special-token strings. Throws oc::Error(InvalidRequest, param "messages", code
// "template_error") with the template's message when the template rejects the conversation, and
// oc::Error(Unsupported, code "no_chat_template") when the model has no chat template. `tools`
// (when defined) goes into the context as `tools`, and picks the model's tool template when it
// has one.
std::string render_chat_prompt(const models::Model& model, const tmpl::Value& messages,
                               bool add_generation_prompt = true, const tmpl::Value& tools = {});

}  // namespace oc::pipeline
