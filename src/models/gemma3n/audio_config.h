// Gemma-3n's log-mel settings: Gemma3nAudioFeatureExtractor's defaults and the fields of a
// preprocessor_config.json that configures it, for the media layer's log-mel front end.
#pragma once

#include <optional>
#include <string_view>

#include "media/audio.h"

namespace oc::models::gemma3n {

// transformers.js' Gemma3nAudioFeatureExtractor defaults: 16 kHz, 128 mel bins from 125 to
// 7600 Hz, frames of 512 samples every 160, a 1024-point FFT, HTK pre-emphasis 0.97, mel floor
// 1e-5, clips padded to a multiple of 128 samples and cut at 30 s.
media::AudioFeatureConfig audio_defaults();

// The audio settings of preprocessor_config.json's text when its feature_extractor_type is an
// audio feature extractor (the defaults above for absent fields), else nullopt. Throws
// oc::Error(ModelLoad) naming `source` and the field when a field is malformed or unsupported.
std::optional<media::AudioFeatureConfig> parse_audio_config(std::string_view json_text,
                                                            std::string_view source = "preprocessor_config.json");

}  // namespace oc::models::gemma3n
