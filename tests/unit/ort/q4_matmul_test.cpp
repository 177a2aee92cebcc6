// onnx-chat's 4-bit matmul kernel against a reference computed here from the dequantized weights,
// and its operator: which MatMulNBits nodes auto hands it, and that a session over them computes
// what the graph as exported does.
#include "ort/q4_matmul.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "ort/protobuf_builder.h"
#include "ort/q4_matmul_op.h"
#include "ort/session.h"
#include "support/fixtures.h"

namespace {

namespace fs = std::filesystem;
using oc::ort::MatmulPrecision;
using oc::test::Pb;
namespace q4 = oc::ort::q4;

// MatMulNBits' initializers for n columns of k weights, random.
struct Weights {
  int64_t n, k, blocks;
  std::vector<uint8_t> codes, zeros;
  std::vector<float> scales;
  Weights(int64_t n_, int64_t k_, std::mt19937& rng) : n(n_), k(k_), blocks((k_ + 31) / 32) {
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> scale(0.001f, 0.05f);
    codes.resize(static_cast<size_t>(n * blocks * 16));
    for (auto& c : codes) c = static_cast<uint8_t>(byte(rng));
    zeros.resize(static_cast<size_t>(n * ((blocks + 1) / 2)));
    for (auto& z : zeros) z = static_cast<uint8_t>(byte(rng));
    scales.resize(static_cast<size_t>(n * blocks));
    for (auto& s : scales) s = scale(rng);
  }
  double weight(int64_t col, int64_t i, bool with_zeros) const {
    const int64_t b = i / 32, e = i % 32;
    const uint8_t byte = codes[static_cast<size_t>((col * blocks + b) * 16 + e / 2)];
    const int code = e % 2 ? byte >> 4 : byte & 15;
    const int zero =
        with_zeros ? (zeros[static_cast<size_t>(col * ((blocks + 1) / 2) + b / 2)] >> (b % 2 * 4)) & 15 : 8;
    return (code - zero) * static_cast<double>(scales[static_cast<size_t>(col * blocks + b)]);
  }
};

q4::PackedWeights pack(const Weights& w, bool with_zeros) {
  q4::PackedWeights packed(w.n, w.k);
  // In two uneven ranges of columns, as the loader packs large matrices piece by piece.
  const int64_t split = w.n / 3;
  const int64_t zp_row = (w.blocks + 1) / 2;
  for (auto [c0, c1] : {std::pair{int64_t{0}, split}, {split, w.n}})
    packed.pack(c0, c1, w.codes.data() + c0 * w.blocks * 16, w.scales.data() + c0 * w.blocks,
                with_zeros ? w.zeros.data() + c0 * zp_row : nullptr);
  return packed;
}

std::vector<float> multiply(const q4::PackedWeights& packed, const std::vector<float>& a, int64_t rows,
                            const float* bias) {
  q4::QuantizedRows quantized;
  q4::quantize_rows(a.data(), rows, packed.k(), quantized);
  std::vector<float> c(static_cast<size_t>(rows * packed.n()), NAN);
  const int64_t mid = packed.tiles() / 2 + 1;  // two calls, the first with an odd number of tiles
  q4::multiply(packed, quantized, bias, c.data(), 0, std::min(mid, packed.tiles()));
  q4::multiply(packed, quantized, bias, c.data(), std::min(mid, packed.tiles()), packed.tiles());
  return c;
}

TEST(Q4Matmul, MatchesTheProductOfTheDequantizedWeightsAndQuantizedActivations) {
  if (!q4::supported()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto [n, k] : {std::pair<int64_t, int64_t>{16, 32}, {37, 70}, {100, 256}, {33, 2560}, {1, 8}}) {
    const Weights w(n, k, rng);
    for (bool with_zeros : {true, false}) {
      const q4::PackedWeights packed = pack(w, with_zeros);
      for (int64_t rows : {1, 2, 3, 4, 5, 8, 9}) {
        std::vector<float> a(static_cast<size_t>(rows * k)), bias(static_cast<size_t>(n));
        for (auto& x : a) x = normal(rng);
        for (auto& x : bias) x = normal(rng);
        const std::vector<float> c = multiply(packed, a, rows, bias.data());
        q4::QuantizedRows quantized;
        q4::quantize_rows(a.data(), rows, k, quantized);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t col = 0; col < n; ++col) {
            double exact = bias[static_cast<size_t>(col)], approx = exact, magnitude = 0;
            for (int64_t i = 0; i < k; ++i) {
              const double wv = w.weight(col, i, with_zeros);
              const size_t ai = static_cast<size_t>(r * quantized.blocks * 32 + i);
              exact += wv * quantized.codes[ai] * quantized.scales[static_cast<size_t>(r * quantized.blocks + i / 32)];
              approx += wv * a[static_cast<size_t>(r * k + i)];
              magnitude += std::fabs(wv * a[static_cast<size_t>(r * k + i)]);
            }
            const float got = c[static_cast<size_t>(r * n + col)];
            ASSERT_NEAR(got, exact, 1e-5 * (magnitude + 1))
                << n << "x" << k << " rows " << rows << " r " << r << " col " << col;
            // int8 activations: within a few hundredths of the sum of magnitudes of the fp32 product
            ASSERT_NEAR(got, approx, 0.02 * (magnitude + 1)) << n << "x" << k << " r " << r << " col " << col;
          }
      }
    }
  }
}

// A row's result does not depend on the rows batched with it: the same bits alone and in a batch.
TEST(Q4Matmul, ARowComputesTheSameAloneAndInABatch) {
  if (!q4::supported()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const Weights w(70, 300, rng);
  const q4::PackedWeights packed = pack(w, true);
  const int64_t rows = 7;
  std::vector<float> a(static_cast<size_t>(rows * w.k));
  for (auto& x : a) x = normal(rng);
  const std::vector<float> batch = multiply(packed, a, rows, nullptr);
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float> row(a.begin() + r * w.k, a.begin() + (r + 1) * w.k);
    const std::vector<float> alone = multiply(packed, row, 1, nullptr);
    ASSERT_EQ(std::memcmp(alone.data(), batch.data() + r * w.n, sizeof(float) * static_cast<size_t>(w.n)), 0) << r;
  }
}

Pb int_attr(const std::string& name, int64_t v) {
  return Pb().str(1, name).num(3, static_cast<uint64_t>(v)).num(20, 2);
}

Pb tensor_type(std::vector<int64_t> dims) {
  Pb shape;
  for (auto d : dims) shape.msg(1, Pb().num(1, static_cast<uint64_t>(d)));
  return Pb().msg(1, Pb().num(1, 1).msg(2, shape));
}

// One MatMulNBits node of input x: its weights, block size, whether it has zero points and a bias.
struct NodeSpec {
  const Weights* w;
  int64_t block = 32;
  bool zeros = true, bias = false;
};

// A graph of nodes y0, y1, ... = x @ W_i (+ bias) with 4-bit W_i [k, n_i] (codes and zero points
// in an external file, scales and biases inline).
struct Model {
  fs::path dir, path;
  Model(const std::vector<NodeSpec>& specs, const std::string& tag) {
    dir = fs::temp_directory_path() / ("oc_q4_matmul_" + std::to_string(::getpid()) + "_" + tag);
    fs::create_directories(dir);
    std::ofstream data(dir / "w.onnx_data", std::ios::binary);
    size_t offset = 0;
    auto external = [&](Pb t, const std::vector<uint8_t>& bytes) {
      data.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      t.msg(13, Pb().str(1, "location").str(2, "w.onnx_data"));
      t.msg(13, Pb().str(1, "offset").str(2, std::to_string(offset)));
      t.msg(13, Pb().str(1, "length").str(2, std::to_string(bytes.size())));
      offset += bytes.size();
      return t.num(14, 1);
    };
    const int64_t k = specs.front().w->k;
    Pb graph;
    for (size_t i = 0; i < specs.size(); ++i) {
      const Weights& w = *specs[i].w;
      const std::string index = std::to_string(i), p = std::string("n").append(index).append(".");
      const std::string y = std::string("y").append(index);
      const auto n = static_cast<uint64_t>(w.n);
      graph.msg(5, external(Pb().num(1, n).num(1, static_cast<uint64_t>(w.blocks)).num(1, 16).num(2, 2).str(8, p + "B"),
                            w.codes));
      if (specs[i].zeros) graph.msg(5, external(Pb().num(1, w.zeros.size()).num(2, 2).str(8, p + "zp"), w.zeros));
      Pb s = Pb().num(1, w.scales.size()).num(2, 1).str(8, p + "scales");
      graph.msg(5,
                s.str(9, std::string(reinterpret_cast<const char*>(w.scales.data()), w.scales.size() * sizeof(float))));
      std::vector<float> bias_values(static_cast<size_t>(w.n));
      for (size_t j = 0; j < bias_values.size(); ++j) bias_values[j] = 0.25f * static_cast<float>(j % 5);
      Pb bias = Pb().num(1, n).num(2, 1).str(8, p + "bias");
      bias.str(9, std::string(reinterpret_cast<const char*>(bias_values.data()), bias_values.size() * sizeof(float)));
      if (specs[i].bias) graph.msg(5, bias);
      Pb node = Pb().str(1, "x").str(1, p + "B").str(1, p + "scales").str(1, specs[i].zeros ? p + "zp" : "");
      if (specs[i].bias) node.str(1, "").str(1, p + "bias");
      node.str(2, y).str(3, p + "mm").str(4, "MatMulNBits").str(7, "com.microsoft");
      for (auto [name, v] : {std::pair{"K", w.k}, {"N", w.n}, {"bits", int64_t{4}}, {"block_size", specs[i].block}})
        node.msg(5, int_attr(name, v));
      graph.msg(1, node);
      graph.msg(12, Pb().str(1, y).msg(2, tensor_type({-1, w.n})));
    }
    graph.str(2, "g").msg(11, Pb().str(1, "x").msg(2, tensor_type({-1, k})));
    Pb m = Pb().num(1, 8).msg(8, Pb().str(1, "").num(2, 17)).msg(8, Pb().str(1, "com.microsoft").num(2, 1));
    m.msg(7, graph);
    path = dir / "m.onnx";
    std::ofstream(path, std::ios::binary) << m.bytes;
  }
  ~Model() { fs::remove_all(dir); }
  std::string bytes() const {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
};

// Every output of the graph for x [rows, k].
std::vector<std::vector<float>> run(oc::ort::Session& session, const std::vector<float>& x, int64_t rows, int64_t k) {
  const int64_t shape[2] = {rows, k};
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value in = Ort::Value::CreateTensor<float>(mem, const_cast<float*>(x.data()), x.size(), shape, 2);
  const char* in_names[] = {"x"};
  std::vector<const char*> out_names;
  for (const auto& o : session.outputs()) out_names.push_back(o.name.c_str());
  auto out = session.get().Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names.data(), out_names.size());
  std::vector<std::vector<float>> values;
  for (auto& v : out) {
    const float* y = v.GetTensorData<float>();
    values.emplace_back(y, y + v.GetTensorTypeAndShapeInfo().GetElementCount());
  }
  return values;
}

// auto gives the nodes to the kernel (those of one input without a bias as one matrix, a node
// with a bias alone) and computes what the graph as exported computes, within int8 activations'
// error, for every output; int8 keeps ONNX Runtime's kernel.
TEST(Q4MatmulOp, AutoRunsEligibleNodesOnTheKernel) {
  std::mt19937 rng(3);
  const Weights a(40, 96, rng), b(24, 96, rng), c(16, 96, rng);
  const Model model({{&a}, {&b, 32, false}, {&c, 32, true, true}}, "auto");
  oc::ort::PackedMatmuls packed;
  const bool rewritten = oc::ort::pack_q4_matmuls(model.bytes(), model.dir, packed).has_value();
  EXPECT_EQ(rewritten, q4::supported());
  if (q4::supported()) {
    EXPECT_EQ(packed.nodes, 3);
    ASSERT_EQ(packed.matrices(), 2);
    EXPECT_EQ(packed.weights[0]->n(), 64) << "a and b side by side";
    EXPECT_EQ(packed.weights[1]->n(), 16) << "c (with a bias) alone";
  }
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t rows : {1, 3}) {
    std::vector<float> x(static_cast<size_t>(rows * a.k));
    for (auto& v : x) v = normal(rng);
    oc::ort::SessionConfig cfg;
    cfg.intra_op_threads = 2;
    cfg.matmul_precision = MatmulPrecision::Exact;
    oc::ort::Session exact(model.path, cfg);
    EXPECT_EQ(exact.packed_matmuls(), 0);
    const auto want = run(exact, x, rows, a.k);
    cfg.matmul_precision = MatmulPrecision::Int8;
    oc::ort::Session int8(model.path, cfg);
    EXPECT_EQ(int8.packed_matmuls(), 0);
    cfg.matmul_precision = MatmulPrecision::Auto;
    oc::ort::Session automatic(model.path, cfg);
    EXPECT_EQ(automatic.packed_matmuls(), q4::supported() ? 3 : 0);
    const auto got = run(automatic, x, rows, a.k);
    ASSERT_EQ(got.size(), 3u);
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(got[o].size(), want[o].size()) << o;
      for (size_t i = 0; i < got[o].size(); ++i)
        EXPECT_NEAR(got[o][i], want[o][i], 0.05 + 0.02 * std::fabs(want[o][i])) << "output " << o << " at " << i;
    }
  }
}

TEST(Q4MatmulOp, OtherBlockSizesStayWithOnnxRuntime) {
  std::mt19937 rng(5);
  const Weights w(16, 64, rng);
  const Model model({{&w, 16}}, "block16");  // blobs of 32 weights under block_size 16: only the rewrite is checked
  oc::ort::PackedMatmuls packed;
  EXPECT_FALSE(oc::ort::pack_q4_matmuls(model.bytes(), model.dir, packed));
  EXPECT_EQ(packed.nodes, 0);
}

// The q4 fixture's decoder: auto hands every 4-bit node to the kernel where the CPU has it.
TEST(Q4MatmulOp, TheQ4FixtureRunsOnTheKernel) {
  REQUIRE_FIXTURE(dir, "gemma3n-tiny");
  const fs::path q4_path = dir / "onnx" / "decoder_model_merged_q4.onnx";
  oc::ort::SessionConfig cfg;
  cfg.intra_op_threads = 1;
  cfg.matmul_precision = MatmulPrecision::Auto;
  oc::ort::Session session(q4_path, cfg);
  EXPECT_EQ(session.packed_matmuls(), q4::supported() ? session.matmul_plan().nodes : 0);
  EXPECT_GT(session.matmul_plan().nodes, 0);
}

}  // namespace
