#include "media/base64.h"

#include <array>

#include "common/error.h"

namespace oc::media {
namespace {

constexpr uint8_t kInvalid = 0xFF;
constexpr uint8_t kSkip = 0xFE;
constexpr uint8_t kPad = 0xFD;

constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<uint8_t>(i);
    t['a' + i] = static_cast<uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<uint8_t>(52 + i);
  t['+'] = 62;
  t['-'] = 62;  // URL-safe
  t['/'] = 63;
  t['_'] = 63;  // URL-safe
  t[' '] = kSkip;
  t['\t'] = kSkip;
  t['\r'] = kSkip;
  t['\n'] = kSkip;
  t['='] = kPad;
  return t;
}
constexpr auto kTable = make_table();

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(ErrorKind::InvalidRequest, prefixed(what, message));
}

std::string describe_byte(unsigned char c) {
  if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
  static const char* hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::vector<uint8_t> base64_decode(std::string_view text, std::string_view what) {
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int count = 0;    // sextets in the current quantum
  int padding = 0;  // '=' seen
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const uint8_t v = kTable[c];
    if (v == kSkip) continue;
    if (v == kPad) {
      ++padding;
      continue;
    }
    if (v == kInvalid) {
      fail(what, "not valid base64 (" + describe_byte(c) + " at offset " + std::to_string(i) + ")");
    }
    if (padding > 0) fail(what, "not valid base64 (data after '=' padding at offset " + std::to_string(i) + ")");
    acc = (acc << 6) | v;
    if (++count == 4) {
      out.push_back(static_cast<uint8_t>(acc >> 16));
      out.push_back(static_cast<uint8_t>(acc >> 8));
      out.push_back(static_cast<uint8_t>(acc));
      acc = 0;
      count = 0;
    }
  }
  if (count == 1) fail(what, "not valid base64 (truncated: a dangling character at the end)");
  if (count == 2) {
    out.push_back(static_cast<uint8_t>(acc >> 4));
  } else if (count == 3) {
    out.push_back(static_cast<uint8_t>(acc >> 10));
    out.push_back(static_cast<uint8_t>(acc >> 2));
  }
  if (padding > 0 && (count == 0 || count + padding != 4)) fail(what, "not valid base64 (wrong '=' padding)");
  return out;
}

std::string base64_encode(const uint8_t* data, size_t size) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (size - i == 1) {
    const uint32_t v = uint32_t{data[i]} << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (size - i == 2) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool is_data_uri(std::string_view text) {
  if (text.size() < 5) return false;
  for (size_t i = 0; i < 5; ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "data:"[i]) return false;
  }
  return true;
}

DataUri parse_data_uri(std::string_view text, std::string_view what) {
  if (!is_data_uri(text)) fail(what, "not a data: URI");
  const size_t comma = text.find(',');
  if (comma == std::string_view::npos) fail(what, "malformed data: URI (no ',' before the payload)");
  std::string_view header = text.substr(5, comma - 5);
  std::string_view payload = text.substr(comma + 1);

  DataUri uri;
  bool is_base64 = false;
  size_t pos = 0;
  bool first = true;
  while (pos <= header.size()) {
    size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) semi = header.size();
    std::string part(header.substr(pos, semi - pos));
    for (auto& c : part) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.pop_back();
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.erase(part.begin());
    if (first) {
      if (!part.empty() && part.find('/') == std::string::npos) {
        fail(what, "malformed data: URI (media type '" + part + "' has no '/')");
      }
      uri.media_type = part;
      first = false;
    } else if (part == "base64") {
      is_base64 = true;
    }
    pos = semi + 1;
  }

  if (is_base64) {
    uri.bytes = base64_decode(payload, what);
  } else {
    uri.bytes.reserve(payload.size());
    for (size_t i = 0; i < payload.size(); ++i) {
      if (payload[i] == '%') {
#ifdef ONNX_CHAT_FUZZ_PLANTED_BUG  // tests/fuzz: a test build that must be caught (one byte past the end)
        const bool room = i + 2 <= payload.size();
#else
        const bool room = i + 2 < payload.size();
#endif
        const int hi = room ? hex_value(payload[i + 1]) : -1;
        const int lo = room ? hex_value(payload[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          fail(what, "malformed data: URI (bad percent escape at offset " + std::to_string(comma + 1 + i) + ")");
        }
        uri.bytes.push_back(static_cast<uint8_t>(hi * 16 + lo));
        i += 2;
      } else {
        uri.bytes.push_back(static_cast<uint8_t>(payload[i]));
      }
    }
  }
  return uri;
}

}  // namespace oc::media
