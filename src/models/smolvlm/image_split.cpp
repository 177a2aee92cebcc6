#include "models/smolvlm/image_split.h"

#include <cmath>

namespace oc::models::smolvlm {
namespace {

media::FloatTensor crop(const media::FloatTensor& t, int64_t y0, int64_t x0, int64_t h, int64_t w) {
  const int64_t c = t.shape[0], H = t.shape[1], W = t.shape[2];
  media::FloatTensor out;
  out.shape = {c, h, w};
  out.data.resize(static_cast<size_t>(c * h * w));
  float* dst = out.data.data();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y) {
      const float* src = t.data.data() + (ch * H + y0 + y) * W + x0;
      dst = std::copy(src, src + w, dst);
    }
  return out;
}

}  // namespace

std::array<uint32_t, 2> split_size(uint32_t width, uint32_t height, uint32_t side) {
  const double aspect = static_cast<double>(width) / height;
  double w = width, h = height;
  if (w >= h) {
    w = std::ceil(w / side) * side;
    h = std::floor(w / aspect);
    h = std::ceil(h / side) * side;
  } else {
    h = std::ceil(h / side) * side;
    w = std::floor(h * aspect);
    w = std::ceil(w / side) * side;
  }
  return {static_cast<uint32_t>(w), static_cast<uint32_t>(h)};
}

SplitImage split_image(const media::Image& image, const media::ImageProcessorConfig& config, uint32_t side,
                       bool do_split) {
  const media::FloatTensor normalized = media::preprocess(image, config);
  const uint32_t w = static_cast<uint32_t>(normalized.shape[2]), h = static_cast<uint32_t>(normalized.shape[1]);
  SplitImage out;
  if (!do_split) {
    out.frames.push_back(media::resize_planes_bilinear(normalized, side, side));
    return out;
  }
  const auto [sw, sh] = split_size(w, h, side);
  media::FloatTensor resized = media::resize_planes_bilinear(normalized, sw, sh);
  if (sh > side || sw > side) {
    const int64_t nh = (sh + side - 1) / side, nw = (sw + side - 1) / side;
    const int64_t oh = (sh + nh - 1) / nh, ow = (sw + nw - 1) / nw;
    for (int64_t r = 0; r < nh; ++r)
      for (int64_t c = 0; c < nw; ++c) {
        const int64_t y0 = r == nh - 1 ? sh - oh : r * oh;
        const int64_t x0 = c == nw - 1 ? sw - ow : c * ow;
        out.frames.push_back(crop(resized, y0, x0, oh, ow));
      }
    out.rows = static_cast<int>(nh);
    out.cols = static_cast<int>(nw);
    resized = media::resize_planes_bilinear(resized, side, side);
  }
  out.frames.push_back(std::move(resized));
  return out;
}

}  // namespace oc::models::smolvlm
