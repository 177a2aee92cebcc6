// The gemma4 family's processor (not included outside this folder): rendered prompt + media ->
// prompt chunks with media segments carrying their encoder inputs (or cached encoder outputs), as
// transformers.js' Gemma4Processor does.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "media/audio.h"
#include "models/family.h"
#include "models/io_layout.h"
#include "models/media_encoder.h"
#include "models/model.h"
#include "models/model_files.h"
#include "models/prompt_builder.h"

namespace oc::models::gemma4 {

// Gemma4ImageProcessor's settings (processor_config.json "image_processor").
struct ImageConfig {
  uint32_t patch_size = 16;
  uint32_t pooling_kernel_size = 3;
  uint32_t max_soft_tokens = 280;
  int resample = 3;
  bool do_resize = true;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  uint32_t max_patches() const { return max_soft_tokens * pooling_kernel_size * pooling_kernel_size; }
};

// What the processor needs to know (read from the repo's configs at load).
struct ProcessorConfig {
  std::optional<ImageConfig> image;
  std::optional<media::AudioFeatureConfig> audio;  // Gemma4AudioFeatureExtractor ("feature_extractor")
  size_t audio_seq_length = 750;                   // the most soft tokens of one clip
  MediaTokens tokens{"<|image|>", "<|image>", "<image|>", "<|audio|>", "<|audio>", "<audio|>"};
  MediaOptions limits;
};

// The KV cache shape of each layer from config.json's text_config (layer_types): full-attention
// layers have global_head_dim (and num_global_key_value_heads when given), the sliding-attention
// layers head_dim and num_key_value_heads. Empty without layer_types.
std::vector<KvShape> kv_shapes(const JsonFile& config);

// processor_config.json's "image_processor" and "feature_extractor" (nullopt when absent), with
// Gemma4ImageProcessor's and Gemma4AudioFeatureExtractor's defaults. Throws oc::Error(ModelLoad)
// naming `source` on impossible values.
std::optional<ImageConfig> read_image_config(const JsonFile& proc, const std::string& source);
std::optional<media::AudioFeatureConfig> read_audio_config(const JsonFile& proc);

// The log-mel extractor for window_features (it frames what window_features padded).
std::unique_ptr<media::LogMelExtractor> make_log_mel(const media::AudioFeatureConfig& config);

// A decoded image resized (target_size) and cut into patches: pixel_values [max_patches,
// patch * patch * 3] (patches row by row, each patch's pixels row by row with their channels, zero
// padding after the last patch), pixel_position_ids [max_patches, 2] ((column, row) of each patch,
// -1 for padding) and its soft tokens, as transformers.js' Gemma4ImageProcessor makes them.
struct Patches {
  std::vector<float> pixels;
  std::vector<int64_t> positions;
  size_t patches = 0, tokens = 0;
};
Patches patchify(const media::Image& image, const ImageConfig& config);

// The log-mel frames of one clip (at most 30 s) as Gemma4AudioFeatureExtractor computes them: the
// clip right-padded to a multiple of pad_to_multiple_of, a half frame of zeros before it, as many
// frames as (frame_length + 1)-sample windows fit; frames not wholly inside the clip zeroed and
// masked (mask 0).
media::AudioFeatures window_features(std::span<const float> samples, const media::AudioFeatureConfig& config,
                                     const media::LogMelExtractor& log_mel);

// The output size of an image of `width` x `height`: the aspect ratio kept, about max_patches
// patches, each side a multiple of patch_size * pooling_kernel_size ({width, height}).
std::array<uint32_t, 2> target_size(uint32_t width, uint32_t height, const ImageConfig& config);

// Soft tokens of an audio clip of `samples` samples: 20 ms frames every 10 ms after a half-frame
// left pad, two stride-2 convolutions, at most audio_seq_length.
size_t audio_tokens(int64_t samples, int sampling_rate, size_t audio_seq_length);

// The chat template renders each image as the image token and each audio clip as the audio token;
// each becomes "\n\n" + begin token + its soft tokens + end token + "\n\n" (audio: one such sequence
// per 30 s window).
Prompt process_prompt(const tok::Tokenizer& tokenizer, const ProcessorConfig& config, const MediaShared& shared,
                      const std::function<bool(Modality)>& takes, const media::LogMelExtractor* log_mel,
                      std::string_view prompt_text, std::span<const MediaInput> media);

}  // namespace oc::models::gemma4
