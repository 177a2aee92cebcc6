// EXIF orientation: reading tag 0x0112 from a TIFF-structured EXIF block, and applying it.
#include <cstring>

#include "media/image.h"

namespace oc::media {

int exif_orientation(std::span<const uint8_t> exif) noexcept {
  const uint8_t* p = exif.data();
  size_t n = exif.size();
  if (n >= 6 && std::memcmp(p, "Exif\0\0", 6) == 0) {
    p += 6;
    n -= 6;
  }
  if (n < 8) return 1;
  bool little;
  if (p[0] == 'I' && p[1] == 'I') {
    little = true;
  } else if (p[0] == 'M' && p[1] == 'M') {
    little = false;
  } else {
    return 1;
  }
  auto u16 = [&](size_t at) -> uint32_t { return little ? (p[at] | (p[at + 1] << 8)) : ((p[at] << 8) | p[at + 1]); };
  auto u32 = [&](size_t at) -> uint32_t {
    return little ? (p[at] | (p[at + 1] << 8) | (p[at + 2] << 16) | (static_cast<uint32_t>(p[at + 3]) << 24))
                  : ((static_cast<uint32_t>(p[at]) << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3]);
  };
  if (u16(2) != 42) return 1;
  const uint32_t ifd = u32(4);
  if (ifd < 8 || static_cast<size_t>(ifd) + 2 > n) return 1;
  const uint32_t count = u16(ifd);
  for (uint32_t i = 0; i < count; ++i) {
    const size_t entry = static_cast<size_t>(ifd) + 2 + static_cast<size_t>(i) * 12;
    if (entry + 12 > n) return 1;
    if (u16(entry) != 0x0112) continue;
    const uint32_t type = u16(entry + 2);
    uint32_t value = 0;
    if (type == 3) {  // SHORT
      value = u16(entry + 8);
    } else if (type == 4 || type == 9) {  // LONG / SLONG
      value = u32(entry + 8);
    } else {
      return 1;
    }
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

void apply_orientation(Image& image, int orientation) {
  if (orientation <= 1 || orientation > 8) return;
  const size_t w = image.width, h = image.height;
  const uint8_t* src = image.rgb.data();
  if (orientation == 2 || orientation == 3 || orientation == 4) {
    // Flips keep the size: done in place.
    uint8_t* p = image.rgb.data();
    if (orientation == 2 || orientation == 3) {
      for (size_t y = 0; y < h; ++y) {
        uint8_t* row = p + y * w * 3;
        for (size_t x = 0; x < w / 2; ++x) {
          for (int c = 0; c < 3; ++c) std::swap(row[x * 3 + c], row[(w - 1 - x) * 3 + c]);
        }
      }
    }
    if (orientation == 3 || orientation == 4) {
      for (size_t y = 0; y < h / 2; ++y) {
        uint8_t* a = p + y * w * 3;
        uint8_t* b = p + (h - 1 - y) * w * 3;
        for (size_t i = 0; i < w * 3; ++i) std::swap(a[i], b[i]);
      }
    }
    return;
  }
  // 5..8 swap width and height: output (x', y') of a w' = h, h' = w image.
  std::vector<uint8_t> out(image.rgb.size());
  const size_t ow = h, oh = w;
  for (size_t oy = 0; oy < oh; ++oy) {
    for (size_t ox = 0; ox < ow; ++ox) {
      size_t sx = 0, sy = 0;
      switch (orientation) {
        case 5:  // transpose
          sx = oy, sy = ox;
          break;
        case 6:  // rotate 90 clockwise
          sx = oy, sy = h - 1 - ox;
          break;
        case 7:  // transverse
          sx = w - 1 - oy, sy = h - 1 - ox;
          break;
        default:  // 8: rotate 90 counter-clockwise
          sx = w - 1 - oy, sy = ox;
          break;
      }
      const uint8_t* s = src + (sy * w + sx) * 3;
      uint8_t* d = out.data() + (oy * ow + ox) * 3;
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  image.rgb = std::move(out);
  image.width = static_cast<uint32_t>(ow);
  image.height = static_cast<uint32_t>(oh);
}

}  // namespace oc::media
