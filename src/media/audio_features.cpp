// The log-mel front end (computed as transformers.js' Gemma3nAudioFeatureExtractor does, spectrogram()).
// Numerics follow the reference: frames, pre-emphasis, window and FFT in double; the power
// spectrum and the magnitude are rounded to float32; float32 mel weights and sums (in the order of
// ONNX Runtime's float GEMM, which the reference uses); log in double, rounded to float32.
//
// Speed (docs/media.md): frames are processed two or four at a time, one frame per SIMD lane
// (every vector holds the same sample of each frame), so the FFT needs no shuffles; a radix-4 FFT
// with precomputed twiddles whose first stage skips the zero half of the 1024-sample buffer; float
// square roots (exactly the float rounding of the double root); sparse mel filters summed for 32
// frames at once; a vectorized double-precision log. The kernel is compiled twice, for the
// baseline ISA (16-byte vectors) and for AVX2+FMA (32-byte vectors, chosen at run time), and long
// clips are split across threads.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <thread>

#include "common/error.h"
#include "media/audio.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OC_LOGMEL_X86 1
#endif

#if !defined(__GNUC__)
#error "audio_features.cpp uses GCC/Clang vector extensions"
#endif

// Vectors are passed between always-inlined helpers only; their ABI never matters.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace oc::media {
namespace {

using D2 = double __attribute__((vector_size(16)));
using D4 = double __attribute__((vector_size(32)));
using U2 = uint64_t __attribute__((vector_size(16)));
using U4 = uint64_t __attribute__((vector_size(32)));
using F2 = float __attribute__((vector_size(8)));
using F4 = float __attribute__((vector_size(16)));
using F8 = float __attribute__((vector_size(32)));

// The two kernel widths: one double vector holds the same sample of kLanes frames.
struct Narrow {  // 16-byte vectors: the baseline (SSE2, NEON)
  using D = D2;
  using U = U2;
  using F = F4;   // mel sums
  using Fh = F2;  // kLanes floats
  static constexpr int kLanes = 2;
};
struct Wide {  // 32-byte vectors: AVX2 + FMA
  using D = D4;
  using U = U4;
  using F = F8;
  using Fh = F4;
  static constexpr int kLanes = 4;
};

#define OC_INLINE inline __attribute__((always_inline))

constexpr int kMaxLanes = 4;
constexpr int kBlock = 32;  // frames per mel pass
// ONNX Runtime's SGEMM (MLAS) sums K in panels of 128 (MLAS_SGEMM_STRIDEK) when a thread's slice
// of N (frames) is wider than 64: each panel's products are chained with FMA from zero, then the
// panel is added to the output. The mel sums follow that order so they match the reference's
// float32 sums bit for bit on FMA machines (its panel grows for very short clips on many threads,
// which only moves the few filters that cross a panel edge by a rounding).
constexpr int kGemmPanelK = 128;
constexpr int kMinParallelFrames = 1024;  // about 10 s
constexpr int kMinFramesPerThread = 512;

template <typename V>
OC_INLINE V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
OC_INLINE void store(float* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// One FFT stage of the complex transform of size m (decimation in frequency, in place): radix 4
// or 2, butterflies of `span` points, twiddles tw.
struct Stage {
  int radix = 0;
  int span = 0;
  size_t tw = 0;  // offset in Plan::tw: radix 4: 6 doubles per i (W^i, W^2i, W^3i), radix 2: 2
};

struct Segment {
  int bin = 0;    // first FFT bin
  int count = 0;  // bins
  int w = 0;      // offset in Plan::weights
};

// Everything the kernel reads: built once per config.
struct Plan {
  int n = 0, m = 0, bins = 0;  // fft_length, fft_length / 2, fft_length / 2 + 1
  int frame_length = 0, hop = 0, mel_bins = 0;
  double preemphasis = 0.0;
  std::vector<double> window;
  std::vector<Stage> stages;
  bool half_zero = false;  // the frame fills at most half the complex buffer: a cheaper first stage
  std::vector<double> tw;
  std::vector<int> perm;                 // Z_k (the complex FFT's output k) is at perm[k]
  std::vector<double> post_re, post_im;  // W_n^k, k in [0, m]
  std::vector<int> seg_begin;            // filter f: segments [seg_begin[f], seg_begin[f + 1])
  std::vector<Segment> segs;
  std::vector<float> weights;
  float floor_value = 0.0f;      // float32(mel_floor)
  float floor_threshold = 0.0f;  // smallest float >= mel_floor: sums below it become floor_value
  bool floor_add = false;        // mel_floor added to every sum (in double) instead of clamping
  double floor_add_value = 0.0;
};

// Per-thread buffers (64-byte aligned raw storage; the kernels use them as vectors).
struct Scratch {
  struct Free {
    void operator()(void* p) const { ::operator delete (p, std::align_val_t{64}); }
  };
  std::unique_ptr<void, Free> memory;
  double *re, *im;  // [m][kMaxLanes] each
  float* mag;       // [kBlock / kLanes][bins][kLanes]
  float* mel;       // [mel_bins][kBlock]
  float* frames;    // [kMaxLanes][frame_length]: frames that need padding

  explicit Scratch(const Plan& p) {
    auto up = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
    const size_t complex_bytes = up(sizeof(double) * kMaxLanes * p.m);
    const size_t mag_bytes = up(sizeof(float) * kBlock * p.bins);
    const size_t mel_bytes = up(sizeof(float) * kBlock * p.mel_bins);
    const size_t frame_bytes = up(sizeof(float) * kMaxLanes * p.frame_length);
    const size_t total = 2 * complex_bytes + mag_bytes + mel_bytes + frame_bytes;
    memory.reset(::operator new (total, std::align_val_t{64}));
    char* base = static_cast<char*>(memory.get());
    std::memset(base, 0, total);
    re = reinterpret_cast<double*>(base);
    im = reinterpret_cast<double*>(base + complex_bytes);
    mag = reinterpret_cast<float*>(base + 2 * complex_bytes);
    mel = reinterpret_cast<float*>(base + 2 * complex_bytes + mag_bytes);
    frames = reinterpret_cast<float*>(base + 2 * complex_bytes + mag_bytes + mel_bytes);
  }
};

// Frames [t_begin, t_end) of one clip; out holds their rows.
struct Job {
  const float* samples = nullptr;
  int64_t n_in = 0;  // samples used (after truncation)
  float pad = 0.0f;
  int64_t t_begin = 0, t_end = 0;
  float* out = nullptr;
};

// ------------------------------------------------------------------ kernel
// Everything below down to the kernel entry points is always inlined, so each entry point gets
// its own copy compiled for its ISA.

// Sample j of each frame as one vector.
template <typename V, typename D = typename V::D>
OC_INLINE D lanes_at(const float* const* src, int j) {
  if constexpr (V::kLanes == 4) {
    return D{static_cast<double>(src[0][j]), static_cast<double>(src[1][j]), static_cast<double>(src[2][j]),
             static_cast<double>(src[3][j])};
  } else {
    return D{static_cast<double>(src[0][j]), static_cast<double>(src[1][j])};
  }
}

// Samples j..j+3 of each frame as four vectors (a transpose of four-float loads).
template <typename V, typename D = typename V::D>
OC_INLINE void lanes_at4(const float* const* src, int j, D* c) {
#if __has_builtin(__builtin_shufflevector)
  if constexpr (V::kLanes == 4) {
    const F4 a = load<F4>(src[0] + j), b = load<F4>(src[1] + j), e = load<F4>(src[2] + j), f = load<F4>(src[3] + j);
    const F4 ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    const F4 ef_lo = __builtin_shufflevector(e, f, 0, 4, 1, 5), ef_hi = __builtin_shufflevector(e, f, 2, 6, 3, 7);
    c[0] = __builtin_convertvector(__builtin_shufflevector(ab_lo, ef_lo, 0, 1, 4, 5), D);
    c[1] = __builtin_convertvector(__builtin_shufflevector(ab_lo, ef_lo, 2, 3, 6, 7), D);
    c[2] = __builtin_convertvector(__builtin_shufflevector(ab_hi, ef_hi, 0, 1, 4, 5), D);
    c[3] = __builtin_convertvector(__builtin_shufflevector(ab_hi, ef_hi, 2, 3, 6, 7), D);
  } else {
    const F4 a = load<F4>(src[0] + j), b = load<F4>(src[1] + j);
    c[0] = __builtin_convertvector(__builtin_shufflevector(a, b, 0, 4), D);
    c[1] = __builtin_convertvector(__builtin_shufflevector(a, b, 1, 5), D);
    c[2] = __builtin_convertvector(__builtin_shufflevector(a, b, 2, 6), D);
    c[3] = __builtin_convertvector(__builtin_shufflevector(a, b, 3, 7), D);
  }
#else
  for (int t = 0; t < 4; ++t) c[t] = lanes_at<V>(src, j + t);
#endif
}

// Pre-emphasis and window of kLanes frames into the complex buffer z = x[2i] + i x[2i+1].
template <typename V, typename D = typename V::D>
OC_INLINE void load_frames(const Plan& p, const float* const* src, D* re, D* im) {
  const int fl = p.frame_length;
  const double pre = p.preemphasis;
  const double* w = p.window.data();
  // The reference: x[j] -= pre * x[j - 1] (from the end), x[0] *= 1 - pre, then x *= window.
  D prev = lanes_at<V>(src, 0);
  re[0] = prev * (1.0 - pre) * w[0];
  int j = 1;
  for (; j < 4 && j < fl; ++j) {
    const D a = lanes_at<V>(src, j);
    (j % 2 == 0 ? re : im)[j / 2] = (a - pre * prev) * w[j];
    prev = a;
  }
  for (; j + 4 <= fl; j += 4) {  // j is a multiple of 4: pairs (even, odd)
    D c[4];
    lanes_at4<V>(src, j, c);
    re[j / 2] = (c[0] - pre * prev) * w[j];
    im[j / 2] = (c[1] - pre * c[0]) * w[j + 1];
    re[j / 2 + 1] = (c[2] - pre * c[1]) * w[j + 2];
    im[j / 2 + 1] = (c[3] - pre * c[2]) * w[j + 3];
    prev = c[3];
  }
  for (; j < fl; ++j) {
    const D a = lanes_at<V>(src, j);
    (j % 2 == 0 ? re : im)[j / 2] = (a - pre * prev) * w[j];
    prev = a;
  }
  const int filled = (fl + 1) / 2;        // complex values written
  if (fl % 2 == 1) im[filled - 1] = D{};  // the last complex value has no imaginary part
  const int zero_end = p.half_zero ? p.m / 2 : p.m;
  for (int i = filled; i < zero_end; ++i) re[i] = im[i] = D{};
}

template <typename D>
OC_INLINE void cmul(D& yr, D& yi, const D& ur, const D& ui, double wr, double wi) {
  yr = ur * wr - ui * wi;
  yi = ur * wi + ui * wr;
}

// One radix-4 butterfly (decimation in frequency) of a[0..3]; output s (times W^s·i) to re/im[s * q].
template <typename D>
OC_INLINE void butterfly4(const D (&ar)[4], const D (&ai)[4], const double* w, D* re, D* im, int q) {
  const D t0r = ar[0] + ar[2], t0i = ai[0] + ai[2];
  const D t1r = ar[0] - ar[2], t1i = ai[0] - ai[2];
  const D t2r = ar[1] + ar[3], t2i = ai[1] + ai[3];
  const D dr = ar[1] - ar[3], di = ai[1] - ai[3];  // -i * d = di - i dr
  re[0] = t0r + t2r;
  im[0] = t0i + t2i;
  cmul(re[q], im[q], t1r + di, t1i - dr, w[0], w[1]);
  cmul(re[2 * q], im[2 * q], t0r - t2r, t0i - t2i, w[2], w[3]);
  cmul(re[3 * q], im[3 * q], t1r - di, t1i + dr, w[4], w[5]);
}

template <typename D>
OC_INLINE void radix4(D* re, D* im, int m, int span, const double* tw) {
  const int q = span / 4;
  for (int b = 0; b < m; b += span) {
    for (int i = b; i < b + q; ++i) {
      const D ar[4] = {re[i], re[i + q], re[i + 2 * q], re[i + 3 * q]};
      const D ai[4] = {im[i], im[i + q], im[i + 2 * q], im[i + 3 * q]};
      butterfly4(ar, ai, tw + 6 * (i - b), re + i, im + i, q);
    }
  }
}

// First radix-4 stage when the upper half of the buffer is zero (a2 = a3 = 0).
template <typename D>
OC_INLINE void radix4_half_zero(D* re, D* im, int m, const double* tw) {
  const int q = m / 4;
  D *r0 = re, *r1 = r0 + q, *r2 = r1 + q, *r3 = r2 + q;
  D *i0 = im, *i1 = i0 + q, *i2 = i1 + q, *i3 = i2 + q;
  for (int i = 0; i < q; ++i) {
    const double* w = tw + 6 * i;
    const D ar = r0[i], ai = i0[i], br = r1[i], bi = i1[i];
    r0[i] = ar + br;
    i0[i] = ai + bi;
    cmul(r1[i], i1[i], ar + bi, ai - br, w[0], w[1]);
    cmul(r2[i], i2[i], ar - br, ai - bi, w[2], w[3]);
    cmul(r3[i], i3[i], ar - bi, ai + br, w[4], w[5]);
  }
}

// Last radix-4 stage (span 4: every twiddle is 1).
template <typename D>
OC_INLINE void radix4_last(D* re, D* im, int m) {
  for (int b = 0; b < m; b += 4) {
    D* r = re + b;
    D* i = im + b;
    const D t0r = r[0] + r[2], t0i = i[0] + i[2];
    const D t1r = r[0] - r[2], t1i = i[0] - i[2];
    const D t2r = r[1] + r[3], t2i = i[1] + i[3];
    const D dr = r[1] - r[3], di = i[1] - i[3];
    r[0] = t0r + t2r;
    i[0] = t0i + t2i;
    r[1] = t1r + di;
    i[1] = t1i - dr;
    r[2] = t0r - t2r;
    i[2] = t0i - t2i;
    r[3] = t1r - di;
    i[3] = t1i + dr;
  }
}

template <typename D>
OC_INLINE void radix2(D* re, D* im, int m, int span, const double* tw, bool half_zero) {
  const int h = span / 2;
  for (int b = 0; b < m; b += span) {
    D *r0 = re + b, *r1 = r0 + h, *i0 = im + b, *i1 = i0 + h;
    for (int i = 0; i < h; ++i) {
      const double* w = tw + 2 * i;
      if (half_zero) {  // a1 = 0: a0 stays, a0 * W^i below
        cmul(r1[i], i1[i], r0[i], i0[i], w[0], w[1]);
      } else {
        const D ar = r0[i], ai = i0[i], br = r1[i], bi = i1[i];
        r0[i] = ar + br;
        i0[i] = ai + bi;
        cmul(r1[i], i1[i], ar - br, ai - bi, w[0], w[1]);
      }
    }
  }
}

template <typename D>
OC_INLINE void fft(const Plan& p, D* re, D* im) {
  for (size_t s = 0; s < p.stages.size(); ++s) {
    const Stage& st = p.stages[s];
    const double* tw = p.tw.data() + st.tw;
    const bool first_half_zero = s == 0 && p.half_zero;
    if (st.radix == 4) {
      if (first_half_zero) {
        radix4_half_zero(re, im, p.m, tw);
      } else if (st.span == 4) {
        radix4_last(re, im, p.m);
      } else {
        radix4(re, im, p.m, st.span, tw);
      }
    } else if (first_half_zero) {
      radix2(re, im, p.m, st.span, tw, true);
    } else {
      radix2(re, im, p.m, st.span, tw, false);
    }
  }
}

// float32(sqrt(float32(power))) of kLanes values into dst: the float square root of a float equals
// the float rounding of the double root.
template <typename V>
OC_INLINE void put_magnitude(float* dst, const typename V::D& power) {
  const typename V::Fh f = __builtin_convertvector(power, typename V::Fh);
#if defined(OC_LOGMEL_X86)
  if constexpr (V::kLanes == 4) {
    store(dst, (F4)_mm_sqrt_ps((__m128)f));
    return;
  }
#endif
  for (int i = 0; i < V::kLanes; ++i) dst[i] = std::sqrt(f[i]);
}

// |X_k| of the real input from the half-size complex transform Z, into mag[k][kLanes].
// With A = Z_k, B = Z_{m-k}: 2 E_k = A + conj(B), 2 O_k = -i (A - conj(B)), P = W^k 2 O_k;
// 2 X_k = 2 E_k + P and 2 X_{m-k} = conj(2 E_k - P). Powers of 2 X scale exactly by 1/4.
template <typename V, typename D = typename V::D>
OC_INLINE void magnitudes(const Plan& p, const D* re, const D* im, float* mag) {
  constexpr int kLanes = V::kLanes;
  const int m = p.m;
  const int* perm = p.perm.data();
  {
    const D zr = re[perm[0]], zi = im[perm[0]];
    put_magnitude<V>(mag, (zr + zi) * (zr + zi));
    put_magnitude<V>(mag + static_cast<size_t>(m) * kLanes, (zr - zi) * (zr - zi));
  }
  for (int k = 1; 2 * k <= m; ++k) {
    const D ar = re[perm[k]], ai = im[perm[k]];
    const D br = re[perm[m - k]], bi = im[perm[m - k]];
    const D er = ar + br, ei = ai - bi;
    const D orr = ai + bi, oi = br - ar;
    const double cr = p.post_re[k], ci = p.post_im[k];
    const D pr = cr * orr - ci * oi;
    const D pi = cr * oi + ci * orr;
    const D xr = er + pr, xi = ei + pi;
    put_magnitude<V>(mag + static_cast<size_t>(k) * kLanes, (xr * xr + xi * xi) * 0.25);
    if (2 * k < m) {
      const D yr = er - pr, yi = ei - pi;
      put_magnitude<V>(mag + static_cast<size_t>(m - k) * kLanes, (yr * yr + yi * yi) * 0.25);
    }
  }
}

// Natural log of positive normal values in double (about 1e-16 relative): x = 2^e * md with md in
// [sqrt(1/2), sqrt(2)), log(md) = 2 atanh(s), s = (md - 1) / (md + 1), |s| <= 0.1716, series to
// s^21 (truncation below 1e-18).
template <typename V, typename D = typename V::D, typename U = typename V::U>
OC_INLINE void log_positive(const D& x, D& y) {
  const U bits = std::bit_cast<U>(x);
  // The exponent field as a double: its bits OR'ed into the mantissa of 2^52, minus 2^52.
  D e = std::bit_cast<D>((bits >> 52) | 0x4330000000000000ull) - (4503599627370496.0 + 1023.0);
  D md = std::bit_cast<D>((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  const auto big = md > M_SQRT2;
  md = big ? md * 0.5 : md;
  e = big ? e + 1.0 : e;
  const D s = (md - 1.0) / (md + 1.0);
  const D z = s * s;
  // q = sum_{i<10} z^i / (2i + 3), in Estrin's scheme (a short dependency chain).
  const D z2 = z * z, z4 = z2 * z2;
  const D p01 = z * (1.0 / 5) + 1.0 / 3, p23 = z * (1.0 / 9) + 1.0 / 7, p45 = z * (1.0 / 13) + 1.0 / 11;
  const D p67 = z * (1.0 / 17) + 1.0 / 15, p89 = z * (1.0 / 21) + 1.0 / 19;
  const D q03 = z2 * p23 + p01, q47 = z2 * p67 + p45;
  const D q = z4 * (z4 * p89 + q47) + q03;
  const D half_log = s + s * (z * q);
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits: e * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  y = e * kLn2Hi + (e * kLn2Lo + (half_log + half_log));
}

// Two kLanes-float halves as one F.
template <typename V, typename F = typename V::F, typename Fh = typename V::Fh>
OC_INLINE F join(const float* lo, const float* hi) {
#if __has_builtin(__builtin_shufflevector)
  const Fh a = load<Fh>(lo), b = load<Fh>(hi);
  if constexpr (V::kLanes == 4) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
  } else {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3);
  }
#else
  F f;
  std::memcpy(&f, lo, sizeof(Fh));
  std::memcpy(reinterpret_cast<char*>(&f) + sizeof(Fh), hi, sizeof(Fh));
  return f;
#endif
}

// Mel sums of the block's frames, clamp and log into the first nb rows of out.
template <typename V>
OC_INLINE void mel_log(const Plan& p, const float* mag, float* mel, int nb, float* out) {
  using F = typename V::F;
  constexpr int kLanes = V::kLanes;
  constexpr int kFloats = sizeof(F) / sizeof(float);  // two FFT batches
  static_assert(kFloats == 2 * kLanes);
  constexpr int kGroups = kBlock / kFloats;
  const size_t batch = static_cast<size_t>(p.bins) * kLanes;  // mag: [kBlock / kLanes][bins][kLanes]
  const int mel_bins = p.mel_bins;
  const F floor_value = F{} + p.floor_value;
  using I = decltype(floor_value < floor_value);
  I finite = I{} - 1;
  for (int f = 0; f < mel_bins; ++f) {
    F total[kGroups] = {};
    for (int s = p.seg_begin[f]; s < p.seg_begin[f + 1]; ++s) {
      const Segment& g = p.segs[s];
      const float* w = p.weights.data() + g.w;
      const float* row = mag + static_cast<size_t>(g.bin) * kLanes;
      F acc[kGroups] = {};
      for (int k = 0; k < g.count; ++k, row += kLanes) {
        const float wk = w[k];
        for (int v = 0; v < kGroups; ++v)
          acc[v] = wk * join<V>(row + 2 * v * batch, row + (2 * v + 1) * batch) + acc[v];
      }
      if (s == p.seg_begin[f]) {
        for (int v = 0; v < kGroups; ++v) total[v] = acc[v];
      } else {
        for (int v = 0; v < kGroups; ++v) total[v] = total[v] + acc[v];
      }
    }
    // The reference clamps into float32 storage, then takes the log in double.
    for (int v = 0; v < kGroups; ++v) {
      F x = total[v] >= p.floor_threshold ? total[v] : floor_value;
      if (p.floor_add)
        for (int i = 0; i < kFloats; ++i)
          x[i] = static_cast<float>(static_cast<double>(total[v][i]) + p.floor_add_value);
      finite &= x <= std::numeric_limits<float>::max();  // false for inf and NaN
      store(mel + static_cast<size_t>(f) * kBlock + kFloats * v, x);
    }
  }
  bool all_finite = true;
  for (int i = 0; i < kFloats; ++i) all_finite &= finite[i] != 0;
  if (!all_finite) {  // inf or NaN sums (absurd input): the library log keeps them
    for (int f = 0; f < mel_bins; ++f) {
      float* row = mel + static_cast<size_t>(f) * kBlock;
      float* dst = out + f;
      for (int t = 0; t < nb; ++t, dst += mel_bins) *dst = static_cast<float>(std::log(static_cast<double>(row[t])));
    }
    return;
  }
  using D = typename V::D;
  using Fh = typename V::Fh;
  for (int f = 0; f < mel_bins; ++f) {
    float* row = mel + static_cast<size_t>(f) * kBlock;
    for (int t = 0; t < nb; t += kLanes) {
      D y;
      log_positive<V>(__builtin_convertvector(load<Fh>(row + t), D), y);
      store(row + t, __builtin_convertvector(y, Fh));
    }
  }
  for (int t = 0; t < nb; ++t) {
    float* dst = out + static_cast<size_t>(t) * mel_bins;
    for (int f = 0; f < mel_bins; ++f) dst[f] = mel[static_cast<size_t>(f) * kBlock + t];
  }
}

template <typename V>
OC_INLINE void kernel_body(const Plan& p, const Job& job, Scratch& s) {
  using D = typename V::D;
  constexpr int kLanes = V::kLanes;
  const int fl = p.frame_length;
  D* re = reinterpret_cast<D*>(s.re);
  D* im = reinterpret_cast<D*>(s.im);
  for (int64_t t0 = job.t_begin; t0 < job.t_end; t0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, job.t_end - t0));
    for (int b = 0; b < nb; b += kLanes) {
      const float* src[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        const int64_t t = t0 + b + l;
        const int64_t off = t * p.hop;
        if (t < job.t_end && off + fl <= job.n_in) {
          src[l] = job.samples + off;
          continue;
        }
        float* buf = s.frames + static_cast<size_t>(l) * fl;
        if (t >= job.t_end) {
          std::fill(buf, buf + fl, 0.0f);
        } else {
          const int64_t have = std::clamp<int64_t>(job.n_in - off, 0, fl);
          std::copy(job.samples + off, job.samples + off + have, buf);
          std::fill(buf + have, buf + fl, job.pad);
        }
        src[l] = buf;
      }
      load_frames<V>(p, src, re, im);
      fft(p, re, im);
      magnitudes<V>(p, re, im, s.mag + static_cast<size_t>(b) * p.bins);
    }
    mel_log<V>(p, s.mag, s.mel, nb, job.out + static_cast<size_t>(t0 - job.t_begin) * p.mel_bins);
  }
}

void kernel_baseline(const Plan& p, const Job& job, Scratch& s) { kernel_body<Narrow>(p, job, s); }

#if defined(OC_LOGMEL_X86)
__attribute__((target("avx2,fma"))) void kernel_avx2(const Plan& p, const Job& job, Scratch& s) {
  kernel_body<Wide>(p, job, s);
}
#endif

using Kernel = void (*)(const Plan&, const Job&, Scratch&);

// ------------------------------------------------------------------ plan

void plan_fft(Plan& p) {
  const int n = p.n;
  if (n < 4 || (n & (n - 1)) != 0) {
    throw Error(ErrorKind::ModelLoad, "audio features: fft_length must be a power of two >= 4");
  }
  p.m = n / 2;
  p.bins = p.m + 1;
  const int m = p.m;
  int log2m = 0;
  while ((1 << log2m) < m) ++log2m;
  // A radix-2 stage first when log2(m) is odd, then radix 4 down to spans of 4.
  std::vector<int> radices;
  if (log2m % 2 == 1) radices.push_back(2);
  for (int i = 0; i < log2m / 2; ++i) radices.push_back(4);
  auto w = [](int64_t k, int64_t len, double& re, double& im) {
    const double a = -2.0 * M_PI * static_cast<double>(k % len) / static_cast<double>(len);
    re = std::cos(a);
    im = std::sin(a);
  };
  int span = m;
  for (int r : radices) {
    Stage st{r, span, p.tw.size()};
    const int q = span / r;
    for (int i = 0; i < q; ++i) {
      for (int j = 1; j < r; ++j) {
        double re, im;
        w(static_cast<int64_t>(i) * j, span, re, im);
        p.tw.push_back(re);
        p.tw.push_back(im);
      }
    }
    p.stages.push_back(st);
    span /= r;
  }
  // Decimation in frequency leaves X_k at the mixed-radix digit reversal of k.
  p.perm.resize(m);
  for (int k = 0; k < m; ++k) {
    int pos = 0, size = m, rest = k;
    for (int r : radices) {
      size /= r;
      pos += (rest % r) * size;
      rest /= r;
    }
    p.perm[k] = pos;
  }
  p.post_re.resize(m + 1);
  p.post_im.resize(m + 1);
  for (int k = 0; k <= m; ++k) w(k, n, p.post_re[k], p.post_im[k]);
  p.half_zero = (p.frame_length + 1) / 2 <= m / 2;
}

double hz_to_mel_htk(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz_htk(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

std::vector<double> linspace(double start, double end, int num) {
  std::vector<double> v(num);
  const double step = num > 1 ? (end - start) / (num - 1) : 0.0;
  for (int i = 0; i < num; ++i) v[i] = start + step * i;
  return v;
}

}  // namespace

struct LogMelExtractor::Impl {
  Plan plan;
  std::vector<std::vector<double>> bank;  // [mel][bin], double (as the reference builds it)
  Kernel kernel = kernel_baseline;
  int threads = 0;

  void run(const Job& job) const {
    Scratch scratch(plan);
    kernel(plan, job, scratch);
  }
};

LogMelExtractor::LogMelExtractor(const AudioFeatureConfig& config, const LogMelOptions& options) : config_(config) {
  const auto& c = config_;
  if (c.frame_length <= 0 || c.hop_length <= 0 || c.feature_size <= 0 || c.sampling_rate <= 0 ||
      c.frame_length > c.fft_length || c.pad_to_multiple_of < 0 || c.max_samples <= 0 ||
      c.min_frequency > c.max_frequency || !(c.mel_floor > 0)) {
    throw Error(ErrorKind::ModelLoad, "audio features: inconsistent feature extractor config");
  }
  if (!c.preemphasis_htk_flavor) {
    throw Error(ErrorKind::ModelLoad, "audio features: preemphasis_htk_flavor=false is not supported");
  }
  impl_ = std::make_unique<Impl>();
  auto& im = *impl_;
  auto& p = im.plan;
  p.n = c.fft_length;
  p.frame_length = c.frame_length;
  p.hop = c.hop_length;
  p.mel_bins = c.feature_size;
  p.preemphasis = c.preemphasis;
  plan_fft(p);
  // numpy.hanning(frame_length + 1)[:frame_length]
  const int m = c.frame_length + 1;
  p.window.resize(c.frame_length);
  for (int i = 0; i < c.frame_length; ++i) p.window[i] = 0.5 - 0.5 * std::cos(i * (2.0 * M_PI / (m - 1)));

  const std::vector<double> mel =
      linspace(hz_to_mel_htk(c.min_frequency), hz_to_mel_htk(c.max_frequency), c.feature_size + 2);
  std::vector<double> filter_hz(mel.size());
  for (size_t i = 0; i < mel.size(); ++i) filter_hz[i] = mel_to_hz_htk(mel[i]);
  const std::vector<double> fft_hz = linspace(0.0, std::floor(c.sampling_rate / 2.0), p.bins);
  im.bank.assign(c.feature_size, std::vector<double>(p.bins, 0.0));
  for (int f = 0; f < c.feature_size; ++f) {
    const double d0 = filter_hz[f + 1] - filter_hz[f];
    const double d1 = filter_hz[f + 2] - filter_hz[f + 1];
    int lo = -1, hi = -1;
    for (int j = 0; j < p.bins; ++j) {
      const double down = -(filter_hz[f] - fft_hz[j]) / d0;
      const double up = (filter_hz[f + 2] - fft_hz[j]) / d1;
      const double v = std::max(0.0, std::min(down, up));
      im.bank[f][j] = v;
      if (static_cast<float>(v) != 0.0f) {
        if (lo < 0) lo = j;
        hi = j;
      }
    }
    // Sparse float32 rows, cut at the GEMM's K panels.
    p.seg_begin.push_back(static_cast<int>(p.segs.size()));
    for (int j = lo; lo >= 0 && j <= hi;) {
      const int end = std::min(hi + 1, (j / kGemmPanelK + 1) * kGemmPanelK);
      p.segs.push_back({j, end - j, static_cast<int>(p.weights.size())});
      for (; j < end; ++j) p.weights.push_back(static_cast<float>(im.bank[f][j]));
    }
  }
  p.seg_begin.push_back(static_cast<int>(p.segs.size()));
  p.floor_add = c.mel_floor_add;
  p.floor_add_value = c.mel_floor;
  p.floor_value = static_cast<float>(c.mel_floor);
  p.floor_threshold = static_cast<double>(p.floor_value) >= c.mel_floor
                          ? p.floor_value
                          : std::nextafter(p.floor_value, std::numeric_limits<float>::infinity());

#if defined(OC_LOGMEL_X86)
  __builtin_cpu_init();  // in case this runs in a static initializer before libgcc's
  if (options.allow_avx2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) im.kernel = kernel_avx2;
#endif
  im.threads = std::max(0, options.threads);
}

LogMelExtractor::~LogMelExtractor() = default;

std::vector<std::vector<double>> LogMelExtractor::filter_bank() const { return impl_->bank; }

int64_t LogMelExtractor::frame_count(int64_t samples) const {
  const auto& c = config_;
  int64_t n = std::min<int64_t>(samples, c.max_samples);
  if (n <= 0) return 0;
  if (c.pad_to_multiple_of > 0 && n % c.pad_to_multiple_of != 0) n += c.pad_to_multiple_of - n % c.pad_to_multiple_of;
  n = std::max<int64_t>(n, c.frame_length);
  return 1 + (n - c.frame_length) / c.hop_length;
}

AudioFeatures LogMelExtractor::operator()(std::span<const float> samples) const {
  const auto& c = config_;
  const auto& im = *impl_;
  if (samples.empty()) throw Error(ErrorKind::InvalidRequest, "audio: zero samples");
  const int64_t frames = frame_count(static_cast<int64_t>(samples.size()));

  AudioFeatures out;
  out.frames = frames;
  out.mel_bins = c.feature_size;
  out.data.resize(static_cast<size_t>(frames) * c.feature_size);
  out.mask.assign(static_cast<size_t>(frames), 1);

  Job job;
  job.samples = samples.data();
  job.n_in = std::min<int64_t>(static_cast<int64_t>(samples.size()), c.max_samples);
  job.pad = static_cast<float>(c.padding_value);
  job.t_end = frames;
  job.out = out.data.data();

  // Threads: contiguous runs of whole blocks of frames.
  const int64_t blocks = (frames + kBlock - 1) / kBlock;
  int64_t threads = im.threads;
  if (threads == 0) {
    threads = frames < kMinParallelFrames
                  ? 1
                  : std::min<int64_t>(std::thread::hardware_concurrency(), frames / kMinFramesPerThread);
  }
  threads = std::clamp<int64_t>(threads, 1, blocks);
  if (threads == 1) {
    im.run(job);
    return out;
  }
  std::vector<Job> jobs;
  for (int64_t i = 0; i < threads; ++i) {
    Job j = job;
    j.t_begin = std::min(frames, blocks * i / threads * kBlock);
    j.t_end = std::min(frames, blocks * (i + 1) / threads * kBlock);
    j.out = out.data.data() + static_cast<size_t>(j.t_begin) * c.feature_size;
    jobs.push_back(j);
  }
  std::vector<std::exception_ptr> errors(jobs.size());
  std::vector<std::thread> pool;
  pool.reserve(jobs.size());  // emplace_back below can then only fail to start a thread
  auto work = [&](size_t i) {
    try {
      im.run(jobs[i]);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  size_t started = 1;
  for (; started < jobs.size(); ++started) {
    try {
      pool.emplace_back(work, started);
    } catch (...) {
      break;  // no more threads: the calling thread does the rest
    }
  }
  work(0);
  for (size_t i = started; i < jobs.size(); ++i) work(i);
  for (auto& t : pool) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

// ------------------------------------------------------------------ windows

std::vector<AudioWindow> split_windows(std::span<const float> samples, const WindowOptions& o) {
  const int64_t n = static_cast<int64_t>(samples.size());
  std::vector<AudioWindow> out;
  if (n == 0) return out;
  if (o.window <= 0) throw Error(ErrorKind::Internal, "audio windows: window must be positive");
  const int64_t overlap = std::clamp<int64_t>(o.overlap, 0, o.window / 2);
  const int64_t frame = std::max<int64_t>(1, o.frame);
  const int64_t search = std::clamp<int64_t>(o.search, 0, o.window / 2);
  const double threshold = std::pow(10.0, o.silence_db / 10.0);  // mean square
  int64_t start = 0;
  while (start < n) {
    if (n - start <= o.window) {
      out.push_back({start, n - start});
      break;
    }
    const int64_t end = start + o.window;
    int64_t best = -1;
    double best_energy = 0.0;
    for (int64_t f = end - search; f + frame <= end; f += std::max<int64_t>(1, frame / 2)) {
      double e = 0.0;
      for (int64_t i = f; i < f + frame; ++i) e += static_cast<double>(samples[i]) * samples[i];
      e /= static_cast<double>(frame);
      if (best < 0 || e < best_energy) {
        best = f;
        best_energy = e;
      }
    }
    if (best >= 0 && best_energy <= threshold) {
      const int64_t cut = best + frame / 2;  // the middle of the quietest frame
      out.push_back({start, cut - start});
      start = cut;
    } else {
      out.push_back({start, o.window});
      start = end - overlap;
    }
  }
  return out;
}

}  // namespace oc::media
