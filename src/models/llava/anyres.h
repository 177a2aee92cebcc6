// LLaVA-NeXT's any-resolution images (Python transformers' LlavaNextImageProcessor, LlavaNextProcessor
// and LlavaNextForConditionalGeneration.pack_image_features): the image is resized into the best
// fitting grid resolution of `image_grid_pinpoints`, padded to it, cut into tiles of the encoder's
// side, and preceded by the whole image resized to one tile (the base image). The encoder's rows of
// the tiles form a feature grid from which the padding is cut away again (unpadding); each kept
// grid row ends with the model's image_newline row. The prompt holds, per image, the base tile's
// rows, then the kept grid row by row with its newline rows.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "media/image.h"

namespace oc::models::llava {

struct Size {
  int64_t height = 0, width = 0;
  bool operator==(const Size&) const = default;
};

struct AnyresConfig {
  std::vector<Size> pinpoints;  // image_grid_pinpoints, [height, width] each
  int64_t tile = 0;             // tile side in pixels (crop_size, the encoder's image_size)
  int64_t patches = 0;          // patches per tile side (tile / patch_size)
};

// select_best_resolution: the pinpoint that keeps the most of the image's resolution, ties to the
// one that wastes the least. `original` must not be empty; `pinpoints` must not be empty.
Size best_resolution(Size original, std::span<const Size> pinpoints);

// The size the image is resized to inside `target`, the aspect ratio kept (_get_patch_output_size).
Size fit_size(Size original, Size target);

// The feature grid of the tiles (`rows` x `cols` patches), and the part kept after unpadding:
// rows [top, top + kept_rows), columns [left, left + kept_cols).
struct FeatureGrid {
  int64_t rows = 0, cols = 0;
  int64_t top = 0, left = 0, kept_rows = 0, kept_cols = 0;
};
FeatureGrid feature_grid(Size original, const AnyresConfig& config);

// The tiles of one image: tile_rows x tile_cols tiles of the padded best resolution.
struct TileGrid {
  int64_t rows = 0, cols = 0;
};
TileGrid tile_grid(Size original, const AnyresConfig& config);

// Placeholder tokens of one image: the base tile's patches, the kept grid and one newline per kept row.
int64_t image_token_count(Size original, const AnyresConfig& config);

// For each placeholder, the encoder row it takes: rows of item 0 (the base image) then of the tiles
// row by row, each `patches * patches` rows; -1 (MediaSegment::kExtraRow) is the image_newline row.
std::vector<int64_t> feature_order(Size original, const AnyresConfig& config);

// The encoder input of one image: the base image then the tiles row by row, each [3, tile, tile],
// normalized with `pixels` (its size fields unused). Resized as Python does (antialiased, with
// `pixels.resample`); the padding is black before normalization.
std::vector<media::FloatTensor> anyres_tiles(const media::Image& image, const media::ImageProcessorConfig& pixels,
                                             const AnyresConfig& config);

}  // namespace oc::models::llava
