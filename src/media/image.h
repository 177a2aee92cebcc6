// Images: safe decoding (JPEG, PNG, WebP, GIF first frame, BMP) into 8-bit RGB, and the
// preprocessing of HF image processors (resize, rescale, normalize, channel-first float tensor).
// Pure in, tensors out: no JSON, no I/O. Every failure is an oc::Error(InvalidRequest or TooLarge)
// whose message starts with the caller's label ("image 2: truncated PNG data").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace oc::media {

enum class ImageFormat { Unknown, Jpeg, Png, WebP, Gif, Bmp };

const char* image_format_name(ImageFormat format) noexcept;  // "JPEG", "PNG", ...

// The format named by the leading bytes (magic numbers), Unknown when none matches.
ImageFormat sniff_image_format(std::span<const uint8_t> bytes) noexcept;

struct ImageLimits {
  uint64_t max_pixels = 40'000'000;  // width x height, checked from the header before allocating
  uint64_t max_bytes = 32u << 20;    // encoded size
  uint32_t max_side = 30'000;        // either dimension
};

// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).
struct Image {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

// Facts read from the header, before any pixel is decoded.
struct ImageInfo {
  ImageFormat format = ImageFormat::Unknown;
  uint32_t width = 0;  // as stored (before the EXIF orientation is applied)
  uint32_t height = 0;
  int orientation = 1;  // EXIF orientation 1..8 (JPEG, PNG eXIf, WebP EXIF); 1 when absent
};

// Decodes an image: EXIF orientation applied (like sharp's rotate() and PIL's exif_transpose),
// alpha composited over white, grayscale and palette expanded to RGB. Limits are checked from the
// header before the pixel buffer is allocated. `what` starts error messages ("what: ..."; nothing when empty).
Image decode_image(std::span<const uint8_t> bytes, const ImageLimits& limits = {}, std::string_view what = "image");

// Reads the header only (no pixel allocation); the same checks and errors as decode_image.
ImageInfo probe_image(std::span<const uint8_t> bytes, const ImageLimits& limits = {}, std::string_view what = "image");

// EXIF orientation helpers (exposed for tests).
// The orientation tag of an EXIF block ("Exif\0\0" + TIFF, or TIFF alone); 1 when absent/invalid.
int exif_orientation(std::span<const uint8_t> exif) noexcept;
// Applies an EXIF orientation (1..8) to an RGB image in place.
void apply_orientation(Image& image, int orientation);

// How the resize is done.
enum class ResizeMethod {
  // transformers.js (the reference runner): sharp's affine() with the bilinear interpolator:
  // no antialiasing, corner-aligned sampling, black beyond the right/bottom edge. Matched to the
  // last bit for downscaling; within 1/255 on a few pixels when upscaling (docs/media.md).
  Reference,
  // Python transformers / Pillow: antialiased (area-aware) resampling with the filter named by
  // `resample` (bilinear = triangle, bicubic, nearest, box).
  Antialiased,
};

// The fields of an HF image processor config that the pixels depend on. Parsed from
// preprocessor_config.json by the models layer (models/media_config.h).
struct ImageProcessorConfig {
  bool do_resize = true;
  uint32_t width = 768;
  uint32_t height = 768;
  // When set, the size keeps the aspect ratio instead: the longest side becomes longest_edge
  // (up or down; transformers.js' `size: {longest_edge}`), width and height are unused.
  uint32_t longest_edge = 0;
  int resample = 2;  // PIL codes: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = false;
  std::array<double, 3> image_mean = {0.5, 0.5, 0.5};
  std::array<double, 3> image_std = {0.5, 0.5, 0.5};
  bool do_convert_rgb = true;  // images are always RGB after decode_image; kept for completeness
  ResizeMethod method = ResizeMethod::Reference;
};

// A dense float32 tensor, row-major.
struct FloatTensor {
  std::vector<float> data;
  std::vector<int64_t> shape;
};

// Resizes an RGB image (exposed for tests and benchmarks).
Image resize_image(const Image& image, uint32_t width, uint32_t height, int resample, ResizeMethod method);

// The output size for an input image under `config` (the input size when do_resize is false).
std::array<uint32_t, 2> output_size(const Image& image, const ImageProcessorConfig& config);

// Preprocesses one image into `out`, which must hold 3 * height * width floats of the output size
// (channel-first: all R, then all G, then all B). Lets a caller fill a batch without copies.
void preprocess_into(const Image& image, const ImageProcessorConfig& config, float* out);

// Preprocesses one image into a [3, H, W] tensor (`pixel_values` without the batch dimension).
FloatTensor preprocess(const Image& image, const ImageProcessorConfig& config);

// Resizes channel-first float planes [channels, height, width] to [channels, out_height,
// out_width] as ONNX Runtime's Resize (mode linear, half_pixel, no antialiasing) does, which is
// transformers.js' interpolate_4d.
FloatTensor resize_planes_bilinear(const FloatTensor& planes, uint32_t out_width, uint32_t out_height);

}  // namespace oc::media
