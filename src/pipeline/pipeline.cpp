#include "pipeline/pipeline.h"

#include "common/error.h"

namespace oc::pipeline {

Pipeline::Pipeline(std::shared_ptr<engine::Engine> engine, MediaPolicy media)
    : engine_(std::move(engine)), media_(std::move(media)) {
  if (!engine_) throw Error(ErrorKind::Internal, "pipeline without an engine");
}

Prepared Pipeline::chat(const std::vector<Message>& messages, const tmpl::Value& tools) const {
  std::vector<LocatedPart> media;
  for (size_t m = 0; m < messages.size(); ++m)
    for (size_t p = 0; p < messages[m].parts.size(); ++p)
      if (messages[m].parts[p].is_media())
        media.push_back({&messages[m].parts[p], Location{static_cast<int>(m), static_cast<int>(p), {}}});
  std::vector<models::MediaInput> inputs = resolve(media);
  return run(render_chat_prompt(model(), template_messages(messages), true, tools), inputs);
}

Prepared Pipeline::rendered(std::string text, std::span<const LocatedPart> media) const {
  return run(std::move(text), resolve(media));
}

std::vector<models::MediaInput> Pipeline::resolve(std::span<const LocatedPart> media) const {
  for (const LocatedPart& lp : media) {  // before anything is fetched
    if (model().supports(lp.part->type)) continue;
    const std::string name = models::modality_name(lp.part->type);
    throw Error(ErrorKind::Unsupported,
                "The model '" + model().id() + "' does not take " + name + " input: it is served without an " + name +
                    " encoder. If its hub repo has one, start the server with --modalities " + name +
                    " (or all, the default) to fetch it; /v1/models lists the modalities it takes.",
                lp.location, "unsupported_modality");
  }
  std::vector<models::MediaInput> inputs;
  inputs.reserve(media.size());
  for (const LocatedPart& lp : media) inputs.push_back(resolve_media(*lp.part, lp.location, media_));
  return inputs;
}

Prepared Pipeline::run(std::string text, std::vector<models::MediaInput> inputs) const {
  Prepared out;
  try {
    out.prompt = model().process(text, inputs);
  } catch (const Error& e) {
    // The processor locates errors about one input; they get that input's code.
    if (e.kind() != ErrorKind::InvalidRequest || e.location().empty() || !e.code().empty()) throw;
    for (const auto& in : inputs)
      if (in.location == e.location())
        throw Error(e.kind(), e.what(), e.location(),
                    in.modality == Modality::Image ? "invalid_image" : "invalid_audio");
    throw;
  }
  out.text = std::move(text);
  return out;
}

Prepared Pipeline::completion(const std::string& text) const {
  if (text.empty())
    throw Error(ErrorKind::InvalidRequest, "Invalid 'prompt': the prompt must not be empty.", "prompt",
                "invalid_value");
  Prepared out;
  out.prompt.ids = model().tokenizer().encode(text, true);
  out.text = text;
  return out;
}

Prepared Pipeline::completion(std::vector<int32_t> ids) const {
  const size_t vocab = model().logits_size() ? model().logits_size() : model().tokenizer().vocab_size();
  for (int32_t id : ids)
    if (id < 0 || static_cast<size_t>(id) >= vocab)
      throw Error(ErrorKind::InvalidRequest,
                  "Invalid 'prompt': token id " + std::to_string(id) + " is outside the vocabulary (" +
                      std::to_string(vocab) + " tokens).",
                  "prompt", "invalid_value");
  Prepared out;
  out.prompt.ids = std::move(ids);
  return out;
}

engine::RequestHandle Pipeline::submit(Prepared prepared, engine::GenerationRequest request) const {
  request.prompt = std::move(prepared.prompt);
  return engine_->submit(std::move(request));
}

}  // namespace oc::pipeline
