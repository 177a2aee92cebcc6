// Decoder benchmark for exports whose decoder takes an attention mask (Gemma 3, plain decoders):
// prefill and decode tokens/s of
//   bare      a loop calling the ONNX sessions directly, feeding each step's presents back as new
//             past tensors (the cache is reallocated by ONNX Runtime every step)
//   sequence  onnx-chat's model layer (models::load_model + Sequence::forward: prefill in chunks,
//             GroupQueryAttention cache in one shared buffer)
// on the same files and prompt ids (bench/server_bench.mjs and bench/tjs_bench.mjs use the same).
//   decoder_bench --model DIR --mode bare|sequence [--prompt-tokens 64] [--decode-tokens 16]
//                 [--preset Q4_MIXED] [--threads 0] [--chunk 256]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "models/decoder_state.h"
#include "models/family.h"
#include "models/io_layout.h"
#include "models/repo.h"
#include "ort/onnx_file.h"
#include "ort/session.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<int64_t> make_prompt(int n) {  // the generator of bench/tjs_bench.mjs
  std::vector<int64_t> ids = {2};
  uint64_t x = 12345;
  while (static_cast<int>(ids.size()) < n) {
    x = (x * 1103515245ull + 12345ull) % 2147483648ull;
    ids.push_back(1000 + static_cast<int64_t>(x % 199000));
  }
  return ids;
}

int64_t argmax(std::span<const float> row) {
  return std::max_element(row.begin(), row.end()) - row.begin();
}

struct Result {
  double prefill_tps = 0, decode_tps = 0;
  std::vector<int64_t> first;
};

Result run_bare(const oc::models::RepoInfo& repo, const std::string& preset, const oc::ort::SessionConfig& cfg,
                const std::vector<int64_t>& prompt, int decode) {
  using namespace oc::models;
  auto choice = choose_variants(repo, preset);
  const Variant* dec_v = choice.chosen.count("decoder_model_merged") ? choice.chosen["decoder_model_merged"]
                                                                      : choice.chosen.at("model");
  std::unique_ptr<oc::ort::Session> embed;
  if (choice.chosen.count("embed_tokens")) embed = std::make_unique<oc::ort::Session>(choice.chosen["embed_tokens"]->onnx, cfg);
  oc::ort::Session dec(dec_v->onnx, cfg);
  DecoderIo io = infer_decoder_io(dec.inputs(), dec.outputs(), false);
  KvCache kv(io.kv, io.kv.kv_heads, io.kv.head_dim);
  RunControl ctl;
  std::vector<float> scratch;
  Result r;
  size_t length = 0;
  auto step = [&](const std::vector<int64_t>& ids) -> int64_t {
    const int64_t n = static_cast<int64_t>(ids.size());
    RunInputs in;
    if (io.input_ids) {
      in.add("input_ids", int64_tensor({1, n}, ids));
    } else {
      RunInputs e;
      e.add("input_ids", int64_tensor({1, n}, ids));
      auto out = run_session(*embed, e, {"inputs_embeds"}, ctl);
      in.add("inputs_embeds", cast_tensor(std::move(out[0]), dec.input("inputs_embeds")->type));
    }
    const int64_t total = static_cast<int64_t>(length) + n;
    if (io.attention_mask) {
      std::vector<int64_t> mask(static_cast<size_t>(total), 1);
      in.add("attention_mask", int64_tensor({1, total}, mask));
    }
    if (io.position_ids) in.add("position_ids", position_ids(static_cast<int64_t>(length), n));
    if (io.num_logits_to_keep) {
      int64_t one = 1;
      in.add("num_logits_to_keep", int64_tensor({}, {&one, 1}));
    }
    kv.bind_pasts(in);
    std::vector<std::string> names = {io.logits};
    kv.request_presents(names);
    auto outs = run_session(dec, in, names, ctl);
    kv.take_presents(outs, 1);
    length = static_cast<size_t>(total);
    return argmax(last_logits_row(outs[0], scratch));
  };
  auto t0 = Clock::now();
  int64_t next = step(prompt);
  r.prefill_tps = prompt.size() / since(t0);
  r.first.push_back(next);
  t0 = Clock::now();
  for (int i = 0; i < decode; ++i) {
    next = step({next});
    if (r.first.size() < 2) r.first.push_back(next);
  }
  r.decode_tps = decode / since(t0);
  return r;
}

Result run_sequence(const std::string& dir, const std::string& preset, const oc::ort::SessionConfig& cfg,
                    const std::vector<int64_t>& prompt, int decode, size_t chunk) {
  oc::models::LoadOptions lo;
  lo.preset = preset;
  lo.session = cfg;
  auto model = oc::models::load_model(dir, lo);
  auto seq = model->new_sequence();
  oc::models::RunControl ctl;
  std::vector<oc::models::TokenId> ids(prompt.begin(), prompt.end());
  Result r;
  auto t0 = Clock::now();
  std::span<const float> logits;
  for (size_t off = 0; off < ids.size(); off += chunk)
    logits = seq->forward(std::span<const oc::models::TokenId>(ids).subspan(off, std::min(chunk, ids.size() - off)), ctl);
  oc::models::TokenId next = static_cast<oc::models::TokenId>(argmax(logits));
  r.prefill_tps = prompt.size() / since(t0);
  r.first.push_back(next);
  t0 = Clock::now();
  for (int i = 0; i < decode; ++i) {
    next = static_cast<oc::models::TokenId>(argmax(seq->forward({&next, 1}, ctl)));
    if (r.first.size() < 2) r.first.push_back(next);
  }
  r.decode_tps = decode / since(t0);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, mode = "sequence", preset = "Q4_MIXED";
  int prompt_tokens = 64, decode = 16, threads = 0;
  size_t chunk = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model = v;
    else if (k == "--mode") mode = v;
    else if (k == "--preset") preset = v;
    else if (k == "--prompt-tokens") prompt_tokens = std::stoi(v);
    else if (k == "--decode-tokens") decode = std::stoi(v);
    else if (k == "--threads") threads = std::stoi(v);
    else if (k == "--chunk") chunk = static_cast<size_t>(std::stoul(v));
  }
  if (model.empty()) {
    std::fprintf(stderr, "usage: decoder_bench --model DIR --mode bare|sequence [--prompt-tokens N] ...\n");
    return 2;
  }
  oc::ort::SessionConfig cfg;
  cfg.intra_op_threads = threads;
  auto prompt = make_prompt(prompt_tokens);
  Result r = mode == "bare" ? run_bare(oc::models::discover_repo(model), preset, cfg, prompt, decode)
                            : run_sequence(model, preset, cfg, prompt, decode, chunk);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  std::printf("{\"mode\":\"%s\",\"prompt_tokens\":%d,\"prefill_tps\":%.3f,\"decode_tps\":%.3f,\"peak_rss_kb\":%ld,"
              "\"first_tokens\":[%lld,%lld]}\n",
              mode.c_str(), prompt_tokens, r.prefill_tps, r.decode_tps, u.ru_maxrss,
              static_cast<long long>(r.first.at(0)), static_cast<long long>(r.first.size() > 1 ? r.first[1] : -1));
  return 0;
}
