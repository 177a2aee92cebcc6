// Reads what a .onnx file declares without loading its weights: graph inputs and outputs (with
// element types and symbolic shapes), operator counts, opsets, and the external data files it
// references. A minimal protobuf reader over a memory-mapped file: fast even for large graphs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ort/session.h"

namespace oc::ort {

struct OnnxFileInfo {
  int64_t ir_version = 0;
  std::string producer;
  std::map<std::string, int64_t> opsets;  // domain ("" = ai.onnx) -> version
  std::vector<TensorInfo> inputs;         // graph inputs that are not initializers
  std::vector<TensorInfo> outputs;
  std::map<std::string, int64_t> op_counts;  // "com.microsoft.MatMulNBits" -> n (subgraphs included)
  std::vector<std::string> external_data;    // file names referenced by initializers, in first-seen order
  int64_t initializer_count = 0;
  uint64_t inline_weight_bytes = 0;  // raw_data stored inside the .onnx file

  bool has_op(const std::string& qualified) const { return op_counts.count(qualified) > 0; }
  const TensorInfo* input(std::string_view name) const;
  const TensorInfo* output(std::string_view name) const;
};

// Throws oc::Error(ModelLoad) naming the file when it is missing or not an ONNX model.
OnnxFileInfo read_onnx_file(const std::filesystem::path& path);

}  // namespace oc::ort
