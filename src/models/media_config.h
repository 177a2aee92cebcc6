// The media fields of a model's preprocessor_config.json as media-layer structs (no JSON here).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "media/audio.h"
#include "media/image.h"

namespace oc::models {

struct MediaConfig {
  std::optional<media::ImageProcessorConfig> image;  // when the file configures an image processor
  std::optional<media::AudioFeatureConfig> audio;    // when it configures Gemma3nAudioFeatureExtractor
};

// Parses the text of preprocessor_config.json with the defaults of transformers.js
// (ImageProcessor / Gemma3nAudioFeatureExtractor). Throws oc::Error(ModelLoad) naming `source`
// and the field when the file is malformed or asks for something unsupported.
MediaConfig parse_media_config(std::string_view json_text, std::string_view source = "preprocessor_config.json");

}  // namespace oc::models
