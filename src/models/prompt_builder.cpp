#include "models/prompt_builder.h"

#include <algorithm>

#include "common/error.h"

namespace oc::models {

MarkedPrompt split_at_markers(std::string_view prompt_text, std::span<const MediaMarker> markers,
                              std::span<const MediaInput> media, const std::function<bool(Modality)>& takes) {
  struct Place {
    size_t pos, len;
    Modality modality;
  };
  std::vector<Place> places;
  for (const MediaMarker& m : markers) {
    if (m.text.empty()) continue;
    for (size_t p = prompt_text.find(m.text); p != std::string_view::npos;
         p = prompt_text.find(m.text, p + m.text.size()))
      places.push_back({p, m.text.size(), m.modality});
  }
  std::sort(places.begin(), places.end(), [](const Place& a, const Place& b) { return a.pos < b.pos; });

  for (Modality mod : {Modality::Image, Modality::Audio}) {
    const size_t sent =
        std::count_if(media.begin(), media.end(), [&](const MediaInput& in) { return in.modality == mod; });
    const size_t placed =
        std::count_if(places.begin(), places.end(), [&](const Place& p) { return p.modality == mod; });
    const std::string what = modality_name(mod);
    if (sent > 0 && !takes(mod))
      throw Error(ErrorKind::Unsupported, "this model takes no " + what + " input", "messages");
    if (sent != placed) {
      std::string marker;
      for (const MediaMarker& m : markers)
        if (m.modality == mod) marker = m.text;
      throw Error(ErrorKind::InvalidRequest,
                  "the prompt has " + std::to_string(placed) + " " + what + " placeholder(s) (" + marker + ") but " +
                      std::to_string(sent) + " " + what + " input(s) were sent",
                  "messages");
    }
  }

  MarkedPrompt out;
  std::vector<size_t> next_of(3, 0);
  size_t last = 0;
  for (const Place& p : places) {
    out.texts.push_back(prompt_text.substr(last, p.pos - last));
    out.markers.push_back(p.modality);
    size_t& k = next_of[static_cast<size_t>(p.modality)];
    size_t seen = 0, index = 0;
    for (; index < media.size(); ++index)
      if (media[index].modality == p.modality && seen++ == k) break;
    ++k;
    out.inputs.push_back(index);
    last = p.pos + p.len;
  }
  out.texts.push_back(prompt_text.substr(last));
  return out;
}

PromptBuilder::PromptBuilder(const tok::Tokenizer& tokenizer, std::vector<TokenId> reserved)
    : tokenizer_(tokenizer), reserved_(std::move(reserved)) {}

void PromptBuilder::text(std::string_view text) { pending_.append(text); }

void PromptBuilder::add_text_ids(std::span<const TokenId> ids) {
  if (ids.empty()) return;
  for (TokenId id : ids)
    if (std::find(reserved_.begin(), reserved_.end(), id) != reserved_.end())
      throw Error(ErrorKind::InvalidRequest,
                  "the prompt's text holds a media placeholder token (is a placeholder token typed in a message?)",
                  "messages");
  auto& chunks = prompt_.chunks;
  const size_t begin = prompt_.ids.size();
  prompt_.ids.insert(prompt_.ids.end(), ids.begin(), ids.end());
  if (!chunks.empty() && chunks.back().modality == Modality::Text && chunks.back().end == begin)
    chunks.back().end = prompt_.ids.size();
  else
    chunks.push_back({Modality::Text, begin, prompt_.ids.size(), 0});
}

void PromptBuilder::flush() {
  if (pending_.empty()) return;
  const auto ids = tokenizer_.encode(pending_, false);
  pending_.clear();
  add_text_ids(ids);
}

void PromptBuilder::token(TokenId id) {
  flush();
  const TokenId one[] = {id};
  add_text_ids(one);
}

void PromptBuilder::media(MediaSegment segment, TokenId placeholder, size_t count) {
  flush();
  segment.position = prompt_.ids.size();
  segment.length = count;
  prompt_.ids.insert(prompt_.ids.end(), count, placeholder);
  prompt_.chunks.push_back({segment.modality, segment.position, prompt_.ids.size(), prompt_.media.size()});
  prompt_.media.push_back(std::move(segment));
}

Prompt PromptBuilder::finish() {
  flush();
  return std::move(prompt_);
}

void check_image_bytes(const MediaInput& in, const media::ImageLimits& limits) {
  if (in.data.size() > limits.max_bytes)
    throw Error(ErrorKind::InvalidRequest, std::to_string(in.data.size()) + " bytes exceed the " +
                                               std::to_string(limits.max_bytes) + "-byte image limit");
  if (in.data.empty()) throw Error(ErrorKind::InvalidRequest, "the image is empty (zero bytes)");
}

MediaSegment whole_image_segment(const MediaInput& in, const media::ImageProcessorConfig& config,
                                 const media::ImageLimits& limits, const std::string& encoder_identity,
                                 EncoderCache* cache, size_t input_index) {
  check_image_bytes(in, limits);
  MediaSegment seg;
  seg.modality = Modality::Image;
  seg.input_index = input_index;
  if (cache) {
    seg.content_hash = encoder_cache_key(Modality::Image, encoder_identity, in.data.data(), in.data.size());
    if ((seg.encoded = cache->find(seg.content_hash))) return seg;  // decoded and encoded before
  }
  const media::Image image =
      media::decode_image({reinterpret_cast<const uint8_t*>(in.data.data()), in.data.size()}, limits, "");
  const auto [w, h] = media::output_size(image, config);
  seg.shape = {3, static_cast<int64_t>(h), static_cast<int64_t>(w)};
  seg.features.resize(static_cast<size_t>(3) * w * h);
  media::preprocess_into(image, config, seg.features.data());
  return seg;
}

std::vector<TokenId> MediaTokens::soft_ids() const {
  std::vector<TokenId> ids;
  for (const auto& id : {image_id, audio_id})
    if (id) ids.push_back(*id);
  return ids;
}

void place_media(PromptBuilder& b, const MediaTokens& tokens, Modality modality, MediaSegment segment, size_t count) {
  const bool audio = modality == Modality::Audio;
  b.text("\n\n" + (audio ? tokens.boa : tokens.boi));
  b.media(std::move(segment), audio ? *tokens.audio_id : *tokens.image_id, count);
  b.text((audio ? tokens.eoa : tokens.eoi) + "\n\n");
}

std::vector<float> audio_samples(const MediaInput& in, int sampling_rate, const media::AudioLimits& limits) {
  std::vector<float> samples;
  if (!in.samples.empty()) {
    if (in.sample_rate <= 0) throw Error(ErrorKind::InvalidRequest, "decoded audio without a sample rate");
    const double seconds = static_cast<double>(in.samples.size()) / in.sample_rate;
    if (seconds > limits.max_seconds)
      throw Error(ErrorKind::InvalidRequest, std::to_string(static_cast<int>(seconds)) +
                                                 " s of audio exceed the limit of " +
                                                 std::to_string(static_cast<int>(limits.max_seconds)) + " s");
    samples = media::resample(in.samples, in.sample_rate, sampling_rate);
  } else {
    if (in.data.empty()) throw Error(ErrorKind::InvalidRequest, "the audio is empty (zero bytes)");
    samples = media::decode_audio({reinterpret_cast<const uint8_t*>(in.data.data()), in.data.size()},
                                  media::audio_format_from_name(in.format), sampling_rate, limits, "")
                  .samples;
  }
  if (samples.empty()) throw Error(ErrorKind::InvalidRequest, "the audio has no samples");
  return samples;
}

std::optional<TokenId> token_id(const tok::Tokenizer& tokenizer, const std::string& token) {
  if (token.empty()) return std::nullopt;
  return tokenizer.token_to_id(token);
}

}  // namespace oc::models
