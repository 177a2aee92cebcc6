// The decoder_only family: plain text-decoder exports (`onnx/model{SUFFIX}.onnx`: Llama, Qwen,
// SmolLM, Phi, ...). Whatever the config's model_type, a folder whose only decoder is `model` is
// served here; the inputs come from the session (input_ids, attention_mask, position_ids,
// num_logits_to_keep, use_cache_branch when declared), BOS/EOS and template from the repo's files.
#include "models/family.h"

#include "common/error.h"
#include "models/family_kit.h"

namespace oc::models {
namespace {

class DecoderOnlyModel : public KitModel {
 public:
  DecoderOnlyModel(const FamilyProbe& probe, const LoadOptions& options)
      : KitModel(probe, options, "decoder_only", TextLayout{"", "model"}) {}

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    if (!media.empty())
      throw Error(ErrorKind::Unsupported, info_.id + " takes text only: image and audio parts are not supported");
    Prompt p;
    p.ids = tokenizer_->encode(prompt_text, false);
    p.chunks.push_back({Modality::Text, 0, p.ids.size(), 0});
    return p;
  }
};

}  // namespace

void register_family_decoder_only() {
  Family f;
  f.name = "decoder_only";
  f.match = [](const FamilyProbe& p) {
    bool model = false, other_decoder = false;
    for (const auto& name : p.components()) {
      if (name == "model") model = true;
      if (name == "decoder_model_merged" || name == "embed_tokens") other_decoder = true;
    }
    return model && !other_decoder ? 10 : 0;  // generic: any family naming the folder wins
  };
  f.load = [](const FamilyProbe& p, const LoadOptions& o) -> std::unique_ptr<Model> {
    return std::make_unique<DecoderOnlyModel>(p, o);
  };
  register_family(std::move(f));
}

}  // namespace oc::models
