// Audio: decoding (WAV, FLAC, MP3, Ogg Vorbis, Ogg Opus through libsndfile), downmix to mono,
// resampling (libsoxr), long-audio windowing, and a log-mel front end (computed as transformers.js'
// Gemma3nAudioFeatureExtractor computes it, for any settings). Pure in, tensors out: no JSON, no I/O. Failures are
// oc::Error(InvalidRequest) whose message starts with the caller's label ("audio 1: ...").
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace oc::media {

enum class AudioFormat { Unknown, Wav, Flac, Mp3, Ogg };

const char* audio_format_name(AudioFormat format) noexcept;  // "WAV", "FLAC", "MP3", "Ogg"

// A client's `format` field ("wav", "mp3", "flac", "ogg", "opus", "vorbis", "oga", "wave";
// case-insensitive) as a format; Unknown for anything else.
AudioFormat audio_format_from_name(std::string_view name) noexcept;

// The format named by the leading bytes; Unknown when none matches.
AudioFormat sniff_audio_format(std::span<const uint8_t> bytes) noexcept;

struct AudioLimits {
  double max_seconds = 600.0;      // decoded duration
  uint64_t max_bytes = 64u << 20;  // encoded size
};

// Mono float samples in [-1, 1] (not clipped) at `sample_rate`.
struct Audio {
  int sample_rate = 0;
  std::vector<float> samples;
  int source_rate = 0;      // as decoded, before resampling
  int source_channels = 0;  // before the downmix
  AudioFormat format = AudioFormat::Unknown;
};

// Decodes `bytes`, downmixes to mono (mean of the channels) and resamples to `target_rate`.
// `hint` is the client's format: the content is sniffed, and when the sniffed format disagrees
// the content wins (the hint only matters when the content cannot be sniffed). Errors name the
// problem: not audio / unknown format, corrupt or truncated data, zero samples, over the limit.
Audio decode_audio(std::span<const uint8_t> bytes, AudioFormat hint, int target_rate, const AudioLimits& limits = {},
                   std::string_view what = "audio");

// Resamples mono float audio with libsoxr (high quality). Returns the input when the rates match.
std::vector<float> resample(std::span<const float> samples, int from_rate, int to_rate);

// The settings of the log-mel front end. No defaults here: a model's settings come from its
// family (Gemma-3n's: models/gemma3n/audio_config.h); LogMelExtractor rejects inconsistent ones.
struct AudioFeatureConfig {
  int sampling_rate = 0;
  int feature_size = 0;  // mel bins
  int frame_length = 0;
  int hop_length = 0;
  int fft_length = 0;
  double min_frequency = 0.0;
  double max_frequency = 0.0;
  double preemphasis = 0.0;
  bool preemphasis_htk_flavor = true;
  double mel_floor = 0.0;
  bool mel_floor_add = false;  // log(mel + mel_floor) (Gemma 4) instead of log(max(mel, mel_floor))
  double padding_value = 0.0;
  int pad_to_multiple_of = 0;  // right-pad clips to a multiple of this (0: no padding)
  int64_t max_samples = 0;     // truncation length (one model window)
};

// input_features [frames, mel_bins] (row-major) and input_features_mask [frames] (all true).
struct AudioFeatures {
  std::vector<float> data;
  int64_t frames = 0;
  int64_t mel_bins = 0;
  std::vector<uint8_t> mask;
};

// How LogMelExtractor runs (never what it computes, beyond float rounding).
struct LogMelOptions {
  // Worker threads for one clip: 0 = automatic (up to the hardware threads, only for clips of at
  // least 1024 frames, about 10 s, and at least 512 frames per thread); 1 = the calling thread.
  int threads = 0;
  // Use the AVX2+FMA kernel where the CPU has it (the result then follows ONNX Runtime's float
  // GEMM, which uses FMA, more closely); false: the baseline kernel (for tests).
  bool allow_avx2 = true;
};

// The log-mel front end, exactly as transformers.js' Gemma3nAudioFeatureExtractor computes: truncate to
// max_samples, right-pad to a multiple of pad_to_multiple_of, frames of frame_length every
// hop_length (no centering; frames = 1 + (n - frame_length) / hop), HTK pre-emphasis inside each
// frame, periodic Hann, real FFT of fft_length, magnitude, HTK mel filters (unnormalized),
// natural log of max(mel, mel_floor) (of mel + mel_floor with mel_floor_add). Clips shorter than
// one frame are zero-padded to one frame (the reference throws). Thread-safe after construction;
// reuse one per config.
class LogMelExtractor {
 public:
  explicit LogMelExtractor(const AudioFeatureConfig& config, const LogMelOptions& options = {});
  ~LogMelExtractor();
  LogMelExtractor(const LogMelExtractor&) = delete;
  LogMelExtractor& operator=(const LogMelExtractor&) = delete;

  AudioFeatures operator()(std::span<const float> samples) const;
  int64_t frame_count(int64_t samples) const;  // frames produced for a clip of this length
  const AudioFeatureConfig& config() const { return config_; }

  // The mel filter bank as [mel_bins][fft_length/2 + 1] (for tests).
  std::vector<std::vector<double>> filter_bank() const;

 private:
  struct Impl;
  AudioFeatureConfig config_;
  std::unique_ptr<Impl> impl_;
};

// Splitting of audio longer than one model window into consecutive windows.
struct WindowOptions {
  int64_t window = 480'000;   // samples per window (30 s at 16 kHz)
  int64_t search = 48'000;    // look this far back from a window's end for a quiet cut (3 s)
  int64_t frame = 320;        // energy frame for the silence search (20 ms)
  double silence_db = -45.0;  // a frame this far below full scale (RMS, dBFS) counts as silence
  int64_t overlap = 8'000;    // overlap between windows when no silence is found (0.5 s)
};

struct AudioWindow {
  int64_t start = 0;
  int64_t length = 0;
};

// Windows covering [0, n) in order, each at most options.window long. A window ends at the
// quietest frame of its last `search` samples when that frame is silence (no overlap); otherwise
// it ends at the full length and the next one starts `overlap` samples earlier. One window
// when n <= window; none when n == 0.
std::vector<AudioWindow> split_windows(std::span<const float> samples, const WindowOptions& options = {});

}  // namespace oc::media
