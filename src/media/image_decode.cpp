// Image decoders over the Debian libraries: libjpeg-turbo, libpng, libwebp(+demux), giflib, and
// stb_image for BMP. Each decoder reads the header first and checks the limits before it
// allocates the pixel buffer; libraries that report errors through longjmp get a frame without
// C++ objects between setjmp and the library calls.
#include <gif_lib.h>
#include <jerror.h>
#include <png.h>
#include <stb_image.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
// jpeglib.h needs size_t and FILE declared before it.
#include <jpeglib.h>

#include "common/error.h"
#include "media/image.h"

namespace oc::media {
namespace {

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(ErrorKind::InvalidRequest, prefixed(what, message));
}

std::string dims(uint64_t w, uint64_t h) { return std::to_string(w) + "x" + std::to_string(h); }

std::string megapixels(uint64_t pixels) {
  if (pixels % 1'000'000 == 0) return std::to_string(pixels / 1'000'000);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(pixels) / 1e6);
  return buf;
}

void check_dims(uint64_t w, uint64_t h, const ImageLimits& limits, std::string_view what, ImageFormat format) {
  const char* name = image_format_name(format);
  if (w == 0 || h == 0) fail(what, std::string("zero-size ") + name + " (" + dims(w, h) + ")");
  if (w > limits.max_side || h > limits.max_side) {
    fail(what,
         dims(w, h) + " " + name + " exceeds the limit of " + std::to_string(limits.max_side) + " pixels per side");
  }
  if (w * h > limits.max_pixels) {
    fail(what, dims(w, h) + " " + name + " exceeds the " + megapixels(limits.max_pixels) + " megapixel limit");
  }
}

// Composites straight (non-premultiplied) RGBA over white into RGB, in place (the output is
// written to the front of the same buffer).
void rgba_over_white(std::vector<uint8_t>& px, size_t pixels) {
  uint8_t* p = px.data();
  for (size_t i = 0; i < pixels; ++i) {
    const uint32_t a = p[i * 4 + 3];
    for (int c = 0; c < 3; ++c) {
      const uint32_t v = p[i * 4 + c];
      p[i * 3 + c] = static_cast<uint8_t>((v * a + 255u * (255u - a) + 127u) / 255u);
    }
  }
  px.resize(pixels * 3);
}

// ---------------------------------------------------------------- JPEG

struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
  bool empty;
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  err->empty = cinfo->err->msg_code == JERR_EMPTY_IMAGE;
  std::longjmp(err->jump, 1);
}

void jpeg_on_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  // A premature end of data is a warning to libjpeg (it pads with gray); to us it is an error.
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    err->truncated = true;
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
  }
}

int jpeg_exif_orientation(jpeg_decompress_struct& cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m != nullptr; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      return exif_orientation({m->data, m->data_length});
    }
  }
  return 1;
}

// Returns false (with err filled) on a libjpeg error. No C++ objects live in this frame.
bool jpeg_decode_raw(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what, bool header_only,
                     ImageInfo& info, Image* out, JpegError& err) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_on_error;
  err.mgr.emit_message = jpeg_on_message;
  err.truncated = false;
  err.empty = false;
  err.message[0] = 0;
  JSAMPROW row = nullptr;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  info.width = cinfo.image_width;
  info.height = cinfo.image_height;
  info.orientation = jpeg_exif_orientation(cinfo);
  // May throw: nothing in this frame needs unwinding; the decompressor leaks no memory of ours,
  // but destroy it first.
  {
    const uint64_t w = cinfo.image_width, h = cinfo.image_height;
    if (w == 0 || h == 0 || w > limits.max_side || h > limits.max_side || w * h > limits.max_pixels || header_only) {
      jpeg_destroy_decompress(&cinfo);
      if (!header_only) check_dims(w, h, limits, what, ImageFormat::Jpeg);
      return true;
    }
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  jpeg_start_decompress(&cinfo);
  const size_t stride = static_cast<size_t>(cinfo.output_width) * cinfo.output_components;
  out->width = cinfo.output_width;
  out->height = cinfo.output_height;
  out->rgb.resize(stride * cinfo.output_height);  // pre-reserved by the caller: no throw here
  while (cinfo.output_scanline < cinfo.output_height) {
    row = out->rgb.data() + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  if (cmyk) {
    // Adobe writes inverted CMYK; libjpeg hands it back as stored. R = C * K / 255 for inverted.
    const bool inverted = cinfo.saw_Adobe_marker;
    uint8_t* p = out->rgb.data();
    const size_t n = static_cast<size_t>(out->width) * out->height;
    for (size_t i = 0; i < n; ++i) {
      uint32_t c = p[i * 4], m = p[i * 4 + 1], y = p[i * 4 + 2], k = p[i * 4 + 3];
      if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
      p[i * 3] = static_cast<uint8_t>((c * k + 127) / 255);
      p[i * 3 + 1] = static_cast<uint8_t>((m * k + 127) / 255);
      p[i * 3 + 2] = static_cast<uint8_t>((y * k + 127) / 255);
    }
    out->rgb.resize(n * 3);
  }
  jpeg_destroy_decompress(&cinfo);
  return true;
}

ImageInfo decode_jpeg(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what, Image* out) {
  ImageInfo info;
  info.format = ImageFormat::Jpeg;
  JpegError err;
  // Reserve the largest buffer the limits allow lazily: decode the header first.
  ImageInfo header;
  if (!jpeg_decode_raw(bytes, limits, what, true, header, nullptr, err)) {
    if (err.truncated) fail(what, "truncated JPEG data");
    if (err.empty) fail(what, "zero-size JPEG");
    fail(what, std::string("corrupt JPEG data (") + err.message + ")");
  }
  check_dims(header.width, header.height, limits, what, ImageFormat::Jpeg);
  if (out == nullptr) return header;
  out->rgb.reserve(static_cast<size_t>(header.width) * header.height * 4);
  if (!jpeg_decode_raw(bytes, limits, what, false, info, out, err)) {
    if (err.truncated) fail(what, "truncated JPEG data");
    fail(what, std::string("corrupt JPEG data (") + err.message + ")");
  }
  info.format = ImageFormat::Jpeg;
  return info;
}

// ---------------------------------------------------------------- PNG

struct PngReader {
  std::span<const uint8_t> bytes;
  size_t pos = 0;
  bool truncated = false;
  char message[256] = {0};
};

void png_on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(r->message, sizeof r->message, "%s", msg);
  png_longjmp(png, 1);
}
void png_on_warning(png_structp, png_const_charp) {}

void png_read_mem(png_structp png, png_bytep data, png_size_t length) {
  auto* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (r->bytes.size() - r->pos < length) {
    r->truncated = true;
    png_error(png, "unexpected end of data");
  }
  std::memcpy(data, r->bytes.data() + r->pos, length);
  r->pos += length;
}

struct PngHeader {
  uint32_t width = 0, height = 0;
  int channels = 0;  // after the transforms: 3 or 4
  int orientation = 1;
};

// Stage 1: header. Stage 2 (out != nullptr, buffer reserved): pixels. No C++ objects in the frame.
bool png_decode_raw(PngReader& reader, PngHeader& header, std::vector<uint8_t>* pixels, std::vector<png_bytep>* rows) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, png_on_error, png_on_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  png_infop end_info = png_create_info_struct(png);
  if (info == nullptr || end_info == nullptr) {
    png_destroy_read_struct(&png, &info, &end_info);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, &end_info);
    return false;
  }
  png_set_read_fn(png, &reader, png_read_mem);
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);  // our own limits are checked by the caller
  png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_DEFAULT);
  png_read_info(png, info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0;
  png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, nullptr, nullptr);
  header.width = w;
  header.height = h;
#ifdef PNG_eXIf_SUPPORTED
  {
    png_uint_32 n = 0;
    png_bytep exif = nullptr;
    if (png_get_eXIf_1(png, info, &n, &exif) != 0 && exif != nullptr) header.orientation = exif_orientation({exif, n});
  }
#endif
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  const bool trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  if (trns) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_strip_16(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  const int passes = png_set_interlace_handling(png);
  (void)passes;
  png_read_update_info(png, info);
  header.channels = png_get_channels(png, info);
  if (pixels == nullptr || (header.channels != 3 && header.channels != 4)) {
    png_destroy_read_struct(&png, &info, &end_info);
    return true;
  }
  const size_t stride = static_cast<size_t>(w) * header.channels;
  // The caller reserved both buffers: these resizes do not allocate.
  pixels->resize(stride * h);
  rows->resize(h);
  for (png_uint_32 y = 0; y < h; ++y) (*rows)[y] = pixels->data() + stride * y;
  png_read_image(png, rows->data());
  // The image is complete; trailing chunks (eXIf after IDAT) are optional and a broken tail is
  // forgiven.
  if (setjmp(png_jmpbuf(png)) == 0) {
    png_read_end(png, end_info);
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 n = 0;
    png_bytep exif = nullptr;
    if (header.orientation == 1 && png_get_eXIf_1(png, end_info, &n, &exif) != 0 && exif != nullptr) {
      header.orientation = exif_orientation({exif, n});
    }
#endif
  }
  png_destroy_read_struct(&png, &info, &end_info);
  return true;
}

ImageInfo decode_png(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what, Image* out) {
  // Read the IHDR size before libpng does, so that a zero or huge size is reported as such.
  if (bytes.size() >= 24 && std::memcmp(bytes.data() + 12, "IHDR", 4) == 0) {
    auto be32 = [&](size_t at) {
      return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) | (uint32_t{bytes[at + 2]} << 8) |
             bytes[at + 3];
    };
    check_dims(be32(16), be32(20), limits, what, ImageFormat::Png);
  }
  PngReader reader;
  reader.bytes = bytes;
  PngHeader header;
  auto failed = [&]() {
    if (reader.truncated) fail(what, "truncated PNG data");
    fail(what, std::string("corrupt PNG data (") + reader.message + ")");
  };
  if (!png_decode_raw(reader, header, nullptr, nullptr)) failed();
  check_dims(header.width, header.height, limits, what, ImageFormat::Png);
  ImageInfo info{ImageFormat::Png, header.width, header.height, header.orientation};
  if (out == nullptr) return info;
  if (header.channels != 3 && header.channels != 4) fail(what, "unsupported PNG pixel layout");
  std::vector<uint8_t> pixels;
  std::vector<png_bytep> rows;
  pixels.reserve(static_cast<size_t>(header.width) * header.height * header.channels);
  rows.reserve(header.height);
  reader.pos = 0;
  reader.truncated = false;
  if (!png_decode_raw(reader, header, &pixels, &rows)) failed();
  if (header.channels == 4) rgba_over_white(pixels, static_cast<size_t>(header.width) * header.height);
  out->width = header.width;
  out->height = header.height;
  out->rgb = std::move(pixels);
  info.orientation = header.orientation;
  return info;
}

// ---------------------------------------------------------------- WebP

ImageInfo decode_webp(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what, Image* out) {
  WebPBitstreamFeatures features;
  const VP8StatusCode status = WebPGetFeatures(bytes.data(), bytes.size(), &features);
  if (status == VP8_STATUS_NOT_ENOUGH_DATA) fail(what, "truncated WebP data");
  if (status != VP8_STATUS_OK) fail(what, "corrupt WebP data (bad header)");
  check_dims(features.width, features.height, limits, what, ImageFormat::WebP);
  ImageInfo info{ImageFormat::WebP, static_cast<uint32_t>(features.width), static_cast<uint32_t>(features.height), 1};

  // The container (VP8X) may carry EXIF and animation; the demuxer reads both.
  WebPData data{bytes.data(), bytes.size()};
  WebPDemuxState state;
  WebPDemuxer* demux = WebPDemuxPartial(&data, &state);
  struct DemuxGuard {
    WebPDemuxer* d;
    ~DemuxGuard() { WebPDemuxDelete(d); }
  } guard{demux};
  if (demux != nullptr) {
    WebPChunkIterator chunk;
    if (WebPDemuxGetChunk(demux, "EXIF", 1, &chunk)) {
      info.orientation = exif_orientation({chunk.chunk.bytes, chunk.chunk.size});
      WebPDemuxReleaseChunkIterator(&chunk);
    }
  }
  if (out == nullptr) return info;

  const uint8_t* frame = bytes.data();
  size_t frame_size = bytes.size();
  int frame_x = 0, frame_y = 0, frame_w = features.width, frame_h = features.height;
  WebPIterator iter;
  bool have_iter = false;
  if (features.has_animation) {
    if (demux == nullptr || state != WEBP_DEMUX_DONE || !WebPDemuxGetFrame(demux, 1, &iter)) {
      fail(what, state == WEBP_DEMUX_PARSED_HEADER || state == WEBP_DEMUX_PARSING_HEADER ? "truncated WebP data"
                                                                                         : "corrupt WebP data");
    }
    have_iter = true;
    frame = iter.fragment.bytes;
    frame_size = iter.fragment.size;
    frame_x = iter.x_offset;
    frame_y = iter.y_offset;
    frame_w = iter.width;
    frame_h = iter.height;
  }
  struct IterGuard {
    WebPIterator* it;
    bool on;
    ~IterGuard() {
      if (on) WebPDemuxReleaseIterator(it);
    }
  } iter_guard{&iter, have_iter};

  const size_t w = static_cast<size_t>(features.width), h = static_cast<size_t>(features.height);
  std::vector<uint8_t> rgba(w * h * 4, 0);  // canvas: transparent outside the first frame
  if (frame_x + frame_w > features.width || frame_y + frame_h > features.height || frame_w <= 0 || frame_h <= 0) {
    fail(what, "corrupt WebP data (frame outside the canvas)");
  }
  uint8_t* dst = rgba.data() + (static_cast<size_t>(frame_y) * w + frame_x) * 4;
  if (WebPDecodeRGBAInto(frame, frame_size, dst, rgba.size() - (dst - rgba.data()), static_cast<int>(w * 4)) ==
      nullptr) {
    // Tell truncation from corruption by asking the incremental decoder.
    WebPDecoderConfig config;
    WebPInitDecoderConfig(&config);
    config.output.colorspace = MODE_RGBA;
    const VP8StatusCode s = WebPDecode(frame, frame_size, &config);
    WebPFreeDecBuffer(&config.output);
    if (s == VP8_STATUS_NOT_ENOUGH_DATA) fail(what, "truncated WebP data");
    fail(what, "corrupt WebP data (status " + std::to_string(static_cast<int>(s)) + ")");
  }
  rgba_over_white(rgba, w * h);
  out->width = static_cast<uint32_t>(w);
  out->height = static_cast<uint32_t>(h);
  out->rgb = std::move(rgba);
  return info;
}

// ---------------------------------------------------------------- GIF

struct GifReader {
  std::span<const uint8_t> bytes;
  size_t pos = 0;
  bool truncated = false;
};

int gif_read_mem(GifFileType* gif, GifByteType* buf, int len) {
  auto* r = static_cast<GifReader*>(gif->UserData);
  const size_t n = std::min<size_t>(static_cast<size_t>(len), r->bytes.size() - r->pos);
  if (n < static_cast<size_t>(len)) r->truncated = true;
  std::memcpy(buf, r->bytes.data() + r->pos, n);
  r->pos += n;
  return static_cast<int>(n);
}

[[noreturn]] void gif_fail(std::string_view what, int code, bool truncated) {
  if (truncated || code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON) fail(what, "truncated GIF data");
  const char* msg = GifErrorString(code);
  fail(what, std::string("corrupt GIF data (") + (msg ? msg : "unknown error") + ")");
}

ImageInfo decode_gif(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what, Image* out) {
  GifReader reader{bytes, 0};
  int error = 0;
  GifFileType* gif = DGifOpen(&reader, gif_read_mem, &error);
  if (gif == nullptr) gif_fail(what, error, reader.truncated);
  struct Closer {
    GifFileType* g;
    ~Closer() {
      int e = 0;
      DGifCloseFile(g, &e);
    }
  } closer{gif};
  uint32_t w = static_cast<uint32_t>(std::max(0, gif->SWidth));
  uint32_t h = static_cast<uint32_t>(std::max(0, gif->SHeight));
  check_dims(w, h, limits, what, ImageFormat::Gif);
  ImageInfo info{ImageFormat::Gif, w, h, 1};
  if (out == nullptr) return info;

  int transparent = -1;
  GifRecordType record;
  for (;;) {
    if (DGifGetRecordType(gif, &record) == GIF_ERROR) gif_fail(what, gif->Error, reader.truncated);
    if (record == TERMINATE_RECORD_TYPE) fail(what, "GIF has no image");
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR) gif_fail(what, gif->Error, reader.truncated);
      if (code == GRAPHICS_EXT_FUNC_CODE && ext != nullptr && ext[0] >= 4) {
        GraphicsControlBlock gcb;
        if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
      }
      while (ext != nullptr) {
        if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) gif_fail(what, gif->Error, reader.truncated);
      }
      continue;
    }
    if (record == IMAGE_DESC_RECORD_TYPE) break;
  }
  if (DGifGetImageDesc(gif) == GIF_ERROR) gif_fail(what, gif->Error, reader.truncated);
  const GifImageDesc& d = gif->Image;
  if (d.Width <= 0 || d.Height <= 0) fail(what, "zero-size GIF frame");
  check_dims(static_cast<uint64_t>(d.Width), static_cast<uint64_t>(d.Height), limits, what, ImageFormat::Gif);
  const ColorMapObject* map = d.ColorMap != nullptr ? d.ColorMap : gif->SColorMap;
  if (map == nullptr) fail(what, "corrupt GIF data (no color map)");

  std::vector<GifPixelType> line(static_cast<size_t>(d.Width));
  out->width = w;
  out->height = h;
  out->rgb.assign(static_cast<size_t>(w) * h * 3, 255);  // transparent canvas, composited on white
  auto put_row = [&](int y) {
    const int cy = d.Top + y;
    if (cy < 0 || cy >= static_cast<int>(h)) return;
    for (int x = 0; x < d.Width; ++x) {
      const int cx = d.Left + x;
      if (cx < 0 || cx >= static_cast<int>(w)) continue;
      const int idx = line[static_cast<size_t>(x)];
      if (idx == transparent) continue;
      uint8_t* p = out->rgb.data() + (static_cast<size_t>(cy) * w + cx) * 3;
      if (idx < map->ColorCount) {
        p[0] = map->Colors[idx].Red;
        p[1] = map->Colors[idx].Green;
        p[2] = map->Colors[idx].Blue;
      } else {
        p[0] = p[1] = p[2] = 0;
      }
    }
  };
  if (d.Interlace) {
    static const int start[] = {0, 4, 2, 1}, step[] = {8, 8, 4, 2};
    for (int pass = 0; pass < 4; ++pass) {
      for (int y = start[pass]; y < d.Height; y += step[pass]) {
        if (DGifGetLine(gif, line.data(), d.Width) == GIF_ERROR) gif_fail(what, gif->Error, reader.truncated);
        put_row(y);
      }
    }
  } else {
    for (int y = 0; y < d.Height; ++y) {
      if (DGifGetLine(gif, line.data(), d.Width) == GIF_ERROR) gif_fail(what, gif->Error, reader.truncated);
      put_row(y);
    }
  }
  return info;
}

// ---------------------------------------------------------------- BMP

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

ImageInfo decode_bmp(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what, Image* out) {
  if (bytes.size() < 26) fail(what, "truncated BMP data");
  const uint32_t offset = le32(&bytes[10]);
  const uint32_t header_size = le32(&bytes[14]);
  int64_t w = 0, h = 0;
  uint32_t bpp = 0, compression = 0;
  if (header_size == 12) {  // OS/2 BITMAPCOREHEADER
    w = le16(&bytes[18]);
    h = le16(&bytes[20]);
    bpp = le16(&bytes[24]);
  } else {
    if (bytes.size() < 34) fail(what, "truncated BMP data");
    w = static_cast<int32_t>(le32(&bytes[18]));
    h = static_cast<int32_t>(le32(&bytes[22]));
    bpp = le16(&bytes[28]);
    compression = le32(&bytes[30]);
  }
  if (w < 0) fail(what, "corrupt BMP data (negative width)");
  const uint64_t aw = static_cast<uint64_t>(w), ah = static_cast<uint64_t>(h < 0 ? -h : h);
  check_dims(aw, ah, limits, what, ImageFormat::Bmp);
  ImageInfo info{ImageFormat::Bmp, static_cast<uint32_t>(aw), static_cast<uint32_t>(ah), 1};
  // stb_image reads zeros past the end of its buffer: check that the pixel rows are all there.
  if (compression == 0 || compression == 3 || compression == 6) {
    if (bpp == 0 || bpp > 32) fail(what, "corrupt BMP data (bad bit depth)");
    const uint64_t row = (aw * bpp + 31) / 32 * 4;
    if (static_cast<uint64_t>(offset) + row * ah > bytes.size()) fail(what, "truncated BMP data");
  }
  if (out == nullptr) return info;
  int x = 0, y = 0, comp = 0;
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &x, &y, &comp) == 0) {
    const char* reason = stbi_failure_reason();
    fail(what, std::string("unsupported or corrupt BMP data (") + (reason ? reason : "unknown") + ")");
  }
  const int want = (comp == 2 || comp == 4) ? 4 : 3;
  stbi_uc* px = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &x, &y, &comp, want);
  if (px == nullptr) {
    const char* reason = stbi_failure_reason();
    fail(what, std::string("corrupt BMP data (") + (reason ? reason : "unknown") + ")");
  }
  std::vector<uint8_t> pixels(px, px + static_cast<size_t>(x) * y * want);
  stbi_image_free(px);
  if (want == 4) {
    // Many 32-bit BMPs store 0 in the unused fourth byte: treat an all-zero alpha as opaque.
    bool any_alpha = false;
    for (size_t i = 3; i < pixels.size(); i += 4) any_alpha |= pixels[i] != 0;
    if (!any_alpha) {
      for (size_t i = 3; i < pixels.size(); i += 4) pixels[i] = 255;
    }
    rgba_over_white(pixels, static_cast<size_t>(x) * y);
  }
  out->width = static_cast<uint32_t>(x);
  out->height = static_cast<uint32_t>(y);
  out->rgb = std::move(pixels);
  return info;
}

ImageInfo decode_any(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what, Image* out) {
  if (bytes.empty()) fail(what, "empty image data");
  if (bytes.size() > limits.max_bytes) {
    fail(what, "image data of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                   std::to_string(limits.max_bytes) + " bytes");
  }
  switch (sniff_image_format(bytes)) {
    case ImageFormat::Jpeg:
      return decode_jpeg(bytes, limits, what, out);
    case ImageFormat::Png:
      return decode_png(bytes, limits, what, out);
    case ImageFormat::WebP:
      return decode_webp(bytes, limits, what, out);
    case ImageFormat::Gif:
      return decode_gif(bytes, limits, what, out);
    case ImageFormat::Bmp:
      return decode_bmp(bytes, limits, what, out);
    case ImageFormat::Unknown:
      break;
  }
  fail(what, "not an image (the data is not JPEG, PNG, WebP, GIF or BMP)");
}

}  // namespace

const char* image_format_name(ImageFormat format) noexcept {
  switch (format) {
    case ImageFormat::Jpeg:
      return "JPEG";
    case ImageFormat::Png:
      return "PNG";
    case ImageFormat::WebP:
      return "WebP";
    case ImageFormat::Gif:
      return "GIF";
    case ImageFormat::Bmp:
      return "BMP";
    case ImageFormat::Unknown:
      break;
  }
  return "image";
}

ImageFormat sniff_image_format(std::span<const uint8_t> b) noexcept {
  auto starts = [&](const char* magic, size_t n, size_t at = 0) {
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return ImageFormat::Jpeg;
  if (starts("\x89PNG\r\n\x1A\n", 8)) return ImageFormat::Png;
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return ImageFormat::WebP;
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return ImageFormat::Gif;
  if (starts("BM", 2) && b.size() >= 18) return ImageFormat::Bmp;
  return ImageFormat::Unknown;
}

ImageInfo probe_image(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what) {
  return decode_any(bytes, limits, what, nullptr);
}

Image decode_image(std::span<const uint8_t> bytes, const ImageLimits& limits, std::string_view what) {
  Image image;
  const ImageInfo info = decode_any(bytes, limits, what, &image);
  if (image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    fail(what, std::string("internal: ") + image_format_name(info.format) + " decoder returned a bad buffer");
  }
  apply_orientation(image, info.orientation);
  return image;
}

}  // namespace oc::media
