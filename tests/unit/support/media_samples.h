// Media samples for unit tests (BMP, PNG headers, WAV, base64, data: URIs) and error helpers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "media/base64.h"

namespace oc::test {

inline std::string u32le(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 255);
  return s;
}
inline std::string u16le(uint16_t v) { return std::string{static_cast<char>(v & 255), static_cast<char>(v >> 8)}; }
inline std::string u32be(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (24 - 8 * i)) & 255);
  return s;
}

// A 24-bit BMP of w x h grey pixels.
inline std::string bmp(int w, int h) {
  const int row = (w * 3 + 3) / 4 * 4;
  std::string px(static_cast<size_t>(row * h), '\x80');
  std::string b = "BM" + u32le(static_cast<uint32_t>(54 + px.size())) + u32le(0) + u32le(54);
  b += u32le(40) + u32le(static_cast<uint32_t>(w)) + u32le(static_cast<uint32_t>(h)) + u16le(1) + u16le(24) + u32le(0) +
       u32le(static_cast<uint32_t>(px.size())) + u32le(2835) + u32le(2835) + u32le(0) + u32le(0);
  return b + px;
}

inline uint32_t crc32(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// The signature and IHDR of a PNG claiming w x h pixels (no image data).
inline std::string png_header(uint32_t w, uint32_t h) {
  std::string ihdr = "IHDR" + u32be(w) + u32be(h) + std::string("\x08\x02\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + u32be(13) + ihdr + u32be(crc32(ihdr));
}

// 16-bit PCM mono WAV.
inline std::string wav(const std::vector<float>& samples, int rate) {
  std::string data;
  for (float v : samples) {
    const auto q = static_cast<int16_t>(std::lround(std::max(-1.0f, std::min(1.0f, v)) * 32767.0f));
    data += u16le(static_cast<uint16_t>(q));
  }
  std::string fmt = u16le(1) + u16le(1) + u32le(static_cast<uint32_t>(rate)) + u32le(static_cast<uint32_t>(rate * 2)) +
                    u16le(2) + u16le(16);
  return "RIFF" + u32le(static_cast<uint32_t>(36 + data.size())) + "WAVEfmt " + u32le(16) + fmt + "data" +
         u32le(static_cast<uint32_t>(data.size())) + data;
}

inline std::vector<float> tone(double seconds, int rate = 16000) {
  std::vector<float> s(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < s.size(); ++i) s[i] = 0.3f * static_cast<float>(std::sin(2 * M_PI * 440.0 * i / rate));
  return s;
}

inline std::string b64(const std::string& bytes) {
  return media::base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

inline std::string data_uri(const std::string& type, const std::string& bytes) {
  return "data:" + type + ";base64," + b64(bytes);
}

// The oc::Error a call throws.
template <typename Fn>
inline Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  return Error(ErrorKind::Internal, "<no error>");
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace oc::test
