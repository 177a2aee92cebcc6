// Image decoders (JPEG, PNG, WebP, GIF, BMP; EXIF orientation): limits are checked from the header
// before any pixel buffer is allocated, and every failure is an oc::Error for the client.
#include <cstdint>
#include <span>

#include "fuzz_support.h"
#include "media/image.h"

using namespace oc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  media::ImageLimits limits;
  limits.max_pixels = 1 << 20;  // small images keep the fuzzer fast; the checks are the same
  limits.max_side = 4096;
  const std::span<const uint8_t> bytes(data, size);
  fuzz::expect_clean_errors([&] {
    const media::ImageInfo info = media::probe_image(bytes, limits, "image 1");
    fuzz::check(static_cast<uint64_t>(info.width) * info.height <= limits.max_pixels, "probe passed over the limit");
  });
  fuzz::expect_clean_errors([&] {
    const media::Image img = media::decode_image(bytes, limits, "image 1");
    fuzz::check(img.rgb.size() == static_cast<size_t>(img.width) * img.height * 3, "RGB buffer size mismatch");
    fuzz::check(img.width > 0 && img.height > 0, "an empty image decoded");
  });
  fuzz::expect_clean_errors([&] { media::exif_orientation(bytes); });
  return 0;
}
