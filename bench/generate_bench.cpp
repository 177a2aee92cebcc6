// Generation benchmark on a Gemma-3n-format model folder: the engine against a bare loop that calls
// the same ONNX sessions directly (embed_tokens + decoder_model_merged, presents moved back as
// pasts, greedy argmax). One mode per process so that peak RSS is measured per mode.
//
//   generate_bench --model DIR --mode bare|engine [--prompt-tokens 256] [--decode-tokens 64]
//                  [--reps 3] [--threads 0] [--preset Q4_MIXED] [--chunk 256]
//
// Prints one JSON object: prefill tokens/s, decode tokens/s (best of reps), peak RSS and the size
// of the loaded files. scripts/run-bench.sh runs the modes and prints the ratios.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "models/family.h"
#include "models/io_layout.h"
#include "models/repo.h"
#include "ort/runtime.h"
#include "ort/session.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Args {
  std::string model, mode = "engine", preset;
  int prompt_tokens = 256, decode_tokens = 64, reps = 3, threads = 0, chunk = 256;
};

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Prompt ids: <bos> then deterministic ordinary tokens (ids 1000..199999 of the real vocabulary),
// from the same generator as bench/tjs_bench.mjs.
std::vector<int64_t> make_prompt(int n) {
  std::vector<int64_t> ids = {2};
  uint64_t x = 12345;
  while (static_cast<int>(ids.size()) < n) {
    x = (x * 1103515245ull + 12345ull) % 2147483648ull;
    ids.push_back(1000 + static_cast<int64_t>(x % 199000));
  }
  return ids;
}

struct Result {
  double prefill_tps = 0, decode_tps = 0;
  std::vector<int64_t> tokens;
};

// ---- bare loop -------------------------------------------------------------------------------

struct Bare {
  Ort::Session embed{nullptr}, decoder{nullptr};
  oc::models::DecoderIo io;
  std::vector<std::string> past_names, present_names;
  uint64_t bytes = 0;
  std::vector<oc::models::KvShape> kv_shapes;  // per layer
  ONNXTensorElementDataType kv_type{};
};

Ort::Value i64(const std::vector<int64_t>& shape, const int64_t* data, size_t n) {
  Ort::AllocatorWithDefaultOptions a;
  auto v = Ort::Value::CreateTensor(a, shape.data(), shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64);
  std::memcpy(v.GetTensorMutableData<int64_t>(), data, n * sizeof(int64_t));
  return v;
}

int64_t argmax_last(const Ort::Value& logits) {
  auto info = logits.GetTensorTypeAndShapeInfo();
  auto shape = info.GetShape();
  const size_t vocab = static_cast<size_t>(shape.back());
  const size_t seq = static_cast<size_t>(shape[shape.size() - 2]);
  int64_t best = 0;
  float bv = -1e30f;
  if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    const float* p = logits.GetTensorData<float>() + (seq - 1) * vocab;
    for (size_t i = 0; i < vocab; ++i)
      if (p[i] > bv) bv = p[i], best = static_cast<int64_t>(i);
  } else {
    const auto* p = logits.GetTensorData<Ort::Float16_t>() + (seq - 1) * vocab;
    for (size_t i = 0; i < vocab; ++i)
      if (p[i].ToFloat() > bv) bv = p[i].ToFloat(), best = static_cast<int64_t>(i);
  }
  return best;
}

Result bare_generate(Bare& b, const std::vector<int64_t>& prompt, int decode) {
  Result r;
  Ort::AllocatorWithDefaultOptions alloc;
  std::vector<Ort::Value> pasts;
  for (size_t i = 0; i < b.past_names.size(); ++i) {
    const std::vector<int64_t> empty = {1, b.kv_shapes[i / 2].kv_heads, 0, b.kv_shapes[i / 2].head_dim};
    pasts.push_back(Ort::Value::CreateTensor(alloc, empty.data(), empty.size(), b.kv_type));
  }
  std::vector<const char*> embed_out = {"inputs_embeds", "per_layer_inputs"};
  const char* embed_in[] = {"input_ids"};
  std::vector<const char*> dec_in = {"inputs_embeds", "per_layer_inputs", "position_ids"};
  for (auto& n : b.past_names) dec_in.push_back(n.c_str());
  std::vector<const char*> dec_out = {"logits"};
  for (auto& n : b.present_names) dec_out.push_back(n.c_str());
  Ort::RunOptions ro;

  auto step = [&](const int64_t* ids, size_t n, int64_t pos) {
    Ort::Value id_t = i64({1, static_cast<int64_t>(n)}, ids, n);
    auto e = b.embed.Run(ro, embed_in, &id_t, 1, embed_out.data(), embed_out.size());
    std::vector<int64_t> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = pos + static_cast<int64_t>(i);
    std::vector<Ort::Value> in;
    in.push_back(std::move(e[0]));
    in.push_back(std::move(e[1]));
    in.push_back(i64({1, static_cast<int64_t>(n)}, p.data(), n));
    for (auto& v : pasts) in.push_back(std::move(v));
    auto out = b.decoder.Run(ro, dec_in.data(), in.data(), in.size(), dec_out.data(), dec_out.size());
    pasts.clear();
    for (size_t i = 1; i < out.size(); ++i) pasts.push_back(std::move(out[i]));
    return argmax_last(out[0]);
  };

  auto t0 = Clock::now();
  int64_t next = step(prompt.data(), prompt.size(), 0);
  r.prefill_tps = prompt.size() / seconds_since(t0);
  r.tokens.push_back(next);
  auto t1 = Clock::now();
  int64_t pos = static_cast<int64_t>(prompt.size());
  for (int i = 1; i < decode; ++i) {
    next = step(&next, 1, pos++);
    r.tokens.push_back(next);
  }
  r.decode_tps = (decode - 1) / seconds_since(t1);
  return r;
}

int run_bare(const Args& a) {
  auto repo = oc::models::discover_repo(a.model);
  auto choice = oc::models::choose_variants(repo, a.preset);
  oc::ort::SessionConfig sc;
  sc.intra_op_threads = a.threads;
  auto opts = oc::ort::make_session_options(sc);
  Bare b;
  const auto* ev = choice.chosen.at("embed_tokens");
  const auto* dv = choice.chosen.at("decoder_model_merged");
  b.embed = Ort::Session(oc::ort::env(), ev->onnx.c_str(), opts);
  b.decoder = Ort::Session(oc::ort::env(), dv->onnx.c_str(), opts);
  b.bytes = ev->bytes + dv->bytes;
  auto io = oc::ort::read_session_io(b.decoder);
  b.io = oc::models::infer_decoder_io(io.inputs, io.outputs, false);
  for (int i = 0; i < b.io.kv.layers; ++i) {
    b.past_names.push_back(b.io.kv.past_key(i));
    b.past_names.push_back(b.io.kv.past_value(i));
    b.present_names.push_back(b.io.kv.present_key(i));
    b.present_names.push_back(b.io.kv.present_value(i));
  }
  b.kv_shapes = b.io.kv.layer_shapes;
  b.kv_type = b.io.kv.type;
  auto prompt = make_prompt(a.prompt_tokens);
  Result best;
  for (int rep = 0; rep <= a.reps; ++rep) {  // rep 0 warms up
    Result r = bare_generate(b, prompt, a.decode_tokens);
    if (rep == 0) continue;
    best.prefill_tps = std::max(best.prefill_tps, r.prefill_tps);
    best.decode_tps = std::max(best.decode_tps, r.decode_tps);
    best.tokens = r.tokens;
  }
  std::printf(
      "{\"mode\":\"bare\",\"prefill_tps\":%.3f,\"decode_tps\":%.3f,\"peak_rss_kb\":%ld,\"file_bytes\":%llu,"
      "\"first_tokens\":[%lld,%lld]}\n",
      best.prefill_tps, best.decode_tps, peak_rss_kb(), static_cast<unsigned long long>(b.bytes),
      static_cast<long long>(best.tokens.at(0)), static_cast<long long>(best.tokens.at(1)));
  return 0;
}

// ---- engine ----------------------------------------------------------------------------------

int run_engine(const Args& a) {
  oc::models::LoadOptions lo;
  lo.preset = a.preset;
  lo.session.intra_op_threads = a.threads;
  std::shared_ptr<oc::models::Model> model = oc::models::load_model(a.model, lo);
  uint64_t bytes = 0;
  for (const auto& c : model->info().components)
    if (c.loaded) bytes += c.bytes;
  oc::engine::Engine engine(model, {.max_queued = 4, .max_running = 1, .prefill_chunk = a.chunk});
  auto prompt = make_prompt(a.prompt_tokens);
  Result best;
  for (int rep = 0; rep <= a.reps; ++rep) {
    oc::engine::GenerationRequest req;
    req.id = "bench";
    req.prompt.ids.assign(prompt.begin(), prompt.end());
    req.sampling.temperature = 0;
    req.max_tokens = a.decode_tokens;
    req.ignore_eos = true;
    if (const char* b = std::getenv("BENCH_LOGIT_BIAS"); b && *b)
      req.sampling.logit_bias = {{1, -100.0f}, {106, -100.0f}};
    auto h = engine.submit(std::move(req));
    Result r;
    while (auto e = h.next(std::chrono::minutes(10))) {
      if (e->kind == oc::engine::Event::Kind::Delta)
        for (auto& t : e->tokens) r.tokens.push_back(t.id);
      if (e->kind == oc::engine::Event::Kind::Error) {
        std::fprintf(stderr, "error: %s\n", e->message.c_str());
        return 1;
      }
      if (e->kind == oc::engine::Event::Kind::Done) {
        r.prefill_tps = e->usage.prompt_tokens * 1000.0 / e->timings.prompt_ms;
        r.decode_tps = e->timings.decode_tokens_per_s;
      }
    }
    if (rep == 0) continue;
    best.prefill_tps = std::max(best.prefill_tps, r.prefill_tps);
    best.decode_tps = std::max(best.decode_tps, r.decode_tps);
    best.tokens = r.tokens;
  }
  std::printf(
      "{\"mode\":\"engine\",\"prefill_tps\":%.3f,\"decode_tps\":%.3f,\"peak_rss_kb\":%ld,\"file_bytes\":%llu,"
      "\"first_tokens\":[%lld,%lld]}\n",
      best.prefill_tps, best.decode_tps, peak_rss_kb(), static_cast<unsigned long long>(bytes),
      static_cast<long long>(best.tokens.at(0)), static_cast<long long>(best.tokens.at(1)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--model")
      a.model = val();
    else if (k == "--mode")
      a.mode = val();
    else if (k == "--preset")
      a.preset = val();
    else if (k == "--prompt-tokens")
      a.prompt_tokens = std::stoi(val());
    else if (k == "--decode-tokens")
      a.decode_tokens = std::stoi(val());
    else if (k == "--reps")
      a.reps = std::stoi(val());
    else if (k == "--threads")
      a.threads = std::stoi(val());
    else if (k == "--chunk")
      a.chunk = std::stoi(val());
    else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      return 2;
    }
  }
  if (a.model.empty() || a.decode_tokens < 2 || a.prompt_tokens < 1) {
    std::fprintf(stderr, "usage: generate_bench --model DIR --mode bare|engine [options]\n");
    return 2;
  }
  try {
    return a.mode == "bare" ? run_bare(a) : run_engine(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "generate_bench: %s\n", e.what());
    return 1;
  }
}
