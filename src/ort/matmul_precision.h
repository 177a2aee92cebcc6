// The compute precision of quantized matmuls, chosen at load. The onnx-community exports leave
// MatMulNBits' accuracy_level unset, so ONNX Runtime's CPU kernel multiplies 4-bit weights with
// fp32 activations; accuracy_level 4 multiplies them with int8 activations (as llama.cpp does),
// about twice as fast where memory bandwidth allows. The attribute is set in memory on the graph's
// bytes before the session is created; the files on disk are never changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oc::ort {

struct OnnxFileInfo;

enum class MatmulPrecision {
  Auto,   // int8 activations on CPU; the export's own setting on other providers
  Exact,  // the export's own setting (the graph as written)
  Int8,   // accuracy_level 4
  Fp16,   // accuracy_level 2
  Fp32,   // accuracy_level 1
};

// "auto", "exact", "int8", "fp16", "fp32" (case-insensitive); nullopt for anything else.
std::optional<MatmulPrecision> parse_matmul_precision(std::string_view text);
const char* matmul_precision_name(MatmulPrecision precision);
// The accuracy_level `precision` asks of 4-bit MatMulNBits nodes on `provider` ("cpu", "cuda",
// ...), or nullopt to keep the graph as exported. ONNX Runtime's CUDA kernel computes in the
// activations' type whatever the attribute says, so auto changes nothing there: the preset's
// variant (q4f16) decides fp16.
std::optional<int64_t> matmul_accuracy_level(MatmulPrecision precision, std::string_view provider);
// "int8", "fp16", "bf16", "fp32" for accuracy levels 4, 2, 3, 1; "exact" for 0 (unset).
const char* accuracy_level_name(int64_t level);

// What loading a graph with a precision does to it.
struct MatmulPlan {
  int64_t nodes = 0;             // 4-bit MatMulNBits nodes in the graph
  int64_t changed = 0;           // nodes whose accuracy_level the rewrite changes
  std::optional<int64_t> level;  // the level set on every node; nullopt: graph as exported
  // How the nodes compute once loaded: "int8", "exact" (as exported, level unset), ...; "" when
  // the graph has no 4-bit MatMulNBits.
  std::string effective;
  // auto on a CPU with AVX-512 VNNI: the nodes onnx-chat's own int8 kernel can run are given to it
  // (q4_matmul_op); the others keep ONNX Runtime's int8 kernel. --matmul-precision int8 keeps
  // ONNX Runtime's for all.
  bool packed_kernel = false;
};
MatmulPlan plan_matmul_precision(const OnnxFileInfo& info, MatmulPrecision precision, std::string_view provider);

// A model's bytes with accuracy_level = `level` on every 4-bit com.microsoft.MatMulNBits node
// (subgraphs included); every other byte as it was, apart from the lengths of the messages that
// enclose a changed node. An existing accuracy_level attribute is replaced in place, a missing one
// is appended to the node. Throws std::runtime_error on malformed bytes.
std::string set_matmul_accuracy_level(std::string_view model, int64_t level);

}  // namespace oc::ort
