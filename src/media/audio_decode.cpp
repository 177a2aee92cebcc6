// Audio decoding through libsndfile (WAV, FLAC, Ogg Vorbis/Opus, MP3 via mpg123), downmix to
// mono, and resampling with libsoxr.
#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/error.h"
#include "media/audio.h"

namespace oc::media {
namespace {

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(ErrorKind::InvalidRequest, prefixed(what, message));
}

std::string seconds_text(double s) {
  char buf[32];
  if (std::fabs(s - std::round(s)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  }
  return buf;
}

struct MemoryFile {
  std::span<const uint8_t> bytes;
  sf_count_t pos = 0;
};

sf_count_t vio_length(void* user) { return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->bytes.size()); }

sf_count_t vio_seek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(f->bytes.size());
  sf_count_t target = offset;
  if (whence == SEEK_CUR) target = f->pos + offset;
  if (whence == SEEK_END) target = size + offset;
  f->pos = std::clamp<sf_count_t>(target, 0, size);
  return f->pos;
}

sf_count_t vio_read(void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(f->bytes.size());
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, size - f->pos));
  if (n > 0) std::memcpy(ptr, f->bytes.data() + f->pos, static_cast<size_t>(n));
  f->pos += n;
  return n;
}

sf_count_t vio_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t vio_tell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

struct SndCloser {
  SNDFILE* f;
  ~SndCloser() {
    if (f) sf_close(f);
  }
};

}  // namespace

const char* audio_format_name(AudioFormat format) noexcept {
  switch (format) {
    case AudioFormat::Wav:
      return "WAV";
    case AudioFormat::Flac:
      return "FLAC";
    case AudioFormat::Mp3:
      return "MP3";
    case AudioFormat::Ogg:
      return "Ogg";
    case AudioFormat::Unknown:
      break;
  }
  return "audio";
}

AudioFormat audio_format_from_name(std::string_view name) noexcept {
  std::string n(name);
  for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "wav" || n == "wave" || n == "audio/wav" || n == "audio/x-wav" || n == "audio/wave") return AudioFormat::Wav;
  if (n == "flac" || n == "audio/flac" || n == "audio/x-flac") return AudioFormat::Flac;
  if (n == "mp3" || n == "mpeg" || n == "audio/mpeg" || n == "audio/mp3") return AudioFormat::Mp3;
  if (n == "ogg" || n == "oga" || n == "opus" || n == "vorbis" || n == "audio/ogg" || n == "audio/opus") {
    return AudioFormat::Ogg;
  }
  return AudioFormat::Unknown;
}

AudioFormat sniff_audio_format(std::span<const uint8_t> b) noexcept {
  auto starts = [&](const char* magic, size_t n, size_t at = 0) {
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
  };
  if ((starts("RIFF", 4) || starts("RF64", 4)) && starts("WAVE", 4, 8)) return AudioFormat::Wav;
  if (starts("fLaC", 4)) return AudioFormat::Flac;
  if (starts("OggS", 4)) return AudioFormat::Ogg;
  if (starts("ID3", 3)) {
    // An ID3v2 tag may precede FLAC as well as MP3: look past it.
    if (b.size() >= 10) {
      const size_t tag = 10 + ((b[6] & 0x7F) << 21 | (b[7] & 0x7F) << 14 | (b[8] & 0x7F) << 7 | (b[9] & 0x7F));
      if (starts("fLaC", 4, tag)) return AudioFormat::Flac;
    }
    return AudioFormat::Mp3;
  }
  // MPEG audio frame sync: 11 set bits, a valid version and a layer (not AAC's 00).
  if (b.size() >= 4 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 && (b[1] & 0x18) != 0x08 && (b[1] & 0x06) != 0 &&
      (b[2] & 0xF0) != 0xF0) {
    return AudioFormat::Mp3;
  }
  return AudioFormat::Unknown;
}

std::vector<float> resample(std::span<const float> samples, int from_rate, int to_rate) {
  if (from_rate == to_rate || samples.empty()) return {samples.begin(), samples.end()};
  const double ratio = static_cast<double>(to_rate) / from_rate;
  const size_t out_len = static_cast<size_t>(std::llround(samples.size() * ratio));
  std::vector<float> out(out_len + 1);
  size_t done = 0;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_VHQ, 0);
  const soxr_error_t err = soxr_oneshot(from_rate, to_rate, 1, samples.data(), samples.size(), nullptr, out.data(),
                                        out.size(), &done, &io, &quality, nullptr);
  if (err != nullptr) throw Error(ErrorKind::Internal, std::string("audio resampling failed: ") + err);
  out.resize(std::min(done, out_len));
  return out;
}

Audio decode_audio(std::span<const uint8_t> bytes, AudioFormat hint, int target_rate, const AudioLimits& limits,
                   std::string_view what) {
  if (bytes.empty()) fail(what, "empty audio data");
  if (bytes.size() > limits.max_bytes) {
    fail(what, "audio data of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                   std::to_string(limits.max_bytes) + " bytes");
  }
  const AudioFormat sniffed = sniff_audio_format(bytes);
  const AudioFormat format = sniffed != AudioFormat::Unknown ? sniffed : hint;
  if (format == AudioFormat::Unknown) {
    fail(what, "unknown audio format (the data is not WAV, FLAC, MP3, Ogg Vorbis or Ogg Opus)");
  }
  const std::string name = audio_format_name(format);

  MemoryFile file{bytes, 0};
  SF_VIRTUAL_IO vio{vio_length, vio_seek, vio_read, vio_write, vio_tell};
  SF_INFO info;
  std::memset(&info, 0, sizeof info);
  SNDFILE* sf = sf_open_virtual(&vio, SFM_READ, &info, &file);
  if (sf == nullptr) {
    const std::string reason = sf_strerror(nullptr);
    if (sniffed == AudioFormat::Unknown) {
      fail(what, "not valid " + name + " data (" + reason + ")");
    }
    fail(what, "corrupt " + name + " header (" + reason + ")");
  }
  SndCloser closer{sf};
  if (info.samplerate <= 0 || info.channels <= 0 || info.channels > 64) {
    fail(what, "corrupt " + name + " header (" + std::to_string(info.samplerate) + " Hz, " +
                   std::to_string(info.channels) + " channels)");
  }
  if (target_rate <= 0) throw Error(ErrorKind::Internal, "audio: bad target sample rate");
  const double max_frames = limits.max_seconds * info.samplerate;
  if (info.frames > 0 && info.frames != SF_COUNT_MAX && static_cast<double>(info.frames) > max_frames + 0.5) {
    fail(what, seconds_text(static_cast<double>(info.frames) / info.samplerate) + " of audio exceeds the " +
                   seconds_text(limits.max_seconds) + " limit");
  }
  sf_command(sf, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);

  Audio audio;
  audio.format = format;
  audio.source_rate = info.samplerate;
  audio.source_channels = info.channels;
  const int ch = info.channels;
  std::vector<float> mono;
  if (info.frames > 0 && static_cast<double>(info.frames) <= max_frames + 0.5) {
    mono.reserve(static_cast<size_t>(info.frames));
  }
  std::vector<float> chunk(static_cast<size_t>(4096) * ch);
  for (;;) {
    const sf_count_t got = sf_readf_float(sf, chunk.data(), 4096);
    if (got <= 0) break;
    if (ch == 1) {
      mono.insert(mono.end(), chunk.begin(), chunk.begin() + got);
    } else {
      for (sf_count_t i = 0; i < got; ++i) {
        double sum = 0.0;
        for (int c = 0; c < ch; ++c) sum += chunk[static_cast<size_t>(i) * ch + c];
        mono.push_back(static_cast<float>(sum / ch));
      }
    }
    if (static_cast<double>(mono.size()) > max_frames + 0.5) {
      fail(what, "more than " + seconds_text(limits.max_seconds) + " of audio: exceeds the limit");
    }
  }
  if (sf_error(sf) != SF_ERR_NO_ERROR) {
    fail(what, "corrupt " + name + " data (" + std::string(sf_strerror(sf)) + ")");
  }
  if (mono.empty()) fail(what, "the " + name + " data holds zero samples");
  for (float v : mono) {
    if (!std::isfinite(v)) fail(what, "corrupt " + name + " data (non-finite samples)");
  }
  audio.sample_rate = target_rate;
  audio.samples = info.samplerate == target_rate ? std::move(mono) : resample(mono, info.samplerate, target_rate);
  if (audio.samples.empty()) fail(what, "the " + name + " data holds zero samples");
  return audio;
}

}  // namespace oc::media
