// Media layer benchmarks: image decode + preprocess of a 4000x3000 JPEG, log-mel of 30 s and 5 s audio,
// resampling.   build/media_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>
// jpeglib.h needs size_t and FILE first.
#include <jpeglib.h>

#include "media/audio.h"
#include "media/image.h"
#include "models/gemma3n/audio_config.h"

namespace {

std::vector<uint8_t> make_jpeg(int w, int h) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / w);
      p[1] = static_cast<uint8_t>(y * 255 / h);
      p[2] = static_cast<uint8_t>(127 + 127 * std::sin((x + y) / 9.0));
    }
  }
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = &rgb[static_cast<size_t>(c.next_scanline) * w * 3];
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::vector<uint8_t> out(buf, buf + size);
  std::free(buf);
  return out;
}

const std::vector<uint8_t>& jpeg_4000x3000() {
  static const auto j = make_jpeg(4000, 3000);
  return j;
}

std::vector<float> tone(double seconds, int rate) {
  std::vector<float> v(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = static_cast<float>(0.3 * std::sin(i * 0.07) + 0.1 * std::sin(i * 0.31) + 0.01 * ((i * 7919) % 13 - 6));
  }
  return v;
}

void BM_DecodeJpeg4000x3000(benchmark::State& state) {
  const auto& j = jpeg_4000x3000();
  for (auto _ : state) benchmark::DoNotOptimize(oc::media::decode_image(j));
}
BENCHMARK(BM_DecodeJpeg4000x3000)->Unit(benchmark::kMillisecond);

void BM_Preprocess4000x3000To768(benchmark::State& state) {
  const auto image = oc::media::decode_image(jpeg_4000x3000());
  oc::media::ImageProcessorConfig config;
  std::vector<float> out(3 * 768 * 768);
  for (auto _ : state) {
    oc::media::preprocess_into(image, config, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Preprocess4000x3000To768)->Unit(benchmark::kMillisecond);

void BM_DecodeAndPreprocessJpeg4000x3000(benchmark::State& state) {
  oc::media::ImageProcessorConfig config;
  std::vector<float> out(3 * 768 * 768);
  for (auto _ : state) {
    const auto image = oc::media::decode_image(jpeg_4000x3000());
    oc::media::preprocess_into(image, config, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_DecodeAndPreprocessJpeg4000x3000)->Unit(benchmark::kMillisecond);

void BM_PreprocessAntialiased4000x3000(benchmark::State& state) {
  const auto image = oc::media::decode_image(jpeg_4000x3000());
  oc::media::ImageProcessorConfig config;
  config.method = oc::media::ResizeMethod::Antialiased;
  std::vector<float> out(3 * 768 * 768);
  for (auto _ : state) {
    oc::media::preprocess_into(image, config, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_PreprocessAntialiased4000x3000)->Unit(benchmark::kMillisecond);

// Log-mel of a clip: args seconds, threads (0 = automatic, 1 = the calling thread), AVX2 allowed.
// Wall-clock time (the threaded runs use more CPU than the calling thread's).
void BM_LogMel(benchmark::State& state) {
  oc::media::LogMelOptions options;
  options.threads = static_cast<int>(state.range(1));
  options.allow_avx2 = state.range(2) != 0;
  const oc::media::LogMelExtractor extract(oc::models::gemma3n::audio_defaults(), options);
  const auto audio = tone(static_cast<double>(state.range(0)), 16000);
  for (auto _ : state) benchmark::DoNotOptimize(extract(audio));
  state.counters["frames"] = static_cast<double>(extract.frame_count(static_cast<int64_t>(audio.size())));
}
BENCHMARK(BM_LogMel)
    ->ArgNames({"s", "threads", "avx2"})
    ->Args({30, 1, 1})
    ->Args({30, 0, 1})
    ->Args({5, 1, 1})
    ->Args({5, 0, 1})
    ->Args({30, 1, 0})
    ->Args({5, 1, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Resample30s48kTo16k(benchmark::State& state) {
  const auto audio = tone(30.0, 48000);
  for (auto _ : state) benchmark::DoNotOptimize(oc::media::resample(audio, 48000, 16000));
}
BENCHMARK(BM_Resample30s48kTo16k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
