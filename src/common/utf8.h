// The UTF-8 codec of the project (tokenizer, templates, streamed text): decoding follows the
// WHATWG Encoding Standard, as the JavaScript references' TextDecoder does: an ill-formed
// sequence's maximal subpart becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace oc::utf8 {

// Decodes the code point at s[i] (i < s.size()); returns the bytes it used (>= 1). An ill-formed
// sequence gives U+FFFD.
size_t decode(std::string_view s, size_t i, char32_t& cp);
// Decodes the code point at s[i] and advances i past it.
inline char32_t next(std::string_view s, size_t& i) {
  char32_t cp;
  i += decode(s, i, cp);
  return cp;
}
// Length of the sequence a lead byte announces (1 for ASCII and for bytes that lead nothing).
inline size_t seq_len(unsigned char b) {
  return b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
}

void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);

// Every ill-formed sequence replaced by U+FFFD (TextDecoder with fatal: false); with strip_bom a
// leading U+FEFF is removed, as TextDecoder does by default.
std::string decode_lossy(std::string_view bytes, bool strip_bom = false);
// True when s is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid(std::string_view s);

}  // namespace oc::utf8
