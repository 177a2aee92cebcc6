// The gemma4 family: Gemma 4 exports as transformers.js runs them (Gemma4ForConditionalGeneration,
// `model_type` gemma4): embed_tokens (input_ids -> inputs_embeds, per_layer_inputs),
// decoder_model_merged with attention_mask (so requests batch), vision_encoder (pixel_values
// [batch, patches, patch dim] and pixel_position_ids [batch, patches, 2] -> image_features
// [soft tokens, hidden]) and audio_encoder (input_features and input_features_mask ->
// audio_features [soft tokens, hidden]) loaded on first use. The processor settings come from
// processor_config.json ("image_processor", "feature_extractor"); images and audio clips give a
// variable number of soft tokens (gemma4.h). The full-attention layers' KV cache has their own
// shape (global_head_dim: kv_shapes).
#include "models/family.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "models/family_kit.h"
#include "models/gemma4/gemma4.h"

namespace oc::models {
namespace gemma4 {

std::vector<KvShape> kv_shapes(const JsonFile& config) {
  auto text = [&](const std::string& key) {
    auto v = config.integer("text_config." + key);
    return v ? v : config.integer(key);
  };
  auto types = config.strings("text_config.layer_types");
  if (types.empty()) types = config.strings("layer_types");
  const int64_t heads = text("num_key_value_heads").value_or(-1);
  const int64_t head_dim = text("head_dim").value_or(-1);
  const KvShape sliding{heads, head_dim};
  const KvShape full{text("num_global_key_value_heads").value_or(heads), text("global_head_dim").value_or(head_dim)};
  std::vector<KvShape> out;
  for (const auto& type : types) out.push_back(type == "full_attention" ? full : sliding);
  return out;
}

namespace {

class Gemma4Model : public KitModel {
 public:
  Gemma4Model(const FamilyProbe& probe, const LoadOptions& options)
      : KitModel(probe, options, "gemma4", TextLayout{"embed_tokens", "decoder_model_merged", kv_shapes}) {
    add_encoder(Modality::Image, "vision",
                EncoderNames{.input = "pixel_values", .output = "image_features", .positions = "pixel_position_ids"});
    add_encoder(Modality::Audio, "audio", EncoderNames{"input_features", "audio_features", "input_features_mask"});
    read_processor_config(probe.dir, options.media);
    if (pc_.audio) log_mel_ = make_log_mel(*pc_.audio);
    finish_load(options);
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    Prompt p = process_prompt(
        *tokenizer_, pc_, shared(), [&](Modality m) { return supports(m); }, log_mel_.get(), prompt_text, media);
    load_encoders_for(p);
    return p;
  }

  AudioSpec audio_spec() const override {
    if (!supports(Modality::Audio)) return {};
    return {pc_.audio->sampling_rate, pc_.audio->max_samples};
  }

 protected:
  bool processor_takes(Modality m) const override {
    if (m == Modality::Image) return pc_.image && pc_.tokens.image_id;
    if (m == Modality::Audio) return pc_.audio && pc_.tokens.audio_id && log_mel_;
    return false;
  }

 private:
  void read_processor_config(const std::filesystem::path& dir, const MediaOptions& limits) {
    pc_.limits = limits;
    const auto path = dir / "processor_config.json";
    JsonFile proc(path);
    pc_.image = read_image_config(proc, path.string());
    pc_.audio = read_audio_config(proc);
    pc_.audio_seq_length = static_cast<size_t>(std::max<int64_t>(proc.integer("audio_seq_length").value_or(750), 1));
    read_media_tokens(dir, pc_.tokens);
  }

  ProcessorConfig pc_;
  std::unique_ptr<media::LogMelExtractor> log_mel_;
};

}  // namespace
}  // namespace gemma4

void register_family_gemma4() {
  Family f;
  f.name = "gemma4";
  f.match = [](const FamilyProbe& p) {
    if (p.model_type != "gemma4") return 0;
    auto c = p.components();
    auto has = [&](const char* name) { return std::find(c.begin(), c.end(), name) != c.end(); };
    return has("embed_tokens") && has("decoder_model_merged") ? 100 : 0;
  };
  f.load = [](const FamilyProbe& p, const LoadOptions& o) -> std::unique_ptr<Model> {
    return std::make_unique<gemma4::Gemma4Model>(p, o);
  };
  register_family(std::move(f));
}

}  // namespace oc::models
