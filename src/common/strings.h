// String helpers used across layers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace oc {

bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string to_lower(std::string_view s);
// ASCII whitespace (space, tab, CR, LF) of line-oriented text: HTTP headers, config values.
inline constexpr const char* kAsciiSpace = " \t\r\n";
// s without leading and trailing ASCII whitespace.
std::string trim_ascii(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// JavaScript's whitespace (String.prototype.trim, \s): the references the tokenizer and the
// templates follow are JavaScript programs.
bool is_js_whitespace(char32_t c);
// True when every byte sequence in s is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

}  // namespace oc
