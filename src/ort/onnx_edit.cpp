#include "ort/onnx_edit.h"

#include <cstring>
#include <vector>

#include "ort/onnx_proto.h"
#include "ort/protobuf_wire.h"

namespace oc::ort {
namespace {

using namespace proto;
using wire::Reader;
using wire::reader;
using wire::span_of;

// Appends fields to a message's bytes.
struct Writer {
  std::string out;
  void integer(int field, int64_t v) {
    wire::put_key(out, field, 0);
    wire::put_varint(out, static_cast<uint64_t>(v));
  }
  void bytes(int field, std::string_view v) { wire::put_bytes(out, field, v); }
};

constexpr int kSeqlensInput = 5;  // GroupQueryAttention: query, key, value, past_key, past_value, seqlens_k, ...
constexpr const char* kMask = "attention_mask";
constexpr const char* kPrefix = "oc_gqa_lengths/";

bool is_gqa(const NodeView& n) {
  return n.op_type == "GroupQueryAttention" && n.domain == "com.microsoft" && n.inputs.size() > kSeqlensInput;
}

// The node with its seqlens_k input renamed; every other field kept as it was.
std::string rewire_node(std::string_view bytes, const std::string& seqlens) {
  Writer w;
  Reader r = reader(bytes);
  int input_index = 0;
  while (!r.done()) {
    const uint8_t* field_start = r.p;
    const uint64_t key = r.varint();
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field == kNodeInput && wire == 2) {
      std::string_view name = r.view();
      w.bytes(kNodeInput, input_index++ == kSeqlensInput ? std::string_view(seqlens) : name);
      continue;
    }
    r.skip(wire);
    w.out.append(span_of(field_start, r.p));
  }
  return w.out;
}

std::string attribute_int(const char* name, int64_t v) {
  Writer a;
  a.bytes(kAttrName, name);
  a.integer(kAttrI, v);
  a.integer(kAttrType, kAttrTypeInt);
  return a.out;
}

std::string attribute_ints(const char* name, int64_t v) {
  Writer a;
  a.bytes(kAttrName, name);
  a.integer(kAttrInts, v);
  a.integer(kAttrType, kAttrTypeInts);
  return a.out;
}

// A Constant node holding one int64 (shape [] or [1]).
std::string constant_node(const std::string& output, int64_t value, bool vector) {
  Writer t;
  if (vector) t.integer(kTensorDims, 1);
  t.integer(kTensorDataType, kInt64);
  char raw[8];
  std::memcpy(raw, &value, 8);  // little-endian hosts only, as ONNX Runtime's CPU builds
  t.bytes(kTensorRawData, std::string_view(raw, 8));
  Writer attr;
  attr.bytes(kAttrName, "value");
  attr.bytes(kAttrT, t.out);
  attr.integer(kAttrType, kAttrTypeTensor);
  Writer n;
  n.bytes(kNodeOutput, output);
  n.bytes(kNodeName, output);
  n.bytes(kNodeOpType, "Constant");
  n.bytes(kNodeAttribute, attr.out);
  return n.out;
}

std::string node(const char* op, const std::vector<std::string>& inputs, const std::string& output,
                 const std::vector<std::string>& attributes = {}) {
  Writer n;
  for (const auto& i : inputs) n.bytes(kNodeInput, i);
  n.bytes(kNodeOutput, output);
  n.bytes(kNodeName, output);
  n.bytes(kNodeOpType, op);
  for (const auto& a : attributes) n.bytes(kNodeAttribute, a);
  return n.out;
}

// seqlens = int32(ReduceSum(attention_mask, axes=[1], keepdims=0) - 1), as graph nodes.
std::vector<std::string> length_nodes(int64_t opset, const std::string& out) {
  const std::string p = kPrefix;
  std::vector<std::string> nodes;
  std::vector<std::string> sum_inputs = {kMask};
  std::vector<std::string> sum_attrs = {attribute_int("keepdims", 0)};
  if (opset >= 13) {
    nodes.push_back(constant_node(p + "axes", 1, true));
    sum_inputs.push_back(p + "axes");
  } else {
    sum_attrs.push_back(attribute_ints("axes", 1));
  }
  nodes.push_back(node("ReduceSum", sum_inputs, p + "sum", sum_attrs));
  nodes.push_back(constant_node(p + "one", 1, false));
  nodes.push_back(node("Sub", {p + "sum", p + "one"}, p + "minus_one"));
  nodes.push_back(node("Cast", {p + "minus_one"}, out, {attribute_int("to", kInt32)}));
  return nodes;
}

}  // namespace

std::optional<std::string> gqa_lengths_from_mask(std::string_view model) {
  // The default domain's opset decides how ReduceSum takes its axes.
  int64_t opset = 0;
  std::string_view graph;
  Reader m = reader(model);
  m.each([&](int field, int wire) {
    if (wire != 2) return false;
    if (field == kModelGraph) {
      graph = m.view();
      return true;
    }
    if (field != kModelOpsetImport) return false;
    Reader o = m.bytes();
    std::string_view domain;
    int64_t version = 0;
    o.each([&](int f, int w) {
      if (f == kOpsetDomain && w == 2)
        domain = o.view();
      else if (f == kOpsetVersion && w == 0)
        version = static_cast<int64_t>(o.varint());
      else
        return false;
      return true;
    });
    if (domain.empty() || domain == "ai.onnx") opset = version;
    return true;
  });
  if (graph.empty()) return std::nullopt;

  bool has_mask = false, has_gqa = false;
  Reader g = reader(graph);
  g.each([&](int field, int wire) {
    if (wire != 2) return false;
    if (field == kGraphInput) {
      Reader vi = g.bytes();
      vi.each([&](int f, int w) {
        if (f != kValueInfoName || w != 2) return false;
        has_mask |= vi.view() == kMask;
        return true;
      });
      return true;
    }
    if (field != kGraphNode) return false;
    has_gqa |= is_gqa(read_node(g.view()));
    return true;
  });
  if (!has_mask || !has_gqa) return std::nullopt;

  const std::string seqlens = std::string(kPrefix) + "seqlens_k";
  Writer new_graph;
  for (const auto& n : length_nodes(opset, seqlens)) new_graph.bytes(kGraphNode, n);
  wire::each_stored(reader(graph), [&](int field, int type, std::string_view stored) {
    if (field == kGraphNode && type == 2) {
      Reader node = reader(stored);
      node.varint();
      const std::string_view bytes = node.view();
      if (is_gqa(read_node(bytes))) {
        new_graph.bytes(kGraphNode, rewire_node(bytes, seqlens));
        return;
      }
    }
    new_graph.out.append(stored);
  });
  return with_graph(model, new_graph.out);
}

}  // namespace oc::ort
