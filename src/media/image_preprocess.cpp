// Resizing and the HF image-processor arithmetic (rescale, normalize, channel-first float32).
//
// Reference resize (transformers.js): sharp's affine([sx, 0, 0, sy]) with libvips' bilinear
// interpolator. Established by probing sharp 0.35 / libvips 8.18 (docs/media.md):
//  - output pixel (x, y) samples input position (x / sx, y / sy): corners aligned, no half-pixel
//    shift, no antialiasing when shrinking;
//  - beyond the last row/column the input is black (the affine background);
//  - the x position advances by adding 1/sx once per pixel along a row (double precision); the
//    y position is computed per row;
//  - fractions are truncated to 1/4096 and the four weights are 12-bit integers summing to 4096,
//    rounded to nearest at the end.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "media/image.h"

namespace oc::media {
namespace {

constexpr int kShift = 12;
constexpr int kScale = 1 << kShift;

// Reference (sharp affine, bilinear). Writes each output row as uint8 RGB to row_dst(y), then
// calls row_done(y, row) (preprocess_into converts rows straight into its planes, without a
// whole resized image).
template <typename RowDst, typename RowDone>
void resize_reference_bilinear(const Image& in, uint32_t ow, uint32_t oh, RowDst row_dst, RowDone row_done) {
  const size_t w = in.width, h = in.height;
  const double sx = static_cast<double>(ow) / static_cast<double>(w);
  const double sy = static_cast<double>(oh) / static_cast<double>(h);
  const double iax = 1.0 / sx, iay = 1.0 / sy;
  const uint8_t* src = in.rgb.data();
  static const uint8_t kBlack[3] = {0, 0, 0};

  // Per-column positions are the same on every row: compute them once.
  struct Col {
    int64_t x0;  // left source column (may be >= w: black)
    int32_t fx;  // 12-bit fraction
  };
  std::vector<Col> cols(ow);
  double px = 1.0;  // libvips works on an input padded by one pixel
  for (uint32_t x = 0; x < ow; ++x) {
    const double fl = std::floor(px);
    cols[x].x0 = static_cast<int64_t>(fl) - 1;
    cols[x].fx = static_cast<int32_t>((px - fl) * kScale);
    px += iax;
  }
  for (uint32_t y = 0; y < oh; ++y) {
    const double py = 1.0 + y * iay;
    const double fl = std::floor(py);
    const int64_t y0 = static_cast<int64_t>(fl) - 1;
    const int32_t fy = static_cast<int32_t>((py - fl) * kScale);
    const uint8_t* row0 = y0 >= 0 && static_cast<size_t>(y0) < h ? src + static_cast<size_t>(y0) * w * 3 : nullptr;
    const uint8_t* row1 =
        y0 + 1 >= 0 && static_cast<size_t>(y0 + 1) < h ? src + static_cast<size_t>(y0 + 1) * w * 3 : nullptr;
    uint8_t* dst = row_dst(y);
    for (uint32_t x = 0; x < ow; ++x) {
      const int32_t X = cols[x].fx;
      const int32_t c4 = (X * fy) >> kShift;
      const int32_t c2 = (X * (kScale - fy)) >> kShift;
      const int32_t c3 = ((kScale - X) * fy + (kScale - 1)) >> kShift;
      const int32_t c1 = kScale - c2 - c3 - c4;
      const int64_t x0 = cols[x].x0;
      const bool in0 = x0 >= 0 && static_cast<size_t>(x0) < w;
      const bool in1 = x0 + 1 >= 0 && static_cast<size_t>(x0 + 1) < w;
      const uint8_t* p1 = row0 && in0 ? row0 + x0 * 3 : kBlack;
      const uint8_t* p2 = row0 && in1 ? row0 + (x0 + 1) * 3 : kBlack;
      const uint8_t* p3 = row1 && in0 ? row1 + x0 * 3 : kBlack;
      const uint8_t* p4 = row1 && in1 ? row1 + (x0 + 1) * 3 : kBlack;
      for (int c = 0; c < 3; ++c) {
        const int32_t v = c1 * p1[c] + c2 * p2[c] + c3 * p3[c] + c4 * p4[c];
        dst[x * 3 + c] = static_cast<uint8_t>((v + (kScale >> 1)) >> kShift);
      }
    }
    row_done(y, dst);
  }
}

// Reference nearest neighbour (sharp affine, nearest): samples floor(x / s).
void resize_reference_nearest(const Image& in, uint32_t ow, uint32_t oh, uint8_t* out) {
  const double iax = static_cast<double>(in.width) / ow, iay = static_cast<double>(in.height) / oh;
  for (uint32_t y = 0; y < oh; ++y) {
    const size_t sy = std::min<size_t>(static_cast<size_t>(y * iay), in.height - 1);
    for (uint32_t x = 0; x < ow; ++x) {
      const size_t sx = std::min<size_t>(static_cast<size_t>(x * iax), in.width - 1);
      std::copy_n(in.rgb.data() + (sy * in.width + sx) * 3, 3, out + (static_cast<size_t>(y) * ow + x) * 3);
    }
  }
}

// ------------------------------------------------------------ antialiased (Pillow-style)

double filter_support(int resample) {
  switch (resample) {
    case 0:
      return 0.0;  // nearest: handled separately
    case 1:
      return 3.0;  // lanczos
    case 3:
      return 2.0;  // bicubic
    case 4:
      return 0.5;  // box
    case 5:
      return 1.0;  // hamming
    default:
      return 1.0;  // bilinear (triangle)
  }
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}

double filter_value(int resample, double x) {
  switch (resample) {
    case 1:  // lanczos3
      return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0;
    case 3: {  // bicubic, a = -0.5
      const double a = -0.5;
      x = std::fabs(x);
      if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
      if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
      return 0.0;
    }
    case 4:  // box
      return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
    case 5:  // hamming
      if (x <= -1.0 || x >= 1.0) return 0.0;
      if (x == 0.0) return 1.0;
      return std::sin(x * M_PI) / (x * M_PI) * (0.54 + 0.46 * std::cos(x * M_PI));
    default:  // triangle
      x = std::fabs(x);
      return x < 1.0 ? 1.0 - x : 0.0;
  }
}

struct Taps {
  std::vector<int32_t> start, count;
  std::vector<double> weights;  // count[i] weights for output i, at i * max_taps
  int max_taps = 0;
};

// Pixel-centre aligned, support scaled by the shrink factor (area-aware), normalized weights.
Taps make_taps(uint32_t in_size, uint32_t out_size, int resample) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double fscale = std::max(scale, 1.0);
  const double support = filter_support(resample) * fscale;
  Taps t;
  t.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.start.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size) * t.max_taps, 0.0);
  for (uint32_t i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    int64_t lo = static_cast<int64_t>(center - support + 0.5);
    int64_t hi = static_cast<int64_t>(center + support + 0.5);
    lo = std::max<int64_t>(lo, 0);
    hi = std::min<int64_t>(hi, in_size);
    hi = std::min<int64_t>(hi, lo + t.max_taps);
    double total = 0.0;
    double* w = &t.weights[static_cast<size_t>(i) * t.max_taps];
    for (int64_t k = lo; k < hi; ++k) {
      const double v = filter_value(resample, (k - center + 0.5) / fscale);
      w[k - lo] = v;
      total += v;
    }
    if (total != 0.0) {
      for (int64_t k = lo; k < hi; ++k) w[k - lo] /= total;
    }
    t.start[i] = static_cast<int32_t>(lo);
    t.count[i] = static_cast<int32_t>(hi - lo);
  }
  return t;
}

uint8_t clip8(double v) {
  const double r = std::floor(v + 0.5);
  return static_cast<uint8_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
}

void resize_antialiased(const Image& in, uint32_t ow, uint32_t oh, int resample, uint8_t* out) {
  if (resample == 0) {
    // Pillow nearest: pixel-centre sampling.
    for (uint32_t y = 0; y < oh; ++y) {
      const size_t sy = std::min<size_t>(static_cast<size_t>((y + 0.5) * in.height / oh), in.height - 1);
      for (uint32_t x = 0; x < ow; ++x) {
        const size_t sx = std::min<size_t>(static_cast<size_t>((x + 0.5) * in.width / ow), in.width - 1);
        std::copy_n(in.rgb.data() + (sy * in.width + sx) * 3, 3, out + (static_cast<size_t>(y) * ow + x) * 3);
      }
    }
    return;
  }
  // Horizontal pass into an 8-bit intermediate (as Pillow does), then vertical.
  const Taps hx = make_taps(in.width, ow, resample);
  const Taps vy = make_taps(in.height, oh, resample);
  std::vector<uint8_t> mid(static_cast<size_t>(ow) * in.height * 3);
  for (uint32_t y = 0; y < in.height; ++y) {
    const uint8_t* row = in.rgb.data() + static_cast<size_t>(y) * in.width * 3;
    uint8_t* dst = mid.data() + static_cast<size_t>(y) * ow * 3;
    for (uint32_t x = 0; x < ow; ++x) {
      const double* w = &hx.weights[static_cast<size_t>(x) * hx.max_taps];
      double acc[3] = {0, 0, 0};
      for (int k = 0; k < hx.count[x]; ++k) {
        const uint8_t* p = row + static_cast<size_t>(hx.start[x] + k) * 3;
        acc[0] += w[k] * p[0];
        acc[1] += w[k] * p[1];
        acc[2] += w[k] * p[2];
      }
      for (int c = 0; c < 3; ++c) dst[x * 3 + c] = clip8(acc[c]);
    }
  }
  for (uint32_t y = 0; y < oh; ++y) {
    const double* w = &vy.weights[static_cast<size_t>(y) * vy.max_taps];
    uint8_t* dst = out + static_cast<size_t>(y) * ow * 3;
    for (uint32_t x = 0; x < ow * 3; ++x) {
      double acc = 0.0;
      for (int k = 0; k < vy.count[y]; ++k) acc += w[k] * mid[static_cast<size_t>(vy.start[y] + k) * ow * 3 + x];
      dst[x] = clip8(acc);
    }
  }
}

void check_image(const Image& image) {
  if (image.width == 0 || image.height == 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    throw Error(ErrorKind::Internal, "image preprocessing: malformed image buffer");
  }
}

}  // namespace

Image resize_image(const Image& image, uint32_t width, uint32_t height, int resample, ResizeMethod method) {
  check_image(image);
  if (width == 0 || height == 0) throw Error(ErrorKind::Internal, "image resize: zero output size");
  if (width == image.width && height == image.height) return image;
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * height * 3);
  if (method == ResizeMethod::Antialiased) {
    resize_antialiased(image, width, height, resample, out.rgb.data());
  } else if (resample == 0) {
    resize_reference_nearest(image, width, height, out.rgb.data());
  } else {
    // transformers.js maps bilinear, box and hamming to sharp's bilinear affine; bicubic and
    // lanczos differ in the reference (not used by the supported models): bilinear stands in.
    uint8_t* rgb = out.rgb.data();
    resize_reference_bilinear(
        image, width, height, [&](uint32_t y) { return rgb + static_cast<size_t>(y) * width * 3; },
        [](uint32_t, const uint8_t*) {});
  }
  return out;
}

std::array<uint32_t, 2> output_size(const Image& image, const ImageProcessorConfig& config) {
  if (!config.do_resize) return {image.width, image.height};
  if (config.longest_edge > 0) {
    // transformers.js: factor min(L / w, L / h), sizes rounded to two decimals, then floored.
    const double w = image.width, h = image.height;
    const double f = std::min(config.longest_edge / w, config.longest_edge / h);
    auto side = [](double v) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f", v);
      return static_cast<uint32_t>(std::max(1.0, std::floor(std::strtod(buf, nullptr))));
    };
    return {side(w * f), side(h * f)};
  }
  return {config.width, config.height};
}

FloatTensor resize_planes_bilinear(const FloatTensor& planes, uint32_t out_width, uint32_t out_height) {
  if (planes.shape.size() != 3) throw Error(ErrorKind::Internal, "resize_planes_bilinear: not [C, H, W]");
  const int64_t c = planes.shape[0], h = planes.shape[1], w = planes.shape[2];
  FloatTensor out;
  out.shape = {c, static_cast<int64_t>(out_height), static_cast<int64_t>(out_width)};
  out.data.resize(static_cast<size_t>(c) * out_height * out_width);
  // Source coordinates and weights per output column/row (float arithmetic, as the runtime).
  struct Tap {
    int64_t i0, i1;
    float w0, w1;
  };
  auto taps = [](int64_t in, uint32_t outn) {
    std::vector<Tap> t(outn);
    const float scale = static_cast<float>(outn) / static_cast<float>(in);
    for (uint32_t o = 0; o < outn; ++o) {
      float x = (static_cast<float>(o) + 0.5f) / scale - 0.5f;
      x = std::max(0.0f, std::min(x, static_cast<float>(in - 1)));
      const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(x), in - 1);
      const int64_t i1 = std::min<int64_t>(i0 + 1, in - 1);
      float d0 = std::fabs(x - static_cast<float>(i0)), d1 = std::fabs(x - static_cast<float>(i1));
      if (i0 == i1) d0 = d1 = 0.5f;
      t[o] = {i0, i1, d1, d0};  // weight of i0 is the distance to i1
    }
    return t;
  };
  const auto tx = taps(w, out_width), ty = taps(h, out_height);
  for (int64_t ch = 0; ch < c; ++ch) {
    const float* src = planes.data.data() + static_cast<size_t>(ch * h * w);
    float* dst = out.data.data() + static_cast<size_t>(ch) * out_height * out_width;
    for (uint32_t y = 0; y < out_height; ++y) {
      const Tap& ry = ty[y];
      const float* r0 = src + ry.i0 * w;
      const float* r1 = src + ry.i1 * w;
      for (uint32_t x = 0; x < out_width; ++x) {
        const Tap& rx = tx[x];
        dst[static_cast<size_t>(y) * out_width + x] = rx.w0 * ry.w0 * r0[rx.i0] + rx.w1 * ry.w0 * r0[rx.i1] +
                                                      rx.w0 * ry.w1 * r1[rx.i0] + rx.w1 * ry.w1 * r1[rx.i1];
      }
    }
  }
  return out;
}

void preprocess_into(const Image& image, const ImageProcessorConfig& config, float* out) {
  check_image(image);
  const std::array<uint32_t, 2> out_size = output_size(image, config);
  const uint32_t ow = out_size[0], oh = out_size[1];  // named, not bound: lambdas below capture them
  if (ow == 0 || oh == 0) throw Error(ErrorKind::Internal, "image preprocessing: zero output size");
  // transformers.js: float32(pixel) * rescale_factor (double) -> float32; then
  // (value - mean) / std in double -> float32. A 256-entry table per channel is exact.
  float lut[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      double x = v;
      if (config.do_rescale) x = static_cast<float>(config.rescale_factor * x);
      if (config.do_normalize) x = (static_cast<float>(x) - config.image_mean[c]) / config.image_std[c];
      lut[c][v] = static_cast<float>(x);
    }
  }
  const size_t plane = static_cast<size_t>(ow) * oh;
  // Interleaved RGB pixels [first, first + count) into the planes.
  auto to_planes = [&](const uint8_t* p, size_t first, size_t count) {
    float* r = out + first;
    float* g = out + plane + first;
    float* b = out + 2 * plane + first;
    for (size_t i = 0; i < count; ++i) {
      r[i] = lut[0][p[i * 3]];
      g[i] = lut[1][p[i * 3 + 1]];
      b[i] = lut[2][p[i * 3 + 2]];
    }
  };
  if (ow == image.width && oh == image.height) {
    to_planes(image.rgb.data(), 0, plane);
  } else if (config.method == ResizeMethod::Reference && config.resample != 0) {
    // The default path: one resized row at a time, no intermediate image.
    std::vector<uint8_t> row(static_cast<size_t>(ow) * 3);
    resize_reference_bilinear(
        image, ow, oh, [&](uint32_t) { return row.data(); },
        [&](uint32_t y, const uint8_t* p) { to_planes(p, static_cast<size_t>(y) * ow, ow); });
  } else {
    const Image resized = resize_image(image, ow, oh, config.resample, config.method);
    to_planes(resized.rgb.data(), 0, plane);
  }
}

FloatTensor preprocess(const Image& image, const ImageProcessorConfig& config) {
  const auto [ow, oh] = output_size(image, config);
  FloatTensor t;
  t.shape = {3, static_cast<int64_t>(oh), static_cast<int64_t>(ow)};
  t.data.resize(static_cast<size_t>(3) * ow * oh);
  preprocess_into(image, config, t.data.data());
  return t;
}

}  // namespace oc::media
