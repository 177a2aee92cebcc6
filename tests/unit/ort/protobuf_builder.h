// A protobuf writer for tests: enough to build ONNX ModelProto bytes field by field.
#pragma once

#include <cstdint>
#include <string>

namespace oc::test {

struct Pb {
  std::string bytes;
  Pb& varint(uint64_t v) {
    while (v >= 0x80) {
      bytes.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    bytes.push_back(static_cast<char>(v));
    return *this;
  }
  Pb& key(int field, int wire) { return varint((static_cast<uint64_t>(field) << 3) | wire); }
  Pb& num(int field, uint64_t v) { return key(field, 0).varint(v); }
  Pb& str(int field, const std::string& s) {
    key(field, 2).varint(s.size());
    bytes += s;
    return *this;
  }
  Pb& msg(int field, const Pb& m) { return str(field, m.bytes); }
};

}  // namespace oc::test
