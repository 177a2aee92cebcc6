// Decoder benchmark for exports whose decoder takes an attention mask (Gemma 3, plain decoders):
// prefill and decode tokens/s of
//   bare      a loop calling the ONNX sessions directly, feeding each step's presents back as new
//             past tensors (the cache is reallocated by ONNX Runtime every step)
//   sequence  onnx-chat's model layer (models::load_model + Sequence::forward: prefill in chunks,
//             GroupQueryAttention cache in one shared buffer)
//   batch     the same prefill, then decoding through the model's DecodeBatch (what the server's
//             scheduler runs)
// --rows N decodes N sequences at once (prompts of the same length, different ids): bare feeds them
// as one [N, ...] batch, batch as N members of one DecodeBatch; decode tok/s counts every row.
// on the same files and prompt ids (bench/server_bench.mjs and bench/tjs_bench.mjs use the same),
// with the load time, the peak RSS, the size of the loaded files and of the KV cache.
//   agree     the matmul precision's effect on the output: greedy decoding of --steps tokens in
//             --reference precision (exact), then the same tokens fed to the model in --precision;
//             prints the share of steps whose top-1 token agrees and the largest logit difference.
//   decoder_bench --model DIR --mode bare|sequence|batch|agree [--prompt-tokens 64] [--decode-tokens 16]
//                 [--rows 1] [--preset Q4_MIXED] [--threads 0] [--chunk 256] [--precision auto]
//                 [--steps 256] [--reference exact] [--prompt "Once upon a time"]
//                 [--session-config KEY=VALUE ...] (ONNX Runtime session config entries to try)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
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

// The generator of bench/tjs_bench.mjs (Gemma's vocabulary); ids below `vocab` for smaller ones.
// Row r > 0 of a batch starts the generator elsewhere.
std::vector<int64_t> make_prompt(int n, size_t vocab, int row = 0) {
  std::vector<int64_t> ids = {2};
  uint64_t x = 12345 + static_cast<uint64_t>(row) * 7919;
  while (static_cast<int>(ids.size()) < n) {
    x = (x * 1103515245ull + 12345ull) % 2147483648ull;
    ids.push_back(vocab > 200000 ? 1000 + static_cast<int64_t>(x % 199000) : 3 + static_cast<int64_t>(x % (vocab - 3)));
  }
  return ids;
}

int64_t argmax(std::span<const float> row) { return std::max_element(row.begin(), row.end()) - row.begin(); }

struct Result {
  double load_s = 0, prefill_tps = 0, decode_tps = 0;
  uint64_t kv_bytes = 0;       // the KV cache at the end of the run
  std::vector<int64_t> first;  // row 0's first two tokens
};

// Greedy token of each row of logits [rows, kept, vocab] (float).
std::vector<int64_t> argmax_rows(const Ort::Value& logits, size_t rows, std::vector<float>& scratch) {
  if (rows == 1) return {argmax(oc::models::last_logits_row(logits, scratch))};
  auto info = logits.GetTensorTypeAndShapeInfo();
  if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
    throw std::runtime_error("--rows needs float logits");
  const size_t vocab = static_cast<size_t>(info.GetShape().back()), per_row = info.GetElementCount() / rows;
  const float* base = logits.GetTensorData<float>();
  std::vector<int64_t> out;
  for (size_t r = 0; r < rows; ++r) out.push_back(argmax({base + r * per_row + per_row - vocab, vocab}));
  return out;
}

// Bytes of one token's keys and values over all layers.
uint64_t kv_bytes_per_token(const oc::models::KvLayout& kv) {
  uint64_t elements = 0;
  for (const auto& s : kv.layer_shapes)
    elements += 2 * static_cast<uint64_t>(s.kv_heads) * static_cast<uint64_t>(s.head_dim);
  return elements * oc::ort::element_size(kv.type);
}

// The decoder variant the preset chooses and the bytes of every component loaded at start (the
// text components: embed_tokens and the decoder).
struct Files {
  const oc::models::Variant* decoder = nullptr;
  const oc::models::Variant* embed = nullptr;
  uint64_t bytes = 0;
};

Files chosen_files(oc::models::VariantChoice& choice) {
  Files f;
  f.decoder =
      choice.chosen.count("decoder_model_merged") ? choice.chosen["decoder_model_merged"] : choice.chosen.at("model");
  if (choice.chosen.count("embed_tokens")) f.embed = choice.chosen["embed_tokens"];
  f.bytes = f.decoder->bytes + (f.embed ? f.embed->bytes : 0);
  return f;
}

Result run_bare(const oc::models::RepoInfo& repo, const std::string& preset, const oc::ort::SessionConfig& cfg,
                const std::vector<std::vector<int64_t>>& prompts, int decode) {
  using namespace oc::models;
  auto choice = choose_variants(repo, preset);
  const Files files = chosen_files(choice);
  Result r;
  auto t_load = Clock::now();
  std::unique_ptr<oc::ort::Session> embed;
  if (files.embed) embed = std::make_unique<oc::ort::Session>(files.embed->onnx, cfg);
  oc::ort::Session dec(files.decoder->onnx, cfg);
  r.load_s = since(t_load);
  DecoderIo io = infer_decoder_io(dec.inputs(), dec.outputs(), false);
  const auto rows = static_cast<int64_t>(prompts.size());
  KvCache kv(io.kv, io.kv.layer_shapes);
  std::vector<Ort::Value> empty;  // [rows, kv_heads, 0, head_dim] per past
  for (const auto& s : io.kv.layer_shapes)
    for (int kind = 0; kind < 2; ++kind) empty.push_back(make_tensor(io.kv.type, {rows, s.kv_heads, 0, s.head_dim}));
  kv.assign(std::move(empty));
  RunControl ctl;
  std::vector<float> scratch;
  size_t length = 0;
  // One run for every row: ids holds `rows` runs of n tokens.
  auto step = [&](const std::vector<int64_t>& ids) -> std::vector<int64_t> {
    const int64_t n = static_cast<int64_t>(ids.size()) / rows;
    RunInputs in;
    if (io.input_ids) {
      in.add("input_ids", int64_tensor({rows, n}, ids));
    } else {
      RunInputs e;
      e.add("input_ids", int64_tensor({rows, n}, ids));
      auto out = run_session(*embed, e, {"inputs_embeds"}, ctl);
      in.add("inputs_embeds", cast_tensor(std::move(out[0]), dec.input("inputs_embeds")->type));
    }
    const int64_t total = static_cast<int64_t>(length) + n;
    if (io.attention_mask) {
      std::vector<int64_t> mask(static_cast<size_t>(rows * total), 1);
      in.add("attention_mask", int64_tensor({rows, total}, mask));
    }
    if (io.position_ids) {
      std::vector<int64_t> pos;
      for (int64_t b = 0; b < rows; ++b)
        for (int64_t i = 0; i < n; ++i) pos.push_back(static_cast<int64_t>(length) + i);
      in.add("position_ids", int64_tensor({rows, n}, pos));
    }
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
    return argmax_rows(outs[0], static_cast<size_t>(rows), scratch);
  };
  std::vector<int64_t> ids;
  for (const auto& p : prompts) ids.insert(ids.end(), p.begin(), p.end());
  auto t0 = Clock::now();
  std::vector<int64_t> next = step(ids);
  r.prefill_tps = static_cast<double>(ids.size()) / since(t0);
  r.first.push_back(next[0]);
  t0 = Clock::now();
  for (int i = 0; i < decode; ++i) {
    next = step(next);
    if (r.first.size() < 2) r.first.push_back(next[0]);
  }
  r.decode_tps = static_cast<double>(decode * rows) / since(t0);
  r.kv_bytes = 2 * static_cast<uint64_t>(rows) * length * kv_bytes_per_token(io.kv);  // past and present both alive
  return r;
}

// The capacity of the model layer's shared KV buffer after `length` tokens (SharedKvCache: 256
// rows, doubled as needed).
size_t shared_kv_capacity(size_t length) {
  size_t cap = 256;
  while (cap < length) cap *= 2;
  return cap;
}

Result run_sequence(const std::string& dir, const std::string& preset, const oc::ort::SessionConfig& cfg,
                    const std::vector<std::vector<int64_t>>& prompts, int decode, size_t chunk, bool batched) {
  using oc::models::TokenId;
  oc::models::LoadOptions lo;
  lo.preset = preset;
  lo.session = cfg;
  Result r;
  auto t_load = Clock::now();
  auto model = oc::models::load_model(dir, lo);
  r.load_s = since(t_load);
  oc::models::RunControl ctl;
  std::vector<std::unique_ptr<oc::models::Sequence>> seqs;
  std::vector<TokenId> next;
  size_t prompt_tokens = 0;
  auto t0 = Clock::now();
  for (const auto& p : prompts) {
    std::vector<TokenId> ids(p.begin(), p.end());
    seqs.push_back(model->new_sequence());
    std::span<const float> logits;
    for (size_t off = 0; off < ids.size(); off += chunk)
      logits = seqs.back()->forward(std::span<const TokenId>(ids).subspan(off, std::min(chunk, ids.size() - off)), ctl);
    next.push_back(static_cast<TokenId>(argmax(logits)));
    prompt_tokens += ids.size();
  }
  r.prefill_tps = static_cast<double>(prompt_tokens) / since(t0);
  r.first.push_back(next[0]);
  std::unique_ptr<oc::models::DecodeBatch> batch = batched ? model->new_batch() : nullptr;
  if (batched && !batch) throw std::runtime_error("this model's decoder does not batch");
  if (!batched && seqs.size() > 1) throw std::runtime_error("--rows > 1 needs --mode batch or bare");
  t0 = Clock::now();
  std::vector<oc::models::Sequence*> members;
  for (auto& s : seqs) {
    if (batch) batch->join(*s);
    members.push_back(s.get());
  }
  for (int i = 0; i < decode; ++i) {
    if (batch) {
      auto logits = batch->step(members, next, ctl);
      for (size_t k = 0; k < logits.size(); ++k) next[k] = static_cast<TokenId>(argmax(logits[k]));
    } else {
      next[0] = static_cast<TokenId>(argmax(seqs[0]->forward({&next[0], 1}, ctl)));
    }
    if (r.first.size() < 2) r.first.push_back(next[0]);
  }
  r.decode_tps = static_cast<double>(decode) * static_cast<double>(seqs.size()) / since(t0);
  if (batch)
    for (auto& s : seqs) batch->leave(*s, false);
  const auto repo = oc::models::discover_repo(dir);
  auto choice = oc::models::choose_variants(repo, preset);
  const auto dec = oc::ort::read_onnx_file(chosen_files(choice).decoder->onnx);
  const auto io =
      oc::models::infer_decoder_io(dec.inputs, dec.outputs, dec.has_op("com.microsoft.GroupQueryAttention"));
  const size_t length = seqs[0]->length();
  r.kv_bytes =
      seqs.size() * (io.kv.group_query_attention ? shared_kv_capacity(length) : 2 * length) * kv_bytes_per_token(io.kv);
  return r;
}

// Greedy decoding in the reference precision, then the same tokens teacher-forced in `precision`:
// the share of steps whose top-1 token agrees, and the largest absolute logit difference.
struct Agreement {
  int steps = 0, agree = 0;
  double max_diff = 0;
};

Agreement run_agree(const std::string& dir, const std::string& preset, oc::ort::SessionConfig cfg,
                    oc::ort::MatmulPrecision reference, oc::ort::MatmulPrecision precision, const std::string& text,
                    int steps) {
  using oc::models::TokenId;
  oc::models::LoadOptions lo;
  lo.preset = preset;
  std::vector<TokenId> tokens;
  std::vector<std::vector<float>> ref_logits;
  oc::models::RunControl ctl;
  {
    lo.session = cfg;
    lo.session.matmul_precision = reference;
    auto model = oc::models::load_model(dir, lo);
    auto seq = model->new_sequence();
    std::vector<TokenId> prompt = model->tokenizer().encode(text, true);
    std::span<const float> logits = seq->forward(prompt, ctl);
    for (int i = 0; i < steps; ++i) {
      ref_logits.emplace_back(logits.begin(), logits.end());
      tokens.push_back(static_cast<TokenId>(argmax(logits)));
      logits = seq->forward({&tokens.back(), 1}, ctl);
    }
    tokens.insert(tokens.begin(), prompt.begin(), prompt.end());
  }
  lo.session = cfg;
  lo.session.matmul_precision = precision;
  auto model = oc::models::load_model(dir, lo);
  auto seq = model->new_sequence();
  const size_t prompt_len = tokens.size() - static_cast<size_t>(steps);
  std::span<const float> logits = seq->forward(std::span<const TokenId>(tokens).first(prompt_len), ctl);
  Agreement a;
  for (int i = 0; i < steps; ++i) {
    const auto& ref = ref_logits[static_cast<size_t>(i)];
    ++a.steps;
    if (argmax(logits) == argmax(ref)) ++a.agree;
    for (size_t v = 0; v < ref.size(); ++v)
      a.max_diff = std::max(a.max_diff, static_cast<double>(std::fabs(logits[v] - ref[v])));
    logits = seq->forward({&tokens[prompt_len + static_cast<size_t>(i)], 1}, ctl);
  }
  return a;
}

}  // namespace

static int run(int argc, char** argv) {
  std::string model, mode = "sequence", preset = "Q4_MIXED", precision_name = "auto", reference_name = "exact";
  std::string text = "Once upon a time";
  int prompt_tokens = 64, decode = 16, threads = 0, steps = 256, rows = 1;
  size_t chunk = 256;
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--model")
      model = v;
    else if (k == "--mode")
      mode = v;
    else if (k == "--preset")
      preset = v;
    else if (k == "--prompt-tokens")
      prompt_tokens = std::stoi(v);
    else if (k == "--decode-tokens")
      decode = std::stoi(v);
    else if (k == "--rows")
      rows = std::max(1, std::stoi(v));
    else if (k == "--threads")
      threads = std::stoi(v);
    else if (k == "--chunk")
      chunk = static_cast<size_t>(std::stoul(v));
    else if (k == "--precision")
      precision_name = v;
    else if (k == "--reference")
      reference_name = v;
    else if (k == "--steps")
      steps = std::stoi(v);
    else if (k == "--prompt")
      text = v;
    else if (k == "--session-config" && v.find('=') != std::string::npos)  // an ONNX Runtime config entry
      entries.emplace_back(v.substr(0, v.find('=')), v.substr(v.find('=') + 1));
  }
  const auto precision = oc::ort::parse_matmul_precision(precision_name);
  const auto reference = oc::ort::parse_matmul_precision(reference_name);
  if (model.empty() || !precision || !reference) {
    std::fprintf(stderr, "usage: decoder_bench --model DIR --mode bare|sequence|agree [--precision auto] ...\n");
    return 2;
  }
  oc::ort::SessionConfig cfg;
  cfg.intra_op_threads = threads;
  cfg.matmul_precision = *precision;
  cfg.config_entries = entries;
  if (mode == "agree") {
    Agreement a = run_agree(model, preset, cfg, *reference, *precision, text, steps);
    std::printf(
        "{\"mode\":\"agree\",\"precision\":\"%s\",\"reference\":\"%s\",\"steps\":%d,\"top1_agreement\":%.4f,"
        "\"max_logit_diff\":%.6g}\n",
        precision_name.c_str(), reference_name.c_str(), a.steps, a.steps ? double(a.agree) / a.steps : 0.0, a.max_diff);
    return 0;
  }
  auto repo = oc::models::discover_repo(model);
  auto choice = oc::models::choose_variants(repo, preset);
  const uint64_t file_bytes = chosen_files(choice).bytes;
  const auto dec = oc::ort::read_onnx_file(chosen_files(choice).decoder->onnx);
  const auto io = oc::models::infer_decoder_io(dec.inputs, dec.outputs, false);
  std::vector<std::vector<int64_t>> prompts;
  for (int row = 0; row < rows; ++row)
    prompts.push_back(make_prompt(prompt_tokens, io.vocab > 0 ? static_cast<size_t>(io.vocab) : 262144, row));
  Result r = mode == "bare" ? run_bare(repo, preset, cfg, prompts, decode)
                            : run_sequence(model, preset, cfg, prompts, decode, chunk, mode == "batch");
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  std::printf(
      "{\"mode\":\"%s\",\"precision\":\"%s\",\"rows\":%d,\"prompt_tokens\":%d,\"chunk\":%zu,\"load_s\":%.3f,"
      "\"prefill_tps\":%.3f,\"decode_tps\":%.3f,\"peak_rss_kb\":%ld,\"file_bytes\":%llu,\"kv_bytes\":%llu,"
      "\"first_tokens\":[%lld,%lld]}\n",
      mode.c_str(), precision_name.c_str(), rows, prompt_tokens, chunk, r.load_s, r.prefill_tps, r.decode_tps,
      u.ru_maxrss, static_cast<unsigned long long>(file_bytes), static_cast<unsigned long long>(r.kv_bytes),
      static_cast<long long>(r.first.at(0)), static_cast<long long>(r.first.size() > 1 ? r.first[1] : -1));
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "decoder_bench: %s\n", e.what());
    return 1;
  }
}
