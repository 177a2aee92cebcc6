#include "models/llava/anyres.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace oc::models::llava {
namespace {

// Python's int(round(x, 7)) for the non-negative values met here.
int64_t round7(double x) { return static_cast<int64_t>(std::round(x * 1e7) / 1e7); }

}  // namespace

Size best_resolution(Size original, std::span<const Size> pinpoints) {
  Size best = pinpoints.front();
  int64_t max_effective = 0;
  int64_t min_wasted = std::numeric_limits<int64_t>::max();
  const double oh = static_cast<double>(original.height), ow = static_cast<double>(original.width);
  for (const Size& p : pinpoints) {
    const double scale = std::min(static_cast<double>(p.width) / ow, static_cast<double>(p.height) / oh);
    const auto dw = static_cast<int64_t>(ow * scale), dh = static_cast<int64_t>(oh * scale);
    const int64_t effective = std::min(dw * dh, original.width * original.height);
    const int64_t wasted = p.width * p.height - effective;
    if (effective > max_effective || (effective == max_effective && wasted < min_wasted)) {
      max_effective = effective;
      min_wasted = wasted;
      best = p;
    }
  }
  return best;
}

Size fit_size(Size original, Size target) {
  const double scale_w = static_cast<double>(target.width) / static_cast<double>(original.width);
  const double scale_h = static_cast<double>(target.height) / static_cast<double>(original.height);
  if (scale_w < scale_h)
    return {std::min(static_cast<int64_t>(std::ceil(static_cast<double>(original.height) * scale_w)), target.height),
            target.width};
  return {target.height,
          std::min(static_cast<int64_t>(std::ceil(static_cast<double>(original.width) * scale_h)), target.width)};
}

TileGrid tile_grid(Size original, const AnyresConfig& config) {
  const Size best = best_resolution(original, config.pinpoints);
  return {best.height / config.tile, best.width / config.tile};
}

FeatureGrid feature_grid(Size original, const AnyresConfig& config) {
  const TileGrid tiles = tile_grid(original, config);
  FeatureGrid g;
  g.rows = g.kept_rows = tiles.rows * config.patches;
  g.cols = g.kept_cols = tiles.cols * config.patches;
  const double oh = static_cast<double>(original.height), ow = static_cast<double>(original.width);
  const double ch = static_cast<double>(g.rows), cw = static_cast<double>(g.cols);
  if (ow / oh > cw / ch) {
    const int64_t new_height = round7(oh * (cw / ow));
    g.top = (g.rows - new_height) / 2;
    g.kept_rows = g.rows - 2 * g.top;
  } else {
    const int64_t new_width = round7(ow * (ch / oh));
    g.left = (g.cols - new_width) / 2;
    g.kept_cols = g.cols - 2 * g.left;
  }
  return g;
}

int64_t image_token_count(Size original, const AnyresConfig& config) {
  const FeatureGrid g = feature_grid(original, config);
  return config.patches * config.patches + g.kept_rows * (g.kept_cols + 1);
}

std::vector<int64_t> feature_order(Size original, const AnyresConfig& config) {
  const FeatureGrid g = feature_grid(original, config);
  const int64_t p = config.patches, per_tile = p * p, tile_cols = g.cols / p;
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(per_tile + g.kept_rows * (g.kept_cols + 1)));
  for (int64_t r = 0; r < per_tile; ++r) order.push_back(r);
  for (int64_t y = g.top; y < g.top + g.kept_rows; ++y) {
    for (int64_t x = g.left; x < g.left + g.kept_cols; ++x) {
      const int64_t tile = (y / p) * tile_cols + x / p;
      order.push_back((1 + tile) * per_tile + (y % p) * p + x % p);
    }
    order.push_back(-1);
  }
  return order;
}

std::vector<media::FloatTensor> anyres_tiles(const media::Image& image, const media::ImageProcessorConfig& pixels,
                                             const AnyresConfig& config) {
  const Size original{image.height, image.width};
  const Size best = best_resolution(original, config.pinpoints);
  const Size fit = fit_size(original, best);
  const auto side = static_cast<uint32_t>(config.tile);
  media::ImageProcessorConfig normalize = pixels;
  normalize.do_resize = false;

  std::vector<media::FloatTensor> out;
  out.push_back(media::preprocess(
      media::resize_image(image, side, side, pixels.resample, media::ResizeMethod::Antialiased), normalize));

  // Resized into the best resolution, centered on black (the remainder of odd padding at the end).
  const media::Image resized =
      media::resize_image(image, static_cast<uint32_t>(fit.width), static_cast<uint32_t>(fit.height), pixels.resample,
                          media::ResizeMethod::Antialiased);
  media::Image padded;
  padded.width = static_cast<uint32_t>(best.width);
  padded.height = static_cast<uint32_t>(best.height);
  padded.rgb.assign(static_cast<size_t>(padded.width) * padded.height * 3, 0);
  const int64_t top = (best.height - fit.height) / 2, left = (best.width - fit.width) / 2;
  for (int64_t y = 0; y < fit.height; ++y)
    std::copy_n(resized.rgb.begin() + y * fit.width * 3, fit.width * 3,
                padded.rgb.begin() + ((top + y) * best.width + left) * 3);
  const media::FloatTensor whole = media::preprocess(padded, normalize);

  const int64_t t = config.tile, plane = best.height * best.width;
  for (int64_t r = 0; r < best.height / t; ++r)
    for (int64_t c = 0; c < best.width / t; ++c) {
      media::FloatTensor tile;
      tile.shape = {3, t, t};
      tile.data.resize(static_cast<size_t>(3 * t * t));
      float* dst = tile.data.data();
      for (int64_t ch = 0; ch < 3; ++ch)
        for (int64_t y = 0; y < t; ++y) {
          const float* src = whole.data.data() + ch * plane + (r * t + y) * best.width + c * t;
          dst = std::copy(src, src + t, dst);
        }
      out.push_back(std::move(tile));
    }
  return out;
}

}  // namespace oc::models::llava
