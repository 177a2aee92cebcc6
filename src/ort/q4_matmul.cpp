#include "ort/q4_matmul.h"

#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

// GCC 12 takes the AVX-512 intrinsics' deliberately undefined pass-through operands for
// uninitialized values once they are inlined into a function with a target attribute.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace oc::ort::q4 {
namespace {

// A tile holds, for its 16 columns and every block: the codes (4 groups of 8 weights, 64 bytes a
// group: column j's bytes 4j..4j+3 carry weights 0-3 of the group in their low nibbles and 4-7 in
// their high nibbles, the operand layout of vpdpbusd), then every block's 16 scales, then every
// block's 16 zero points (a byte each).
constexpr size_t kCodeBytes = 256;  // per block and tile
constexpr size_t kScaleBytes = kTile * sizeof(float);
constexpr size_t kZeroBytes = kTile;
constexpr size_t kAlign = 64;
constexpr int64_t kPrefetchBlocks = 8;  // how far ahead of the kernel each tile is fetched
constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

// The low 4 nibbles of x into the low nibbles of 4 bytes.
uint32_t spread_nibbles(uint32_t x) {
  uint32_t t = (x & 0x00FFu) | ((x & 0xFF00u) << 8);
  return (t & 0x000F000Fu) | ((t & 0x00F000F0u) << 4);
}

#define OC_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// Horizontal max and sum written out: GCC 12's _mm512_reduce_* warn of uninitialized lanes.
OC_VNNI float max_lane(__m512 v) {
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_max_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_max_ss(q, _mm_movehdup_ps(q)));
}

OC_VNNI int32_t sum_lanes(__m512i v) {
  __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
  q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
  return _mm_cvtsi128_si32(q);
}

OC_VNNI void quantize_row(const float* a, int64_t k, int64_t blocks, int8_t* codes, float* scales, int32_t* sums) {
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k0 = b * kBlock;
    const int64_t len = std::min<int64_t>(kBlock, k - k0);
    const __mmask16 m0 = len >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << len) - 1);
    const __mmask16 m1 = len >= 32 ? 0xFFFF : len > 16 ? static_cast<__mmask16>((1u << (len - 16)) - 1) : 0;
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, a + k0);
    const __m512 x1 = _mm512_maskz_loadu_ps(m1, a + k0 + 16);
    const float amax = max_lane(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
    const float scale = amax / 127.0f;
    const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, inv));  // round to nearest even
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, inv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + k0), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + k0 + 16), _mm512_cvtsepi32_epi8(q1));
    scales[b] = scale;
    sums[b] = sum_lanes(_mm512_add_epi32(q0, q1));
  }
}

// The columns of T consecutive tiles for R rows. Per block and row: two vpdpbusd per group of 8
// weights (its low nibbles, then its high nibbles shifted down; the unpacking serves all R rows);
// then the zero point's share (zero point x the sum of the row's codes, by vpmaddwd) comes off the
// int32 dot product, which is scaled into the row's fp32 sum. Sharing a load of the weights among
// R rows and the activations' broadcasts among T tiles keeps the work per byte below what memory
// delivers.
template <int R, int T>
OC_VNNI void tile_rows(const uint8_t* first_tile, size_t tile_bytes, int64_t blocks, const QuantizedRows& a,
                       int64_t row0, __m512* out) {
  const uint8_t* codes[T];
  const float* scales[T];
  const uint8_t* zeros[T];
  for (int t = 0; t < T; ++t) {
    codes[t] = first_tile + t * tile_bytes;
    scales[t] = reinterpret_cast<const float*>(codes[t] + kCodeBytes * blocks);
    zeros[t] = codes[t] + (kCodeBytes + kScaleBytes) * blocks;
  }
  const int64_t stride = a.blocks * kBlock;
  const int8_t* acodes[R];
  const float* ascales[R];
  const int32_t* asums[R];
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r) {
    acodes[r] = a.codes.data() + (row0 + r) * stride;
    ascales[r] = a.scales.data() + (row0 + r) * a.blocks;
    asums[r] = a.sums.data() + (row0 + r) * a.blocks;
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  const __m512i low = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < blocks; ++b) {
    __m512i dot[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) dot[r][t] = _mm512_setzero_si512();
    for (int t = 0; t < T; ++t) {
      const char* ahead = reinterpret_cast<const char*>(codes[t] + (b + kPrefetchBlocks) * kCodeBytes);
      for (int line = 0; line < 4; ++line) _mm_prefetch(ahead + line * 64, _MM_HINT_T0);
    }
    for (int g = 0; g < 4; ++g) {
      __m512i lo[T], hi[T];
      for (int t = 0; t < T; ++t) {
        const __m512i packed = _mm512_load_si512(codes[t] + b * kCodeBytes + g * 64);
        lo[t] = _mm512_and_si512(packed, low);
        hi[t] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low);
      }
      for (int r = 0; r < R; ++r) {
        int32_t x0, x1;
        std::memcpy(&x0, acodes[r] + b * kBlock + g * 8, 4);
        std::memcpy(&x1, acodes[r] + b * kBlock + g * 8 + 4, 4);
        const __m512i a0 = _mm512_set1_epi32(x0), a1 = _mm512_set1_epi32(x1);
        for (int t = 0; t < T; ++t) {
          dot[r][t] = _mm512_dpbusd_epi32(dot[r][t], lo[t], a0);
          dot[r][t] = _mm512_dpbusd_epi32(dot[r][t], hi[t], a1);
        }
      }
    }
    __m512i zp[T];
    __m512 ws[T];
    for (int t = 0; t < T; ++t) {
      zp[t] = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(zeros[t] + b * kZeroBytes)));
      ws[t] = _mm512_load_ps(scales[t] + b * kTile);
    }
    for (int r = 0; r < R; ++r) {
      const __m512i asum = _mm512_set1_epi32(asums[r][b]);
      const __m512 as = _mm512_set1_ps(ascales[r][b]);
      for (int t = 0; t < T; ++t) {
        const __m512i corrected = _mm512_sub_epi32(dot[r][t], _mm512_madd_epi16(zp[t], asum));
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(corrected), _mm512_mul_ps(ws[t], as), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) out[r * T + t] = acc[r][t];
}

constexpr int kRows = 4;  // rows sharing each load of the weights

OC_VNNI void store(float* c, int64_t n, int64_t n0, const float* bias, const __m512* out, int64_t rows, int T) {
  for (int t = 0; t < T; ++t) {
    const int64_t col = n0 + t * kTile;
    const int64_t cols = std::min<int64_t>(kTile, n - col);
    const __mmask16 mask = cols == kTile ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + col) : _mm512_setzero_ps();
    for (int64_t r = 0; r < rows; ++r) _mm512_mask_storeu_ps(c + r * n + col, mask, _mm512_add_ps(out[r * T + t], b));
  }
}

// R rows of T tiles at rows r0.., for R = rows (1 to kRows).
template <int T>
OC_VNNI void rows_of_tiles(const PackedWeights& w, const QuantizedRows& a, int64_t t, int64_t r0, int64_t rows,
                           __m512* out) {
  switch (rows) {
    case 1:
      return tile_rows<1, T>(w.tile(t), w.tile_bytes(), w.blocks(), a, r0, out);
    case 2:
      return tile_rows<2, T>(w.tile(t), w.tile_bytes(), w.blocks(), a, r0, out);
    case 3:
      return tile_rows<3, T>(w.tile(t), w.tile_bytes(), w.blocks(), a, r0, out);
    default:
      return tile_rows<kRows, T>(w.tile(t), w.tile_bytes(), w.blocks(), a, r0, out);
  }
}

}  // namespace

bool supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

void PackedWeights::Free::operator()(uint8_t* p) const { std::free(p); }

PackedWeights::PackedWeights(int64_t n, int64_t k) : n_(n), k_(k), blocks_((k + kBlock - 1) / kBlock) {
  const size_t blocks = static_cast<size_t>(blocks_);
  tile_bytes_ = round_up(blocks * (kCodeBytes + kScaleBytes + kZeroBytes), kAlign);
  const size_t total = tile_bytes_ * static_cast<size_t>(tiles());
  // In huge pages where the system allows them: a decode step streams every byte, and with 4 KiB
  // pages the page walks and (at load) the page faults cost as much as the arithmetic.
  // Small matrices (under half a huge page) keep ordinary pages rather than round up to 2 MiB.
  const bool huge = total >= kHugePage / 2;
  const size_t allocated = round_up(std::max<size_t>(total, kAlign), huge ? kHugePage : kAlign);
  data_.reset(static_cast<uint8_t*>(std::aligned_alloc(huge ? kHugePage : kAlign, allocated)));
  if (!data_) throw std::bad_alloc();
  if (huge) ::madvise(data_.get(), allocated, MADV_HUGEPAGE);
  std::memset(data_.get(), 0, total);
}

void PackedWeights::pack(int64_t col_begin, int64_t col_end, const uint8_t* codes, const float* scales,
                         const uint8_t* zero_points) {
  const size_t blocks = static_cast<size_t>(blocks_);
  const size_t zp_row = (blocks + 1) / 2;
  for (int64_t col = col_begin; col < col_end; ++col) {
    const size_t i = static_cast<size_t>(col - col_begin);
    uint8_t* tile = data_.get() + tile_bytes_ * static_cast<size_t>(col / kTile);
    const size_t j = static_cast<size_t>(col % kTile);
    float* tile_scales = reinterpret_cast<float*>(tile + kCodeBytes * blocks);
    uint8_t* tile_zeros = tile + (kCodeBytes + kScaleBytes) * blocks;
    for (size_t b = 0; b < blocks; ++b) {
      const uint8_t* src = codes + (i * blocks + b) * (kBlock / 2);
      uint8_t* dst = tile + b * kCodeBytes + j * 4;
      for (size_t g = 0; g < 4; ++g) {
        uint32_t s;
        std::memcpy(&s, src + g * 4, 4);  // weights 8g..8g+7, one nibble each
        const uint32_t d = spread_nibbles(s & 0xFFFFu) | (spread_nibbles(s >> 16) << 4);
        std::memcpy(dst + g * 64, &d, 4);
      }
      tile_scales[b * kTile + j] = scales[i * blocks + b];
      uint8_t zp = 8;
      if (zero_points) zp = (zero_points[i * zp_row + b / 2] >> ((b & 1) * 4)) & 0x0F;
      tile_zeros[b * kTile + j] = zp;
    }
  }
}

void quantize_rows(const float* a, int64_t rows, int64_t k, QuantizedRows& out) {
  out.rows = rows;
  out.blocks = (k + kBlock - 1) / kBlock;
  const size_t stride = static_cast<size_t>(out.blocks * kBlock);
  out.codes.assign(static_cast<size_t>(rows) * stride, 0);
  out.scales.resize(static_cast<size_t>(rows * out.blocks));
  out.sums.resize(static_cast<size_t>(rows * out.blocks));
  for (int64_t r = 0; r < rows; ++r)
    quantize_row(a + r * k, k, out.blocks, out.codes.data() + r * stride, out.scales.data() + r * out.blocks,
                 out.sums.data() + r * out.blocks);
}

// Tiles two at a time (the activations' broadcasts serve both), rows four at a time (each load of
// the weights serves all four); a tile's rows are all done before the next, so it stays in cache.
OC_VNNI void multiply(const PackedWeights& w, const QuantizedRows& a, const float* bias, float* c, int64_t tile_begin,
                      int64_t tile_end) {
  __m512 out[kRows * 2];
  for (int64_t t = tile_begin; t < tile_end;) {
    const int pair = t + 2 <= tile_end ? 2 : 1;
    for (int64_t r0 = 0; r0 < a.rows; r0 += kRows) {
      const int64_t rows = std::min<int64_t>(kRows, a.rows - r0);
      if (pair == 2)
        rows_of_tiles<2>(w, a, t, r0, rows, out);
      else
        rows_of_tiles<1>(w, a, t, r0, rows, out);
      store(c + r0 * w.n(), w.n(), t * kTile, bias, out, rows, pair);
    }
    t += pair;
  }
}

}  // namespace oc::ort::q4
