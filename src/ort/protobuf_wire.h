// The protobuf wire format over a byte range, read and written by hand: what the weight-free
// ONNX reader (onnx_file) and the in-memory graph rewrites (matmul_precision, onnx_proto) need, no
// more.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace oc::ort::wire {

// A message read field by field: callers take the fields they know and skip the others.
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

inline Reader reader(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  return Reader{p, p + bytes.size()};
}

inline std::string_view span_of(const uint8_t* from, const uint8_t* to) {
  return {reinterpret_cast<const char*>(from), static_cast<size_t>(to - from)};
}

// Calls f(field, wire, stored) for each field of a message, `stored` its bytes as stored (key
// included): what a rewrite copies for the fields it keeps.
template <typename F>
void each_stored(Reader r, F&& f) {
  while (!r.done()) {
    const uint8_t* start = r.p;
    const uint64_t key = r.varint();
    const int wire = static_cast<int>(key & 7);
    r.skip(wire);
    f(static_cast<int>(key >> 3), wire, span_of(start, r.p));
  }
}

// The bytes of a varint.
inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void put_key(std::string& out, int field, int wire) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire));
}

// A length-delimited field: key, length, bytes.
inline void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace oc::ort::wire
