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

// y = x @ W + bias with W [k, n] 4-bit in blocks of `block` (codes and zero points in an external
// file, scales inline).
struct Model {
  fs::path dir, path;
  Model(const Weights& w, int64_t block) {
    dir = fs::temp_directory_path() / ("oc_q4_matmul_" + std::to_string(::getpid()) + "_" + std::to_string(block));
    fs::create_directories(dir);
    std::ofstream data(dir / "w.onnx_data", std::ios::binary);
    data.write(reinterpret_cast<const char*>(w.codes.data()), static_cast<std::streamsize>(w.codes.size()));
    data.write(reinterpret_cast<const char*>(w.zeros.data()), static_cast<std::streamsize>(w.zeros.size()));
    data.close();
    auto external = [](Pb t, size_t offset, size_t length) {
      t.msg(13, Pb().str(1, "location").str(2, "w.onnx_data"));
      t.msg(13, Pb().str(1, "offset").str(2, std::to_string(offset)));
      t.msg(13, Pb().str(1, "length").str(2, std::to_string(length)));
      return t.num(14, 1);
    };
    const auto n = static_cast<uint64_t>(w.n);
    Pb b = external(Pb().num(1, n).num(1, static_cast<uint64_t>(w.blocks)).num(1, 16).num(2, 2).str(8, "B"), 0,
                    w.codes.size());
    Pb zp = external(Pb().num(1, w.zeros.size()).num(2, 2).str(8, "zp"), w.codes.size(), w.zeros.size());
    Pb s = Pb().num(1, w.scales.size()).num(2, 1).str(8, "scales");
    s.str(9, std::string(reinterpret_cast<const char*>(w.scales.data()), w.scales.size() * sizeof(float)));
    std::vector<float> bias_values(static_cast<size_t>(w.n));
    for (size_t i = 0; i < bias_values.size(); ++i) bias_values[i] = 0.25f * static_cast<float>(i % 5);
    Pb bias = Pb().num(1, n).num(2, 1).str(8, "bias");
    bias.str(9, std::string(reinterpret_cast<const char*>(bias_values.data()), bias_values.size() * sizeof(float)));
    Pb node = Pb().str(1, "x").str(1, "B").str(1, "scales").str(1, "zp").str(1, "").str(1, "bias").str(2, "y");
    node.str(3, "mm").str(4, "MatMulNBits").str(7, "com.microsoft");
    for (auto [name, v] : {std::pair{"K", w.k}, {"N", w.n}, {"bits", int64_t{4}}, {"block_size", block}})
      node.msg(5, int_attr(name, v));
    Pb graph = Pb().msg(1, node).str(2, "g").msg(5, b).msg(5, zp).msg(5, s).msg(5, bias);
    graph.msg(11, Pb().str(1, "x").msg(2, tensor_type({-1, w.k})));
    graph.msg(12, Pb().str(1, "y").msg(2, tensor_type({-1, w.n})));
    Pb m = Pb().num(1, 8).msg(8, Pb().str(1, "").num(2, 17)).msg(8, Pb().str(1, "com.microsoft").num(2, 1));
    m.msg(7, graph);
    path = dir / "m.onnx";
    std::ofstream(path, std::ios::binary) << m.bytes;
  }
  ~Model() { fs::remove_all(dir); }
};

std::vector<float> run(oc::ort::Session& session, const std::vector<float>& x, int64_t rows, int64_t k) {
  const int64_t shape[2] = {rows, k};
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value in = Ort::Value::CreateTensor<float>(mem, const_cast<float*>(x.data()), x.size(), shape, 2);
  const char* in_names[] = {"x"};
  const char* out_names[] = {"y"};
  auto out = session.get().Run(Ort::RunOptions{nullptr}, in_names, &in, 1, out_names, 1);
  const float* y = out[0].GetTensorData<float>();
  return {y, y + out[0].GetTensorTypeAndShapeInfo().GetElementCount()};
}

// auto gives the node to the kernel and computes what the graph as exported computes, within int8
// activations' error; int8 keeps ONNX Runtime's kernel.
TEST(Q4MatmulOp, AutoRunsEligibleNodesOnTheKernel) {
  std::mt19937 rng(3);
  const Weights w(40, 96, rng);
  const Model model(w, 32);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rows = 3;
  std::vector<float> x(static_cast<size_t>(rows * w.k));
  for (auto& v : x) v = normal(rng);
  oc::ort::SessionConfig cfg;
  cfg.intra_op_threads = 2;
  cfg.matmul_precision = MatmulPrecision::Exact;
  oc::ort::Session exact(model.path, cfg);
  EXPECT_EQ(exact.packed_matmuls(), 0);
  const std::vector<float> want = run(exact, x, rows, w.k);
  cfg.matmul_precision = MatmulPrecision::Int8;
  oc::ort::Session int8(model.path, cfg);
  EXPECT_EQ(int8.packed_matmuls(), 0);
  cfg.matmul_precision = MatmulPrecision::Auto;
  oc::ort::Session automatic(model.path, cfg);
  EXPECT_EQ(automatic.packed_matmuls(), q4::supported() ? 1 : 0);
  const std::vector<float> got = run(automatic, x, rows, w.k);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.05 + 0.02 * std::fabs(want[i])) << i;
}

TEST(Q4MatmulOp, OtherBlockSizesStayWithOnnxRuntime) {
  std::mt19937 rng(5);
  const Weights w(16, 64, rng);
  const Model model(w, 16);  // blobs of 32 weights under block_size 16: only the rewrite is checked
  std::string bytes;
  {
    std::ifstream in(model.path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  oc::ort::PackedMatmuls packed;
  EXPECT_FALSE(oc::ort::pack_q4_matmuls(bytes, model.dir, packed));
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
