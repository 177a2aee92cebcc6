// Continuous batching of the generic decoder: sequences of different lengths stepped together in
// one run give the logits they give alone, joining and leaving between steps, for the
// GroupQueryAttention layout (gemma3-tiny, whose graph is edited to per-row lengths at load) and
// the plain attention layout (the real stories260K model, and gemma4-tiny, whose layers differ in
// cache shape).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/fs.h"
#include "models/decoder_sequence.h"
#include "models/family.h"
#include "ort/onnx_edit.h"
#include "ort/onnx_file.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using namespace oc::models;

namespace {

std::vector<TokenId> prompt_of(size_t n, int salt, int vocab) {
  std::vector<TokenId> p;
  for (size_t i = 0; i < n; ++i) p.push_back(3 + static_cast<TokenId>((i * 7919 + salt * 104729) % (vocab - 3)));
  return p;
}

TokenId argmax(std::span<const float> l) {
  return static_cast<TokenId>(std::max_element(l.begin(), l.end()) - l.begin());
}

float max_diff(std::span<const float> a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Greedy continuation of each prompt alone, then the same prompts prefilled alone and decoded in one
// batch, with a late joiner and an early leaver that continues alone: the logits of every step match.
void check_batch_matches_alone(Model& model, int vocab, const std::vector<size_t>& lengths = {3, 37, 130}) {
  auto batch = model.new_batch();
  ASSERT_TRUE(batch) << "the model should batch sequences of different lengths";
  const int steps = 8;
  RunControl ctl;
  // Alone: logits of every step.
  std::vector<std::vector<std::vector<float>>> want(lengths.size());
  std::vector<std::vector<TokenId>> tokens(lengths.size());
  for (size_t s = 0; s < lengths.size(); ++s) {
    auto seq = model.new_sequence();
    auto p = prompt_of(lengths[s], static_cast<int>(s), vocab);
    auto l = seq->forward(p, ctl);
    for (int k = 0; k < steps; ++k) {
      TokenId t = argmax(l);
      tokens[s].push_back(t);
      l = seq->forward({&t, 1}, ctl);
      want[s].emplace_back(l.begin(), l.end());
    }
  }
  // Together: sequence 2 joins one step late; sequence 0 leaves after 4 steps and goes on alone.
  std::vector<std::unique_ptr<Sequence>> seqs;
  for (size_t s = 0; s < lengths.size(); ++s) {
    seqs.push_back(model.new_sequence());
    seqs[s]->forward(prompt_of(lengths[s], static_cast<int>(s), vocab), ctl);
  }
  std::vector<int> step_of(lengths.size(), 0);
  std::vector<bool> member(lengths.size(), false);
  auto join = [&](size_t s) {
    batch->join(*seqs[s]);
    member[s] = true;
  };
  for (int round = 0; round < steps + 2; ++round) {
    if (round == 0) join(0), join(1);
    if (round == 1) join(2);
    if (round == 4) {
      batch->leave(*seqs[0], true);
      member[0] = false;
    }
    for (size_t s = 0; s < lengths.size(); ++s)
      if (member[s] && step_of[s] == steps) {
        batch->leave(*seqs[s], false);
        member[s] = false;
      }
    std::vector<Sequence*> m;
    std::vector<TokenId> t;
    std::vector<size_t> which;
    for (size_t s = 0; s < lengths.size(); ++s)
      if (member[s]) {
        m.push_back(seqs[s].get());
        t.push_back(tokens[s][step_of[s]]);
        which.push_back(s);
      }
    ASSERT_EQ(m.size(), batch->size());
    if (!m.empty()) {
      auto rows = batch->step(m, t, ctl);
      for (size_t i = 0; i < which.size(); ++i) {
        const size_t s = which[i];
        EXPECT_LT(max_diff(rows[i], want[s][step_of[s]]), 1e-4f) << "sequence " << s << " step " << step_of[s];
        EXPECT_EQ(argmax(rows[i]), argmax(want[s][step_of[s]]));
        step_of[s]++;
      }
    }
    // The sequence that left continues alone from its cache.
    if (round >= 4 && step_of[0] < steps) {
      auto l = seqs[0]->forward({&tokens[0][step_of[0]], 1}, ctl);
      EXPECT_LT(max_diff(l, want[0][step_of[0]]), 1e-4f) << "alone after leaving, step " << step_of[0];
      step_of[0]++;
    }
  }
  for (size_t s = 1; s < lengths.size(); ++s) EXPECT_EQ(step_of[s], steps) << "sequence " << s;
  EXPECT_EQ(seqs[0]->length(), lengths[0] + steps);
}

}  // namespace

TEST(DecoderBatch, GroupQueryAttentionRowsMatchAlone) {
  REQUIRE_FIXTURE(dir, "gemma3-tiny");
  auto model = load_model(dir);
  check_batch_matches_alone(*model, 1000);
}

// A sequence past 512 tokens keeps its cache in one shared buffer; joining an empty batch, it
// hands that buffer over as the batch's first row (no copy), which the next joiner then grows.
TEST(DecoderBatch, AFirstRowWithASharedBufferMatchesAlone) {
  REQUIRE_FIXTURE(dir, "gemma3-tiny");
  auto model = load_model(dir);
  check_batch_matches_alone(*model, 1000, {600, 37, 700});
}

// A sequence alone in a batch, in its own nearly full shared buffer, leaves with that buffer (no
// copy): it goes on alone, and a prefix forked from it (as the prefix cache does) too, with the
// logits it gives without the batch.
TEST(DecoderBatch, TheOnlyRowLeavesWithItsBuffer) {
  REQUIRE_FIXTURE(dir, "gemma3-tiny");
  auto model = load_model(dir);
  RunControl ctl;
  const auto p = prompt_of(1000, 5, 1000);
  auto ref = model->new_sequence();
  auto l = ref->forward(p, ctl);
  std::vector<TokenId> toks;
  std::vector<std::vector<float>> want;
  for (int k = 0; k < 6; ++k) {
    const TokenId t = argmax(l);
    toks.push_back(t);
    l = ref->forward({&t, 1}, ctl);
    want.emplace_back(l.begin(), l.end());
  }
  auto seq = model->new_sequence();
  seq->forward(p, ctl);
  auto batch = model->new_batch();
  ASSERT_TRUE(batch);
  batch->join(*seq);
  for (size_t k = 0; k < 3; ++k) {
    Sequence* members[1] = {seq.get()};
    auto rows = batch->step(members, {&toks[k], 1}, ctl);
    EXPECT_LT(max_diff(rows[0], want[k]), 1e-4f) << "in the batch, step " << k;
  }
  batch->leave(*seq, true);
  EXPECT_EQ(batch->size(), 0u);
  EXPECT_EQ(seq->length(), 1003u);
  auto prefix = seq->fork_prefix(1001);
  for (size_t k = 3; k < 6; ++k) {
    auto a = seq->forward({&toks[k], 1}, ctl);
    EXPECT_LT(max_diff(a, want[k]), 1e-4f) << "alone after leaving, step " << k;
  }
  auto b = prefix->forward({&toks[1], 1}, ctl);
  EXPECT_LT(max_diff(b, want[1]), 1e-4f) << "the forked prefix";
  // The batch takes the sequence again, buffer and all.
  batch->join(*seq);
  Sequence* members[1] = {seq.get()};
  const TokenId t = argmax(want[5]);
  auto again = batch->step(members, {&t, 1}, ctl);
  auto alone = ref->forward({&t, 1}, ctl);
  EXPECT_LT(max_diff(again[0], {alone.begin(), alone.end()}), 1e-4f) << "back in the batch";
}

TEST(DecoderBatch, PlainAttentionRowsMatchAlone) {
  fs::path stories = fs::path(ONNX_CHAT_SOURCE_DIR) / ".." / "shared" / "real-models" / "stories260K";
  if (!fs::exists(stories / "config.json")) GTEST_SKIP() << "shared folder not beside the checkout";
  auto model = load_model(stories);
  check_batch_matches_alone(*model, 500);
}

TEST(DecoderBatch, ForkPrefixKeepsOnlyThePrefix) {
  REQUIRE_FIXTURE(dir, "gemma3-tiny");
  auto model = load_model(dir);
  RunControl ctl;
  auto p = prompt_of(50, 9, 1000);
  auto full = model->new_sequence();
  full->forward(p, ctl);
  auto part = full->fork_prefix(20);
  EXPECT_EQ(part->length(), 20u);
  EXPECT_EQ(full->length(), 50u);
  // The prefix continued with the rest of the prompt gives the logits of the whole prompt.
  auto l = part->forward(std::span<const TokenId>(p).subspan(20), ctl);
  auto fresh = model->new_sequence();
  auto ref = fresh->forward(p, ctl);
  EXPECT_LT(max_diff(l, {ref.begin(), ref.end()}), 1e-4f);
}

TEST(OnnxEdit, GroupQueryAttentionLengthsComePerRow) {
  REQUIRE_FIXTURE(dir, "gemma3-tiny");
  const auto path = dir / "onnx" / "decoder_model_merged.onnx";
  const auto before = oc::ort::read_onnx_file(path);
  auto edited = oc::ort::gqa_lengths_from_mask(oc::read_file(path));
  ASSERT_TRUE(edited);
  const auto tmp = fs::temp_directory_path() / "oc_gqa_edit_test.onnx";
  std::ofstream(tmp, std::ios::binary) << *edited;
  const auto after = oc::ort::read_onnx_file(tmp);
  fs::remove(tmp);
  EXPECT_EQ(after.op_counts.at("ReduceSum"),
            before.op_counts.count("ReduceSum") ? before.op_counts.at("ReduceSum") + 1 : 1);
  EXPECT_EQ(after.op_counts.at("com.microsoft.GroupQueryAttention"),
            before.op_counts.at("com.microsoft.GroupQueryAttention"));
  EXPECT_EQ(after.inputs.size(), before.inputs.size());
  // A graph without GroupQueryAttention is left alone.
  REQUIRE_FIXTURE(g3n, "gemma3n-tiny");
  EXPECT_FALSE(oc::ort::gqa_lengths_from_mask(oc::read_file(g3n / "onnx" / "decoder_model_merged.onnx")));
}

TEST(DecoderBatch, CacheShapesPerLayerRowsMatchAlone) {
  // gemma4-tiny: its full-attention layers' caches have twice the head size of the others.
  REQUIRE_FIXTURE(dir, "gemma4-tiny");
  auto model = load_model(dir);
  // Cache layers 0..2 (the last layer shares layer 1's cache): sliding [2 heads, 16], full [2, 32],
  // sliding [2, 16]; key and value, float32.
  EXPECT_EQ(model->kv_bytes_per_token(), 2 * (2 * 16 + 2 * 32 + 2 * 16) * sizeof(float));
  check_batch_matches_alone(*model, static_cast<int>(model->logits_size()));
}
