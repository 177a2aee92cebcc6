#include "models/media_config.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "models/gemma3n/audio_config.h"

namespace {

constexpr const char* kGemma3nPreprocessor = R"({
    "processor_class": "Gemma3nProcessor", "image_processor_type": "SiglipImageProcessorFast",
    "feature_extractor_type": "Gemma3nAudioFeatureExtractor", "do_convert_rgb": null,
    "do_normalize": false, "do_rescale": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5], "resample": 2, "rescale_factor": 0.00392156862745098,
    "size": {"height": 768, "width": 768}, "sampling_rate": 16000, "feature_size": 128,
    "frame_length": 512, "hop_length": 160, "fft_length": 1024, "min_frequency": 125.0,
    "max_frequency": 7600.0, "mel_floor": 1e-05, "preemphasis": 0.97, "preemphasis_htk_flavor": true,
    "padding_value": 0.0, "per_bin_mean": null})";

}  // namespace

TEST(MediaConfig, ParsesGemma3nPreprocessorConfig) {
  const auto c = oc::models::parse_media_config(kGemma3nPreprocessor);
  ASSERT_TRUE(c.image);
  EXPECT_EQ(c.image->width, 768u);
  EXPECT_EQ(c.image->height, 768u);
  EXPECT_FALSE(c.image->do_normalize);
  EXPECT_TRUE(c.image->do_convert_rgb);  // null -> default
  EXPECT_DOUBLE_EQ(c.image->rescale_factor, 1.0 / 255.0);
  const auto audio = oc::models::gemma3n::parse_audio_config(kGemma3nPreprocessor);
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->fft_length, 1024);
  EXPECT_EQ(audio->feature_size, 128);
  EXPECT_DOUBLE_EQ(audio->mel_floor, 1e-5);
  EXPECT_EQ(audio->max_samples, 480000);
  EXPECT_FALSE(oc::models::gemma3n::parse_audio_config(R"({"image_processor_type": "X"})"));
}

TEST(MediaConfig, DerivesFftLengthAndRejectsBadFields) {
  const char* audio_only =
      R"({"feature_extractor_type": "Gemma3nAudioFeatureExtractor", "frame_length": 512, "fft_overdrive": true})";
  EXPECT_FALSE(oc::models::parse_media_config(audio_only).image);
  const auto audio = oc::models::gemma3n::parse_audio_config(audio_only);
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->fft_length, 1024);
  EXPECT_THROW(oc::models::gemma3n::parse_audio_config(
                   R"({"feature_extractor_type": "Gemma3nAudioFeatureExtractor", "mel_floor": 0})"),
               oc::Error);
  try {
    oc::models::parse_media_config(R"({"image_processor_type": "X", "size": {"shortest_edge": 224}})");
    FAIL();
  } catch (const oc::Error& e) {
    EXPECT_EQ(e.kind(), oc::ErrorKind::ModelLoad);
    EXPECT_NE(std::string(e.what()).find("preprocessor_config.json: 'size'"), std::string::npos);
  }
  EXPECT_THROW(oc::models::parse_media_config("{not json"), oc::Error);
}
