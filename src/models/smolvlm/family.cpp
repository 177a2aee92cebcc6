// The smolvlm family: SmolVLM / Idefics3 exports (`model_type` smolvlm or idefics3, e.g.
// HuggingFaceTB/SmolVLM-256M-Instruct with its own onnx/ folder, onnx-community's SmolVLM
// exports): embed_tokens, vision_encoder (pixel_values [batch, frames, 3, 512, 512] and
// pixel_attention_mask [batch, frames, 512, 512] -> image_features [frames, 64, H]) and a
// Llama-style decoder_model_merged taking inputs_embeds, attention_mask and position_ids.
// The template renders each image as `<image>`; the processor splits the image into frames
// (image_split.h) and writes, as transformers.js' Idefics3Processor does, per tile
// `<fake_token_around_image><row_R_col_C>` + 64 `<image>`, a newline after each row, then
// "\n<fake_token_around_image><global-img>" + 64 `<image>` + `<fake_token_around_image>`; each
// frame's 64 placeholders are one media segment. `<end_of_utterance>` ends a reply.
#include "models/family.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/fs.h"
#include "models/family_kit.h"
#include "models/media_config.h"
#include "models/prompt_builder.h"
#include "models/smolvlm/image_split.h"

namespace oc::models {
namespace smolvlm {
namespace {

class SmolVlmModel : public KitModel {
 public:
  SmolVlmModel(const FamilyProbe& probe, const LoadOptions& options, const std::string& family)
      : KitModel(probe, options, family, TextLayout{"embed_tokens", "decoder_model_merged"}) {
    const auto& dir = probe.dir;
    add_encoder(Modality::Image, "vision", EncoderNames{"pixel_values", "image_features", "pixel_attention_mask"});
    const auto pre_path = dir / "preprocessor_config.json";
    if (std::filesystem::exists(pre_path)) {
      image_ = parse_media_config(read_file(pre_path), pre_path.string()).image;
      JsonFile pre(pre_path);
      side_ = static_cast<uint32_t>(pre.integer("max_image_size.longest_edge").value_or(512));
      do_split_ = pre.boolean("do_image_splitting").value_or(true);
    }
    JsonFile proc(dir / "processor_config.json");
    rows_per_frame_ = static_cast<size_t>(proc.integer("image_seq_len").value_or(64));
    image_token_id_ = token_id(*tokenizer_, "<image>");
    if (auto id = config().integer("image_token_id")) image_token_id_ = static_cast<TokenId>(*id);
    // A reply ends at <end_of_utterance> even where generation_config.json does not say so.
    if (auto eou = token_id(*tokenizer_, "<end_of_utterance>");
        eou && std::find(generation_defaults_.eos_ids.begin(), generation_defaults_.eos_ids.end(), *eou) ==
                   generation_defaults_.eos_ids.end())
      generation_defaults_.eos_ids.push_back(*eou);
    finish_load(options);
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    const MediaMarker markers[] = {{Modality::Image, "<image>"}};
    const MarkedPrompt marked = split_at_markers(prompt_text, markers, media, [&](Modality m) { return supports(m); });
    const MediaEncoder* vision = shared().encoder(Modality::Image);
    std::vector<Split> splits;
    for (size_t i = 0; i < media.size(); ++i)
      splits.push_back(at_input(media[i], [&] { return prepare(media[i], *vision, i); }));

    PromptBuilder b(*tokenizer_, {*image_token_id_});
    for (size_t k = 0; k < marked.markers.size(); ++k) {
      b.text(marked.texts[k]);
      Split& s = splits[marked.inputs[k]];
      size_t f = 0;
      for (int r = 0; r < s.rows; ++r) {
        for (int c = 0; c < s.cols; ++c) {
          b.text("<fake_token_around_image><row_" + std::to_string(r + 1) + "_col_" + std::to_string(c + 1) + ">");
          b.media(std::move(s.frames[f++]), *image_token_id_, rows_per_frame_);
        }
        b.text("\n");
      }
      b.text(s.rows > 0 ? "\n<fake_token_around_image><global-img>" : "<fake_token_around_image><global-img>");
      b.media(std::move(s.frames[f++]), *image_token_id_, rows_per_frame_);
      b.text("<fake_token_around_image>");
    }
    b.text(marked.texts.back());
    Prompt p = b.finish();
    load_encoders_for(p);
    return p;
  }

 protected:
  bool processor_takes(Modality m) const override {
    return m == Modality::Image && image_ && image_token_id_ && side_ > 0 && rows_per_frame_ > 0;
  }

 private:
  struct Split {
    int rows = 0, cols = 0;
    std::vector<MediaSegment> frames;
  };

  // One image -> its frames as segments (each [3, side, side] with an all-valid pixel mask), or
  // the encoder's cached rows for a frame seen before.
  Split prepare(const MediaInput& in, const MediaEncoder& vision, size_t index) const {
    check_image_bytes(in, media_options().image);
    const media::Image image = media::decode_image({reinterpret_cast<const uint8_t*>(in.data.data()), in.data.size()},
                                                   media_options().image, "");
    SplitImage split = split_image(image, *image_, side_, do_split_);
    Split out;
    out.rows = split.rows;
    out.cols = split.cols;
    for (size_t f = 0; f < split.frames.size(); ++f) {
      MediaSegment seg;
      seg.modality = Modality::Image;
      seg.input_index = index;
      if (EncoderCache* cache = shared().cache.get()) {
        seg.content_hash = encoder_cache_key(
            Modality::Image,
            vision.identity() + "#frame" + std::to_string(f) + "/" + std::to_string(split.frames.size()),
            in.data.data(), in.data.size());
        seg.encoded = cache->find(seg.content_hash);
      }
      if (!seg.encoded) {
        seg.shape = split.frames[f].shape;
        seg.features = std::move(split.frames[f].data);
        seg.mask.assign(static_cast<size_t>(side_) * side_, 1);
        seg.mask_shape = {static_cast<int64_t>(side_), static_cast<int64_t>(side_)};
      }
      out.frames.push_back(std::move(seg));
    }
    return out;
  }

  std::optional<media::ImageProcessorConfig> image_;
  uint32_t side_ = 512;
  bool do_split_ = true;
  size_t rows_per_frame_ = 64;
  std::optional<TokenId> image_token_id_;
};

}  // namespace
}  // namespace smolvlm

void register_family_smolvlm() {
  Family f;
  f.name = "smolvlm";
  f.match = [](const FamilyProbe& p) {
    if (p.model_type != "smolvlm" && p.model_type != "idefics3") return 0;
    auto c = p.components();
    auto has = [&](const char* name) { return std::find(c.begin(), c.end(), name) != c.end(); };
    return has("embed_tokens") && has("decoder_model_merged") ? 100 : 0;
  };
  f.load = [](const FamilyProbe& p, const LoadOptions& o) -> std::unique_ptr<Model> {
    return std::make_unique<smolvlm::SmolVlmModel>(p, o, "smolvlm");
  };
  register_family(std::move(f));
}

}  // namespace oc::models
