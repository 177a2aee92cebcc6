#include "models/media_sequence.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace oc::models {

MediaSequence::MediaSequence(std::shared_ptr<MediaShared> shared)
    : DecoderSequence(shared->text), s_(std::move(shared)) {}

EncodeStats MediaSequence::begin(const Prompt& prompt, RunControl& control) {
  EncodeStats stats;
  if (prompt.media.empty()) return stats;
  std::vector<const MediaSegment*> segments;
  for (const auto& seg : prompt.media) segments.push_back(&seg);
  place(prompt, encode_media(*s_, segments, stats, control));
  return stats;
}

void MediaSequence::place(const Prompt& prompt, std::span<const std::shared_ptr<const EncodedMedia>> encoded) {
  for (size_t i = 0; i < prompt.media.size(); ++i)
    placed_.push_back({prompt.media[i].position, prompt.media[i].length, encoded[i]});
}

std::unique_ptr<DecoderSequence> MediaSequence::blank() const { return std::make_unique<MediaSequence>(s_); }

std::span<const float> MediaSequence::forward(std::span<const TokenId> ids, RunControl& control) {
  auto logits = DecoderSequence::forward(ids, control);
  // Feature rows behind the prompt are no longer needed.
  std::erase_if(placed_, [&](const Placed& p) { return p.position + p.length <= length(); });
  return logits;
}

std::unique_ptr<Sequence> MediaSequence::fork() const {
  auto copy = std::make_unique<MediaSequence>(s_);
  copy_state(*copy);
  copy->placed_ = placed_;
  return copy;
}

// Overwrites the rows of positions [start, start + n) that belong to media segments with the
// encoder's feature rows.
void MediaSequence::edit_embeds(Ort::Value& embeds, size_t start, size_t n) {
  if (placed_.empty()) return;
  const auto type = s_->text->embeds_type;
  auto dims = embeds.GetTensorTypeAndShapeInfo().GetShape();
  const size_t width = static_cast<size_t>(dims.back());
  const size_t row_bytes = width * ort::element_size(type);
  auto* base = static_cast<uint8_t*>(embeds.GetTensorMutableRawData());
  for (const Placed& p : placed_) {
    const size_t from = std::max(p.position, start);
    const size_t to = std::min(p.position + p.length, start + n);
    if (from >= to) continue;
    if (p.rows->type != type || static_cast<size_t>(p.rows->width) != width ||
        static_cast<size_t>(p.rows->rows) != p.length)
      throw Error(ErrorKind::Internal, "encoder features do not fit the decoder's inputs_embeds (width " +
                                           std::to_string(p.rows->width) + " vs " + std::to_string(width) + ")");
    std::memcpy(base + (from - start) * row_bytes, p.rows->data.data() + (from - p.position) * row_bytes,
                (to - from) * row_bytes);
  }
}

}  // namespace oc::models
