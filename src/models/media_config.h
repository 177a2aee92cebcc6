// The image fields of a model's preprocessor_config.json as a media-layer struct (no JSON here).
// Audio settings are a family's own (Gemma-3n's: models/gemma3n/audio_config.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "media/image.h"

namespace oc::models {

struct MediaConfig {
  std::optional<media::ImageProcessorConfig> image;  // when the file configures an image processor
};

// Parses the text of preprocessor_config.json with the defaults of transformers.js
// (ImageProcessor). Throws oc::Error(ModelLoad) naming `source`
// and the field when the file is malformed or asks for something unsupported.
MediaConfig parse_media_config(std::string_view json_text, std::string_view source = "preprocessor_config.json");

}  // namespace oc::models
