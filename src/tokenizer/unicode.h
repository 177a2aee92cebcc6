// UTF-8 and Unicode helpers of the tokenizer (internal). Text is UTF-8 std::string everywhere;
// these reproduce the JavaScript string operations the reference relies on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oc::tok::uni {

// Decodes the code point at s[i] (valid UTF-8 assumed) and advances i.
char32_t next(std::string_view s, size_t& i);
// Length in bytes of the UTF-8 sequence starting with byte b (1 for invalid lead bytes).
inline size_t seq_len(unsigned char b) {
  return b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
}
void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);
std::vector<char32_t> code_points(std::string_view s);
size_t count(std::string_view s);  // code points

// WHATWG "utf-8 decode without BOM or fail" with replacement: invalid sequences become U+FFFD
// exactly as TextDecoder (fatal: false) does. With strip_bom, a leading U+FEFF is removed (the
// TextDecoder default).
std::string decode_lossy(std::string_view bytes, bool strip_bom = false);
bool is_valid(std::string_view s);

// JavaScript's \s and String.prototype.trim set.
bool js_space(char32_t cp);
std::string_view js_trim_start(std::string_view s);
std::string_view js_trim_end(std::string_view s);
std::string_view js_trim(std::string_view s);

// String.prototype.toLowerCase (full mapping for the cases that matter: İ, final sigma).
std::string js_lower(std::string_view s);
// String.prototype.normalize(form), form one of NFC, NFD, NFKC, NFKD.
std::string normalize(std::string_view s, std::string_view form);

// Unicode general category, as utf8proc's category numbers.
int category(char32_t cp);
bool is_mark(char32_t cp);             // \p{M}
bool is_mark_nonspacing(char32_t cp);  // \p{Mn}
bool is_punct(char32_t cp);            // \p{P}
bool is_letter(char32_t cp);           // \p{L}
bool is_control_like(char32_t cp);     // \p{Cc} \p{Cf} \p{Co} \p{Cs}

// Replaces every occurrence of `from` (non-empty) with `to`.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

}  // namespace oc::tok::uni
