// The gemma4 processor: media inputs are decoded and prepared in request order (images resized
// with their aspect ratio kept and cut into patches with their positions; audio split into 30 s
// windows of log-mel frames with a frame mask), then the prompt is built chunk by chunk, each media
// marker becoming its placeholder sequence(s) of as many soft tokens as the media give.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "media/audio.h"
#include "media/image.h"
#include "models/gemma4/gemma4.h"
#include "models/prompt_builder.h"

namespace oc::models::gemma4 {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A prepared media input: its segments and the soft tokens of each.
struct Prepared {
  std::vector<MediaSegment> segments;
  std::vector<size_t> tokens;
};

// One image -> one segment (patchify), or the encoder's cached rows. The soft tokens are known
// from the header alone, so a cached image is not decoded.
Prepared prepare_image(const ProcessorConfig& config, const MediaShared& shared, const MediaInput& in, size_t index) {
  const ImageConfig& ic = *config.image;
  const media::ImageLimits& limits = config.limits.image;
  check_image_bytes(in, limits);
  const media::ImageInfo info = media::probe_image(bytes_of(in.data), limits, "");
  uint32_t width = info.width, height = info.height;
  if (info.orientation >= 5) std::swap(width, height);  // EXIF orientations 5-8 transpose the image
  const auto [tw, th] = ic.do_resize ? target_size(width, height, ic) : std::array<uint32_t, 2>{width, height};
  const size_t patches = static_cast<size_t>(th / ic.patch_size) * (tw / ic.patch_size);
  if (patches > ic.max_patches())
    throw Error(ErrorKind::InvalidRequest, "the image has " + std::to_string(patches) + " patches, more than the " +
                                               std::to_string(ic.max_patches()) + " the model takes");
  const size_t tokens = patches / (static_cast<size_t>(ic.pooling_kernel_size) * ic.pooling_kernel_size);
  if (tokens == 0)
    throw Error(ErrorKind::InvalidRequest, "the image is too small (" + std::to_string(width) + "x" +
                                               std::to_string(height) + ") for a single image token");
  Prepared out;
  out.tokens.push_back(tokens);
  MediaSegment& seg = out.segments.emplace_back();
  seg.modality = Modality::Image;
  seg.input_index = index;
  if (shared.cache) {
    const MediaEncoder* vision = shared.encoder(Modality::Image);
    seg.content_hash = encoder_cache_key(Modality::Image, vision->identity(), in.data.data(), in.data.size());
    if ((seg.encoded = shared.cache->find(seg.content_hash))) return out;
  }
  Patches p = patchify(media::decode_image(bytes_of(in.data), limits, ""), ic);
  if (p.tokens != tokens) throw Error(ErrorKind::Internal, "gemma4: the decoded image differs from its header");
  seg.shape = {static_cast<int64_t>(ic.max_patches()), static_cast<int64_t>(ic.patch_size) * ic.patch_size * 3};
  seg.features = std::move(p.pixels);
  seg.positions = std::move(p.positions);
  seg.positions_shape = {static_cast<int64_t>(ic.max_patches()), 2};
  return out;
}

// One clip -> a segment per 30 s window (window_features), or the encoder's cached rows.
Prepared prepare_audio(const ProcessorConfig& config, const MediaShared& shared, const media::LogMelExtractor& log_mel,
                       const MediaInput& in, size_t index) {
  const auto& fc = *config.audio;
  const std::vector<float> samples = audio_samples(in, fc.sampling_rate, config.limits.audio);
  media::WindowOptions wo;
  wo.window = fc.max_samples;
  const MediaEncoder* encoder = shared.encoder(Modality::Audio);
  Prepared out;
  for (const auto& win : media::split_windows(samples, wo)) {
    const size_t tokens = audio_tokens(win.length, fc.sampling_rate, config.audio_seq_length);
    if (tokens == 0) continue;  // a sliver too short for one token (a window's tail)
    std::span<const float> part(samples.data() + win.start, static_cast<size_t>(win.length));
    MediaSegment item;
    item.modality = Modality::Audio;
    item.input_index = index;
    if (shared.cache) {
      item.content_hash = encoder_cache_key(Modality::Audio, encoder->identity(), part.data(), part.size_bytes());
      item.encoded = shared.cache->find(item.content_hash);
    }
    if (!item.encoded) {
      media::AudioFeatures f = window_features(part, fc, log_mel);
      item.shape = {f.frames, f.mel_bins};
      item.features = std::move(f.data);
      item.mask = std::move(f.mask);
    }
    out.segments.push_back(std::move(item));
    out.tokens.push_back(tokens);
  }
  if (out.segments.empty())
    throw Error(ErrorKind::InvalidRequest, "the audio is too short (" + std::to_string(samples.size()) +
                                               " samples at " + std::to_string(fc.sampling_rate) +
                                               " Hz) for a single audio token");
  return out;
}

}  // namespace

std::optional<ImageConfig> read_image_config(const JsonFile& proc, const std::string& source) {
  if (!proc.string("image_processor.image_processor_type")) return std::nullopt;
  ImageConfig ic;
  auto side = [&](const char* key, uint32_t& out) {
    const std::string path = std::string("image_processor.") + key;
    if (auto v = proc.integer(path)) {
      if (*v <= 0 || *v > 4096) throw Error(ErrorKind::ModelLoad, source + ": " + path + " must be in 1..4096");
      out = static_cast<uint32_t>(*v);
    }
  };
  side("patch_size", ic.patch_size);
  side("pooling_kernel_size", ic.pooling_kernel_size);
  side("max_soft_tokens", ic.max_soft_tokens);
  ic.resample = static_cast<int>(proc.integer("image_processor.resample").value_or(ic.resample));
  ic.do_resize = proc.boolean("image_processor.do_resize").value_or(true);
  ic.do_rescale = proc.boolean("image_processor.do_rescale").value_or(true);
  ic.rescale_factor = proc.number("image_processor.rescale_factor").value_or(ic.rescale_factor);
  return ic;
}

std::optional<media::AudioFeatureConfig> read_audio_config(const JsonFile& proc) {
  if (!proc.string("feature_extractor.feature_extractor_type")) return std::nullopt;
  // Gemma4AudioFeatureExtractor's defaults where the file is silent: 16 kHz, 128 mel bins from 0
  // to 8000 Hz, frames of 320 samples every 160, a 512-point FFT, no pre-emphasis, mel floor 1e-3
  // added, clips padded to a multiple of 128 samples.
  media::AudioFeatureConfig c;
  c.sampling_rate = 16000;
  c.feature_size = 128;
  c.frame_length = 320;
  c.hop_length = 160;
  c.fft_length = 512;
  c.min_frequency = 0.0;
  c.max_frequency = 8000.0;
  c.preemphasis = 0.0;
  c.mel_floor = 1e-3;
  c.padding_value = 0.0;
  c.pad_to_multiple_of = 128;
  auto integer = [&](const char* key, int& out) {
    if (auto v = proc.integer(std::string("feature_extractor.") + key)) out = static_cast<int>(*v);
  };
  auto number = [&](const char* key, double& out) {
    if (auto v = proc.number(std::string("feature_extractor.") + key)) out = *v;
  };
  integer("sampling_rate", c.sampling_rate);
  integer("feature_size", c.feature_size);
  integer("frame_length", c.frame_length);
  integer("hop_length", c.hop_length);
  integer("fft_length", c.fft_length);
  number("min_frequency", c.min_frequency);
  number("max_frequency", c.max_frequency);
  number("preemphasis", c.preemphasis);
  number("mel_floor", c.mel_floor);
  number("padding_value", c.padding_value);
  c.preemphasis_htk_flavor = proc.boolean("feature_extractor.preemphasis_htk_flavor").value_or(true);
  c.mel_floor_add = true;
  c.max_samples = static_cast<int64_t>(c.sampling_rate) * 30;  // one window: 750 tokens of 40 ms
  return c;
}

std::unique_ptr<media::LogMelExtractor> make_log_mel(const media::AudioFeatureConfig& config) {
  media::AudioFeatureConfig c = config;
  c.pad_to_multiple_of = 0;  // window_features pads
  c.max_samples = std::numeric_limits<int64_t>::max();
  return std::make_unique<media::LogMelExtractor>(c);
}

Patches patchify(const media::Image& decoded, const ImageConfig& config) {
  const auto [tw, th] =
      config.do_resize ? target_size(decoded.width, decoded.height, config) : std::array{decoded.width, decoded.height};
  media::Image resized;
  const media::Image& image =
      tw == decoded.width && th == decoded.height
          ? decoded
          : (resized = media::resize_image(decoded, tw, th, config.resample, media::ResizeMethod::Reference));
  const size_t ps = config.patch_size, rows = th / ps, cols = tw / ps, k = config.pooling_kernel_size;
  const size_t max_patches = config.max_patches(), patch_dim = ps * ps * 3;
  Patches out;
  out.patches = rows * cols;
  if (out.patches > max_patches)
    throw Error(ErrorKind::InvalidRequest, "the image has more patches than the model takes");
  out.tokens = out.patches / (k * k);
  // float32(v) * rescale_factor in double, stored as float32 (as the reference computes it).
  float value[256];
  for (int v = 0; v < 256; ++v)
    value[v] =
        config.do_rescale ? static_cast<float>(static_cast<double>(v) * config.rescale_factor) : static_cast<float>(v);
  out.pixels.assign(max_patches * patch_dim, 0.0f);
  out.positions.assign(max_patches * 2, -1);
  float* dst = out.pixels.data();
  int64_t* pos = out.positions.data();
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      for (size_t dy = 0; dy < ps; ++dy) {
        const uint8_t* src = image.rgb.data() + ((r * ps + dy) * tw + c * ps) * 3;
        for (size_t i = 0; i < ps * 3; ++i) *dst++ = value[src[i]];
      }
      *pos++ = static_cast<int64_t>(c);
      *pos++ = static_cast<int64_t>(r);
    }
  }
  return out;
}

media::AudioFeatures window_features(std::span<const float> samples, const media::AudioFeatureConfig& config,
                                     const media::LogMelExtractor& log_mel) {
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(samples.size()), config.max_samples);
  const int64_t pad_left = config.frame_length / 2, hop = config.hop_length, frame = config.frame_length;
  const int64_t multiple = std::max(config.pad_to_multiple_of, 1);
  const int64_t padded = (n + multiple - 1) / multiple * multiple;
  std::vector<float> buf(static_cast<size_t>(pad_left + padded), static_cast<float>(config.padding_value));
  std::fill(buf.begin(), buf.begin() + pad_left, 0.0f);
  std::copy(samples.begin(), samples.begin() + n, buf.begin() + pad_left);
  media::AudioFeatures f = log_mel(buf);
  const int64_t frames = std::clamp<int64_t>((pad_left + padded - frame - 1) / hop + 1, 1, f.frames);
  f.frames = frames;
  f.data.resize(static_cast<size_t>(frames * f.mel_bins));
  f.mask.assign(static_cast<size_t>(frames), 0);
  for (int64_t i = 0; i < frames; ++i) {
    if (i * hop + frame < pad_left + n)
      f.mask[i] = 1;
    else
      std::fill_n(f.data.begin() + i * f.mel_bins, f.mel_bins, 0.0f);
  }
  return f;
}

std::array<uint32_t, 2> target_size(uint32_t width, uint32_t height, const ImageConfig& config) {
  const double patch = config.patch_size;
  const double target_px = static_cast<double>(config.max_patches()) * patch * patch;
  const double factor = std::sqrt(target_px / (static_cast<double>(height) * width));
  const uint32_t side = config.patch_size * config.pooling_kernel_size;
  uint32_t th = static_cast<uint32_t>(std::floor(factor * height / side)) * side;
  uint32_t tw = static_cast<uint32_t>(std::floor(factor * width / side)) * side;
  const uint32_t max_side = config.max_patches() / (config.pooling_kernel_size * config.pooling_kernel_size) * side;
  if (th == 0 && tw == 0) {
    throw Error(ErrorKind::InvalidRequest, "the image cannot be resized for the model");
  } else if (th == 0) {
    th = side;
    tw = std::min(width / height * side, max_side);
  } else if (tw == 0) {
    tw = side;
    th = std::min(height / width * side, max_side);
  }
  return {tw, th};
}

size_t audio_tokens(int64_t samples, int sampling_rate, size_t audio_seq_length) {
  const int64_t frame = std::llround(sampling_rate * 20.0 / 1000.0);
  const int64_t hop = std::llround(sampling_rate * 10.0 / 1000.0);
  const int64_t span = samples + frame / 2 - frame - 1;
  if (span < 0) return 0;
  int64_t t = span / hop + 1;
  for (int i = 0; i < 2; ++i) t = (t - 1) / 2 + 1;
  return std::min(static_cast<size_t>(t), audio_seq_length);
}

Prompt process_prompt(const tok::Tokenizer& tokenizer, const ProcessorConfig& config, const MediaShared& shared,
                      const std::function<bool(Modality)>& takes, const media::LogMelExtractor* log_mel,
                      std::string_view prompt_text, std::span<const MediaInput> media) {
  const MediaMarker markers[] = {{Modality::Image, config.tokens.image}, {Modality::Audio, config.tokens.audio}};
  const MarkedPrompt marked = split_at_markers(prompt_text, markers, media, takes);

  // Encoder inputs, per media input in request order (so the first bad input is the one located).
  std::vector<Prepared> prepared(media.size());
  for (size_t i = 0; i < media.size(); ++i) {
    const MediaInput& in = media[i];
    at_input(in, [&] {
      prepared[i] = in.modality == Modality::Audio ? prepare_audio(config, shared, *log_mel, in, i)
                                                   : prepare_image(config, shared, in, i);
    });
  }

  PromptBuilder b(tokenizer, config.tokens.soft_ids());
  for (size_t k = 0; k < marked.markers.size(); ++k) {
    b.text(marked.texts[k]);
    Prepared& p = prepared[marked.inputs[k]];
    for (size_t s = 0; s < p.segments.size(); ++s)
      place_media(b, config.tokens, marked.markers[k], std::move(p.segments[s]), p.tokens[s]);
  }
  b.text(marked.texts.back());
  return b.finish();
}

}  // namespace oc::models::gemma4
