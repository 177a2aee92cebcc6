// The gemma3n family's processor (not included outside this folder): rendered prompt + media ->
// prompt chunks with media segments carrying their encoder inputs (or cached encoder outputs).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "media/audio.h"
#include "media/image.h"
#include "models/family.h"
#include "models/media_encoder.h"
#include "models/model.h"
#include "models/prompt_builder.h"

namespace oc::models::gemma3n {

// What the processor needs to know (read from the repo's configs at load).
struct ProcessorConfig {
  std::optional<media::ImageProcessorConfig> image;
  std::optional<media::AudioFeatureConfig> audio;
  size_t image_seq_length = 256;
  size_t audio_seq_length = 188;
  MediaTokens tokens{"<image_soft_token>", "<start_of_image>", "<end_of_image>",
                     "<audio_soft_token>", "<start_of_audio>", "<end_of_audio>"};
  MediaOptions limits;
};

// The chat template renders each image as one image token and each audio clip as one audio
// token; each becomes "\n\n<start_of_image>" + image_seq_length x image token +
// "<end_of_image>\n\n" (likewise for audio, one such sequence per 30 s window).
Prompt process_prompt(const tok::Tokenizer& tokenizer, const ProcessorConfig& config, const MediaShared& shared,
                      const std::function<bool(Modality)>& takes, const media::LogMelExtractor* log_mel,
                      std::string_view prompt_text, std::span<const MediaInput> media);

}  // namespace oc::models::gemma3n
