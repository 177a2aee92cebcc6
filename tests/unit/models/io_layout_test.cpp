#include "models/io_layout.h"

#include <gtest/gtest.h>

#include <algorithm>

using oc::ort::Dim;
using oc::ort::TensorInfo;

namespace {

TensorInfo t(std::string name, ONNXTensorElementDataType type, std::vector<Dim> shape) {
  TensorInfo info;
  info.name = std::move(name);
  info.type = type;
  info.shape = std::move(shape);
  return info;
}
Dim sym(const char* s) { return Dim{-1, s}; }
Dim fixed(int64_t v) { return Dim{v, ""}; }

}  // namespace

TEST(DecoderIo, Gemma3nStyleDecoder) {
  const auto F = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  std::vector<TensorInfo> in = {t("inputs_embeds", F, {sym("batch_size"), sym("sequence_length"), fixed(2048)}),
                                t("per_layer_inputs", F, {}),
                                t("position_ids", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, {})};
  std::vector<TensorInfo> out = {t("logits", F, {sym("batch_size"), sym("sequence_length"), fixed(262400)})};
  for (int i = 0; i < 3; ++i) {
    for (const char* kind : {"key", "value"}) {
      in.push_back(t("past_key_values." + std::to_string(i) + "." + kind, F,
                     {sym("batch_size"), fixed(2), sym("past_sequence_length"), fixed(256)}));
      out.push_back(t("present." + std::to_string(i) + "." + kind, F,
                      {sym("batch_size"), fixed(2), sym("total_sequence_length"), fixed(256)}));
    }
  }
  auto io = oc::models::infer_decoder_io(in, out, false);
  EXPECT_TRUE(io.problems.empty());
  EXPECT_TRUE(io.inputs_embeds && io.per_layer_inputs && io.position_ids);
  EXPECT_FALSE(io.attention_mask || io.input_ids || io.num_logits_to_keep);
  EXPECT_EQ(io.vocab, 262400);
  EXPECT_EQ(io.kv.layers, 3);
  EXPECT_EQ(io.kv.kv_heads, 2);
  EXPECT_EQ(io.kv.head_dim, 256);
  EXPECT_EQ(io.kv.past_length_symbol, "past_sequence_length");
  EXPECT_TRUE(io.kv.presents_complete);
  EXPECT_EQ(io.kv.past_key(2), "past_key_values.2.key");
  EXPECT_EQ(io.kv.present_value(1), "present.1.value");
}

TEST(DecoderIo, ReportsProblems) {
  const auto F = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  std::vector<TensorInfo> in = {t("past_key_values.0.key", F, {}), t("past_key_values.0.value", F, {}),
                                t("past_key_values.1.key", F, {})};
  std::vector<TensorInfo> out = {t("present.0.key", F, {})};
  auto io = oc::models::infer_decoder_io(in, out, false);
  // Each problem named: no ids/embeds, mismatched layers, missing presents, no logits.
  auto has = [&](const std::string& p) {
    return std::find(io.problems.begin(), io.problems.end(), p) != io.problems.end();
  };
  EXPECT_TRUE(has("neither input_ids nor inputs_embeds is an input")) << ::testing::PrintToString(io.problems);
  EXPECT_TRUE(has("past key and value inputs cover different layers")) << ::testing::PrintToString(io.problems);
  EXPECT_TRUE(has("not every past input has a present output")) << ::testing::PrintToString(io.problems);
  EXPECT_TRUE(has("no logits output")) << ::testing::PrintToString(io.problems);
}

TEST(DecoderIo, CacheShapesPerLayer) {
  const auto F = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  std::vector<TensorInfo> in = {t("inputs_embeds", F, {})};
  std::vector<TensorInfo> out = {t("logits", F, {})};
  for (int i = 0; i < 3; ++i) {
    // Layer 1 is a "global" layer: a larger head and one KV head; layer 2's dims are symbolic.
    const Dim heads = i == 2 ? sym("kv_heads") : fixed(i == 1 ? 1 : 2);
    const Dim head_dim = i == 2 ? sym("head_dim") : fixed(i == 1 ? 512 : 256);
    for (const char* kind : {"key", "value"}) {
      in.push_back(t("past_key_values." + std::to_string(i) + "." + kind, F,
                     {sym("batch_size"), heads, sym("past_sequence_length"), head_dim}));
      out.push_back(t("present." + std::to_string(i) + "." + kind, F,
                      {sym("batch_size"), heads, sym("total_sequence_length"), head_dim}));
    }
  }
  auto io = oc::models::infer_decoder_io(in, out, false);
  EXPECT_TRUE(io.problems.empty()) << ::testing::PrintToString(io.problems);
  using oc::models::KvShape;
  EXPECT_EQ(io.kv.layer_shapes, (std::vector<KvShape>{{2, 256}, {1, 512}, {-1, -1}}));
  EXPECT_EQ(io.kv.head_dim, 256);
  // Symbolic dims from the config: per layer when a family lists them, else the fallback.
  EXPECT_EQ(oc::models::resolve_kv_shapes(io.kv, {4, 64}, {}), (std::vector<KvShape>{{2, 256}, {1, 512}, {4, 64}}));
  EXPECT_EQ(oc::models::resolve_kv_shapes(io.kv, {4, 64}, {{2, 256}, {1, 512}, {1, 512}}),
            (std::vector<KvShape>{{2, 256}, {1, 512}, {1, 512}}));
}

TEST(DecoderIo, KeyAndValueOfALayerThatDifferAreAProblem) {
  const auto F = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  std::vector<TensorInfo> in = {t("inputs_embeds", F, {})};
  std::vector<TensorInfo> out = {t("logits", F, {}), t("present.0.key", F, {}), t("present.0.value", F, {})};
  in.push_back(t("past_key_values.0.key", F, {sym("batch_size"), fixed(1), sym("past_sequence_length"), fixed(256)}));
  in.push_back(t("past_key_values.0.value", F, {sym("batch_size"), fixed(1), sym("past_sequence_length"), fixed(512)}));
  auto io = oc::models::infer_decoder_io(in, out, false);
  ASSERT_EQ(io.problems.size(), 1u);
  EXPECT_NE(io.problems[0].find("past key and value differ in shape"), std::string::npos) << io.problems[0];
}
