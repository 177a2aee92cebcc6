// LLaVA-NeXT any-resolution preprocessing (Granite Vision) against values computed by hand from
// Python transformers' select_best_resolution, _get_patch_output_size, unpad_image and
// LlavaNextProcessor._get_number_of_features: Granite's 384 px tiles of 27 x 27 patches.
#include <gtest/gtest.h>

#include "models/llava/anyres.h"

using namespace oc::models::llava;

namespace {

AnyresConfig granite_like() {
  AnyresConfig c;
  c.pinpoints = {{384, 384}, {384, 768}, {768, 384}, {768, 768}, {384, 1152}, {1152, 384}};
  c.tile = 384;
  c.patches = 27;  // 384 / 14
  return c;
}

}  // namespace

TEST(LlavaAnyres, BestResolutionKeepsMostPixelsThenWastesLeast) {
  const AnyresConfig c = granite_like();
  // 500 x 300 (w x h): 384x384 keeps 384*230; 384x768 keeps all 150000 and wastes 144912, less
  // than 768x768 or 384x1152, which keep all too.
  EXPECT_EQ(best_resolution({300, 500}, c.pinpoints), (Size{384, 768}));
  // 300 x 1000: only 1152x384 (scale 1.152 -> 345 x 1152) keeps all 300000 pixels.
  EXPECT_EQ(best_resolution({1000, 300}, c.pinpoints), (Size{1152, 384}));
  EXPECT_EQ(best_resolution({300, 1000}, c.pinpoints), (Size{384, 1152}));
  // A small square image: every pinpoint keeps it all; 384x384 wastes least.
  EXPECT_EQ(best_resolution({100, 100}, c.pinpoints), (Size{384, 384}));
}

TEST(LlavaAnyres, FitSizeKeepsTheAspectRatioInsideTheTarget) {
  // 500 x 300 into 768 x 384: height-bound (scale 1.28), width ceil(640) = 640.
  EXPECT_EQ(fit_size({300, 500}, {384, 768}), (Size{384, 640}));
  // 300 x 1000 into 384 x 1152: width-bound (scale 1.152), height ceil(345.6) = 346.
  EXPECT_EQ(fit_size({300, 1000}, {384, 1152}), (Size{346, 1152}));
  EXPECT_EQ(fit_size({1000, 300}, {1152, 384}), (Size{1152, 346}));
}

TEST(LlavaAnyres, UnpaddedGridAndTokenCounts) {
  const AnyresConfig c = granite_like();
  // 500 x 300 -> 1 x 2 tiles, grid 27 x 54; aspect 1.67 < 2: width round(500 * 27 / 300) = 45,
  // padding (54 - 45) / 2 = 4 columns each side -> 27 x 46 kept.
  FeatureGrid g = feature_grid({300, 500}, c);
  EXPECT_EQ(tile_grid({300, 500}, c).rows, 1);
  EXPECT_EQ(tile_grid({300, 500}, c).cols, 2);
  EXPECT_EQ(g.rows, 27);
  EXPECT_EQ(g.cols, 54);
  EXPECT_EQ(g.top, 0);
  EXPECT_EQ(g.left, 4);
  EXPECT_EQ(g.kept_rows, 27);
  EXPECT_EQ(g.kept_cols, 46);
  // Base 729 + 27 rows of 46 features and a newline.
  EXPECT_EQ(image_token_count({300, 500}, c), 729 + 27 * 47);

  // 300 x 1000 (tall): 3 x 1 tiles, grid 81 x 27; width round(300 * 81 / 1000) = 24, padding 1.
  g = feature_grid({1000, 300}, c);
  EXPECT_EQ(g.rows, 81);
  EXPECT_EQ(g.left, 1);
  EXPECT_EQ(g.kept_cols, 25);
  EXPECT_EQ(image_token_count({1000, 300}, c), 729 + 81 * 26);

  // 1000 x 300 (wide): 1 x 3 tiles, grid 27 x 81; aspect 3.33 > 3: height 24, padding 1 row.
  g = feature_grid({300, 1000}, c);
  EXPECT_EQ(g.top, 1);
  EXPECT_EQ(g.kept_rows, 25);
  EXPECT_EQ(g.kept_cols, 81);
  EXPECT_EQ(image_token_count({300, 1000}, c), 729 + 25 * 82);

  // A square image on a square pinpoint: nothing to cut.
  EXPECT_EQ(image_token_count({384, 384}, c), 729 + 27 * 28);
}

TEST(LlavaAnyres, FeatureOrderIsBaseThenUnpaddedRowsWithNewlines) {
  // Tiles of 4 x 4 patches, one 2-tile pinpoint; an 80 x 20 image keeps grid rows 1..2 of 4.
  AnyresConfig c;
  c.pinpoints = {{56, 112}};
  c.tile = 56;
  c.patches = 4;
  const auto order = feature_order({20, 80}, c);
  std::vector<int64_t> want;
  for (int64_t i = 0; i < 16; ++i) want.push_back(i);  // the base tile
  // Grid row 1: tile 0's patch row 1 (rows 16 + 4..7), tile 1's (32 + 4..7), newline.
  for (int64_t v : {20, 21, 22, 23, 36, 37, 38, 39, -1}) want.push_back(v);
  for (int64_t v : {24, 25, 26, 27, 40, 41, 42, 43, -1}) want.push_back(v);
  EXPECT_EQ(order, want);
  EXPECT_EQ(static_cast<int64_t>(order.size()), image_token_count({20, 80}, c));
}

TEST(LlavaAnyres, TilesAreTheBaseImageThenThePaddedGrid) {
  // A red 4 x 2 image on a 4 x 4 pinpoint with 2 px tiles: resized to 4 x 2, one black row above
  // and below; normalized with mean = std = 0.5, black is -1 and red (1, -1, -1).
  oc::media::Image red;
  red.width = 4;
  red.height = 2;
  for (int i = 0; i < 8; ++i) red.rgb.insert(red.rgb.end(), {255, 0, 0});
  oc::media::ImageProcessorConfig pixels;
  pixels.do_normalize = true;
  pixels.resample = 3;
  AnyresConfig c;
  c.pinpoints = {{4, 4}};
  c.tile = 2;
  c.patches = 1;
  const auto tiles = anyres_tiles(red, pixels, c);
  ASSERT_EQ(tiles.size(), 5u);
  for (const auto& t : tiles) EXPECT_EQ(t.shape, (std::vector<int64_t>{3, 2, 2}));
  // Base: the whole image as one red tile.
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(tiles[0].data[i], 1.0f, 1e-6);
    EXPECT_NEAR(tiles[0].data[4 + i], -1.0f, 1e-6);
  }
  // Top tiles: a black row, then red; bottom tiles: red, then black (R plane).
  for (size_t t : {1u, 2u})
    EXPECT_EQ(std::vector<float>(tiles[t].data.begin(), tiles[t].data.begin() + 4), (std::vector<float>{-1, -1, 1, 1}));
  for (size_t t : {3u, 4u})
    EXPECT_EQ(std::vector<float>(tiles[t].data.begin(), tiles[t].data.begin() + 4), (std::vector<float>{1, 1, -1, -1}));
}
