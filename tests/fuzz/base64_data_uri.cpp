// base64 and data: URIs as clients send media. Decoding never reads outside the input, every
// failure is an InvalidRequest, and what decodes re-encodes to the same bytes.
#include <cstdint>

#include "fuzz_support.h"
#include "media/base64.h"

using namespace oc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The input itself, not a copy with a terminator: an off-by-one read past the end is caught.
  const std::string_view text = fuzz::as_text(data, size);
  fuzz::expect_clean_errors([&] {
    const std::vector<uint8_t> bytes = media::base64_decode(text, "data");
    const std::string again = media::base64_encode(bytes.data(), bytes.size());
    fuzz::check(media::base64_decode(again, "again") == bytes, "base64 round trip differs");
  });
  fuzz::expect_clean_errors([&] {
    const media::DataUri uri = media::parse_data_uri(text, "image 1");
    fuzz::check(media::is_data_uri(text), "a data: URI parsed without the data: prefix");
    fuzz::check(uri.bytes.size() <= size, "a data: URI decoded to more bytes than it has");
  });
  return 0;
}
