// The gemma3n processor: media inputs are decoded and prepared in request order (images resized
// whole, audio split into 30 s windows of log-mel features), then the prompt is built chunk by
// chunk, each media marker becoming its placeholder sequence(s).
#include <algorithm>

#include "common/error.h"
#include "media/audio.h"
#include "media/image.h"
#include "models/gemma3n/gemma3n.h"
#include "models/prompt_builder.h"

namespace oc::models::gemma3n {
namespace {

std::vector<MediaSegment> prepare_audio(const ProcessorConfig& config, const MediaShared& shared,
                                        const media::LogMelExtractor& log_mel, const MediaInput& in, size_t index) {
  const auto& fc = *config.audio;
  const std::vector<float> samples = audio_samples(in, fc.sampling_rate, config.limits.audio);
  media::WindowOptions wo;
  wo.window = fc.max_samples;
  const MediaEncoder* encoder = shared.encoder(Modality::Audio);
  std::vector<MediaSegment> items;
  for (const auto& win : media::split_windows(samples, wo)) {
    std::span<const float> part(samples.data() + win.start, static_cast<size_t>(win.length));
    MediaSegment item;
    item.modality = Modality::Audio;
    item.input_index = index;
    if (shared.cache) {
      item.content_hash = encoder_cache_key(Modality::Audio, encoder->identity(), part.data(), part.size_bytes());
      item.encoded = shared.cache->find(item.content_hash);
    }
    if (!item.encoded) {
      media::AudioFeatures f = log_mel(part);
      item.shape = {f.frames, f.mel_bins};
      item.features = std::move(f.data);
      item.mask = std::move(f.mask);
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

Prompt process_prompt(const tok::Tokenizer& tokenizer, const ProcessorConfig& config, const MediaShared& shared,
                      const std::function<bool(Modality)>& takes, const media::LogMelExtractor* log_mel,
                      std::string_view prompt_text, std::span<const MediaInput> media) {
  const MediaMarker markers[] = {{Modality::Image, config.tokens.image}, {Modality::Audio, config.tokens.audio}};
  const MarkedPrompt marked = split_at_markers(prompt_text, markers, media, takes);

  // Encoder inputs, per media input in request order (so the first bad input is the one located).
  std::vector<std::vector<MediaSegment>> prepared(media.size());
  for (size_t i = 0; i < media.size(); ++i) {
    const MediaInput& in = media[i];
    at_input(in, [&] {
      if (in.modality == Modality::Audio) {
        prepared[i] = prepare_audio(config, shared, *log_mel, in, i);
      } else {
        const MediaEncoder* vision = shared.encoder(Modality::Image);
        prepared[i].push_back(
            whole_image_segment(in, *config.image, config.limits.image, vision->identity(), shared.cache.get(), i));
      }
    });
  }

  PromptBuilder b(tokenizer, config.tokens.soft_ids());
  for (size_t k = 0; k < marked.markers.size(); ++k) {
    b.text(marked.texts[k]);
    const Modality m = marked.markers[k];
    for (MediaSegment& seg : prepared[marked.inputs[k]])
      place_media(b, config.tokens, m, std::move(seg),
                  m == Modality::Audio ? config.audio_seq_length : config.image_seq_length);
  }
  b.text(marked.texts.back());
  return b.finish();
}

}  // namespace oc::models::gemma3n
