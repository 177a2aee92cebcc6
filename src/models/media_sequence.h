// The decoder sequence of a media family: the generic DecoderSequence, plus begin() running the
// encoders over the prompt's media segments, and each prefill chunk's inputs_embeds getting the
// encoder's feature rows at the placeholder positions it covers.
#pragma once

#include <memory>
#include <vector>

#include "models/decoder_sequence.h"
#include "models/media_encoder.h"

namespace oc::models {

class MediaSequence : public DecoderSequence {
 public:
  explicit MediaSequence(std::shared_ptr<MediaShared> shared);
  EncodeStats begin(const Prompt& prompt, RunControl& control) override;
  std::span<const float> forward(std::span<const TokenId> ids, RunControl& control) override;
  std::unique_ptr<Sequence> fork() const override;
  // Keeps the encoder rows of the prompt's segments (in order) for the prefill chunks.
  void place(const Prompt& prompt, std::span<const std::shared_ptr<const EncodedMedia>> encoded);

 protected:
  void edit_embeds(Ort::Value& embeds, size_t start, size_t n) override;
  std::unique_ptr<DecoderSequence> blank() const override;

 private:
  struct Placed {
    size_t position = 0;
    size_t length = 0;
    std::shared_ptr<const EncodedMedia> rows;
  };
  std::shared_ptr<MediaShared> s_;
  std::vector<Placed> placed_;
};

}  // namespace oc::models
