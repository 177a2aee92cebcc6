// Logits -> token: penalties, logit bias, temperature, top-k, top-p, min-p, seeded randomness, and
// logprobs. Works on vocabulary-sized logits without a full sort per token: the candidates are
// found by partial selection (a bounded heap), growing only when top-p or min-p needs more.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace oc::engine {

// Sampling parameters with the model defaults applied and every field set.
struct ResolvedSampling {
  float temperature = 1;  // <= 0: greedy
  int top_k = 0;          // 0: off
  float top_p = 1;        // >= 1: off
  float min_p = 0;        // <= 0: off
  float repetition_penalty = 1;
  float frequency_penalty = 0;
  float presence_penalty = 0;
  std::vector<std::pair<TokenId, float>> logit_bias;
  bool greedy() const { return temperature <= 0 || top_k == 1; }
};

// Request values first, then generation_config defaults, then neutral values. A request without a
// temperature on a model whose generation_config says do_sample=false is greedy.
ResolvedSampling resolve_sampling(const SamplingParams& request, const models::GenerationDefaults& defaults);

// Indices of the k largest values, largest first; ties keep the lower index first.
std::vector<std::pair<float, TokenId>> top_k_values(std::span<const float> values, size_t k);

class Sampler {
 public:
  Sampler(ResolvedSampling params, uint64_t seed);

  // Tokens the repetition penalty applies to besides the generated ones (the prompt).
  void add_context(std::span<const TokenId> ids);
  // Records a generated token (penalties).
  void accept(TokenId id);

  struct Result {
    TokenId id = 0;
    float logprob = 0;                           // when want_logprob
    std::vector<std::pair<TokenId, float>> top;  // top_logprobs alternatives, most likely first
  };
  // Picks the next token from one row of logits. logprobs are the model's log-softmax (before
  // penalties, bias, temperature, truncation and grammar). With a matcher, the pick is checked
  // against the grammar first; when it is not allowed, every token the grammar does not allow is
  // masked out and the pick is drawn again. remaining: tokens the output may still take, this one
  // included (steers the grammar to completion). Throws oc::Error (Unsupported) when the grammar
  // allows no token of the vocabulary.
  Result sample(std::span<const float> logits, bool want_logprob = false, int top_logprobs = 0,
                const grammar::Matcher* matcher = nullptr, int remaining = std::numeric_limits<int>::max());

  const ResolvedSampling& params() const { return params_; }

 private:
  std::span<const float> adjusted(std::span<const float> logits);
  TokenId draw(std::span<const float> w);  // the pick of one row of adjusted logits
  double uniform();

  ResolvedSampling params_;
  std::mt19937_64 rng_;
  std::unordered_map<TokenId, int> counts_;  // generated tokens
  std::vector<uint8_t> seen_;                // prompt + generated (repetition penalty)
  std::vector<TokenId> seen_ids_;
  std::vector<float> work_;        // adjusted logits
  std::vector<float> probs_;       // scratch
  std::vector<float> masked_;      // adjusted logits with the grammar applied
  std::vector<uint32_t> allowed_;  // the grammar's mask
};

}  // namespace oc::engine
