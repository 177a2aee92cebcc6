// One request pipeline under the API endpoints and the commands: a conversation (or a completion
// prompt) -> media resolved and checked -> chat template rendered -> the model's processor -> the
// engine; then the events read back (pipeline/events.h). Errors about one input are located
// (oc::Location: message and part); only the API layer spells locations as parameter names.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "pipeline/conversation.h"
#include "pipeline/media_source.h"

namespace oc::pipeline {

// A request's prompt, ready for the engine.
struct Prepared {
  std::string text;       // the text the prompt was made from (chat: the rendered template)
  models::Prompt prompt;  // token ids (media placeholders expanded) and media segments
};

// A media part outside a conversation (a messages file lists its images and audio apart), with
// the place its errors name.
struct LocatedPart {
  const ContentPart* part = nullptr;  // never null
  Location location;
};

class Pipeline {
 public:
  explicit Pipeline(std::shared_ptr<engine::Engine> engine, MediaPolicy media = {});

  engine::Engine& engine() const { return *engine_; }
  const models::Model& model() const { return engine_->model(); }
  const MediaPolicy& media_policy() const { return media_; }

  // A conversation's prompt: each media part checked against the model's modalities
  // (Unsupported, code "unsupported_modality") and resolved (pipeline/media_source.h), the chat
  // template rendered (pipeline/conversation.h), the processor run. Errors about one media part
  // are located at it ({message, part}). `tools` (when defined) is the template context's `tools`.
  Prepared chat(const std::vector<Message>& messages, const tmpl::Value& tools = {}) const;
  // A prompt rendered elsewhere (media placeholders in it) with its media parts, in placeholder
  // order per modality; checked and resolved as chat() does.
  Prepared rendered(std::string text, std::span<const LocatedPart> media = {}) const;
  // A completion prompt: text, tokenized with the special tokens the tokenizer adds, or token ids,
  // checked against the vocabulary. Throws oc::Error(InvalidRequest, param "prompt") when the text
  // is empty or an id is out of range.
  Prepared completion(const std::string& text) const;
  Prepared completion(std::vector<int32_t> ids) const;

  // Submits `request` with the prepared prompt (its own prompt is replaced). Throws what
  // Engine::submit throws (Overloaded, context_length_exceeded, ...).
  engine::RequestHandle submit(Prepared prepared, engine::GenerationRequest request) const;

 private:
  // Modalities checked, then each part resolved.
  std::vector<models::MediaInput> resolve(std::span<const LocatedPart> media) const;
  // The processor over the text and the inputs.
  Prepared run(std::string text, std::vector<models::MediaInput> inputs) const;

  std::shared_ptr<engine::Engine> engine_;
  MediaPolicy media_;
};

}  // namespace oc::pipeline
