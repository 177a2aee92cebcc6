#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace oc::engine {

ResolvedSampling resolve_sampling(const SamplingParams& r, const models::GenerationDefaults& d) {
  ResolvedSampling s;
  if (r.temperature) {
    s.temperature = *r.temperature;
  } else if (d.do_sample && !*d.do_sample) {
    s.temperature = 0;
  } else {
    s.temperature = d.temperature.value_or(1.0f);
  }
  s.top_k = r.top_k ? *r.top_k : d.top_k.value_or(0);
  s.top_p = r.top_p ? *r.top_p : d.top_p.value_or(1.0f);
  s.min_p = r.min_p ? *r.min_p : d.min_p.value_or(0.0f);
  s.repetition_penalty = r.repetition_penalty ? *r.repetition_penalty : d.repetition_penalty.value_or(1.0f);
  s.frequency_penalty = r.frequency_penalty;
  s.presence_penalty = r.presence_penalty;
  s.logit_bias = r.logit_bias;
  return s;
}

namespace {

// Orders (value, index) so that the "smallest" element is at the top of a std heap: lower value,
// or on equal values the higher index.
struct WorseFirst {
  bool operator()(const std::pair<float, TokenId>& a, const std::pair<float, TokenId>& b) const {
    if (a.first != b.first) return a.first > b.first;
    return a.second < b.second;
  }
};

}  // namespace

std::vector<std::pair<float, TokenId>> top_k_values(std::span<const float> values, size_t k) {
  std::vector<std::pair<float, TokenId>> heap;
  k = std::min(k, values.size());
  if (k == 0) return heap;
  heap.reserve(k + 1);
  WorseFirst cmp;
  size_t i = 0;
  for (; i < k; ++i) heap.emplace_back(values[i], static_cast<TokenId>(i));
  std::make_heap(heap.begin(), heap.end(), cmp);
  float threshold = heap.front().first;
  for (; i < values.size(); ++i) {
    const float v = values[i];
    if (!(v > threshold)) continue;  // ties keep the earlier index; NaN never enters
    std::pop_heap(heap.begin(), heap.end(), cmp);
    heap.back() = {v, static_cast<TokenId>(i)};
    std::push_heap(heap.begin(), heap.end(), cmp);
    threshold = heap.front().first;
  }
  std::sort_heap(heap.begin(), heap.end(), cmp);  // best first under this ordering
  return heap;
}

Sampler::Sampler(ResolvedSampling params, uint64_t seed) : params_(std::move(params)), rng_(seed) {}

void Sampler::add_context(std::span<const TokenId> ids) {
  if (params_.repetition_penalty == 1.0f) return;
  for (TokenId id : ids) {
    if (id < 0) continue;
    if (static_cast<size_t>(id) >= seen_.size()) seen_.resize(static_cast<size_t>(id) + 1, 0);
    if (!seen_[id]) {
      seen_[id] = 1;
      seen_ids_.push_back(id);
    }
  }
}

void Sampler::accept(TokenId id) {
  if (params_.frequency_penalty != 0 || params_.presence_penalty != 0) counts_[id]++;
  TokenId one[1] = {id};
  add_context(one);
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

std::span<const float> Sampler::adjusted(std::span<const float> logits) {
  const bool rep = params_.repetition_penalty != 1.0f && !seen_ids_.empty();
  const bool pen = !counts_.empty();
  if (!rep && !pen && params_.logit_bias.empty()) return logits;
  work_.assign(logits.begin(), logits.end());
  const size_t n = work_.size();
  if (rep) {
    const float p = params_.repetition_penalty;
    for (TokenId id : seen_ids_) {
      if (static_cast<size_t>(id) >= n) continue;
      float& v = work_[id];
      v = v > 0 ? v / p : v * p;
    }
  }
  for (const auto& [id, count] : counts_) {
    if (id < 0 || static_cast<size_t>(id) >= n) continue;
    work_[id] -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
  for (const auto& [id, bias] : params_.logit_bias)
    if (id >= 0 && static_cast<size_t>(id) < n) work_[id] += bias;
  return work_;
}

TokenId Sampler::draw(std::span<const float> w) {
  Result result;
  const size_t vocab = w.size();

  if (params_.greedy()) {
    size_t best = 0;
    float best_v = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < vocab; ++i)
      if (w[i] > best_v) {
        best_v = w[i];
        best = i;
      }
    result.id = static_cast<TokenId>(best);
  } else {
    const float inv_t = 1.0f / params_.temperature;
    const bool truncate = params_.top_k > 0 || params_.top_p < 1.0f || params_.min_p > 0.0f;
    if (!truncate) {
      // Full distribution: one pass for the max, one for the weights, one to draw.
      float mx = -std::numeric_limits<float>::infinity();
      for (float v : w) mx = std::max(mx, v);
      probs_.resize(vocab);
      double sum = 0;
      for (size_t i = 0; i < vocab; ++i) {
        probs_[i] = std::exp((w[i] - mx) * inv_t);
        sum += probs_[i];
      }
      double u = uniform() * sum, acc = 0;
      size_t pick = vocab - 1;
      for (size_t i = 0; i < vocab; ++i) {
        acc += probs_[i];
        if (acc > u && probs_[i] > 0) {
          pick = i;
          break;
        }
      }
      result.id = static_cast<TokenId>(pick);
    } else {
      // Candidates by partial selection. With top_k the distribution is renormalized over the k
      // kept tokens (as in transformers); without it, top-p/min-p need the full normalizer and
      // the candidate set grows until it covers the nucleus.
      std::vector<std::pair<float, TokenId>> cand;
      double z = 0;
      if (params_.top_k > 0) {
        cand = top_k_values(w, static_cast<size_t>(params_.top_k));
        const float mx = cand.front().first;
        for (const auto& c : cand) z += std::exp((c.first - mx) * inv_t);
      } else {
        float mx = -std::numeric_limits<float>::infinity();
        for (float v : w) mx = std::max(mx, v);
        for (float v : w) z += std::exp((v - mx) * inv_t);
        size_t k = std::min<size_t>(256, vocab);
        while (true) {
          cand = top_k_values(w, k);
          if (k >= vocab) break;
          double mass = 0;
          for (const auto& c : cand) mass += std::exp((c.first - mx) * inv_t);
          const bool nucleus_ok = params_.top_p >= 1.0f || mass / z >= params_.top_p;
          const bool minp_ok = params_.min_p <= 0.0f || (cand.back().first - mx) * inv_t < std::log(params_.min_p);
          if (nucleus_ok && (minp_ok || params_.top_p < 1.0f)) break;
          k = std::min(vocab, k * 4);
        }
      }
      const float mx = cand.front().first;
      size_t keep = cand.size();
      if (params_.top_p < 1.0f) {
        double acc = 0;
        for (size_t i = 0; i < cand.size(); ++i) {
          acc += std::exp((cand[i].first - mx) * inv_t) / z;
          if (acc >= params_.top_p) {
            keep = i + 1;
            break;
          }
        }
      }
      if (params_.min_p > 0.0f) {
        const float log_min = std::log(params_.min_p);
        size_t k2 = 1;
        while (k2 < keep && (cand[k2].first - mx) * inv_t >= log_min) ++k2;
        keep = k2;
      }
      double total = 0;
      probs_.resize(keep);
      for (size_t i = 0; i < keep; ++i) {
        probs_[i] = std::exp((cand[i].first - mx) * inv_t);
        total += probs_[i];
      }
      double u = uniform() * total, acc = 0;
      size_t pick = keep - 1;
      for (size_t i = 0; i < keep; ++i) {
        acc += probs_[i];
        if (acc > u) {
          pick = i;
          break;
        }
      }
      result.id = cand[pick].second;
    }
  }

  return result.id;
}

Sampler::Result Sampler::sample(std::span<const float> logits, bool want_logprob, int top_logprobs,
                                const grammar::Matcher* matcher, int remaining) {
  Result result;
  const std::span<const float> w = adjusted(logits);
  result.id = draw(w);
  if (matcher && !matcher->allows(result.id, remaining)) {
    if (!matcher->mask(remaining, w.size(), allowed_))
      throw Error(ErrorKind::Unsupported,
                  "the output grammar cannot continue: no token of this model's vocabulary extends the output");
    auto ok = [&](size_t i) { return (allowed_[i / 32] >> (i % 32)) & 1u; };
    masked_.assign(w.begin(), w.end());
    for (size_t i = 0; i < masked_.size(); ++i)
      if (!ok(i)) masked_[i] = -std::numeric_limits<float>::infinity();
    result.id = draw(masked_);
    if (!ok(static_cast<size_t>(result.id))) {  // rounding at the edge of the distribution
      size_t best = 0;
      while (!ok(best)) ++best;
      for (size_t i = best; i < masked_.size(); ++i)
        if (ok(i) && masked_[i] > masked_[best]) best = i;
      result.id = static_cast<TokenId>(best);
    }
  }

  if (want_logprob || top_logprobs > 0) {
    float mx = -std::numeric_limits<float>::infinity();
    for (float v : logits) mx = std::max(mx, v);
    double sum = 0;
    for (float v : logits) sum += std::exp(static_cast<double>(v - mx));
    const double log_z = mx + std::log(sum);
    result.logprob = static_cast<float>(logits[result.id] - log_z);
    if (top_logprobs > 0)
      for (const auto& [v, id] : top_k_values(logits, static_cast<size_t>(top_logprobs)))
        result.top.emplace_back(id, static_cast<float>(v - log_z));
  }
  return result;
}

}  // namespace oc::engine
