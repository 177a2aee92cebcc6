// audio-encode: re-encodes an audio file with libsndfile, for tests that need a format sox cannot
// write here (MP3).
//   audio-encode INPUT OUTPUT mp3|flac|ogg|wav
#include <sndfile.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: audio-encode INPUT OUTPUT mp3|flac|ogg|wav\n");
    return 2;
  }
  const std::string kind = argv[3];
  int format = 0;
  if (kind == "mp3")
    format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
  else if (kind == "flac")
    format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  else if (kind == "ogg")
    format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
  else if (kind == "wav")
    format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  else {
    std::fprintf(stderr, "audio-encode: unknown format %s\n", argv[3]);
    return 2;
  }
  SF_INFO in_info{};
  SNDFILE* in = sf_open(argv[1], SFM_READ, &in_info);
  if (!in) {
    std::fprintf(stderr, "audio-encode: %s: %s\n", argv[1], sf_strerror(nullptr));
    return 1;
  }
  std::vector<float> samples(static_cast<size_t>(in_info.frames * in_info.channels));
  sf_readf_float(in, samples.data(), in_info.frames);
  sf_close(in);
  SF_INFO out_info{};
  out_info.samplerate = in_info.samplerate;
  out_info.channels = in_info.channels;
  out_info.format = format;
  SNDFILE* out = sf_open(argv[2], SFM_WRITE, &out_info);
  if (!out) {
    std::fprintf(stderr, "audio-encode: %s: %s\n", argv[2], sf_strerror(nullptr));
    return 1;
  }
  sf_writef_float(out, samples.data(), in_info.frames);
  sf_close(out);
  return 0;
}
