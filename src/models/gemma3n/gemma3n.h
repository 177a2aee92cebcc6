// The gemma3n family's internal pieces, shared by its files (not included outside this folder):
// the lazily loaded media encoders, the processor (media -> placeholder tokens and encoder
// inputs) and the state every sequence shares.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/image.h"
#include "models/decoder_sequence.h"
#include "models/encoder_cache.h"
#include "models/family.h"
#include "models/io_layout.h"
#include "models/model.h"
#include "models/repo.h"
#include "ort/session.h"

namespace oc::models::gemma3n {

// Default tensor names of the encoders in the onnx-community export; the sessions' metadata is
// checked against them.
struct Names {
  const char* pixel_values = "pixel_values";
  const char* image_features = "image_features";
  const char* input_features = "input_features";
  const char* input_features_mask = "input_features_mask";
  const char* audio_features = "audio_features";
};
inline const Names kNames;

// One media encoder (vision_encoder or audio_encoder), loaded on first use.
class Encoder {
 public:
  Encoder(Modality modality, std::string component, std::optional<Variant> variant, ort::SessionConfig config);

  Modality modality() const { return modality_; }
  const std::string& component() const { return component_; }
  bool available() const { return variant_.has_value(); }
  bool loaded() const { return loaded_.load(); }
  // Identity for cache keys: component, dtype and file.
  const std::string& identity() const { return identity_; }
  // Loads the session (once; thread-safe). Throws Unsupported when the file is absent, ModelLoad
  // when its inputs/outputs are not what the family drives.
  void load();

  // Runs the encoder over a batch: `inputs` [N, ...] float32 (cast to the session's input type),
  // `mask` [N, frames] (audio; empty for images). Returns [N, rows, width] rows cast to `to`.
  struct Output {
    Ort::Value rows{nullptr};
    int64_t batch = 0, rows_per_item = 0, width = 0;
  };
  Output run(Ort::Value inputs, const std::vector<uint8_t>& mask, ONNXTensorElementDataType to, RunControl& control);

 private:
  Modality modality_;
  std::string component_;
  std::optional<Variant> variant_;
  ort::SessionConfig config_;
  std::string identity_;
  std::mutex mu_;
  std::atomic<bool> loaded_{false};
  std::unique_ptr<ort::Session> session_;
  std::string input_, mask_, output_;
  ONNXTensorElementDataType input_type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  ONNXTensorElementDataType mask_type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
};

// What the processor needs to know (read from the repo's configs at load).
struct ProcessorConfig {
  std::optional<media::ImageProcessorConfig> image;
  std::optional<media::AudioFeatureConfig> audio;
  size_t image_seq_length = 256;
  size_t audio_seq_length = 188;
  // Token strings (tokenizer_config.json) and ids.
  std::string image_token = "<image_soft_token>", boi_token = "<start_of_image>", eoi_token = "<end_of_image>";
  std::string audio_token = "<audio_soft_token>", boa_token = "<start_of_audio>", eoa_token = "<end_of_audio>";
  std::optional<TokenId> image_token_id, audio_token_id;
  MediaOptions limits;
};

// The state every sequence of a model shares.
struct Shared {
  std::shared_ptr<DecoderSpec> text;  // embed_tokens + decoder, driven by DecoderSequence
  std::unique_ptr<Encoder> vision, audio;
  std::unique_ptr<EncoderCache> cache;  // null when caching is off

  Encoder* encoder(Modality m) const { return m == Modality::Image ? vision.get() : audio.get(); }
};

// The processor: rendered prompt + media -> expanded token ids and media segments with their
// encoder inputs (or cached encoder outputs).
Prompt process_prompt(const tok::Tokenizer& tokenizer, const ProcessorConfig& config, const Shared& shared,
                      const media::LogMelExtractor* log_mel, std::string_view prompt_text,
                      std::span<const MediaInput> media);

// Runs the encoders for the segments (of one prompt, or of several requests' prompts) that have
// no cached output (images batched; audio windows batched when they have the same frame count),
// stores the results in the cache, and returns one EncodedMedia per segment in order.
std::vector<std::shared_ptr<const EncodedMedia>> encode_media(Shared& shared,
                                                              std::span<const MediaSegment* const> segments,
                                                              EncodeStats& stats, RunControl& control);

}  // namespace oc::models::gemma3n
