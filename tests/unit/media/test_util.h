// Helpers of the media unit tests: encoders for test inputs and error capture.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace media_test {

// The message of the oc::Error thrown by f ("no error" when none), checking its kind.
inline std::string error_of(const std::function<void()>& f, oc::ErrorKind kind = oc::ErrorKind::InvalidRequest) {
  try {
    f();
  } catch (const oc::Error& e) {
    if (e.kind() != kind) return std::string("wrong kind: ") + e.what();
    return e.what();
  }
  return "no error";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<uint8_t> encode_png(const std::vector<uint8_t>& pixels, int w, int h, int channels);
std::vector<uint8_t> encode_jpeg(const std::vector<uint8_t>& rgb, int w, int h, int quality = 95);
std::vector<uint8_t> encode_webp(const std::vector<uint8_t>& rgb, int w, int h);
// A 16-bit PCM WAV of mono samples.
std::vector<uint8_t> encode_wav(const std::vector<float>& samples, int rate, int channels = 1);
// Any libsndfile format (SF_FORMAT_*), through a temporary file.
std::vector<uint8_t> encode_sndfile(const std::vector<float>& interleaved, int rate, int channels, int format);

}  // namespace media_test
