// What every family processor does with a rendered prompt: find the media markers the chat
// template placed (one per media input), check them against the request's media, and build the
// prompt as chunks: text (tokenized), special tokens, and media segments whose placeholder ids
// are written directly (never expanded as text and scanned again).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "media/audio.h"
#include "media/image.h"
#include "models/encoder_cache.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace oc::models {

// A marker string the template renders for one media input ("<start_of_image>", "<image>", ...).
struct MediaMarker {
  Modality modality = Modality::Image;
  std::string text;
};

// The tokens a processor places around media: each image becomes `boi` + its soft tokens
// (`image`) + `eoi`, each audio window `boa` + its soft tokens (`audio`) + `eoa`; the chat template
// renders `image` / `audio` as the marker of one input.
struct MediaTokens {
  std::string image, boi, eoi, audio, boa, eoa;
  std::optional<TokenId> image_id, audio_id;
  // The soft token ids present (never produced by tokenizing text).
  std::vector<TokenId> soft_ids() const;
};

// The prompt text cut at its markers: texts.size() == markers.size() + 1; markers[i] stands
// between texts[i] and texts[i + 1]; inputs[i] is the request media input it takes (the n-th
// marker of a modality takes the n-th input of that modality).
struct MarkedPrompt {
  std::vector<std::string_view> texts;
  std::vector<Modality> markers;
  std::vector<size_t> inputs;
};

// Cuts `prompt_text` at the markers. Throws oc::Error(Unsupported) when media of a modality the
// model does not take were sent (`takes` false), and oc::Error(InvalidRequest) when the count of
// markers and inputs of a modality differ.
MarkedPrompt split_at_markers(std::string_view prompt_text, std::span<const MediaMarker> markers,
                              std::span<const MediaInput> media, const std::function<bool(Modality)>& takes);

// Builds a Prompt chunk by chunk. Text is collected and tokenized (without added special
// tokens) when a token or media segment follows, so adjacent text pieces tokenize as one string.
// Text must not produce any of the `reserved` ids (media placeholders): such a prompt is an
// oc::Error(InvalidRequest) (a placeholder token typed in a message).
class PromptBuilder {
 public:
  PromptBuilder(const tok::Tokenizer& tokenizer, std::vector<TokenId> reserved);
  void text(std::string_view text);
  void token(TokenId id);
  // A media segment of `count` placeholder ids; its position and length are set here.
  void media(MediaSegment segment, TokenId placeholder, size_t count);
  Prompt finish();

 private:
  void flush();
  void add_text_ids(std::span<const TokenId> ids);
  const tok::Tokenizer& tokenizer_;
  std::vector<TokenId> reserved_;
  std::string pending_;
  Prompt prompt_;
};

// Runs f for one media input: an InvalidRequest error it throws without a location gets the
// input's location (the API layer names it; messages never do).
template <class F>
auto at_input(const MediaInput& in, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::InvalidRequest || !e.location().empty()) throw;
    throw Error(e.kind(), e.what(), in.location, e.code());
  }
}

// One media segment of `modality` as "\n\n" + begin token + `count` soft tokens + end token +
// "\n\n" (the soft token id of the modality must be present).
void place_media(PromptBuilder& b, const MediaTokens& tokens, Modality modality, MediaSegment segment, size_t count);

// Checks an image input's size (InvalidRequest when empty or over limits.max_bytes).
void check_image_bytes(const MediaInput& in, const media::ImageLimits& limits);

// The segment of one image resized and normalized whole (`config`) into a [3, H, W] encoder input,
// or carrying the encoder's cached output when `cache` holds it (then nothing is decoded).
MediaSegment whole_image_segment(const MediaInput& in, const media::ImageProcessorConfig& config,
                                 const media::ImageLimits& limits, const std::string& encoder_identity,
                                 EncoderCache* cache, size_t input_index);

// An audio input's mono samples at `sampling_rate`: decoded from its bytes, or its decoded samples
// resampled. InvalidRequest when it is empty, has no samples or lasts longer than
// limits.max_seconds.
std::vector<float> audio_samples(const MediaInput& in, int sampling_rate, const media::AudioLimits& limits);

// A token id by its string, or nullopt.
std::optional<TokenId> token_id(const tok::Tokenizer& tokenizer, const std::string& token);

}  // namespace oc::models
