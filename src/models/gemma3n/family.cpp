// The gemma3n family: embed_tokens (input_ids -> inputs_embeds, per_layer_inputs) and
// decoder_model_merged for text, vision_encoder and audio_encoder loaded on first use. Encoder
// feature rows overwrite the placeholder rows of inputs_embeds as the prompt is prefilled;
// per_layer_inputs stay as embed_tokens made them.
#include "models/family.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "common/error.h"
#include "common/fs.h"
#include "models/family_kit.h"
#include "models/gemma3n/audio_config.h"
#include "models/gemma3n/gemma3n.h"
#include "models/media_config.h"

namespace oc::models {
namespace gemma3n {
namespace {

class Gemma3nModel : public KitModel {
 public:
  Gemma3nModel(const FamilyProbe& probe, const LoadOptions& options)
      : KitModel(probe, options, "gemma3n", TextLayout{"embed_tokens", "decoder_model_merged"}) {
    add_encoder(Modality::Image, "vision", EncoderNames{"pixel_values", "image_features", ""});
    add_encoder(Modality::Audio, "audio", EncoderNames{"input_features", "audio_features", "input_features_mask"});
    read_processor_config(probe.dir, options.media);
    if (pc_.audio) log_mel_ = std::make_unique<media::LogMelExtractor>(*pc_.audio);
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
    if (std::filesystem::exists(dir / "preprocessor_config.json")) {
      const std::string text = read_file(dir / "preprocessor_config.json");
      const std::string source = (dir / "preprocessor_config.json").string();
      pc_.image = parse_media_config(text, source).image;
      pc_.audio = gemma3n::parse_audio_config(text, source);
    }
    JsonFile proc(dir / "processor_config.json");
    pc_.image_seq_length = static_cast<size_t>(
        proc.integer("image_seq_length").value_or(config().integer("vision_soft_tokens_per_image").value_or(256)));
    pc_.audio_seq_length = static_cast<size_t>(
        proc.integer("audio_seq_length").value_or(config().integer("audio_soft_tokens_per_image").value_or(188)));
    read_media_tokens(dir, pc_.tokens);
  }

  ProcessorConfig pc_;
  std::unique_ptr<media::LogMelExtractor> log_mel_;
};

}  // namespace
}  // namespace gemma3n

void register_family_gemma3n() {
  Family f;
  f.name = "gemma3n";
  f.match = [](const FamilyProbe& p) {
    if (p.model_type != "gemma3n") return 0;
    auto c = p.components();
    auto has = [&](const char* name) { return std::find(c.begin(), c.end(), name) != c.end(); };
    return has("embed_tokens") && has("decoder_model_merged") ? 100 : 0;
  };
  f.load = [](const FamilyProbe& p, const LoadOptions& o) -> std::unique_ptr<Model> {
    return std::make_unique<gemma3n::Gemma3nModel>(p, o);
  };
  register_family(std::move(f));
}

}  // namespace oc::models
