// String and number helpers with JavaScript semantics, on UTF-8 text. The reference interpreter
// (@huggingface/jinja) runs on JavaScript strings (UTF-16) and numbers (doubles); these reproduce
// what it observes: lengths in UTF-16 units, JS whitespace, Number#toString, JSON.stringify.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace oc::tmpl::js {

// JavaScript's \s and String#trim set (WhiteSpace and LineTerminator).
bool is_space(char32_t cp);
// Bytes of the whitespace character at s[i], or 0.
size_t space_len(std::string_view s, size_t i);
// Bytes of the whitespace character that ends at s[end], or 0.
size_t space_len_before(std::string_view s, size_t end);
std::string trim(std::string_view s);
std::string trim_start(std::string_view s);
std::string trim_end(std::string_view s);

// Length in UTF-16 code units.
size_t utf16_length(std::string_view s);
// The character at a UTF-16 index (negative counts from the end), or false when out of range.
bool utf16_at(std::string_view s, int64_t index, std::string& out);
// Array.from(s): the code points, each as UTF-8.
std::vector<std::string> code_points(std::string_view s);
// Ordering of JS strings (UTF-16 code unit order): <0, 0, >0.
int utf16_compare(std::string_view a, std::string_view b);

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
// The reference's title(): uppercases each ASCII word character that follows a non-word one.
std::string title(std::string_view s);
// charAt(0).toUpperCase() + slice(1).
std::string capitalize(std::string_view s);

// Number#toString (shortest round trip, exponent rules of ECMAScript).
std::string number(double d);
// The reference's FloatValue#toString: integral values keep one decimal ("1.0", "-0.0").
std::string float_display(double d);
// JSON.stringify of a string; ensure_ascii escapes every UTF-16 unit >= 0x7f.
std::string json_quote(std::string_view s, bool ensure_ascii = false);
// Number(s), parseInt(s, 10), parseFloat(s). NaN when the text is not a number.
double to_number(std::string_view s);
double parse_int(std::string_view s);
double parse_float(std::string_view s);
// Array.prototype.sort comparator of String#localeCompare (ICU root collation, approximated
// for ASCII text: punctuation < digits < letters, case-insensitive first, then lowercase first).
int locale_compare(std::string_view a, std::string_view b);

}  // namespace oc::tmpl::js
