// The gemma3n processor: the chat template renders each image as one image token and each audio
// clip as one audio token; here each is replaced by the full placeholder sequence
// ("\n\n<start_of_image>" + image_seq_length x image token + "<end_of_image>\n\n", likewise for
// audio with one sequence per 30 s window), the text is tokenized, and every placeholder run
// becomes a media segment carrying its encoder input, or its cached encoder output.
#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "media/audio.h"
#include "media/image.h"
#include "models/gemma3n/gemma3n.h"

namespace oc::models::gemma3n {
namespace {

// One segment to be: an image, or one window of an audio clip.
struct Item {
  Modality modality = Modality::Image;
  size_t input_index = 0;
  std::vector<int64_t> shape;
  std::vector<float> features;
  std::vector<uint8_t> mask;
  std::string hash;
  std::shared_ptr<const EncodedMedia> encoded;
};

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Item prepare_image(const ProcessorConfig& config, const Shared& shared, const MediaInput& in, size_t index) {
  Item item;
  item.modality = Modality::Image;
  item.input_index = index;
  if (in.data.size() > config.limits.image.max_bytes)
    throw Error(ErrorKind::InvalidRequest, std::to_string(in.data.size()) + " bytes exceed the " +
                                               std::to_string(config.limits.image.max_bytes) + "-byte image limit");
  if (in.data.empty()) throw Error(ErrorKind::InvalidRequest, "the image is empty (zero bytes)");
  if (shared.cache) {
    item.hash = encoder_cache_key(Modality::Image, shared.vision->identity(), in.data.data(), in.data.size());
    if ((item.encoded = shared.cache->find(item.hash))) return item;  // decoded and encoded before
  }
  const media::Image image = media::decode_image(bytes_of(in.data), config.limits.image, "");
  const auto [w, h] = media::output_size(image, *config.image);
  item.shape = {3, static_cast<int64_t>(h), static_cast<int64_t>(w)};
  item.features.resize(static_cast<size_t>(3) * w * h);
  media::preprocess_into(image, *config.image, item.features.data());
  return item;
}

std::vector<Item> prepare_audio(const ProcessorConfig& config, const Shared& shared,
                                const media::LogMelExtractor& log_mel, const MediaInput& in, size_t index) {
  const auto& fc = *config.audio;
  std::vector<float> samples;
  if (!in.samples.empty()) {
    if (in.sample_rate <= 0) throw Error(ErrorKind::InvalidRequest, "decoded audio without a sample rate");
    const double seconds = static_cast<double>(in.samples.size()) / in.sample_rate;
    if (seconds > config.limits.audio.max_seconds)
      throw Error(ErrorKind::InvalidRequest,
                  std::to_string(static_cast<int>(seconds)) + " s of audio exceed the limit of " +
                      std::to_string(static_cast<int>(config.limits.audio.max_seconds)) + " s");
    samples = media::resample(in.samples, in.sample_rate, fc.sampling_rate);
  } else {
    if (in.data.empty()) throw Error(ErrorKind::InvalidRequest, "the audio is empty (zero bytes)");
    samples = media::decode_audio(bytes_of(in.data), media::audio_format_from_name(in.format), fc.sampling_rate,
                                  config.limits.audio, "")
                  .samples;
  }
  if (samples.empty()) throw Error(ErrorKind::InvalidRequest, "the audio has no samples");
  media::WindowOptions wo;
  wo.window = fc.max_samples;
  std::vector<Item> items;
  for (const auto& win : media::split_windows(samples, wo)) {
    std::span<const float> part(samples.data() + win.start, static_cast<size_t>(win.length));
    Item item;
    item.modality = Modality::Audio;
    item.input_index = index;
    if (shared.cache) {
      item.hash = encoder_cache_key(Modality::Audio, shared.audio->identity(), part.data(), part.size_bytes());
      item.encoded = shared.cache->find(item.hash);
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

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

Prompt process_prompt(const tok::Tokenizer& tokenizer, const ProcessorConfig& config, const Shared& shared,
                      const media::LogMelExtractor* log_mel, std::string_view prompt_text,
                      std::span<const MediaInput> media) {
  // The placeholders the template rendered, in order.
  struct Place {
    size_t pos;
    Modality modality;
  };
  std::vector<Place> places;
  for (const auto& [token, m] :
       {std::pair{config.image_token, Modality::Image}, {config.audio_token, Modality::Audio}}) {
    if (token.empty()) continue;
    for (size_t p = prompt_text.find(token); p != std::string_view::npos; p = prompt_text.find(token, p + token.size()))
      places.push_back({p, m});
  }
  std::sort(places.begin(), places.end(), [](const Place& a, const Place& b) { return a.pos < b.pos; });

  size_t sent[2] = {0, 0}, placed[2] = {0, 0};
  for (const auto& in : media) sent[in.modality == Modality::Audio]++;
  for (const auto& p : places) placed[p.modality == Modality::Audio]++;
  for (int k = 0; k < 2; ++k) {
    const char* what = k ? "audio" : "image";
    if (sent[k] > 0) {
      const bool ok = k ? (config.audio && log_mel && shared.audio->available())
                        : (config.image.has_value() && shared.vision->available());
      if (!ok) throw Error(ErrorKind::Unsupported, std::string("this model takes no ") + what + " input", "messages");
    }
    if (sent[k] != placed[k])
      throw Error(ErrorKind::InvalidRequest,
                  "the prompt has " + std::to_string(placed[k]) + " " + what + " placeholder(s) (" +
                      (k ? config.audio_token : config.image_token) + ") but " + std::to_string(sent[k]) + " " + what +
                      " input(s) were sent",
                  "messages");
  }

  // Encoder inputs, per media input in request order; then queued per modality in placeholder order.
  // An input's errors carry its location.
  std::vector<std::vector<Item>> prepared(media.size());
  for (size_t i = 0; i < media.size(); ++i) {
    const MediaInput& in = media[i];
    try {
      if (in.modality == Modality::Audio)
        prepared[i] = prepare_audio(config, shared, *log_mel, in, i);
      else
        prepared[i].push_back(prepare_image(config, shared, in, i));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::InvalidRequest || !e.location().empty()) throw;
      throw Error(e.kind(), e.what(), in.location, e.code());
    }
  }
  std::vector<size_t> order[2];
  for (size_t i = 0; i < media.size(); ++i) order[media[i].modality == Modality::Audio].push_back(i);

  // The expanded text, and the items in the order their placeholders appear.
  const std::string image_seq =
      "\n\n" + config.boi_token + repeat(config.image_token, config.image_seq_length) + config.eoi_token + "\n\n";
  const std::string audio_seq =
      "\n\n" + config.boa_token + repeat(config.audio_token, config.audio_seq_length) + config.eoa_token + "\n\n";
  std::string text;
  std::vector<Item*> items;
  size_t last = 0, next[2] = {0, 0};
  for (const Place& p : places) {
    const bool audio = p.modality == Modality::Audio;
    text.append(prompt_text.substr(last, p.pos - last));
    last = p.pos + (audio ? config.audio_token : config.image_token).size();
    for (Item& item : prepared[order[audio][next[audio]++]]) {
      text += audio ? audio_seq : image_seq;
      items.push_back(&item);
    }
  }
  text.append(prompt_text.substr(last));

  Prompt prompt;
  prompt.ids = tokenizer.encode(text, false);
  size_t k = 0;
  for (size_t i = 0; i < prompt.ids.size();) {
    const TokenId id = prompt.ids[i];
    const bool is_image = config.image_token_id && id == *config.image_token_id;
    const bool is_audio = config.audio_token_id && id == *config.audio_token_id;
    if (!is_image && !is_audio) {
      ++i;
      continue;
    }
    size_t run = 0;
    while (i + run < prompt.ids.size() && prompt.ids[i + run] == id) ++run;
    const size_t want = is_image ? config.image_seq_length : config.audio_seq_length;
    const Modality m = is_image ? Modality::Image : Modality::Audio;
    if (k >= items.size() || items[k]->modality != m || run != want)
      throw Error(ErrorKind::InvalidRequest,
                  "the prompt's media placeholder tokens do not line up with its media (is a placeholder token "
                  "typed in a message?)",
                  "messages");
    Item& item = *items[k++];
    MediaSegment seg;
    seg.modality = m;
    seg.position = i;
    seg.length = run;
    seg.input_index = item.input_index;
    seg.shape = std::move(item.shape);
    seg.features = std::move(item.features);
    seg.mask = std::move(item.mask);
    seg.content_hash = std::move(item.hash);
    seg.encoded = std::move(item.encoded);
    prompt.media.push_back(std::move(seg));
    i += run;
  }
  if (k != items.size())
    throw Error(ErrorKind::InvalidRequest, "the prompt's media placeholders did not survive tokenization", "messages");
  // Load the encoders this prompt needs here, on the request's thread, rather than on the engine
  // thread where a first load would stall every running request.
  for (const MediaSegment& seg : prompt.media)
    if (!seg.encoded) shared.encoder(seg.modality)->load();
  return prompt;
}

}  // namespace oc::models::gemma3n
