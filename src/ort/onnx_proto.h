// What the in-memory edits of a model's bytes (onnx_edit, q4_matmul_op) read and write of
// onnx.proto: field numbers, a node's fields as views, and a model with its graph replaced.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ort/protobuf_wire.h"

namespace oc::ort::proto {

// Field numbers of onnx.proto.
constexpr int kModelGraph = 7, kModelOpsetImport = 8;
constexpr int kOpsetDomain = 1, kOpsetVersion = 2;
constexpr int kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11;
constexpr int kValueInfoName = 1;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5, kNodeDomain = 7;
constexpr int kAttrName = 1, kAttrI = 3, kAttrS = 4, kAttrT = 5, kAttrInts = 8, kAttrType = 20;
constexpr int kAttrTypeInt = 2, kAttrTypeString = 3, kAttrTypeTensor = 4, kAttrTypeInts = 7;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9, kTensorExternal = 13;
constexpr int kFloat = 1, kUint8 = 2, kInt32 = 6, kInt64 = 7;

// A NodeProto's fields, as views into its bytes.
struct NodeView {
  std::string_view op_type, domain, name;
  std::vector<std::string_view> inputs, outputs;
  std::map<std::string_view, int64_t> ints;  // the integer attributes
};
NodeView read_node(std::string_view bytes);

// The ModelProto's GraphProto bytes ("" when there is none).
std::string_view graph_of(std::string_view model);

// The model with its graph replaced by `graph` and `extra` (whole fields) appended; every other
// field as stored.
std::string with_graph(std::string_view model, std::string_view graph, std::string_view extra = {});

}  // namespace oc::ort::proto
