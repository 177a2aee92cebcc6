// Audio decoders (WAV, FLAC, Ogg, MP3 through libsndfile; resampling to 16 kHz): the duration limit
// is checked before decoding it all, and every failure is an oc::Error for the client.
#include <cmath>
#include <cstdint>
#include <span>

#include "fuzz_support.h"
#include "media/audio.h"

using namespace oc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the format hint the client's file name or content type would give.
  static const media::AudioFormat hints[] = {media::AudioFormat::Unknown, media::AudioFormat::Wav,
                                             media::AudioFormat::Flac, media::AudioFormat::Mp3,
                                             media::AudioFormat::Ogg};
  const media::AudioFormat hint = hints[data[0] % std::size(hints)];
  media::AudioLimits limits;
  limits.max_seconds = 5;  // short clips keep the fuzzer fast; the checks are the same
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  fuzz::expect_clean_errors([&] {
    const media::Audio a = media::decode_audio(bytes, hint, 16000, limits, "audio 1");
    fuzz::check(a.samples.size() <= static_cast<size_t>(limits.max_seconds * 16000) + 16000,
                "decoded audio longer than the limit");
    for (float s : a.samples) fuzz::check(std::isfinite(s), "a non-finite sample");
  });
  return 0;
}
