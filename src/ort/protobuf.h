// The protobuf wire format, read and written by hand: enough to walk an ONNX model's messages
// without its weights (ort/onnx_file.h) and to splice edited messages back (ort/onnx_edit.h).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace oc::ort::pb {

// Protobuf wire format over a byte range. Each message is read field by field; unknown fields are
// skipped, so only the few fields below are interpreted.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;

  bool done() const { return p >= end; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) throw std::runtime_error("truncated varint");
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    throw std::runtime_error("malformed varint");
  }

  Reader bytes() {
    uint64_t n = varint();
    if (n > static_cast<uint64_t>(end - p)) throw std::runtime_error("truncated field");
    Reader sub{p, p + n};
    p += n;
    return sub;
  }

  std::string_view view() {
    Reader r = bytes();
    return {reinterpret_cast<const char*>(r.p), static_cast<size_t>(r.end - r.p)};
  }

  void skip(int wire) {
    switch (wire) {
      case 0:
        varint();
        return;
      case 1:
        advance(8);
        return;
      case 2:
        bytes();
        return;
      case 5:
        advance(4);
        return;
      default:
        throw std::runtime_error("unsupported wire type " + std::to_string(wire));
    }
  }

  void advance(size_t n) {
    if (n > static_cast<size_t>(end - p)) throw std::runtime_error("truncated field");
    p += n;
  }

  // Calls f(field, wire) for each field; f must consume the value or return false to skip it.
  template <typename F>
  void each(F&& f) {
    while (!done()) {
      uint64_t key = varint();
      int field = static_cast<int>(key >> 3);
      int wire = static_cast<int>(key & 7);
      if (!f(field, wire)) skip(wire);
    }
  }
};

// Appends protobuf fields to a byte string.
struct Writer {
  std::string out;

  void varint(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  void key(int field, int wire) { varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire)); }
  void integer(int field, int64_t v) {
    key(field, 0);
    varint(static_cast<uint64_t>(v));
  }
  void bytes(int field, std::string_view v) {
    key(field, 2);
    varint(v.size());
    out.append(v);
  }
};

}  // namespace oc::ort::pb
