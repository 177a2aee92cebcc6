// The 4-bit matmul kernel (q4_matmul) as an ONNX Runtime operator. Before a session is created,
// every MatMulNBits node the kernel can run (4 bits, blocks of 32, fp32 scales, uint8 or no zero
// points, weights stored in the graph, no group index) is replaced by an `onnx_chat.MatMulQ4Int8`
// node that takes the activations (and the bias, if any), one node for all those of one input
// and K without a bias (their outputs side by side in one matrix); the weights are read from the
// files (not mapped, so they never count in the process's memory), repacked for the kernel and
// handed to the operator by key. The original weight initializers are then unused, and ONNX
// Runtime drops them without loading them: the packed copy is the only one in memory.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oc::ort {

namespace q4 {
class PackedWeights;
}

// The packed weights of one session's rewritten nodes; they live as long as this does (the
// operator's kernels hold them too).
struct PackedMatmuls {
  int64_t nodes = 0;  // MatMulNBits nodes replaced
  // One matrix per replacing node: the nodes of one input (a layer's q, k and v projections, its
  // gate and up projections) are packed side by side and run as one, one call instead of several.
  std::vector<std::shared_ptr<const q4::PackedWeights>> weights;
  int64_t matrices() const { return static_cast<int64_t>(weights.size()); }
  std::vector<std::string> keys;  // registered for the kernels; released by ~PackedMatmuls
  PackedMatmuls() = default;
  PackedMatmuls(PackedMatmuls&&) = default;
  PackedMatmuls& operator=(PackedMatmuls&&) = default;
  ~PackedMatmuls();
};

// The model with its eligible MatMulNBits nodes replaced (main graph), or nullopt when none is;
// `dir` is where the external weight files are. Throws std::runtime_error on malformed bytes or
// unreadable weights.
std::optional<std::string> pack_q4_matmuls(std::string_view model, const std::filesystem::path& dir,
                                           PackedMatmuls& packed);

// Registers the operator's domain with a session's options (needed when pack_q4_matmuls changed
// the graph).
void add_q4_matmul_domain(Ort::SessionOptions& options);

}  // namespace oc::ort
