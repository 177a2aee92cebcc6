// Unicode helpers of the tokenizer (internal). Text is UTF-8 std::string everywhere (the codec is
// common/utf8.h); these reproduce the JavaScript string operations the reference relies on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oc::tok::uni {

std::vector<char32_t> code_points(std::string_view s);
size_t count(std::string_view s);  // code points

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
bool is_control_like(char32_t cp);     // \p{Cc} \p{Cf} \p{Co} \p{Cs}

// Replaces every occurrence of `from` (non-empty) with `to`.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

}  // namespace oc::tok::uni
