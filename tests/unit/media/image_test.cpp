#include "media/image.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "test_util.h"

using namespace oc::media;
using media_test::contains;
using media_test::error_of;

namespace {

std::vector<uint8_t> pattern(int w, int h, int ch) {
  std::vector<uint8_t> v(static_cast<size_t>(w) * h * ch);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 37) ^ (i >> 5));
  return v;
}

// A PNG signature + IHDR of the given size (valid CRC not needed: the size is checked first).
std::vector<uint8_t> png_header(uint32_t w, uint32_t h) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (uint32_t v : {w, h}) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
  }
  for (uint8_t x : {8, 2, 0, 0, 0, 0, 0, 0, 0}) b.push_back(x);
  return b;
}

// Rewrites the size in a JPEG's SOF0 marker.
void patch_jpeg_size(std::vector<uint8_t>& j, uint16_t w, uint16_t h) {
  for (size_t i = 2; i + 9 < j.size();) {
    if (j[i] != 0xFF) break;
    const uint8_t m = j[i + 1];
    const size_t len = (j[i + 2] << 8) | j[i + 3];
    if (m == 0xC0 || m == 0xC2) {
      j[i + 5] = h >> 8, j[i + 6] = h & 0xFF, j[i + 7] = w >> 8, j[i + 8] = w & 0xFF;
      return;
    }
    i += 2 + len;
  }
  FAIL() << "no SOF marker";
}

const uint8_t kGif1x1[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0xFF, 0, 0, 0, 0,   0xFF, '!', 0xF9, 4,
                           0,   0,   0,   0,   0,   ',', 0, 0, 0, 0, 1,    0, 1, 0,    0, 2, 2, 'D', 1,    0,   ';'};

// An EXIF block (TIFF, little or big endian) holding only the orientation tag.
std::vector<uint8_t> exif_block(int orientation, bool little) {
  std::vector<uint8_t> b = {'E', 'x', 'i', 'f', 0, 0};
  auto u16 = [&](uint16_t v) {
    if (little) {
      b.push_back(v & 0xFF), b.push_back(v >> 8);
    } else {
      b.push_back(v >> 8), b.push_back(v & 0xFF);
    }
  };
  auto u32 = [&](uint32_t v) {
    if (little) {
      u16(v & 0xFFFF), u16(v >> 16);
    } else {
      u16(v >> 16), u16(v & 0xFFFF);
    }
  };
  b.push_back(little ? 'I' : 'M'), b.push_back(little ? 'I' : 'M');
  u16(42), u32(8), u16(1);
  u16(0x0112), u16(3), u32(1), u16(static_cast<uint16_t>(orientation)), u16(0);
  u32(0);
  return b;
}

}  // namespace

TEST(ImageDecode, DecodesEachFormatToRgb) {
  const auto rgb = pattern(7, 5, 3);
  const auto png = media_test::encode_png(rgb, 7, 5, 3);
  EXPECT_EQ(sniff_image_format(png), ImageFormat::Png);
  Image img = decode_image(png);
  EXPECT_EQ(img.width, 7u);
  EXPECT_EQ(img.height, 5u);
  EXPECT_EQ(img.rgb, rgb);

  const auto webp = media_test::encode_webp(rgb, 7, 5);
  EXPECT_EQ(sniff_image_format(webp), ImageFormat::WebP);
  EXPECT_EQ(decode_image(webp).rgb, rgb);  // lossless

  const auto jpeg = media_test::encode_jpeg(rgb, 7, 5);
  EXPECT_EQ(sniff_image_format(jpeg), ImageFormat::Jpeg);
  img = decode_image(jpeg);
  EXPECT_EQ(img.width, 7u);
  EXPECT_EQ(img.rgb.size(), rgb.size());

  img = decode_image({kGif1x1, sizeof kGif1x1});
  EXPECT_EQ(img.width, 1u);
  EXPECT_EQ(img.height, 1u);
  EXPECT_EQ(img.rgb, (std::vector<uint8_t>{255, 0, 0}));  // palette entry 0
}

TEST(ImageDecode, AlphaIsCompositedOnWhite) {
  // Pixels: opaque red, transparent black, half-transparent blue.
  const std::vector<uint8_t> rgba = {255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128};
  const Image img = decode_image(media_test::encode_png(rgba, 3, 1, 4));
  EXPECT_EQ(img.rgb, (std::vector<uint8_t>{255, 0, 0, 255, 255, 255, 127, 127, 255}));
}

TEST(ImageDecode, GrayscaleExpandsToRgb) {
  const std::vector<uint8_t> gray = {0, 100, 255};
  const Image img = decode_image(media_test::encode_png(gray, 3, 1, 1));
  EXPECT_EQ(img.rgb, (std::vector<uint8_t>{0, 0, 0, 100, 100, 100, 255, 255, 255}));
}

TEST(ImageDecode, BadImagesNameTheProblem) {
  const std::string junk = "this is not an image at all";
  EXPECT_EQ(error_of([&] {
              decode_image({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()}, {}, "image 2");
            }),
            "image 2: not an image (the data is not JPEG, PNG, WebP, GIF or BMP)");
  EXPECT_EQ(error_of([] { decode_image({}, {}, "image 1"); }), "image 1: empty image data");

  const auto rgb = pattern(64, 48, 3);
  auto png = media_test::encode_png(rgb, 64, 48, 3);
  png.resize(png.size() / 2);
  EXPECT_EQ(error_of([&] { decode_image(png, {}, "image 1"); }), "image 1: truncated PNG data");
  auto jpeg = media_test::encode_jpeg(rgb, 64, 48);
  jpeg.resize(jpeg.size() / 2);
  EXPECT_EQ(error_of([&] { decode_image(jpeg, {}, "image 1"); }), "image 1: truncated JPEG data");
  auto webp = media_test::encode_webp(rgb, 64, 48);
  webp.resize(webp.size() / 2);
  EXPECT_EQ(error_of([&] { decode_image(webp, {}, "image 1"); }), "image 1: truncated WebP data");
  std::vector<uint8_t> gif(kGif1x1, kGif1x1 + sizeof kGif1x1 - 6);
  EXPECT_EQ(error_of([&] { decode_image(gif, {}, "image 1"); }), "image 1: truncated GIF data");

  // Corrupt: damage the middle of a JPEG's entropy-coded data and a PNG's IDAT CRC.
  auto png2 = media_test::encode_png(rgb, 64, 48, 3);
  png2[png2.size() - 20] ^= 0xFF;
  EXPECT_TRUE(contains(error_of([&] { decode_image(png2, {}, "image 1"); }), "image 1: corrupt PNG data"));

  EXPECT_EQ(error_of([] { decode_image(png_header(0, 10), {}, "image 4"); }), "image 4: zero-size PNG (0x10)");
}

TEST(ImageDecode, LimitsAreCheckedFromTheHeaderBeforeAllocating) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of([] { decode_image(png_header(30000, 30000), {}, "image 1"); }),
            "image 1: 30000x30000 PNG exceeds the 40 megapixel limit");
  auto jpeg = media_test::encode_jpeg(pattern(16, 16, 3), 16, 16);
  patch_jpeg_size(jpeg, 30000, 30000);
  EXPECT_EQ(error_of([&] { decode_image(jpeg, {}, "image 1"); }),
            "image 1: 30000x30000 JPEG exceeds the 40 megapixel limit");
  // 900 megapixels would take seconds and 2.7 GB to decode: failing fast shows no allocation.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));

  ImageLimits small;
  small.max_pixels = 100;
  EXPECT_EQ(error_of([] {
              decode_image(media_test::encode_png(pattern(11, 10, 3), 11, 10, 3), {100, 1 << 20}, "image 1");
            }),
            "image 1: 11x10 PNG exceeds the 0.0 megapixel limit");
  small.max_bytes = 10;
  EXPECT_TRUE(
      contains(error_of([&] { decode_image(media_test::encode_png(pattern(2, 2, 3), 2, 2, 3), small, "image 1"); }),
               "exceeds the limit of 10 bytes"));
  const ImageInfo info = probe_image(media_test::encode_png(pattern(9, 4, 3), 9, 4, 3));
  EXPECT_EQ(info.width, 9u);
  EXPECT_EQ(info.height, 4u);
}

TEST(ImageOrientation, ReadsTheExifTag) {
  for (int o = 1; o <= 8; ++o) {
    EXPECT_EQ(exif_orientation(exif_block(o, true)), o);
    EXPECT_EQ(exif_orientation(exif_block(o, false)), o);
  }
  EXPECT_EQ(exif_orientation(exif_block(9, true)), 1);
  const std::vector<uint8_t> junk = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 0xFF, 0xFF, 0xFF, 0x7F};
  EXPECT_EQ(exif_orientation(junk), 1);
  EXPECT_EQ(exif_orientation({}), 1);
}

TEST(ImageOrientation, AppliesAllEight) {
  // 3x2 image, pixel value = index: [0 1 2; 3 4 5]
  auto make = [] {
    Image img;
    img.width = 3;
    img.height = 2;
    img.rgb = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5};
    return img;
  };
  auto values = [](const Image& img) {
    std::vector<int> v;
    for (size_t i = 0; i < img.rgb.size(); i += 3) v.push_back(img.rgb[i]);
    return v;
  };
  const std::vector<std::pair<int, std::vector<int>>> want = {
      {1, {0, 1, 2, 3, 4, 5}}, {2, {2, 1, 0, 5, 4, 3}}, {3, {5, 4, 3, 2, 1, 0}}, {4, {3, 4, 5, 0, 1, 2}},
      {5, {0, 3, 1, 4, 2, 5}}, {6, {3, 0, 4, 1, 5, 2}}, {7, {5, 2, 4, 1, 3, 0}}, {8, {2, 5, 1, 4, 0, 3}},
  };
  for (const auto& [o, v] : want) {
    Image img = make();
    apply_orientation(img, o);
    EXPECT_EQ(values(img), v) << "orientation " << o;
    EXPECT_EQ(img.width, o >= 5 ? 2u : 3u);
  }
}

TEST(ImagePreprocess, RescaleNormalizeChannelFirst) {
  Image img;
  img.width = 2;
  img.height = 1;
  img.rgb = {0, 128, 255, 10, 20, 30};
  ImageProcessorConfig c;
  c.do_resize = false;
  FloatTensor t = preprocess(img, c);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_FLOAT_EQ(t.data[0], 0.0f);             // R of pixel 0
  EXPECT_FLOAT_EQ(t.data[1], 10.0f / 255.0f);   // R of pixel 1
  EXPECT_FLOAT_EQ(t.data[2], 128.0f / 255.0f);  // G of pixel 0
  EXPECT_FLOAT_EQ(t.data[5], 30.0f / 255.0f);   // B of pixel 1
  c.do_normalize = true;
  t = preprocess(img, c);
  EXPECT_FLOAT_EQ(t.data[0], -1.0f);
  EXPECT_FLOAT_EQ(t.data[4], 1.0f);
}

TEST(ImagePreprocess, ReferenceResizeMatchesSharpAffine) {
  // Values established with sharp 0.35 (affine, bilinear) on a 4x1 row [0 100 200 50]:
  // corner-aligned sampling, black beyond the last column, no antialiasing.
  Image img;
  img.width = 4;
  img.height = 1;
  img.rgb = {0, 0, 0, 100, 100, 100, 200, 200, 200, 50, 50, 50};
  auto row = [](const Image& i) {
    std::vector<int> v;
    for (size_t k = 0; k < i.rgb.size(); k += 3) v.push_back(i.rgb[k]);
    return v;
  };
  EXPECT_EQ(row(resize_image(img, 7, 1, 2, ResizeMethod::Reference)), (std::vector<int>{0, 57, 114, 171, 157, 71, 29}));
  EXPECT_EQ(row(resize_image(img, 8, 1, 2, ResizeMethod::Reference)),
            (std::vector<int>{0, 50, 100, 150, 200, 125, 50, 25}));
  EXPECT_EQ(row(resize_image(img, 2, 1, 2, ResizeMethod::Reference)), (std::vector<int>{0, 200}));
  // Antialiased (Pillow-style) averages when shrinking.
  EXPECT_EQ(row(resize_image(img, 2, 1, 2, ResizeMethod::Antialiased)), (std::vector<int>{71, 121}));
}

TEST(ImagePreprocess, IntoPlanesEqualsResizeThenRescaleOnEveryPath) {
  // preprocess_into resizes the reference bilinear path row by row straight into the planes; the
  // other paths go through resize_image. Either way: resize_image, then the per-channel table.
  Image img;
  img.width = 37;
  img.height = 23;
  img.rgb.resize(size_t{37} * 23 * 3);
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 2654435761u) >> 11);
  for (auto method : {ResizeMethod::Reference, ResizeMethod::Antialiased}) {
    for (int resample : {0, 2}) {
      for (auto [w, h] : {std::pair{16u, 9u}, std::pair{50u, 31u}, std::pair{37u, 23u}}) {
        ImageProcessorConfig c;
        c.width = w;
        c.height = h;
        c.method = method;
        c.resample = resample;
        c.do_normalize = true;
        const FloatTensor t = preprocess(img, c);
        const Image r = resize_image(img, w, h, resample, method);
        ImageProcessorConfig no_resize = c;
        no_resize.do_resize = false;
        const FloatTensor want = preprocess(r, no_resize);
        EXPECT_EQ(t.shape, want.shape);
        EXPECT_EQ(t.data, want.data) << static_cast<int>(method) << " " << resample << " " << w << "x" << h;
      }
    }
  }
}
