// The gemma4 processor's arithmetic against values computed with transformers.js 4.3.1's
// Gemma4ImageProcessor and Gemma4Processor: output sizes, patches with their positions and padding,
// audio soft tokens, and the frame mask of the log-mel frames; and the cache shape of each layer
// from the config.
#include "models/gemma4/gemma4.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"

using namespace oc::models;
using oc::media::Image;

namespace {

Image pattern(uint32_t width, uint32_t height) {
  Image image{width, height, {}};
  image.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < image.rgb.size(); ++i) image.rgb[i] = static_cast<uint8_t>((i * 7) % 256);
  return image;
}

}  // namespace

TEST(Gemma4Image, TargetSizeAsTransformersJs) {
  const gemma4::ImageConfig c;  // patch 16, pooling 3, 280 soft tokens
  using Size = std::array<uint32_t, 2>;
  EXPECT_EQ(gemma4::target_size(64, 48, c), (Size{912, 672}));
  EXPECT_EQ(gemma4::target_size(1200, 900, c), (Size{912, 672}));
  EXPECT_EQ(gemma4::target_size(912, 672, c), (Size{912, 672}));
  EXPECT_EQ(gemma4::target_size(200, 50, c), (Size{1584, 384}));
  EXPECT_EQ(gemma4::target_size(50, 200, c), (Size{384, 1584}));
  EXPECT_EQ(gemma4::target_size(320, 320, c), (Size{768, 768}));
  // A side that rounds to zero becomes one pooled cell; the other is capped.
  EXPECT_EQ(gemma4::target_size(10000, 10, c), (Size{13440, 48}));
  EXPECT_EQ(gemma4::target_size(10, 10000, c), (Size{48, 13440}));
}

TEST(Gemma4Image, PatchesRowByRowWithPositionsThenPadding) {
  gemma4::ImageConfig c;
  c.max_soft_tokens = 5;  // 45 patches; a 96x96 image stays 96x96: 6x6 patches, 4 soft tokens
  const Image image = pattern(96, 96);
  const auto p = gemma4::patchify(image, c);
  EXPECT_EQ(p.patches, 36u);
  EXPECT_EQ(p.tokens, 4u);
  ASSERT_EQ(p.pixels.size(), 45u * 768);
  ASSERT_EQ(p.positions.size(), 45u * 2);
  // Patch 7 is row 1, column 1; its pixel (dy 2, dx 3), channel 1.
  EXPECT_EQ(p.positions[14], 1);
  EXPECT_EQ(p.positions[15], 1);
  const size_t src = ((16 + 2) * 96 + 16 + 3) * 3 + 1;
  EXPECT_FLOAT_EQ(p.pixels[7 * 768 + (2 * 16 + 3) * 3 + 1], static_cast<float>(image.rgb[src] / 255.0));
  // Patch 5: row 0, column 5 (positions are (column, row)).
  EXPECT_EQ(p.positions[10], 5);
  EXPECT_EQ(p.positions[11], 0);
  for (size_t i = 36; i < 45; ++i) {
    EXPECT_EQ(p.positions[2 * i], -1);
    EXPECT_EQ(p.positions[2 * i + 1], -1);
    for (size_t k = 0; k < 768; ++k) ASSERT_EQ(p.pixels[i * 768 + k], 0.0f);
  }
}

TEST(Gemma4Audio, SoftTokensAsTransformersJs) {
  EXPECT_EQ(gemma4::audio_tokens(32000, 16000, 750), 50u);  // 2 s
  EXPECT_EQ(gemma4::audio_tokens(16000, 16000, 750), 25u);
  EXPECT_EQ(gemma4::audio_tokens(5920, 16000, 750), 9u);
  EXPECT_EQ(gemma4::audio_tokens(161, 16000, 750), 1u);
  EXPECT_EQ(gemma4::audio_tokens(160, 16000, 750), 0u);
  EXPECT_EQ(gemma4::audio_tokens(480000, 16000, 750), 750u);  // 30 s
  EXPECT_EQ(gemma4::audio_tokens(960000, 16000, 750), 750u);
}

TEST(Gemma4Audio, FrameMaskCountsWhatTheTokensCount) {
  oc::media::AudioFeatureConfig c;
  c.sampling_rate = 16000;
  c.feature_size = 128;
  c.frame_length = 320;
  c.hop_length = 160;
  c.fft_length = 512;
  c.min_frequency = 0;
  c.max_frequency = 8000;
  c.preemphasis = 0;
  c.mel_floor = 1e-3;
  c.mel_floor_add = true;
  c.pad_to_multiple_of = 128;
  c.max_samples = 480000;
  const auto log_mel = gemma4::make_log_mel(c);
  for (int64_t n : {161, 500, 5920, 16000, 32000, 33333}) {
    std::vector<float> samples(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) samples[i] = 0.3f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
    const auto f = gemma4::window_features(samples, c, *log_mel);
    const int64_t padded = (n + 127) / 128 * 128;
    EXPECT_EQ(f.frames, (160 + padded - 321) / 160 + 1) << n;
    int64_t valid = 0;
    for (size_t i = 0; i < f.mask.size(); ++i) {
      if (f.mask[i]) {
        EXPECT_EQ(valid, static_cast<int64_t>(i)) << n << ": valid frames are a prefix";
        ++valid;
      } else {
        for (int64_t k = 0; k < f.mel_bins; ++k) ASSERT_EQ(f.data[i * f.mel_bins + k], 0.0f);
      }
    }
    // Before the encoder's two stride-2 convolutions, the processor counts the same frames.
    int64_t t = valid;
    for (int i = 0; i < 2; ++i) t = (t - 1) / 2 + 1;
    EXPECT_EQ(static_cast<size_t>(t), gemma4::audio_tokens(n, 16000, 750)) << n;
  }
}

TEST(Gemma4Config, FullAttentionLayersHaveTheGlobalCacheShape) {
  const auto path = std::filesystem::temp_directory_path() / ("gemma4_kv_" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"text_config": {"num_key_value_heads": 8, "head_dim": 256, "global_head_dim": 512,
      "num_global_key_value_heads": 2,
      "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]}})";
  const JsonFile config(path);
  std::filesystem::remove(path);
  EXPECT_EQ(gemma4::kv_shapes(config), (std::vector<KvShape>{{8, 256}, {2, 512}, {8, 256}}));
  EXPECT_TRUE(gemma4::kv_shapes(JsonFile()).empty());
}
