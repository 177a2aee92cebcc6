// An ONNX Runtime session plus the metadata of its inputs and outputs, read once at load.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ort/matmul_precision.h"
#include "ort/q4_matmul_op.h"
#include "ort/runtime.h"

namespace oc::ort {

// One dimension of a tensor shape: a fixed size, or a symbolic name ("batch_size"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when fixed
  std::string symbol;  // non-empty when symbolic
  bool fixed() const { return value >= 0; }
  std::string str() const;
};

struct TensorInfo {
  std::string name;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<Dim> shape;  // empty for a scalar
  bool is_tensor = true;
  std::string shape_str() const;  // "[batch_size,2,past_sequence_length,256]"
};

// "float32", "float16", "int64", "bool", ...
const char* element_type_name(ONNXTensorElementDataType type);
size_t element_size(ONNXTensorElementDataType type);

// Changes a model's bytes before its session is created: returns the edited model, or nullopt to
// load the file as it is.
using GraphRewrite = std::function<std::optional<std::string>(std::string_view model)>;

class Session {
 public:
  // With a rewrite, the file is read, rewritten in memory and loaded from there; its external
  // data files are still found beside it.
  Session(const std::filesystem::path& path, const SessionConfig& config, const GraphRewrite& rewrite = {});

  Ort::Session& get() { return session_; }
  const std::filesystem::path& path() const { return path_; }
  // What the load did to the graph's 4-bit MatMulNBits nodes (SessionConfig::matmul_precision).
  const MatmulPlan& matmul_plan() const { return matmul_plan_; }
  // MatMulNBits nodes run by onnx-chat's own 4-bit kernel (q4_matmul_op).
  int64_t packed_matmuls() const { return packed_.nodes; }
  const std::vector<TensorInfo>& inputs() const { return inputs_; }
  const std::vector<TensorInfo>& outputs() const { return outputs_; }
  const TensorInfo* input(std::string_view name) const;
  const TensorInfo* output(std::string_view name) const;

 private:
  std::filesystem::path path_;
  MatmulPlan matmul_plan_;
  PackedMatmuls packed_;  // the weights of the nodes onnx-chat's own kernel runs
  Ort::Session session_;
  std::vector<TensorInfo> inputs_;
  std::vector<TensorInfo> outputs_;
};

// Reads inputs/outputs of a model without keeping a session (used by inspect).
struct SessionIo {
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
};
SessionIo read_session_io(Ort::Session& session);

}  // namespace oc::ort
