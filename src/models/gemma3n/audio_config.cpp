#include "models/gemma3n/audio_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace oc::models::gemma3n {
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

}  // namespace

media::AudioFeatureConfig audio_defaults() {
  media::AudioFeatureConfig c;
  c.sampling_rate = 16000;
  c.feature_size = 128;
  c.frame_length = 512;
  c.hop_length = 160;
  c.fft_length = 1024;
  c.min_frequency = 125.0;
  c.max_frequency = 7600.0;
  c.preemphasis = 0.97;
  c.preemphasis_htk_flavor = true;
  c.mel_floor = 1e-5;
  c.padding_value = 0.0;
  c.pad_to_multiple_of = 128;
  c.max_samples = 480'000;  // 30 s at 16 kHz
  return c;
}

std::optional<media::AudioFeatureConfig> parse_audio_config(std::string_view json_text, std::string_view source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    bad(source, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad(source, "not a JSON object");
  const json* fe = field(j, "feature_extractor_type");
  if (fe == nullptr || !fe->is_string() || fe->get<std::string>().find("AudioFeatureExtractor") == std::string::npos)
    return std::nullopt;
  media::AudioFeatureConfig c = audio_defaults();
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

}  // namespace oc::models::gemma3n
