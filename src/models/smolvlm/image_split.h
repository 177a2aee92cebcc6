// SmolVLM / Idefics3 image splitting (transformers.js' Idefics3ImageProcessor): the image,
// resized so its longest side is `size.longest_edge` and normalized, is resized again to
// multiples of the encoder's frame side (`max_image_size.longest_edge`), cut into frames of that
// side row by row, and followed by the whole image resized to one frame (the global image). An
// image that fits one frame is that frame alone (rows = cols = 0).
#pragma once

#include <cstdint>
#include <vector>

#include "media/image.h"

namespace oc::models::smolvlm {

struct SplitImage {
  int rows = 0, cols = 0;                  // tile grid; 0 x 0: one frame, no tiles
  std::vector<media::FloatTensor> frames;  // [3, side, side] each: tiles row by row, then the global image
};

// The size the normalized image is resized to before the split: both sides multiples of `side`,
// the aspect ratio kept as transformers.js computes it. Returns {width, height}.
std::array<uint32_t, 2> split_size(uint32_t width, uint32_t height, uint32_t side);

SplitImage split_image(const media::Image& image, const media::ImageProcessorConfig& config, uint32_t side,
                       bool do_split);

}  // namespace oc::models::smolvlm
