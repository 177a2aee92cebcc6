// The Gemma-3n log-mel front end (transformers.js Gemma3nAudioFeatureExtractor, spectrogram()).
// Numerics follow the reference: frames, pre-emphasis, window and FFT in double; the power
// spectrum and the magnitude are rounded to float32; float32 mel weights; log in double.
#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "media/audio.h"

namespace oc::media {
namespace {

// A real FFT of even power-of-two size n through one complex FFT of size n/2 (radix-2,
// iterative, double precision; plain arithmetic rather than std::complex, whose multiply calls
// the NaN-careful library routine).
class RealFft {
 public:
  explicit RealFft(int n) : n_(n), half_(n / 2) {
    if (n < 4 || (n & (n - 1)) != 0) {
      throw Error(ErrorKind::ModelLoad, "audio features: fft_length must be a power of two >= 4");
    }
    int bits = 0;
    while ((1 << bits) < half_) ++bits;
    rev_.resize(half_);
    for (int i = 0; i < half_; ++i) {
      int r = 0;
      for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev_[i] = r;
    }
    // Twiddles stored per stage, contiguous: stage with butterflies of span len uses len/2 values.
    for (int len = 2; len <= half_; len <<= 1) {
      for (int j = 0; j < len / 2; ++j) {
        const double a = -2.0 * M_PI * j / len;
        tw_re_.push_back(std::cos(a));
        tw_im_.push_back(std::sin(a));
      }
    }
    post_re_.resize(half_ + 1);
    post_im_.resize(half_ + 1);
    for (int k = 0; k <= half_; ++k) {
      post_re_[k] = std::cos(-2.0 * M_PI * k / n_);
      post_im_[k] = std::sin(-2.0 * M_PI * k / n_);
    }
  }

  // in: n real values; re/im: scratch of n/2 each; power: n/2 + 1 values of |X_k|^2.
  void power(const double* in, double* re, double* im, double* power) const {
    for (int i = 0; i < half_; ++i) {
      re[rev_[i]] = in[2 * i];
      im[rev_[i]] = in[2 * i + 1];
    }
    size_t t0 = 0;
    for (int len = 2; len <= half_; len <<= 1) {
      const int h = len / 2;
      const double* wr = tw_re_.data() + t0;
      const double* wi = tw_im_.data() + t0;
      for (int i = 0; i < half_; i += len) {
        double* ar = re + i;
        double* ai = im + i;
        double* br = re + i + h;
        double* bi = im + i + h;
        for (int j = 0; j < h; ++j) {
          const double tr = wr[j] * br[j] - wi[j] * bi[j];
          const double ti = wr[j] * bi[j] + wi[j] * br[j];
          br[j] = ar[j] - tr;
          bi[j] = ai[j] - ti;
          ar[j] += tr;
          ai[j] += ti;
        }
      }
      t0 += static_cast<size_t>(h);
    }
    // X_k = E_k + W^k O_k with E_k = (Z_k + conj(Z_{m-k})) / 2, O_k = -i (Z_k - conj(Z_{m-k})) / 2.
    power[0] = (re[0] + im[0]) * (re[0] + im[0]);
    power[half_] = (re[0] - im[0]) * (re[0] - im[0]);
    for (int k = 1; k < half_; ++k) {
      const double ar = re[k], ai = im[k];
      const double br = re[half_ - k], bi = -im[half_ - k];
      const double er = 0.5 * (ar + br), ei = 0.5 * (ai + bi);
      const double dr = ar - br, di = ai - bi;
      const double orr = 0.5 * di, oi = -0.5 * dr;  // -i/2 * d
      const double xr = er + post_re_[k] * orr - post_im_[k] * oi;
      const double xi = ei + post_re_[k] * oi + post_im_[k] * orr;
      power[k] = xr * xr + xi * xi;
    }
  }

 private:
  int n_, half_;
  std::vector<int> rev_;
  std::vector<double> tw_re_, tw_im_, post_re_, post_im_;
};

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
  RealFft fft;
  std::vector<double> window;             // periodic Hann of frame_length
  int bins = 0;                           // fft_length / 2 + 1
  std::vector<std::vector<double>> bank;  // [mel][bin], double (as the reference builds it)
  // Sparse float32 rows: filter m covers bins [first[m], first[m] + weights[m].size()).
  std::vector<int> first;
  std::vector<std::vector<float>> weights;

  explicit Impl(const AudioFeatureConfig& c) : fft(c.fft_length) {}
};

LogMelExtractor::LogMelExtractor(const AudioFeatureConfig& config) : config_(config) {
  const auto& c = config_;
  if (c.frame_length <= 0 || c.hop_length <= 0 || c.feature_size <= 0 || c.sampling_rate <= 0 ||
      c.frame_length > c.fft_length || c.pad_to_multiple_of < 0 || c.max_samples <= 0 ||
      c.min_frequency > c.max_frequency || !(c.mel_floor > 0)) {
    throw Error(ErrorKind::ModelLoad, "audio features: inconsistent feature extractor config");
  }
  if (!c.preemphasis_htk_flavor) {
    throw Error(ErrorKind::ModelLoad, "audio features: preemphasis_htk_flavor=false is not supported");
  }
  impl_ = std::make_unique<Impl>(c);
  auto& im = *impl_;
  // numpy.hanning(frame_length + 1)[:frame_length]
  const int m = c.frame_length + 1;
  im.window.resize(c.frame_length);
  for (int i = 0; i < c.frame_length; ++i) im.window[i] = 0.5 - 0.5 * std::cos(i * (2.0 * M_PI / (m - 1)));

  im.bins = c.fft_length / 2 + 1;
  const std::vector<double> mel =
      linspace(hz_to_mel_htk(c.min_frequency), hz_to_mel_htk(c.max_frequency), c.feature_size + 2);
  std::vector<double> filter_hz(mel.size());
  for (size_t i = 0; i < mel.size(); ++i) filter_hz[i] = mel_to_hz_htk(mel[i]);
  const std::vector<double> fft_hz = linspace(0.0, std::floor(c.sampling_rate / 2.0), im.bins);
  im.bank.assign(c.feature_size, std::vector<double>(im.bins, 0.0));
  im.first.assign(c.feature_size, 0);
  im.weights.assign(c.feature_size, {});
  for (int f = 0; f < c.feature_size; ++f) {
    const double d0 = filter_hz[f + 1] - filter_hz[f];
    const double d1 = filter_hz[f + 2] - filter_hz[f + 1];
    int lo = -1, hi = -1;
    for (int j = 0; j < im.bins; ++j) {
      const double down = -(filter_hz[f] - fft_hz[j]) / d0;
      const double up = (filter_hz[f + 2] - fft_hz[j]) / d1;
      const double v = std::max(0.0, std::min(down, up));
      im.bank[f][j] = v;
      if (static_cast<float>(v) != 0.0f) {
        if (lo < 0) lo = j;
        hi = j;
      }
    }
    if (lo >= 0) {
      im.first[f] = lo;
      for (int j = lo; j <= hi; ++j) im.weights[f].push_back(static_cast<float>(im.bank[f][j]));
    }
  }
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
  const int64_t n_in = std::min<int64_t>(static_cast<int64_t>(samples.size()), c.max_samples);
  int64_t n = n_in;
  if (c.pad_to_multiple_of > 0 && n % c.pad_to_multiple_of != 0) n += c.pad_to_multiple_of - n % c.pad_to_multiple_of;
  n = std::max<int64_t>(n, c.frame_length);
  const int64_t frames = 1 + (n - c.frame_length) / c.hop_length;
  const float pad = static_cast<float>(c.padding_value);
  auto sample = [&](int64_t i) -> double { return i < n_in ? static_cast<double>(samples[i]) : pad; };

  AudioFeatures out;
  out.frames = frames;
  out.mel_bins = c.feature_size;
  out.data.resize(static_cast<size_t>(frames) * c.feature_size);
  out.mask.assign(static_cast<size_t>(frames), 1);

  std::vector<double> buf(c.fft_length, 0.0);
  std::vector<double> work_re(c.fft_length / 2), work_im(c.fft_length / 2);
  std::vector<double> power(im.bins);
  std::vector<float> mag(im.bins);
  const double pre = c.preemphasis;
  const double floor_v = c.mel_floor;
  for (int64_t t = 0; t < frames; ++t) {
    const int64_t off = t * c.hop_length;
    // The frame (always full: frames end at or before n), HTK pre-emphasis inside the frame.
    if (off + c.frame_length <= n_in) {
      const float* src = samples.data() + off;
      for (int j = 0; j < c.frame_length; ++j) buf[j] = src[j];
    } else {
      for (int j = 0; j < c.frame_length; ++j) buf[j] = sample(off + j);
    }
    if (pre != 0.0) {
      for (int j = c.frame_length - 1; j >= 1; --j) buf[j] -= pre * buf[j - 1];
      buf[0] *= 1.0 - pre;
    }
    for (int j = 0; j < c.frame_length; ++j) buf[j] *= im.window[j];
    im.fft.power(buf.data(), work_re.data(), work_im.data(), power.data());
    for (int k = 0; k < im.bins; ++k) {
      // float32 storage of |X|^2, then float32 storage of its square root.
      mag[k] = static_cast<float>(std::sqrt(static_cast<double>(static_cast<float>(power[k]))));
    }
    float* row = out.data.data() + static_cast<size_t>(t) * c.feature_size;
    for (int f = 0; f < c.feature_size; ++f) {
      const auto& w = im.weights[f];
      const float* m = mag.data() + im.first[f];
      float acc = 0.0f;
      for (size_t j = 0; j < w.size(); ++j) acc += w[j] * m[j];
      // The reference clamps into float32 storage, then takes the log in double.
      const float clamped = static_cast<float>(std::max(floor_v, static_cast<double>(acc)));
      row[f] = static_cast<float>(std::log(static_cast<double>(clamped)));
    }
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
