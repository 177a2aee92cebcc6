// The media encoders of a family (vision_encoder, audio_encoder): loaded on first use, run in
// batches over a prompt's media segments, outputs cached by content. Tensor names come from the
// session's metadata; a family names only the ones it prefers and any extra mask input.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/decoder_sequence.h"
#include "models/encoder_cache.h"
#include "models/model.h"
#include "models/repo.h"
#include "ort/session.h"

namespace oc::models {

// The tensor names an encoder is driven by. `input` and `output` are preferred names: when the
// session has no such tensor, its only float input/output is taken. `mask`, when set, is an
// optional mask input filled from the segments' masks; `positions`, when set, an optional int64
// input filled from the segments' positions. `extra`, when set and the session has it, is a second
// output of one row ([width] or [1, width]) that segments may gather (MediaSegment).
struct EncoderNames {
  std::string input = "pixel_values";
  std::string output = "image_features";
  std::string mask;
  // Initialized, so the families that name fewer fields need not name them.
  std::string extra{};
  std::string positions{};
};

// One media encoder, loaded on first use.
class MediaEncoder {
 public:
  MediaEncoder(Modality modality, std::string component, std::optional<Variant> variant, ort::SessionConfig config,
               EncoderNames names);

  Modality modality() const { return modality_; }
  const std::string& component() const { return component_; }
  bool available() const { return variant_.has_value(); }
  bool loaded() const { return loaded_.load(); }
  // Identity for cache keys: component, dtype and file.
  const std::string& identity() const { return identity_; }
  // Loads the session (once; thread-safe). Throws Unsupported when the file is absent, ModelLoad
  // when its inputs/outputs are not what the family drives.
  void load();
  // Rank of the feature input as declared (valid after load()).
  size_t input_rank() const { return input_rank_; }

  // Runs the encoder over a batch: `inputs` float32 of the session's rank, `side.mask` (with
  // `mask_shape`; empty when the encoder takes none), `side.positions` (with `positions_shape`;
  // empty when it takes none). Returns the rows cast to `to`: [N, rows, width], or, from an encoder whose
  // output is [rows, width], the rows of all items one after the other (batch 1, `packed`); and the
  // extra row (cast to `to`) when the session has the `extra` output.
  struct Output {
    Ort::Value rows{nullptr};
    int64_t batch = 0, rows_per_item = 0, width = 0;
    bool packed = false;
    std::vector<uint8_t> extra;
  };
  struct SideInputs {
    std::span<const uint8_t> mask;
    std::span<const int64_t> mask_shape;
    std::span<const int64_t> positions;
    std::span<const int64_t> positions_shape;
  };
  Output run(Ort::Value inputs, const SideInputs& side, ONNXTensorElementDataType to, RunControl& control);

 private:
  Modality modality_;
  std::string component_;
  std::optional<Variant> variant_;
  ort::SessionConfig config_;
  EncoderNames names_;
  std::string identity_;
  std::mutex mu_;
  std::atomic<bool> loaded_{false};
  std::unique_ptr<ort::Session> session_;
  std::string input_, mask_, positions_, output_, extra_;
  size_t input_rank_ = 0;
  ONNXTensorElementDataType input_type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  ONNXTensorElementDataType mask_type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
};

// What every sequence of a media model shares: the text core, the encoders, the encoder cache.
struct MediaShared {
  std::shared_ptr<DecoderSpec> text;  // embed_tokens + decoder, driven by DecoderSequence
  std::vector<std::unique_ptr<MediaEncoder>> encoders;
  std::unique_ptr<EncoderCache> cache;  // null when caching is off

  MediaEncoder* encoder(Modality m) const;  // nullptr when the model has none for m
};

// Runs the encoders for the segments (of one prompt, or of the prompts of several requests) that
// have no cached output (segments of one modality and input shape in one batch), stores the
// results in the cache, and returns one EncodedMedia per segment in order. A segment's input is
// [shape...]; the batch is [N, shape...], or [1, N, shape...] when the session's input has one
// dimension more (frames of one image). A segment of several items puts them all in the batch;
// one with a gather list gets its rows gathered from its items' rows and the extra row. An encoder
// whose output is [rows, width] returns the rows of the batch's segments one after the other, each
// segment's `length` of them (segments of one batch may then differ in length).
std::vector<std::shared_ptr<const EncodedMedia>> encode_media(MediaShared& shared,
                                                              std::span<const MediaSegment* const> segments,
                                                              EncodeStats& stats, RunControl& control);

}  // namespace oc::models
