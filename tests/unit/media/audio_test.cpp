#include "media/audio.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstring>

#include "models/gemma3n/audio_config.h"
#include "test_util.h"

using namespace oc::media;
using media_test::contains;
using media_test::error_of;
using oc::models::gemma3n::audio_defaults;  // the settings the front end runs with (Gemma-3n's)

namespace {

std::vector<float> sine(double hz, double seconds, int rate, double amp = 0.5) {
  std::vector<float> v(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(amp * std::sin(2 * M_PI * hz * i / rate));
  return v;
}

double rms(const std::vector<float>& v, size_t from = 0, size_t to = SIZE_MAX) {
  to = std::min(to, v.size());
  double s = 0;
  for (size_t i = from; i < to; ++i) s += double(v[i]) * v[i];
  return std::sqrt(s / double(to - from));
}

}  // namespace

TEST(AudioDecode, SniffsAndNames) {
  EXPECT_EQ(audio_format_from_name("WAV"), AudioFormat::Wav);
  EXPECT_EQ(audio_format_from_name("opus"), AudioFormat::Ogg);
  EXPECT_EQ(audio_format_from_name("mp3"), AudioFormat::Mp3);
  EXPECT_EQ(audio_format_from_name("aac"), AudioFormat::Unknown);
  EXPECT_EQ(sniff_audio_format(media_test::encode_wav(sine(440, 0.1, 16000), 16000)), AudioFormat::Wav);
}

TEST(AudioDecode, EveryFormatDecodesToMonoAtTheTargetRate) {
  const int rate = 44100;
  const auto mono = sine(440, 1.0, rate);
  std::vector<float> stereo;
  for (float v : mono) stereo.insert(stereo.end(), {v, 0.0f});  // right channel silent
  struct Case {
    int format;
    AudioFormat sniffed;
  };
  const Case cases[] = {
      {SF_FORMAT_WAV | SF_FORMAT_PCM_16, AudioFormat::Wav},
      {SF_FORMAT_WAV | SF_FORMAT_FLOAT, AudioFormat::Wav},
      {SF_FORMAT_FLAC | SF_FORMAT_PCM_16, AudioFormat::Flac},
      {SF_FORMAT_OGG | SF_FORMAT_VORBIS, AudioFormat::Ogg},
      {SF_FORMAT_OGG | SF_FORMAT_OPUS, AudioFormat::Ogg},
      {SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, AudioFormat::Mp3},
  };
  for (const auto& c : cases) {
    const int r = (c.format & SF_FORMAT_SUBMASK) == SF_FORMAT_OPUS ? 48000 : rate;
    const auto input = r == rate ? stereo : [&] {
      std::vector<float> s;
      for (float v : sine(440, 1.0, r)) s.insert(s.end(), {v, 0.0f});
      return s;
    }();
    const auto bytes = media_test::encode_sndfile(input, r, 2, c.format);
    EXPECT_EQ(sniff_audio_format(bytes), c.sniffed) << std::hex << c.format;
    const Audio a = decode_audio(bytes, AudioFormat::Unknown, 16000);
    EXPECT_EQ(a.sample_rate, 16000);
    EXPECT_EQ(a.source_channels, 2);
    EXPECT_EQ(a.source_rate, r);
    // ~1 s (codecs add priming/padding), mean of the channels: RMS of a 0.5 sine halved.
    EXPECT_NEAR(double(a.samples.size()), 16000.0, 1200.0) << std::hex << c.format;
    EXPECT_NEAR(rms(a.samples, 2000, 14000), 0.5 / std::sqrt(2.0) / 2, 0.02) << std::hex << c.format;
  }
}

TEST(AudioDecode, ContentWinsOverAWrongHint) {
  const auto wav = media_test::encode_wav(sine(440, 0.5, 16000), 16000);
  const Audio a = decode_audio(wav, AudioFormat::Mp3, 16000);
  EXPECT_EQ(a.format, AudioFormat::Wav);
  EXPECT_EQ(a.samples.size(), 8000u);
}

TEST(AudioDecode, BadAudioNamesTheProblem) {
  const std::string text = "definitely not audio, just some text";
  const std::span<const uint8_t> junk{reinterpret_cast<const uint8_t*>(text.data()), text.size()};
  EXPECT_EQ(error_of([&] { decode_audio(junk, AudioFormat::Unknown, 16000, {}, "audio 1"); }),
            "audio 1: unknown audio format (the data is not WAV, FLAC, MP3, Ogg Vorbis or Ogg Opus)");
  EXPECT_TRUE(contains(error_of([&] { decode_audio(junk, AudioFormat::Wav, 16000, {}, "audio 1"); }),
                       "audio 1: not valid WAV data"));
  auto wav = media_test::encode_wav(sine(440, 0.5, 16000), 16000);
  auto corrupt = wav;
  for (size_t i = 12; i < 36; ++i) corrupt[i] = 0xEE;  // the fmt chunk
  EXPECT_TRUE(contains(error_of([&] { decode_audio(corrupt, AudioFormat::Unknown, 16000, {}, "audio 2"); }),
                       "audio 2: corrupt WAV header"));
  const auto empty = media_test::encode_wav({}, 16000);
  EXPECT_EQ(error_of([&] { decode_audio(empty, AudioFormat::Unknown, 16000, {}, "audio 1"); }),
            "audio 1: the WAV data holds zero samples");
  AudioLimits limits;
  limits.max_seconds = 0.25;
  EXPECT_EQ(error_of([&] { decode_audio(wav, AudioFormat::Unknown, 16000, limits, "audio 1"); }),
            "audio 1: 0.5 s of audio exceeds the 0.2 s limit");
  EXPECT_EQ(error_of([&] { decode_audio({}, AudioFormat::Wav, 16000, {}, "audio 1"); }), "audio 1: empty audio data");
}

TEST(AudioResample, KeepsAToneAndTheDuration) {
  const auto in = sine(1000, 2.0, 48000);
  const auto out = resample(in, 48000, 16000);
  EXPECT_EQ(out.size(), 32000u);
  EXPECT_NEAR(rms(out, 1000, 31000), 0.5 / std::sqrt(2.0), 1e-3);
  // The tone is still 1 kHz: zero crossings per second.
  int crossings = 0;
  for (size_t i = 1001; i < 17000; ++i) crossings += (out[i - 1] < 0) != (out[i] < 0);
  EXPECT_NEAR(crossings, 2000, 4);
}

TEST(LogMel, FilterBankIsHtkTrianglesFrom125To7600Hz) {
  const LogMelExtractor x(audio_defaults());
  const auto bank = x.filter_bank();
  ASSERT_EQ(bank.size(), 128u);
  ASSERT_EQ(bank[0].size(), 513u);
  auto mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  auto hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
  const double step = (mel(7600) - mel(125)) / 129.0;
  for (int f : {0, 40, 127}) {
    const double lo = hz(mel(125) + step * f), mid = hz(mel(125) + step * (f + 1)), hi = hz(mel(125) + step * (f + 2));
    for (int k = 0; k < 513; ++k) {
      const double freq = k * 8000.0 / 512.0;
      const double want = std::max(0.0, std::min((freq - lo) / (mid - lo), (hi - freq) / (hi - mid)));
      EXPECT_NEAR(bank[f][k], want, 1e-9) << f << " " << k;
    }
  }
  // No energy below 125 Hz or above 7600 Hz; unnormalized peaks are at most 1.
  for (const auto& row : bank) {
    EXPECT_EQ(row[0], 0.0);
    EXPECT_EQ(row[4], 0.0);    // 62.5 Hz
    EXPECT_EQ(row[490], 0.0);  // 7656 Hz
    for (double v : row) EXPECT_LE(v, 1.0);
  }
}

TEST(LogMel, FrameCountFollowsTransformersJs) {
  const LogMelExtractor x(audio_defaults());
  EXPECT_EQ(x.frame_count(480000), 2997);
  EXPECT_EQ(x.frame_count(960000), 2997);  // truncated to 30 s
  EXPECT_EQ(x.frame_count(8000), 48);      // padded to 8064
  // (n - 512) % 160 == 0 and n % 128 == 0: one frame more than Python's unfold(513).
  EXPECT_EQ(x.frame_count(16512), 101);
  EXPECT_EQ(x.frame_count(100), 1);  // shorter than a frame: padded to one frame
  const auto f = x(sine(1000, 1.0, 16000));
  EXPECT_EQ(f.frames, 97);  // 1 + (16000 - 512) / 160
  EXPECT_EQ(f.mel_bins, 128);
  EXPECT_EQ(f.mask, std::vector<uint8_t>(97, 1));
}

TEST(LogMel, ToneLandsInItsMelBinAndSilenceAtTheFloor) {
  const LogMelExtractor x(audio_defaults());
  const auto f = x(sine(1000, 1.0, 16000));
  const auto bank = x.filter_bank();
  const float* row = f.data.data() + 50 * 128;
  const int peak = int(std::max_element(row, row + 128) - row);
  // The filter with the largest weight at bin 64 (1000 Hz).
  int want = 0;
  for (int m = 0; m < 128; ++m) {
    if (bank[m][64] > bank[want][64]) want = m;
  }
  EXPECT_NEAR(peak, want, 1);
  const auto s = x(std::vector<float>(16000, 0.0f));
  for (float v : s.data) EXPECT_FLOAT_EQ(v, std::log(1e-5f));
  EXPECT_EQ(error_of([&] { x(std::vector<float>{}); }), "audio: zero samples");
}

namespace {

// The reference's steps written plainly, with a direct DFT in long double: frames, HTK
// pre-emphasis, periodic Hann, |X|^2 and |X| rounded to float32, float32 mel sums in bin order,
// clamp, log.
std::vector<float> plain_log_mel(const LogMelExtractor& x, const std::vector<float>& samples) {
  const auto& c = x.config();
  const auto bank = x.filter_bank();
  const int64_t n_in = std::min<int64_t>(static_cast<int64_t>(samples.size()), c.max_samples);
  const int64_t frames = x.frame_count(static_cast<int64_t>(samples.size()));
  const int n = c.fft_length, bins = n / 2 + 1, fl = c.frame_length;
  std::vector<long double> cs(n), sn(n);
  for (int r = 0; r < n; ++r) {
    cs[r] = std::cos(2.0L * 3.14159265358979323846264338327950288L * r / n);
    sn[r] = std::sin(2.0L * 3.14159265358979323846264338327950288L * r / n);
  }
  std::vector<float> out;
  std::vector<double> buf(fl);
  std::vector<float> mag(bins);
  for (int64_t t = 0; t < frames; ++t) {
    for (int j = 0; j < fl; ++j) {
      const int64_t i = t * c.hop_length + j;
      buf[j] = i < n_in ? samples[i] : static_cast<float>(c.padding_value);
    }
    for (int j = fl - 1; j >= 1; --j) buf[j] -= c.preemphasis * buf[j - 1];
    buf[0] *= 1.0 - c.preemphasis;
    for (int j = 0; j < fl; ++j) buf[j] *= 0.5 - 0.5 * std::cos(2.0 * M_PI * j / fl);
    for (int k = 0; k < bins; ++k) {
      long double re = 0, im = 0;
      for (int j = 0; j < fl; ++j) {
        re += buf[j] * cs[(static_cast<int64_t>(j) * k) % n];
        im -= buf[j] * sn[(static_cast<int64_t>(j) * k) % n];
      }
      const float power = static_cast<float>(static_cast<double>(re * re + im * im));
      mag[k] = static_cast<float>(std::sqrt(static_cast<double>(power)));
    }
    for (int f = 0; f < c.feature_size; ++f) {
      float acc = 0.0f;
      for (int k = 0; k < bins; ++k) acc += static_cast<float>(bank[f][k]) * mag[k];
      const float clamped = static_cast<float>(std::max(c.mel_floor, static_cast<double>(acc)));
      out.push_back(static_cast<float>(std::log(static_cast<double>(clamped))));
    }
  }
  return out;
}

// Noise, tones, a quiet stretch and a loud one: log-mel values across the whole range.
std::vector<float> test_clip(size_t n, uint32_t seed = 1) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const double noise = (static_cast<double>(seed >> 8) / 16777216.0 - 0.5) * 0.05;
    double s = 0.3 * std::sin(i * 0.11) + 0.05 * std::sin(i * 1.7) + noise;
    if (i % 7000 < 1500) s *= 1e-4;  // near the mel floor
    if (i % 9000 > 8500) s *= 20;    // beyond full scale
    v[i] = static_cast<float>(s);
  }
  return v;
}

void expect_close_to_plain(const AudioFeatureConfig& config, size_t samples, const std::string& what) {
  for (bool avx2 : {true, false}) {
    LogMelOptions options;
    options.allow_avx2 = avx2;
    const LogMelExtractor x(config, options);
    const auto clip = test_clip(samples);
    const auto got = x(clip);
    const auto want = plain_log_mel(x, clip);
    ASSERT_EQ(got.data.size(), want.size()) << what;
    ASSERT_EQ(got.frames * got.mel_bins, static_cast<int64_t>(want.size())) << what;
    double max = 0, sum = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const double d = std::abs(static_cast<double>(got.data[i]) - want[i]);
      max = std::max(max, d);
      sum += d;
    }
    // Float rounding only: the sums' order (FMA, GEMM panels) moves a value by an ulp at most.
    EXPECT_LE(max, 2e-6) << what << (avx2 ? " (AVX2 where available)" : " (baseline)");
    EXPECT_LE(sum / want.size(), 1e-7) << what << (avx2 ? " (AVX2 where available)" : " (baseline)");
  }
}

}  // namespace

TEST(LogMel, MatchesAPlainDftForEveryTransformShape) {
  // Gemma-3n: 1024-point FFT of 512-sample frames (radix 2 first, half of the buffer zero).
  expect_close_to_plain(audio_defaults(), 20800, "gemma3n");
  AudioFeatureConfig c = audio_defaults();
  c.fft_length = 512;  // radix 4 only, frame fills more than half the buffer, odd padding
  c.frame_length = 400;
  c.feature_size = 80;
  c.min_frequency = 0;
  c.max_frequency = 8000;
  c.padding_value = 0.1;
  expect_close_to_plain(c, 9001, "fft 512, frame 400");
  c = audio_defaults();
  c.fft_length = 256;  // radix 2 first, full buffer, no pre-emphasis
  c.frame_length = 256;
  c.hop_length = 100;
  c.feature_size = 40;
  c.preemphasis = 0.0;
  expect_close_to_plain(c, 5000, "fft 256, frame 256");
  c = audio_defaults();
  c.fft_length = 64;  // odd frame length
  c.frame_length = 31;
  c.hop_length = 10;
  c.feature_size = 16;
  expect_close_to_plain(c, 1000, "fft 64, frame 31");
  c.fft_length = 8;  // one radix-4 stage
  c.frame_length = 4;
  c.hop_length = 2;
  c.feature_size = 4;
  expect_close_to_plain(c, 300, "fft 8, frame 4");
  c.fft_length = 4;  // one radix-2 stage
  c.frame_length = 3;
  c.hop_length = 1;
  c.feature_size = 2;
  expect_close_to_plain(c, 200, "fft 4, frame 3");
  // Shorter than a frame: padded to one frame.
  expect_close_to_plain(audio_defaults(), 100, "100 samples");
}

TEST(LogMel, ThreadsDoNotChangeTheFeatures) {
  const auto clip = test_clip(16000 * 30 + 777);
  const auto short_clip = test_clip(16000 * 12 + 5);
  LogMelOptions one;
  one.threads = 1;
  const LogMelExtractor single(audio_defaults(), one);
  for (int threads : {0, 2, 3, 7}) {
    LogMelOptions o;
    o.threads = threads;
    const LogMelExtractor x(audio_defaults(), o);
    for (const auto* c : {&clip, &short_clip}) {
      const auto a = single(*c), b = x(*c);
      ASSERT_EQ(a.frames, b.frames);
      EXPECT_EQ(0, std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float))) << threads;
    }
  }
}

TEST(LogMel, OverflowingInputGivesInfinityNotACrash) {
  const LogMelExtractor x(audio_defaults());
  const auto f = x(std::vector<float>(4000, 1e30f));
  int inf = 0;
  for (float v : f.data) inf += std::isinf(v) && v > 0;
  EXPECT_EQ(inf, static_cast<int>(f.data.size()));
}

TEST(AudioWindows, SplitsAtSilenceOrWithOverlap) {
  EXPECT_TRUE(split_windows(std::vector<float>{}).empty());
  const auto one = split_windows(std::vector<float>(480000, 0.1f));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].length, 480000);

  // 70 s of tone with a silent gap at 28.5-29 s: the first cut falls in the gap.
  auto audio = sine(300, 70.0, 16000, 0.3);
  for (size_t i = 456000; i < 464000; ++i) audio[i] = 0.0f;
  auto w = split_windows(audio);
  ASSERT_GE(w.size(), 3u);
  EXPECT_GE(w[0].length, 456000);
  EXPECT_LE(w[0].length, 464000);
  EXPECT_EQ(w[1].start, w[0].start + w[0].length);  // no overlap at a silent cut
  // Windows cover everything in order, each at most 30 s.
  EXPECT_EQ(w.back().start + w.back().length, 70 * 16000);
  for (const auto& x : w) EXPECT_LE(x.length, 480000);

  // No silence: full windows overlapping by 0.5 s.
  w = split_windows(sine(300, 65.0, 16000, 0.3));
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].length, 480000);
  EXPECT_EQ(w[1].start, 480000 - 8000);
  EXPECT_EQ(w[2].start + w[2].length, 65 * 16000);
}
