// A matmul of fp32 activations with 4-bit block-quantized weights (MatMulNBits' layout: blocks of
// 32 along K, a scale and a 4-bit zero point per block), computed with int8 activations on AVX-512
// VNNI. The weights are repacked once into tiles of 16 output columns whose 4-bit codes, scales and
// zero points stream in the order the kernel reads them; the activations are quantized per block
// of 32 (scale = max |a| / 127, as ONNX Runtime's int8 kernels do). One int32 dot product per
// block and column, corrected for the zero point, is scaled into an fp32 sum: no per-block sums of
// the weights are stored, so a decode step reads only the codes, the scales and the zero points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace oc::ort::q4 {

constexpr int64_t kBlock = 32;  // weights per quantization block
constexpr int64_t kTile = 16;   // output columns per tile

// True where the CPU runs the kernel (AVX-512 F/BW/VL and VNNI); quantize_rows and multiply may be
// called only there.
bool supported();

// Weights repacked for the kernel; read-only once packed.
class PackedWeights {
 public:
  // Room for n columns of k weights, all zero.
  PackedWeights(int64_t n, int64_t k);
  // Packs columns [col_begin, col_end): `codes` [cols, blocks, 16] bytes (element 2i of a block in
  // the low nibble of byte i), `scales` [cols, blocks], `zero_points` [cols, ceil(blocks / 2)]
  // bytes of two 4-bit values (low nibble first) or null for the default 8; blocks = ceil(k / 32).
  // MatMulNBits' initializers, from their first column on.
  void pack(int64_t col_begin, int64_t col_end, const uint8_t* codes, const float* scales, const uint8_t* zero_points);

  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  int64_t blocks() const { return blocks_; }
  int64_t tiles() const { return (n_ + kTile - 1) / kTile; }
  size_t bytes() const { return tile_bytes_ * static_cast<size_t>(tiles()); }
  size_t tile_bytes() const { return tile_bytes_; }
  const uint8_t* tile(int64_t t) const { return data_.get() + tile_bytes_ * static_cast<size_t>(t); }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  int64_t n_, k_, blocks_;
  size_t tile_bytes_;
  std::unique_ptr<uint8_t, Free> data_;
};

// Activation rows quantized per block of 32 for the kernel.
struct QuantizedRows {
  int64_t rows = 0;
  int64_t blocks = 0;
  std::vector<int8_t> codes;  // [rows, blocks * 32], zero past k
  std::vector<float> scales;  // [rows, blocks]
  std::vector<int32_t> sums;  // [rows, blocks]: the sum of each block's codes
};
void quantize_rows(const float* a, int64_t rows, int64_t k, QuantizedRows& out);

// c[r, n] = sum over k of a[r, k] * w[k, n] (+ bias[n] when given) for the columns of tiles
// [tile_begin, tile_end); c is [rows, n], row-major.
void multiply(const PackedWeights& w, const QuantizedRows& a, const float* bias, float* c, int64_t tile_begin,
              int64_t tile_end);

}  // namespace oc::ort::q4
