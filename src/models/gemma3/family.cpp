// The gemma3 family, text path of the Gemma 3 exports (4B/12B/27B): embed_tokens (input_ids ->
// inputs_embeds) and decoder_model_merged with attention_mask and num_logits_to_keep and no
// position_ids (positions come from the mask inside GroupQueryAttention). With GroupQueryAttention
// the KV cache lives in one preallocated buffer per layer that past and present share.
// Images (vision_encoder) come with a later issue: the encoder is listed but not loaded.
#include "models/family.h"

#include <algorithm>
#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "common/strings.h"
#include "models/decoder_sequence.h"
#include "models/model_files.h"
#include "models/repo.h"

namespace oc::models {
namespace {

class Gemma3Model : public Model {
 public:
  Gemma3Model(const FamilyProbe& probe, const LoadOptions& options) {
    const auto& dir = probe.dir;
    RepoInfo repo = discover_repo(dir);
    VariantChoice choice = choose_variants(repo, options.preset, options.dtypes);
    const Variant& embed_v = choice.require("embed_tokens", dir);
    const Variant& decoder_v = choice.require("decoder_model_merged", dir);
    for (const auto& note : choice.notes) (starts_with(note, "vision_encoder:") ? log::debug : log::warn)(note);

    JsonFile cfg(dir / "config.json");
    auto text_int = [&](const char* key) {
      return cfg.integer(std::string("text_config.") + key).value_or(cfg.integer(key).value_or(-1));
    };
    const int64_t context = text_int("max_position_embeddings");
    load_common(probe, options, "gemma3", context > 0 ? static_cast<size_t>(context) : 0);
    add_component("embed_tokens", embed_v, true, choice.notes);
    add_component("decoder_model_merged", decoder_v, true, choice.notes);
    if (auto it = choice.chosen.find("vision_encoder"); it != choice.chosen.end() && it->second)
      add_component("vision_encoder", *it->second, false, choice.notes);

    auto spec = std::make_shared<DecoderSpec>();
    spec->embed = std::make_unique<ort::Session>(embed_v.onnx, options.session);
    load_decoder(*spec, decoder_v.onnx, options.session);
    spec->max_length = info_.context_length;
    prepare_decoder_spec(*spec, text_int("num_key_value_heads"), text_int("head_dim"));
    if (spec->io.input_ids || !spec->io.inputs_embeds)
      throw Error(ErrorKind::ModelLoad, decoder_v.onnx.string() + ": a Gemma 3 decoder takes inputs_embeds");
    logits_size_ = spec->io.vocab > 0 ? static_cast<size_t>(spec->io.vocab)
                                      : static_cast<size_t>(std::max<int64_t>(text_int("vocab_size"), 0));
    if (logits_size_ == 0) logits_size_ = tokenizer_->vocab_size();
    image_token_ = tokenizer_->token_to_id("<image_soft_token>");
    if (auto id = cfg.integer("image_token_index")) image_token_ = static_cast<TokenId>(*id);
    spec_ = std::move(spec);
  }

  bool supports(Modality m) const override { return m == Modality::Text; }
  bool loaded(Modality m) const override { return m == Modality::Text; }
  void ensure_loaded(Modality m) override {
    if (m != Modality::Text)
      throw Error(ErrorKind::Unsupported, std::string(modality_name(m)) + " input is not supported for " + info_.id +
                                              " by this server version yet");
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    Prompt p;
    p.ids = tokenizer_->encode(prompt_text, false);
    bool image_tokens = false;
    for (TokenId id : p.ids) image_tokens |= image_token_ && id == *image_token_;
    if (!media.empty() || image_tokens)
      throw Error(ErrorKind::Unsupported,
                  "image input is not supported for " + info_.id + " by this server version yet");
    return p;
  }

  std::unique_ptr<Sequence> new_sequence() override { return std::make_unique<DecoderSequence>(spec_); }
  std::unique_ptr<DecodeBatch> new_batch() override { return batchable(*spec_) ? new_decoder_batch(spec_) : nullptr; }
  size_t kv_bytes_per_token() const override { return models::kv_bytes_per_token(*spec_); }
  size_t logits_size() const override { return logits_size_; }

 private:
  std::shared_ptr<DecoderSpec> spec_;
  size_t logits_size_ = 0;
  std::optional<TokenId> image_token_;
};

}  // namespace

void register_family_gemma3() {
  Family f;
  f.name = "gemma3";
  f.match = [](const FamilyProbe& p) {
    if (p.model_type != "gemma3" && p.model_type != "gemma3_text") return 0;
    auto c = p.components();
    auto has = [&](const char* name) { return std::find(c.begin(), c.end(), name) != c.end(); };
    return has("embed_tokens") && has("decoder_model_merged") ? 100 : 0;
  };
  f.load = [](const FamilyProbe& p, const LoadOptions& o) -> std::unique_ptr<Model> {
    return std::make_unique<Gemma3Model>(p, o);
  };
  register_family(std::move(f));
}

}  // namespace oc::models
