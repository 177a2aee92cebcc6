// The llava family on its fixtures: llava-tiny expands `<image>` to its patch grid; llava-next-tiny
// (the Granite Vision layout) makes one segment of the base tile and the grid tiles, and the
// encoder rows land in the prompt packed as hand-computed here: the base tile's rows, then the
// feature grid row by row with the image_newline row after each.
#include <gtest/gtest.h>

#include <cstring>

#include "common/error.h"
#include "models/decoder_state.h"
#include "models/family.h"
#include "models/media_encoder.h"
#include "support/fixtures.h"

using namespace oc::models;

namespace {

// A 24-bit BMP of one gray level.
std::string gray_bmp(uint32_t w, uint32_t h) {
  std::string bmp = "BM";
  const uint32_t row = (w * 3 + 3) / 4 * 4, size = 54 + row * h;
  auto put = [&](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) bmp += static_cast<char>((v >> (8 * i)) & 255);
  };
  put(size, 4), put(0, 4), put(54, 4), put(40, 4), put(w, 4), put(h, 4), put(1, 2), put(24, 2), put(0, 4),
      put(row * h, 4), put(2835, 4), put(2835, 4), put(0, 4), put(0, 4);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < row; ++x) bmp += static_cast<char>((x * 7 + y * 13) & 255);
  return bmp;
}

std::unique_ptr<Model> load(const std::filesystem::path& dir) {
  LoadOptions o;
  o.preset = "FP32";
  return load_model(dir, o);
}

}  // namespace

TEST(Llava, PlainLlavaExpandsTheImageToItsPatchGrid) {
  REQUIRE_FIXTURE(dir, "llava-tiny");
  auto model = load(dir);
  EXPECT_EQ(model->info().family, "llava");
  EXPECT_TRUE(model->supports(Modality::Image));
  EXPECT_FALSE(model->supports(Modality::Audio));
  MediaInput in;
  in.data = gray_bmp(100, 60);
  Prompt p = model->process("USER: <image>\nHi\nASSISTANT:", std::vector<MediaInput>{in});
  ASSERT_EQ(p.media.size(), 1u);
  EXPECT_EQ(p.tokens_of(Modality::Image), 64u);  // 64 px, 8 px patches
  EXPECT_EQ(p.media[0].items, 1u);
  EXPECT_TRUE(p.media[0].gather.empty());
  EXPECT_THROW(model->process("<image>", {}), oc::Error);
}

TEST(Llava, NextPacksTheTileRowsWithNewlines) {
  REQUIRE_FIXTURE(dir, "llava-next-tiny");
  auto model = load(dir);
  EXPECT_EQ(model->info().family, "llava");
  MediaInput in;
  in.data = gray_bmp(320, 320);
  Prompt p = model->process("<|user|>\n<image>\nHi\n<|assistant|>\n", std::vector<MediaInput>{in});
  ASSERT_EQ(p.media.size(), 1u);
  // 320 x 320 picks the 64 x 64 pinpoint: base + 2 x 2 tiles of 32 px, 4 x 4 patches each; the 8 x 8
  // grid needs no unpadding: 16 + 8 * 9 = 88 placeholders.
  MediaSegment& seg = p.media[0];
  EXPECT_EQ(seg.items, 5u);
  EXPECT_EQ(seg.shape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(seg.features.size(), 5u * 3 * 32 * 32);
  EXPECT_EQ(seg.length, 88u);
  EXPECT_EQ(p.tokens_of(Modality::Image), 88u);

  // Encode it through the kit's encoder path and against a direct run of the encoder.
  MediaShared shared;
  shared.text = std::make_shared<DecoderSpec>();
  Variant v;
  v.dtype = "fp32";
  v.onnx = dir / "onnx" / "vision_encoder.onnx";
  shared.encoders.push_back(
      std::make_unique<MediaEncoder>(Modality::Image, "vision_encoder", v, oc::ort::SessionConfig{},
                                     EncoderNames{"pixel_values", "image_features", "", "image_newline"}));
  RunControl control;
  EncodeStats stats;
  const MediaSegment* segs[] = {&seg};
  auto packed = encode_media(shared, segs, stats, control);
  ASSERT_EQ(packed.size(), 1u);
  ASSERT_EQ(packed[0]->rows, 88);
  ASSERT_EQ(packed[0]->width, 32);

  Ort::Value input = make_tensor(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, {5, 3, 32, 32});
  std::memcpy(input.GetTensorMutableData<float>(), seg.features.data(), seg.features.size() * sizeof(float));
  auto direct = shared.encoders[0]->run(std::move(input), {}, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, control);
  ASSERT_EQ(direct.batch, 5);
  ASSERT_EQ(direct.rows_per_item, 16);
  ASSERT_EQ(direct.extra.size(), 32 * sizeof(float));
  const auto* rows = direct.rows.GetTensorData<float>();
  const auto* out = reinterpret_cast<const float*>(packed[0]->data.data());
  auto same = [&](int64_t placeholder, const float* want) {
    return std::memcmp(out + placeholder * 32, want, 32 * sizeof(float)) == 0;
  };
  const auto* newline = reinterpret_cast<const float*>(direct.extra.data());
  // Base rows first.
  for (int64_t r = 0; r < 16; ++r) EXPECT_TRUE(same(r, rows + r * 32)) << r;
  // Grid (y, x) sits at 16 + 9y + x: tile (y / 4) * 2 + x / 4 (item 1 + tile), patch (y % 4) * 4 + x % 4.
  EXPECT_TRUE(same(16 + 0 * 9 + 5, rows + (2 * 16 + 1) * 32));   // tile 1, patch 1
  EXPECT_TRUE(same(16 + 5 * 9 + 2, rows + (3 * 16 + 6) * 32));   // tile 2, patch 6
  EXPECT_TRUE(same(16 + 7 * 9 + 7, rows + (4 * 16 + 15) * 32));  // tile 3, patch 15
  for (int64_t y = 0; y < 8; ++y) EXPECT_TRUE(same(16 + y * 9 + 8, newline)) << y;
}
