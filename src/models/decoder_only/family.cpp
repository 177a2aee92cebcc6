// The decoder_only family: plain text-decoder exports (`onnx/model{SUFFIX}.onnx`: Llama, Qwen,
// SmolLM, Phi, ...). Whatever the config's model_type, a folder whose only decoder is `model` is
// served here; the inputs come from the session (input_ids, attention_mask, position_ids,
// num_logits_to_keep, use_cache_branch when declared), BOS/EOS and template from the repo's files.
#include "models/family.h"

#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "models/decoder_sequence.h"
#include "models/model_files.h"
#include "models/repo.h"

namespace oc::models {
namespace {

class DecoderOnlyModel : public Model {
 public:
  DecoderOnlyModel(const FamilyProbe& probe, const LoadOptions& options) {
    const auto& dir = probe.dir;
    RepoInfo repo = discover_repo(dir);
    VariantChoice choice = choose_variants(repo, options.preset, options.dtypes);
    const Variant& v = choice.require("model", dir);
    for (const auto& note : choice.notes) log::warn(note);

    JsonFile cfg(dir / "config.json");
    auto config_int = [&](const char* key) {
      return cfg.integer(std::string("text_config.") + key).value_or(cfg.integer(key).value_or(-1));
    };
    const int64_t context = config_int("max_position_embeddings");
    load_common(probe, options, "decoder_only", context > 0 ? static_cast<size_t>(context) : 0);
    add_component("model", v, true, choice.notes);

    auto spec = std::make_shared<DecoderSpec>();
    load_decoder(*spec, v.onnx, options.session);
    spec->max_length = info_.context_length;
    int64_t heads = config_int("num_attention_heads");
    int64_t head_dim = config_int("head_dim");
    if (head_dim <= 0 && heads > 0 && config_int("hidden_size") > 0) head_dim = config_int("hidden_size") / heads;
    prepare_decoder_spec(*spec, config_int("num_key_value_heads") > 0 ? config_int("num_key_value_heads") : heads,
                         head_dim);
    logits_size_ = spec->io.vocab > 0 ? static_cast<size_t>(spec->io.vocab) : tokenizer_->vocab_size();
    spec_ = std::move(spec);
  }

  bool supports(Modality m) const override { return m == Modality::Text; }
  bool loaded(Modality m) const override { return m == Modality::Text; }
  void ensure_loaded(Modality m) override {
    if (m != Modality::Text)
      throw Error(ErrorKind::Unsupported,
                  info_.id + " takes text only: " + modality_name(m) + " input is not supported");
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    if (!media.empty())
      throw Error(ErrorKind::Unsupported, info_.id + " takes text only: image and audio parts are not supported");
    Prompt p;
    p.ids = tokenizer_->encode(prompt_text, false);
    return p;
  }

  std::unique_ptr<Sequence> new_sequence() override { return std::make_unique<DecoderSequence>(spec_); }
  std::unique_ptr<DecodeBatch> new_batch() override { return batchable(*spec_) ? new_decoder_batch(spec_) : nullptr; }
  size_t kv_bytes_per_token() const override { return models::kv_bytes_per_token(*spec_); }
  size_t logits_size() const override { return logits_size_; }

 private:
  std::shared_ptr<DecoderSpec> spec_;
  size_t logits_size_ = 0;
};

}  // namespace

void register_family_decoder_only() {
  Family f;
  f.name = "decoder_only";
  f.match = [](const FamilyProbe& p) {
    auto c = p.components();
    bool model = false, other_decoder = false;
    for (const auto& name : c) {
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
