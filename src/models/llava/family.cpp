// The llava family: LLaVA exports in the layout transformers.js runs (`model_type` llava:
// embed_tokens, vision_encoder pixel_values [N, 3, H, W] -> image_features [N, rows, hidden],
// decoder_model_merged on inputs_embeds), and LLaVA-NeXT in the same layout (`llava_next`, e.g.
// ibm-granite/granite-vision-3.2-2b; docs/granite_vision.md): the vision encoder takes the tiles of
// an image and also returns its `image_newline` row; the server packs the tile rows (anyres.h).
// The template renders each image as `<image>` (processor_config.json's image_token); the
// processor writes the image's placeholder count of image tokens there, the image's feature rows
// at them (transformers.js' LlavaProcessor and Python's LlavaNextProcessor).
#include "models/family.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "models/family_kit.h"
#include "models/llava/anyres.h"
#include "models/media_config.h"
#include "models/prompt_builder.h"

namespace oc::models {
namespace llava {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::filesystem::path& file, const std::string& message) {
  throw Error(ErrorKind::ModelLoad, file.string() + ": " + message);
}

json read_json(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) return json::object();
  try {
    json j = json::parse(read_file(file));
    if (!j.is_object()) bad(file, "not a JSON object");
    return j;
  } catch (const json::exception& e) {
    bad(file, std::string("not valid JSON (") + e.what() + ")");
  }
}

// An integer field of at least `min` (positive by default), or `fallback` when absent or null.
int64_t positive(const json& j, const char* key, int64_t fallback, const std::filesystem::path& file, int64_t min = 1) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min)
    bad(file, std::string("'") + key + "' must be an integer of at least " + std::to_string(min));
  return it->get<int64_t>();
}

// An object field (empty when absent or of another type), a string field (`fallback` likewise).
json object(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : json::object();
}
std::string text(const json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

class LlavaModel : public KitModel {
 public:
  LlavaModel(const FamilyProbe& probe, const LoadOptions& options, bool next)
      : KitModel(probe, options, "llava", TextLayout{"embed_tokens", "decoder_model_merged"}), next_(next) {
    const auto& dir = probe.dir;
    add_encoder(Modality::Image, "vision",
                EncoderNames{"pixel_values", "image_features", "", next ? "image_newline" : ""});
    const auto pre_path = dir / "preprocessor_config.json", proc_path = dir / "processor_config.json",
               config_path = dir / "config.json";
    const json pre = read_json(pre_path), proc = read_json(proc_path), cfg = read_json(config_path);
    const json vision = object(cfg, "vision_config");
    const int64_t patch = positive(proc, "patch_size", positive(vision, "patch_size", 0, config_path), proc_path);

    image_token_ = text(proc, "image_token", "<image>");
    image_token_id_ = token_id(*tokenizer_, image_token_);
    for (const char* key : {"image_token_index", "image_token_id"})
      if (auto id = config().integer(key)) image_token_id_ = static_cast<TokenId>(*id);
    // Without preprocessor_config.json the model is text only.
    if (!pre.empty() && next_) {
      // The tile side: crop_size, else a square size (shortest_edge or height x width).
      const json crop = object(pre, "crop_size"), size = object(pre, "size");
      int64_t tile = positive(crop, "height", 0, pre_path);
      if (tile == 0) tile = positive(size, "shortest_edge", positive(size, "height", 0, pre_path), pre_path);
      tile = positive(vision, "image_size", tile, config_path);
      if (tile == 0 || patch == 0 || tile % patch != 0)
        bad(pre_path, "the tile side (crop_size) must be a positive multiple of the vision patch_size");
      anyres_.tile = tile;
      anyres_.patches = tile / patch;
      const json* pins = pre.contains("image_grid_pinpoints") ? &pre["image_grid_pinpoints"] : nullptr;
      if (!pins && cfg.contains("image_grid_pinpoints")) pins = &cfg["image_grid_pinpoints"];
      if (!pins || !pins->is_array() || pins->empty()) bad(pre_path, "'image_grid_pinpoints' is missing");
      for (const json& p : *pins) {
        if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer())
          bad(pre_path, "'image_grid_pinpoints' must be a list of [height, width]");
        const Size s{p[0].get<int64_t>(), p[1].get<int64_t>()};
        if (s.height <= 0 || s.width <= 0 || s.height % tile || s.width % tile || s.height > 8192 || s.width > 8192)
          bad(pre_path, "'image_grid_pinpoints' entries must be positive multiples of the tile side " +
                            std::to_string(tile) + " (at most 8192)");
        anyres_.pinpoints.push_back(s);
      }
      // Normalization from the file; the sizes are the anyres ones.
      json pixels = pre;
      pixels.erase("crop_size");
      pixels["size"] = {{"height", tile}, {"width", tile}};
      image_ = parse_media_config(pixels.dump(), pre_path.string()).image;
    } else if (!pre.empty()) {
      try {
        image_ = parse_media_config(read_file(pre_path), pre_path.string()).image;
      } catch (const Error& e) {
        log::warn(std::string(e.what()) + "; image input is off");
      }
      // Python's LlavaProcessor: the patch grid, plus the class rows, less the one the "default"
      // strategy drops (processor_config.json's fields).
      if (image_ && image_->longest_edge == 0 && patch > 0)
        tokens_per_image_ = static_cast<int64_t>(image_->height / patch) * (image_->width / patch) +
                            positive(proc, "num_additional_image_tokens", 0, proc_path, 0) -
                            (text(proc, "vision_feature_select_strategy", "") == "default" ? 1 : 0);
    }
    finish_load(options);
  }

  Prompt process(std::string_view prompt_text, std::span<const MediaInput> media) const override {
    const MediaMarker markers[] = {{Modality::Image, image_token_}};
    const MarkedPrompt marked = split_at_markers(prompt_text, markers, media, [&](Modality m) { return supports(m); });
    const MediaEncoder* vision = shared().encoder(Modality::Image);
    // Decoded in request order, so the first bad input is the one located.
    std::vector<MediaSegment> segments;
    for (size_t i = 0; i < media.size(); ++i)
      segments.push_back(at_input(media[i], [&] {
        return next_ ? anyres_segment(media[i], *vision, i)
                     : whole_image_segment(media[i], *image_, media_options().image, vision->identity(),
                                           shared().cache.get(), i);
      }));
    PromptBuilder b(*tokenizer_, {*image_token_id_});
    for (size_t k = 0; k < marked.markers.size(); ++k) {
      b.text(marked.texts[k]);
      MediaSegment& seg = segments[marked.inputs[k]];
      const size_t count = !next_        ? static_cast<size_t>(tokens_per_image_)
                           : seg.encoded ? static_cast<size_t>(seg.encoded->rows)
                                         : seg.gather.size();
      b.media(std::move(seg), *image_token_id_, count);
    }
    b.text(marked.texts.back());
    Prompt p = b.finish();
    load_encoders_for(p);
    return p;
  }

 protected:
  bool processor_takes(Modality m) const override {
    return m == Modality::Image && image_ && image_token_id_ &&
           (next_ ? !anyres_.pinpoints.empty() : tokens_per_image_ > 0);
  }

 private:
  // One image as its base tile and grid tiles, with the order its feature rows take in the prompt;
  // or the encoder's cached rows for an image seen before.
  MediaSegment anyres_segment(const MediaInput& in, const MediaEncoder& vision, size_t index) const {
    check_image_bytes(in, media_options().image);
    MediaSegment seg;
    seg.modality = Modality::Image;
    seg.input_index = index;
    if (EncoderCache* cache = shared().cache.get()) {
      seg.content_hash =
          encoder_cache_key(Modality::Image, vision.identity() + "#anyres", in.data.data(), in.data.size());
      if ((seg.encoded = cache->find(seg.content_hash))) return seg;
    }
    const media::Image image = media::decode_image({reinterpret_cast<const uint8_t*>(in.data.data()), in.data.size()},
                                                   media_options().image, "");
    const Size original{image.height, image.width};
    std::vector<media::FloatTensor> tiles = anyres_tiles(image, *image_, anyres_);
    seg.shape = tiles.front().shape;
    seg.items = tiles.size();
    seg.features.reserve(tiles.size() * tiles.front().data.size());
    for (const auto& t : tiles) seg.features.insert(seg.features.end(), t.data.begin(), t.data.end());
    seg.gather = feature_order(original, anyres_);
    seg.item_rows = anyres_.patches * anyres_.patches;
    return seg;
  }

  bool next_ = false;
  std::optional<media::ImageProcessorConfig> image_;
  std::string image_token_;  // what the template renders per image, and the placeholder token
  std::optional<TokenId> image_token_id_;
  int64_t tokens_per_image_ = 0;  // llava
  AnyresConfig anyres_;           // llava_next
};

}  // namespace
}  // namespace llava

void register_family_llava() {
  Family f;
  f.name = "llava";
  f.match = [](const FamilyProbe& p) {
    if (p.model_type != "llava" && p.model_type != "llava_next") return 0;
    auto c = p.components();
    auto has = [&](const char* name) { return std::find(c.begin(), c.end(), name) != c.end(); };
    return has("embed_tokens") && has("decoder_model_merged") ? 100 : 0;
  };
  f.load = [](const FamilyProbe& p, const LoadOptions& o) -> std::unique_ptr<Model> {
    return std::make_unique<llava::LlavaModel>(p, o, p.model_type == "llava_next");
  };
  register_family(std::move(f));
}

}  // namespace oc::models
