// Reads what a .onnx file declares without loading its weights: graph inputs and outputs (with
// element types and symbolic shapes), operator counts, opsets, and the external data files it
// references. A minimal protobuf reader over a memory-mapped file: fast even for large graphs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
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
  // 4-bit com.microsoft.MatMulNBits nodes by their accuracy_level attribute (0: unset, the
  // provider's default; 1 fp32, 2 fp16, 3 bf16, 4 int8 activations).
  std::map<int64_t, int64_t> matmul_4bit_levels;

  bool has_op(const std::string& qualified) const { return op_counts.count(qualified) > 0; }
  const TensorInfo* input(std::string_view name) const;
  const TensorInfo* output(std::string_view name) const;
};

// Throws oc::Error(ModelLoad) naming the file when it is missing or not an ONNX model.
OnnxFileInfo read_onnx_file(const std::filesystem::path& path);
// The same over a model's bytes; `name` names it in errors.
OnnxFileInfo read_onnx_bytes(std::string_view bytes, const std::string& name);

// A file mapped read-only for as long as the object lives. Throws oc::Error(ModelLoad) when the
// file is missing, empty or cannot be mapped.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace oc::ort
