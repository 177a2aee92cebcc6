// The gemma3 family (Gemma 3 4B/12B/27B exports): embed_tokens (input_ids -> inputs_embeds),
// decoder_model_merged with attention_mask and num_logits_to_keep (positions come from the mask
// inside GroupQueryAttention, whose KV cache lives in one buffer past and present share), and
// vision_encoder (pixel_values [N,3,896,896] -> image_features [N,256,H]) loaded on first use.
// The template renders each image as `<start_of_image>`; the processor makes it
// "\n\n<start_of_image>" + image_seq_length x `<image_soft_token>` + "<end_of_image>\n\n" (as
// transformers.js' Gemma3Processor), with the image's feature rows at the soft tokens.
#include "models/family.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/fs.h"
#include "models/family_kit.h"
#include "models/media_config.h"
#include "models/prompt_builder.h"

namespace oc::models {
namespace {

class Gemma3Model : public KitModel {
 public:
  Gemma3Model(const FamilyProbe& probe, const LoadOptions& options)
      : KitModel(probe, options, "gemma3", TextLayout{"embed_tokens", "decoder_model_merged"}) {
    const auto& dir = probe.dir;
    add_encoder(Modality::Image, "vision", EncoderNames{"pixel_values", "image_features", ""});
    if (std::filesystem::exists(dir / "preprocessor_config.json"))
      image_ =
          parse_media_config(read_file(dir / "preprocessor_config.json"), (dir / "preprocessor_config.json").string())
              .image;
    JsonFile proc(dir / "processor_config.json");
    JsonFile pre(dir / "preprocessor_config.json");
    JsonFile tk(dir / "tokenizer_config.json");
    image_seq_length_ = static_cast<size_t>(
        proc.integer("image_seq_length")
            .value_or(pre.integer("image_seq_length").value_or(config().integer("mm_tokens_per_image").value_or(256))));
    for (auto [key, out] :
         {std::pair{"image_token", &image_token_}, {"boi_token", &boi_token_}, {"eoi_token", &eoi_token_}})
      if (auto v = tk.string(key)) *out = *v;
    image_token_id_ = token_id(*tokenizer_, image_token_);
    if (auto id = config().integer("image_token_index")) image_token_id_ = static_cast<TokenId>(*id);
    finish_load(options);
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    const MediaMarker markers[] = {{Modality::Image, boi_token_}};
    MarkedPrompt marked = split_at_markers(prompt_text, markers, media, [&](Modality m) { return supports(m); });
    MediaEncoder* vision = shared().encoder(Modality::Image);
    // Decoded in request order, so the first bad input is the one located.
    std::vector<MediaSegment> segments;
    for (size_t i = 0; i < media.size(); ++i)
      segments.push_back(at_input(media[i], [&] {
        return whole_image_segment(media[i], *image_, media_options().image, vision->identity(), shared().cache.get(),
                                   i);
      }));
    std::vector<TokenId> reserved;
    if (image_token_id_) reserved.push_back(*image_token_id_);
    PromptBuilder b(*tokenizer_, reserved);
    for (size_t k = 0; k < marked.markers.size(); ++k) {
      b.text(marked.texts[k]);
      b.text("\n\n" + boi_token_);
      b.media(std::move(segments[marked.inputs[k]]), *image_token_id_, image_seq_length_);
      b.text(eoi_token_ + "\n\n");
    }
    b.text(marked.texts.back());
    Prompt p = b.finish();
    load_encoders_for(p);
    return p;
  }

 protected:
  bool processor_takes(Modality m) const override {
    return m == Modality::Image && image_ && image_token_id_ && image_seq_length_ > 0;
  }

 private:
  std::optional<media::ImageProcessorConfig> image_;
  size_t image_seq_length_ = 256;
  std::string image_token_ = "<image_soft_token>", boi_token_ = "<start_of_image>", eoi_token_ = "<end_of_image>";
  std::optional<TokenId> image_token_id_;
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
