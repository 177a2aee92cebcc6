#include "common/utf8.h"

namespace oc::utf8 {

size_t decode(std::string_view s, size_t i, char32_t& cp) {
  const unsigned b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    cp = b;
    return 1;
  }
  size_t needed = 0;
  unsigned lower = 0x80, upper = 0xBF;  // the range of the next byte (WHATWG's bounds)
  char32_t v = 0;
  if (b >= 0xC2 && b <= 0xDF) {
    needed = 1, v = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    needed = 2, v = b & 0x0F;
    if (b == 0xE0) lower = 0xA0;
    if (b == 0xED) upper = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    needed = 3, v = b & 0x07;
    if (b == 0xF0) lower = 0x90;
    if (b == 0xF4) upper = 0x8F;
  } else {
    cp = 0xFFFD;
    return 1;
  }
  for (size_t k = 1; k <= needed; ++k) {
    const unsigned c = i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
    if (c < lower || c > upper) {  // the maximal subpart so far is one U+FFFD; c starts anew
      cp = 0xFFFD;
      return k;
    }
    lower = 0x80, upper = 0xBF;
    v = (v << 6) | (c & 0x3F);
  }
  cp = v;
  return needed + 1;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

std::string decode_lossy(std::string_view bytes, bool strip_bom) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp;
    const size_t n = decode(bytes, i, cp);
    if (cp == 0xFFFD)
      out += "\xEF\xBF\xBD";
    else
      out.append(bytes, i, n);
    i += n;
  }
  if (strip_bom && out.compare(0, 3, "\xEF\xBB\xBF") == 0) out.erase(0, 3);
  return out;
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = decode(s, i, cp);
    if (cp == 0xFFFD && s.substr(i, n) != "\xEF\xBF\xBD") return false;  // not a U+FFFD of the text
    i += n;
  }
  return true;
}

}  // namespace oc::utf8
