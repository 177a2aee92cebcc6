#include "ort/onnx_proto.h"

namespace oc::ort::proto {

using wire::Reader;

NodeView read_node(std::string_view bytes) {
  NodeView n;
  Reader r = wire::reader(bytes);
  r.each([&](int field, int type) {
    if (type != 2) return false;
    if (field == kNodeInput)
      n.inputs.push_back(r.view());
    else if (field == kNodeOutput)
      n.outputs.push_back(r.view());
    else if (field == kNodeName)
      n.name = r.view();
    else if (field == kNodeOpType)
      n.op_type = r.view();
    else if (field == kNodeDomain)
      n.domain = r.view();
    else if (field == kNodeAttribute) {
      Reader a = r.bytes();
      std::string_view name;
      int64_t value = 0;
      bool is_int = false;
      a.each([&](int f, int w) {
        if (f == kAttrName && w == 2) {
          name = a.view();
          return true;
        }
        if (f == kAttrI && w == 0) {
          value = static_cast<int64_t>(a.varint());
          is_int = true;
          return true;
        }
        return false;
      });
      if (is_int) n.ints[name] = value;
    } else
      return false;
    return true;
  });
  return n;
}

std::string_view graph_of(std::string_view model) {
  std::string_view graph;
  Reader m = wire::reader(model);
  m.each([&](int field, int type) {
    if (field != kModelGraph || type != 2) return false;
    graph = m.view();
    return true;
  });
  return graph;
}

std::string with_graph(std::string_view model, std::string_view graph, std::string_view extra) {
  std::string out;
  wire::each_stored(wire::reader(model), [&](int field, int type, std::string_view stored) {
    if (field == kModelGraph && type == 2)
      wire::put_bytes(out, kModelGraph, graph);
    else
      out.append(stored);
  });
  out.append(extra);
  return out;
}

}  // namespace oc::ort::proto
