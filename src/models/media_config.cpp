#include "models/media_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace oc::models {
namespace {

using nlohmann::json;

[[noreturn]] void bad(std::string_view source, const std::string& message) {
  throw Error(ErrorKind::ModelLoad, std::string(source) + ": " + message);
}

// The value of `key` unless absent or null (JavaScript's `??`).
const json* field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

double number(const json& j, const char* key, double fallback, std::string_view source) {
  const json* v = field(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) bad(source, std::string("'") + key + "' must be a number");
  return v->get<double>();
}

int integer(const json& j, const char* key, int fallback, std::string_view source) {
  const double v = number(j, key, fallback, source);
  if (v != std::floor(v) || std::fabs(v) > 1e9) bad(source, std::string("'") + key + "' must be an integer");
  return static_cast<int>(v);
}

bool boolean(const json& j, const char* key, bool fallback, std::string_view source) {
  const json* v = field(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) bad(source, std::string("'") + key + "' must be true or false");
  return v->get<bool>();
}

std::array<double, 3> triple(const json& j, const char* key, std::array<double, 3> fallback, std::string_view source) {
  const json* v = field(j, key);
  if (v == nullptr) return fallback;
  if (v->is_number()) {
    const double x = v->get<double>();
    return {x, x, x};
  }
  if (!v->is_array() || v->size() != 3) bad(source, std::string("'") + key + "' must be a number or 3 numbers");
  std::array<double, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    if (!(*v)[i].is_number()) bad(source, std::string("'") + key + "' must hold numbers");
    out[i] = (*v)[i].get<double>();
  }
  return out;
}

media::ImageProcessorConfig parse_image(const json& j, std::string_view source) {
  media::ImageProcessorConfig c;
  const json* size = field(j, "size");
  if (size == nullptr) size = field(j, "image_size");
  if (size != nullptr) {
    if (size->is_number_integer()) {
      c.width = c.height = size->get<uint32_t>();
    } else if (size->is_object() && size->contains("height") && size->contains("width")) {
      c.height = static_cast<uint32_t>(integer(*size, "height", 0, source));
      c.width = static_cast<uint32_t>(integer(*size, "width", 0, source));
    } else if (size->is_object() && size->contains("longest_edge") && !size->contains("shortest_edge")) {
      c.longest_edge = static_cast<uint32_t>(integer(*size, "longest_edge", 0, source));
      c.width = c.height = c.longest_edge;
    } else {
      bad(source, "'size' must be {\"height\", \"width\"} or {\"longest_edge\"}");
    }
    if (c.width == 0 || c.height == 0 || c.width > 8192 || c.height > 8192) bad(source, "'size' is out of range");
  }
  c.do_resize = boolean(j, "do_resize", size != nullptr, source);
  if (c.do_resize && size == nullptr) bad(source, "'do_resize' is true but no 'size' is given");
  c.resample = integer(j, "resample", 2, source);
  if (c.resample < 0 || c.resample > 5) bad(source, "'resample' must be a PIL filter code 0..5");
  // transformers.js resizes with lanczos through sharp's lanczos3 resize (antialiased), not the
  // affine transform it uses for the other filters.
  if (c.resample == 1) c.method = media::ResizeMethod::Antialiased;
  c.do_rescale = boolean(j, "do_rescale", true, source);
  c.rescale_factor = number(j, "rescale_factor", 1.0 / 255.0, source);
  c.do_normalize = boolean(j, "do_normalize", false, source);
  c.image_mean = triple(j, field(j, "image_mean") ? "image_mean" : "mean", {0.5, 0.5, 0.5}, source);
  c.image_std = triple(j, field(j, "image_std") ? "image_std" : "std", {0.5, 0.5, 0.5}, source);
  if (c.do_normalize) {
    for (double s : c.image_std) {
      if (s == 0.0) bad(source, "'image_std' must not be zero");
    }
  }
  c.do_convert_rgb = boolean(j, "do_convert_rgb", true, source);
  return c;
}

media::AudioFeatureConfig parse_audio(const json& j, std::string_view source) {
  media::AudioFeatureConfig c;
  c.sampling_rate = integer(j, "sampling_rate", c.sampling_rate, source);
  c.feature_size = integer(j, "feature_size", c.feature_size, source);
  c.frame_length = integer(j, "frame_length", c.frame_length, source);
  c.hop_length = integer(j, "hop_length", c.hop_length, source);
  if (field(j, "fft_length") != nullptr) {
    c.fft_length = integer(j, "fft_length", c.fft_length, source);
  } else {
    // Python derives it: the next power of two of frame_length, doubled with fft_overdrive.
    int n = 1;
    while (n < c.frame_length) n <<= 1;
    if (boolean(j, "fft_overdrive", true, source)) n <<= 1;
    c.fft_length = n;
  }
  c.min_frequency = number(j, "min_frequency", c.min_frequency, source);
  c.max_frequency = number(j, "max_frequency", c.max_frequency, source);
  c.preemphasis = number(j, "preemphasis", c.preemphasis, source);
  c.preemphasis_htk_flavor = boolean(j, "preemphasis_htk_flavor", true, source);
  c.mel_floor = number(j, "mel_floor", c.mel_floor, source);
  c.padding_value = number(j, "padding_value", 0.0, source);
  if (c.sampling_rate <= 0 || c.sampling_rate > 384000) bad(source, "'sampling_rate' is out of range");
  if (c.feature_size <= 0 || c.feature_size > 1024) bad(source, "'feature_size' is out of range");
  if (c.frame_length <= 0 || c.hop_length <= 0 || c.frame_length > c.fft_length) {
    bad(source, "'frame_length', 'hop_length' and 'fft_length' are inconsistent");
  }
  if (c.fft_length < 4 || c.fft_length > (1 << 16) || (c.fft_length & (c.fft_length - 1)) != 0) {
    bad(source, "'fft_length' must be a power of two");
  }
  if (!(c.mel_floor > 0)) bad(source, "'mel_floor' must be positive");
  if (!c.preemphasis_htk_flavor) bad(source, "'preemphasis_htk_flavor' false is not supported");
  c.max_samples = static_cast<int64_t>(c.sampling_rate) * 30;
  return c;
}

}  // namespace

MediaConfig parse_media_config(std::string_view json_text, std::string_view source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    bad(source, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad(source, "not a JSON object");
  MediaConfig out;
  const json* image_type = field(j, "image_processor_type");
  if (image_type != nullptr || field(j, "size") != nullptr || field(j, "image_size") != nullptr) {
    out.image = parse_image(j, source);
  }
  const json* fe = field(j, "feature_extractor_type");
  if (fe != nullptr && fe->is_string() && fe->get<std::string>().find("AudioFeatureExtractor") != std::string::npos) {
    out.audio = parse_audio(j, source);
  }
  return out;
}

}  // namespace oc::models
