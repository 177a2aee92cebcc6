// The compute precision of 4-bit matmuls: the in-memory rewrite of a graph's bytes (against bytes
// built here field by field), the plan per provider, and sessions over the q4 fixture and the real
// Gemma 3 export.
#include "ort/matmul_precision.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "ort/onnx_file.h"
#include "ort/protobuf_builder.h"
#include "ort/session.h"
#include "support/fixtures.h"

namespace {

namespace fs = std::filesystem;
using oc::ort::MatmulPrecision;
using oc::test::Pb;

Pb int_attr(const std::string& name, int64_t v) {
  return Pb().str(1, name).num(3, static_cast<uint64_t>(v)).num(20, 2);
}

Pb matmul_nbits(const std::string& name, std::vector<Pb> attrs, const Pb* extra = nullptr) {
  Pb node = Pb().str(1, "x").str(1, name + ".w").str(1, name + ".s").str(2, name + ".y").str(3, name);
  node.str(4, "MatMulNBits");
  for (const auto& a : attrs) node.msg(5, a);
  node.str(7, "com.microsoft");
  if (extra) node.msg(5, *extra);
  return node;
}

// A graph with: a 4-bit MatMulNBits without accuracy_level, one with accuracy_level 1, an 8-bit
// one, a Relu, and an If whose branch holds another 4-bit MatMulNBits. `level` >= 0 builds the
// bytes the rewrite must produce for that level: the 4-bit nodes' level attribute replaced in place
// or appended at the node's end, every other field as it was.
std::string model(int64_t level = -1) {
  const bool set = level >= 0;
  const Pb level_attr = int_attr("accuracy_level", level);
  const Pb k = int_attr("K", 64), n = int_attr("N", 32), bits4 = int_attr("bits", 4), bits8 = int_attr("bits", 8);
  Pb branch_graph;
  branch_graph.msg(1, matmul_nbits("inner", {k, n}, set ? &level_attr : nullptr)).str(2, "then");
  Pb if_node =
      Pb().str(1, "cond").str(2, "z").str(4, "If").msg(5, Pb().str(1, "then_branch").msg(6, branch_graph).num(20, 5));
  Pb graph;
  graph.msg(1, matmul_nbits("a", {k, n, bits4}, set ? &level_attr : nullptr));
  graph.msg(1, matmul_nbits("b", {k, set ? level_attr : int_attr("accuracy_level", 1), n}));
  graph.msg(1, matmul_nbits("c", {k, n, bits8, int_attr("accuracy_level", 0)}));
  graph.msg(1, Pb().str(1, "a.y").str(2, "r").str(4, "Relu"));
  graph.msg(1, if_node);
  graph.str(2, "g");
  Pb w = Pb().num(1, 2).num(2, 2).str(8, "a.w").str(9, std::string(16, '\x11'));
  graph.msg(5, w);
  Pb m;
  m.num(1, 8).str(2, "test").msg(8, Pb().str(1, "").num(2, 17)).msg(8, Pb().str(1, "com.microsoft").num(2, 1));
  m.msg(7, graph);
  m.str(14, "trailing");  // a field after the graph stays where it was
  return m.bytes;
}

TEST(MatmulPrecision, RewriteChangesOnlyTheAccuracyLevelOfFourBitNodes) {
  const std::string original = model();
  const auto before = oc::ort::read_onnx_bytes(original, "original");
  EXPECT_EQ(before.matmul_4bit_levels, (std::map<int64_t, int64_t>{{0, 2}, {1, 1}}));
  for (int64_t level : {4, 2, 1}) {
    const std::string rewritten = oc::ort::set_matmul_accuracy_level(original, level);
    EXPECT_EQ(rewritten, model(level)) << "level " << level;
    const auto after = oc::ort::read_onnx_bytes(rewritten, "rewritten");
    EXPECT_EQ(after.matmul_4bit_levels, (std::map<int64_t, int64_t>{{level, 3}}));
    EXPECT_EQ(after.op_counts, before.op_counts);
    EXPECT_EQ(after.inline_weight_bytes, before.inline_weight_bytes);
    EXPECT_EQ(oc::ort::set_matmul_accuracy_level(rewritten, level), rewritten) << "a second rewrite changes nothing";
  }
}

TEST(MatmulPrecision, GraphsWithoutFourBitMatmulsAreLeftByteForByte) {
  Pb graph;
  graph.msg(1, Pb().str(1, "x").str(2, "y").str(4, "MatMul"));
  graph.msg(1, matmul_nbits("c", {int_attr("bits", 8)}));
  Pb m;
  m.num(1, 8).msg(7, graph);
  EXPECT_EQ(oc::ort::set_matmul_accuracy_level(m.bytes, 4), m.bytes);
  EXPECT_THROW(oc::ort::set_matmul_accuracy_level(m.bytes.substr(0, m.bytes.size() - 3), 4), std::runtime_error);
}

TEST(MatmulPrecision, AutoMeansInt8OnCpuAndTheExportElsewhere) {
  const auto info = oc::ort::read_onnx_bytes(model(), "m");
  auto plan = oc::ort::plan_matmul_precision(info, MatmulPrecision::Auto, "cpu");
  EXPECT_EQ(plan.nodes, 3);
  EXPECT_EQ(plan.changed, 3);
  EXPECT_EQ(plan.level, 4);
  EXPECT_EQ(plan.effective, "int8");
  plan = oc::ort::plan_matmul_precision(info, MatmulPrecision::Auto, "cuda");
  EXPECT_EQ(plan.changed, 0);
  EXPECT_FALSE(plan.level);
  EXPECT_EQ(plan.effective, "exact");
  plan = oc::ort::plan_matmul_precision(info, MatmulPrecision::Exact, "cpu");
  EXPECT_EQ(plan.changed, 0);
  EXPECT_EQ(plan.effective, "exact");
  plan = oc::ort::plan_matmul_precision(info, MatmulPrecision::Fp32, "cpu");
  EXPECT_EQ(plan.changed, 2) << "the node already at level 1 stays";
  EXPECT_EQ(oc::ort::plan_matmul_precision(oc::ort::OnnxFileInfo{}, MatmulPrecision::Auto, "cpu").effective, "");
  EXPECT_EQ(oc::ort::parse_matmul_precision("INT8"), MatmulPrecision::Int8);
  EXPECT_FALSE(oc::ort::parse_matmul_precision("int4"));
}

// y = x @ W for x [1, 32] with a 4-bit W [32, 2] stored in an external file beside the graph (every
// weight 1 above the zero point, column scales 1 and 2): the session created from rewritten bytes
// still finds the weights, and int8 compute gives the same sums for an input of ones.
TEST(MatmulPrecision, RewrittenGraphsLoadExternalWeightsFromBesideTheFile) {
  const fs::path dir = fs::temp_directory_path() / ("oc_matmul_precision_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string weights(32, '\x99');  // [N=2, blocks=1, 16 bytes]: two 9s a byte, zero point 8
  std::ofstream(dir / "w.onnx_data", std::ios::binary) << weights;
  Pb b = Pb().num(1, 2).num(1, 1).num(1, 16).num(2, 2).str(8, "B");  // dims, uint8, name
  b.msg(13, Pb().str(1, "location").str(2, "w.onnx_data")).msg(13, Pb().str(1, "offset").str(2, "0"));
  b.msg(13, Pb().str(1, "length").str(2, "32")).num(14, 1);
  const float scales[2] = {1.0f, 2.0f};
  Pb s = Pb().num(1, 2).num(2, 1).str(8, "scales").str(9, std::string(reinterpret_cast<const char*>(scales), 8));
  Pb node = Pb().str(1, "x").str(1, "B").str(1, "scales").str(2, "y").str(4, "MatMulNBits").str(7, "com.microsoft");
  for (auto [name, v] : {std::pair{"K", 32}, {"N", 2}, {"bits", 4}, {"block_size", 32}}) node.msg(5, int_attr(name, v));
  auto tensor_type = [](std::vector<int64_t> dims) {
    Pb shape;
    for (auto d : dims) shape.msg(1, Pb().num(1, static_cast<uint64_t>(d)));
    return Pb().msg(1, Pb().num(1, 1).msg(2, shape));
  };
  Pb graph = Pb().msg(1, node).str(2, "g").msg(5, b).msg(5, s);
  graph.msg(11, Pb().str(1, "x").msg(2, tensor_type({1, 32}))).msg(12, Pb().str(1, "y").msg(2, tensor_type({1, 2})));
  Pb m = Pb().num(1, 8).msg(8, Pb().str(1, "").num(2, 17)).msg(8, Pb().str(1, "com.microsoft").num(2, 1)).msg(7, graph);
  std::ofstream(dir / "m.onnx", std::ios::binary) << m.bytes;

  for (auto precision : {MatmulPrecision::Exact, MatmulPrecision::Auto}) {
    oc::ort::SessionConfig cfg;
    cfg.intra_op_threads = 1;
    cfg.matmul_precision = precision;
    oc::ort::Session session(dir / "m.onnx", cfg);
    EXPECT_EQ(session.matmul_plan().changed, precision == MatmulPrecision::Auto ? 1 : 0);
    std::vector<float> x(32, 1.0f);
    const int64_t shape[2] = {1, 32};
    auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    Ort::Value in = Ort::Value::CreateTensor<float>(mem, x.data(), x.size(), shape, 2);
    const char* in_names[] = {"x"};
    const char* out_names[] = {"y"};
    auto out = session.get().Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names, 1);
    const float* y = out[0].GetTensorData<float>();
    EXPECT_NEAR(y[0], 32.0f, 0.05f) << oc::ort::matmul_precision_name(precision);
    EXPECT_NEAR(y[1], 64.0f, 0.1f) << oc::ort::matmul_precision_name(precision);
  }
  fs::remove_all(dir);
}

// The q4 fixture's decoder: auto rewrites every 4-bit node before the session is created; exact
// loads the file as it is.
TEST(MatmulPrecision, SessionsOverTheQ4Fixture) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  const fs::path q4 = dir / "onnx" / "decoder_model_merged_q4.onnx";
  const auto file = oc::ort::read_onnx_file(q4);
  ASSERT_EQ(file.matmul_4bit_levels.count(0), 1u);
  oc::ort::SessionConfig cfg;
  cfg.intra_op_threads = 1;
  cfg.matmul_precision = MatmulPrecision::Auto;
  oc::ort::Session automatic(q4, cfg);
  EXPECT_EQ(automatic.matmul_plan().changed, file.matmul_4bit_levels.at(0));
  EXPECT_EQ(automatic.matmul_plan().effective, "int8");
  cfg.matmul_precision = MatmulPrecision::Exact;
  oc::ort::Session exact(q4, cfg);
  EXPECT_EQ(exact.matmul_plan().changed, 0);
  EXPECT_EQ(exact.matmul_plan().effective, "exact");
  EXPECT_EQ(exact.inputs().size(), automatic.inputs().size());
}

// The real Gemma 3 4B q4 decoder (graph only): every 4-bit node is rewritten, nothing else moves.
TEST(MatmulPrecision, RewritesTheRealGemma3Export) {
  fs::path shared = std::getenv("ONNX_CHAT_SHARED") ? fs::path(std::getenv("ONNX_CHAT_SHARED"))
                                                    : fs::path(ONNX_CHAT_SOURCE_DIR) / ".." / "shared";
  fs::path q4 = shared / "real-graphs/gemma-3-4b-it/onnx/decoder_model_merged_q4.onnx";
  if (!fs::exists(q4)) GTEST_SKIP() << "real graphs not present beside the checkout";
  oc::ort::MappedFile file(q4);
  const auto before = oc::ort::read_onnx_bytes(file.bytes(), "before");
  ASSERT_EQ(before.matmul_4bit_levels.size(), 1u);
  EXPECT_EQ(before.matmul_4bit_levels.begin()->first, 0) << "the export leaves accuracy_level unset";
  const std::string rewritten = oc::ort::set_matmul_accuracy_level(file.bytes(), 4);
  const auto after = oc::ort::read_onnx_bytes(rewritten, "after");
  EXPECT_EQ(after.matmul_4bit_levels, (std::map<int64_t, int64_t>{{4, before.matmul_4bit_levels.at(0)}}));
  EXPECT_EQ(after.op_counts, before.op_counts);
  EXPECT_EQ(after.external_data, before.external_data);
  EXPECT_EQ(after.initializer_count, before.initializer_count);
  EXPECT_EQ(after.inputs.size(), before.inputs.size());
  EXPECT_EQ(after.outputs.size(), before.outputs.size());
}

}  // namespace
