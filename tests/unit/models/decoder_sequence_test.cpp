// The generic decoder sequence on the gemma3-tiny fixture (GroupQueryAttention): the shared KV
// buffer gives the same logits as moving presents into pasts, across chunked prefill, buffer
// growth and fork; and the families are chosen from the folders.
#include "models/decoder_sequence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "models/family.h"
#include "ort/onnx_file.h"

namespace fs = std::filesystem;
using namespace oc::models;

namespace {

fs::path fixture(const char* name) {
  const char* env = std::getenv("ONNX_CHAT_FIXTURES");
  fs::path dir = env ? fs::path(env) : fs::path(ONNX_CHAT_SOURCE_DIR) / "build" / "fixtures";
  return dir / name;
}

std::shared_ptr<DecoderSpec> gemma3_spec(const fs::path& dir, bool shared, size_t shared_from = 0) {
  auto spec = std::make_shared<DecoderSpec>();
  oc::ort::SessionConfig cfg;
  cfg.intra_op_threads = 1;
  spec->embed = std::make_unique<oc::ort::Session>(dir / "onnx/embed_tokens.onnx", cfg);
  spec->decoder = std::make_unique<oc::ort::Session>(dir / "onnx/decoder_model_merged.onnx", cfg);
  spec->shared_kv = shared;
  spec->shared_kv_from = shared_from;
  prepare_decoder_spec(*spec, {});
  return spec;
}

std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST(DecoderSequence, SharedBufferMatchesMovedPresents) {
  auto dir = fixture("gemma3-tiny");
  if (!fs::exists(dir / "config.json")) GTEST_SKIP() << "fixture gemma3-tiny not generated";
  auto moved = gemma3_spec(dir, false);
  ASSERT_FALSE(moved->shared_kv);
  // From the first token, and switching over mid-prompt (after the 128-token first chunk).
  for (size_t from : {size_t{0}, size_t{200}}) {
    SCOPED_TRACE("shared from " + std::to_string(from));
    auto shared = gemma3_spec(dir, true, from);
    ASSERT_TRUE(shared->shared_kv) << "GroupQueryAttention decoder should use the shared buffer";
    DecoderSequence a(shared), b(moved);
    RunControl ctl;
    // A 300-token prompt in chunks of 128 grows the shared buffer past its first 256 slots.
    std::vector<TokenId> prompt;
    for (int i = 0; i < 300; ++i) prompt.push_back(1000 + (i * 7919) % 50000);
    std::vector<float> la, lb;
    for (size_t off = 0; off < prompt.size(); off += 128) {
      auto chunk = std::span<const TokenId>(prompt).subspan(off, std::min<size_t>(128, prompt.size() - off));
      la = copy(a.forward(chunk, ctl));
      lb = copy(b.forward(chunk, ctl));
    }
    EXPECT_LT(max_diff(la, lb), 1e-3f);
    ASSERT_EQ(a.length(), 300u);
    // Decode steps, then a fork that continues identically.
    TokenId next = 42;
    for (int step = 0; step < 5; ++step) {
      la = copy(a.forward({&next, 1}, ctl));
      lb = copy(b.forward({&next, 1}, ctl));
      EXPECT_LT(max_diff(la, lb), 1e-3f) << "step " << step;
      next = static_cast<TokenId>(std::max_element(la.begin(), la.end()) - la.begin());
    }
    auto fa = a.fork();
    auto l1 = copy(a.forward({&next, 1}, ctl));
    auto l2 = copy(fa->forward({&next, 1}, ctl));
    EXPECT_EQ(max_diff(l1, l2), 0.0f);
    EXPECT_EQ(fa->length(), a.length());
  }
}

TEST(DecoderSequence, Gemma3FixtureIsGemma3) {
  auto g3 = fixture("gemma3-tiny");
  if (!fs::exists(g3 / "config.json")) GTEST_SKIP() << "fixture gemma3-tiny not generated";
  EXPECT_EQ(find_family(probe_dir(g3))->name, "gemma3");
}

TEST(DecoderSequence, Gemma3nFixtureIsGemma3n) {
  auto g3n = fixture("gemma3n-tiny");
  if (!fs::exists(g3n / "config.json")) GTEST_SKIP() << "fixture gemma3n-tiny not generated";
  EXPECT_EQ(find_family(probe_dir(g3n))->name, "gemma3n");
}

TEST(DecoderSequence, Stories260KIsADecoderOnlyModel) {
  fs::path stories = fs::path(ONNX_CHAT_SOURCE_DIR) / ".." / "shared" / "real-models" / "stories260K";
  if (!fs::exists(stories / "config.json")) GTEST_SKIP() << "real model stories260K not present (" << stories << ")";
  EXPECT_EQ(find_family(probe_dir(stories))->name, "decoder_only");
  auto model = load_model(stories);
  EXPECT_EQ(model->info().family, "decoder_only");
  EXPECT_EQ(model->logits_size(), 512u);
  EXPECT_EQ(model->generation_defaults().eos_ids, (std::vector<TokenId>{2, 1}));
  auto seq = model->new_sequence();
  RunControl ctl;
  std::vector<TokenId> once = {1, 403, 407, 261, 378};  // "<s>Once upon a time"
  auto logits = seq->forward(once, ctl);
  EXPECT_EQ(std::max_element(logits.begin(), logits.end()) - logits.begin(), 432);  // ","
}
