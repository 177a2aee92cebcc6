#include "template/js_string.h"

#include <utf8proc.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/strings.h"
#include "common/utf8.h"

namespace oc::tmpl::js {

bool is_space(char32_t c) { return oc::is_js_whitespace(c); }

size_t space_len(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  char32_t cp;
  size_t n = utf8::decode(s, i, cp);
  return is_space(cp) ? n : 0;
}

size_t space_len_before(std::string_view s, size_t end) {
  if (end == 0) return 0;
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 && end - start < 4) --start;
  char32_t cp;
  size_t n = utf8::decode(s, start, cp);
  return (start + n == end && is_space(cp)) ? n : 0;
}

std::string trim_start(std::string_view s) {
  size_t i = 0;
  while (size_t n = space_len(s, i)) i += n;
  return std::string(s.substr(i));
}

std::string trim_end(std::string_view s) {
  size_t e = s.size();
  while (size_t n = space_len_before(s, e)) e -= n;
  return std::string(s.substr(0, e));
}

std::string trim(std::string_view s) { return trim_start(trim_end(s)); }

size_t utf16_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    i += utf8::decode(s, i, cp);
    n += cp >= 0x10000 ? 2 : 1;
  }
  return n;
}

bool utf16_at(std::string_view s, int64_t index, std::string& out) {
  if (index < 0) index += static_cast<int64_t>(utf16_length(s));
  if (index < 0) return false;
  int64_t unit = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t n = utf8::decode(s, i, cp);
    int64_t width = cp >= 0x10000 ? 2 : 1;
    if (index < unit + width) {
      // A lone surrogate cannot be written in UTF-8: the high half stands for the whole character.
      if (index == unit)
        out.assign(s.substr(i, n));
      else
        utf8::append(out = {}, 0xFFFD);
      return true;
    }
    unit += width;
    i += n;
  }
  return false;
}

std::vector<std::string> code_points(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t n = utf8::decode(s, i, cp);
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

namespace {
// UTF-16 ordering key of a code point: supplementary characters sort as surrogates (D800..DFFF).
uint32_t utf16_key(char32_t cp) { return cp >= 0x10000 ? 0xD800 + ((cp - 0x10000) >> 10) : cp; }
}  // namespace

int utf16_compare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    char32_t x, y;
    i += utf8::decode(a, i, x);
    j += utf8::decode(b, j, y);
    if (x == y) continue;
    uint32_t kx = utf16_key(x), ky = utf16_key(y);
    if (kx != ky) return kx < ky ? -1 : 1;
    return x < y ? -1 : 1;  // same high surrogate: the low surrogate orders like the code point
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

namespace {
template <bool Upper>
std::string map_case(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      char c = static_cast<char>(b);
      if (Upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      if (!Upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      out += c;
      ++i;
      continue;
    }
    char32_t cp;
    i += utf8::decode(s, i, cp);
    if (Upper && cp == 0xDF) {  // ß has no single uppercase letter
      out += "SS";
      continue;
    }
    if (!Upper && cp == 0x130) {  // İ lowercases to i + combining dot
      out += "i\xCC\x87";
      continue;
    }
    auto mapped = Upper ? utf8proc_toupper(static_cast<utf8proc_int32_t>(cp))
                        : utf8proc_tolower(static_cast<utf8proc_int32_t>(cp));
    utf8::append(out, static_cast<char32_t>(mapped));
  }
  return out;
}

bool is_word(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }
}  // namespace

std::string to_upper(std::string_view s) { return map_case<true>(s); }
std::string to_lower(std::string_view s) { return map_case<false>(s); }

std::string title(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i)
    if (is_word(out[i]) && (i == 0 || !is_word(s[i - 1])) && out[i] >= 'a' && out[i] <= 'z') out[i] -= 32;
  return out;
}

std::string capitalize(std::string_view s) {
  if (s.empty()) return {};
  char32_t cp;
  size_t n = utf8::decode(s, 0, cp);
  if (cp >= 0x10000) return std::string(s);
  return to_upper(s.substr(0, n)) + std::string(s.substr(n));
}

std::string number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string out;
  size_t pos = 0;
  if (sci[0] == '-') {
    out += '-';
    pos = 1;
  }
  size_t epos = sci.find('e');
  std::string digits;
  for (size_t i = pos; i < epos; ++i)
    if (sci[i] != '.') digits += sci[i];
  int e = std::atoi(sci.c_str() + epos + 1);
  int k = static_cast<int>(digits.size());
  int n = e + 1;
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += "e";
    out += (n - 1 >= 0) ? "+" : "-";
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string float_display(double d) {
  if (d == 0 && std::signbit(d)) return "-0.0";
  if (std::isfinite(d) && std::fmod(d, 1.0) == 0) {
    if (std::fabs(d) >= 1e21) return number(d);
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.1f", d);
    return buf;
  }
  return number(d);
}

std::string json_quote(std::string_view s, bool ensure_ascii) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  auto unit_escape = [&](uint32_t u) {
    out += "\\u";
    out += hex[(u >> 12) & 15];
    out += hex[(u >> 8) & 15];
    out += hex[(u >> 4) & 15];
    out += hex[u & 15];
  };
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (b) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (b < 0x20 || (ensure_ascii && b == 0x7F))
            unit_escape(b);
          else
            out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    char32_t cp;
    size_t n = utf8::decode(s, i, cp);
    if (ensure_ascii) {
      if (cp >= 0x10000) {
        unit_escape(0xD800 + ((cp - 0x10000) >> 10));
        unit_escape(0xDC00 + ((cp - 0x10000) & 0x3FF));
      } else {
        unit_escape(cp);
      }
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '"';
  return out;
}

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Longest prefix of s that is a decimal literal: [+-](Infinity | digits[.digits] | .digits)[e[+-]digits].
size_t decimal_prefix(std::string_view s, bool allow_exponent = true) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (s.substr(i, 8) == "Infinity") return i + 8;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
  size_t end = int_digits ? i : 0;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && is_digit(s[j])) ++j, ++frac_digits;
    if (int_digits || frac_digits) {
      i = j;
      end = i;
    }
  }
  if (!int_digits && !frac_digits) return 0;
  if (allow_exponent && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    size_t d = 0;
    while (j < s.size() && is_digit(s[j])) ++j, ++d;
    if (d) end = j;
  }
  return end;
}

double parse_decimal(std::string_view lit) {
  std::string t(lit);
  bool neg = !t.empty() && t[0] == '-';
  std::string_view body = lit;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body == "Infinity") return neg ? -INFINITY : INFINITY;
  return std::strtod(t.c_str(), nullptr);
}
}  // namespace

double to_number(std::string_view s) {
  std::string t = trim(s);
  if (t.empty()) return 0;
  if (t.size() > 2 && t[0] == '0' &&
      (t[1] == 'x' || t[1] == 'X' || t[1] == 'o' || t[1] == 'O' || t[1] == 'b' || t[1] == 'B')) {
    int base = (t[1] == 'x' || t[1] == 'X') ? 16 : (t[1] == 'o' || t[1] == 'O') ? 8 : 2;
    double v = 0;
    for (size_t i = 2; i < t.size(); ++i) {
      char c = t[i];
      int d = is_digit(c)              ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : 99;
      if (d >= base) return NAN;
      v = v * base + d;
    }
    return v;
  }
  size_t n = decimal_prefix(t);
  if (n != t.size()) return NAN;
  return parse_decimal(t);
}

double parse_int(std::string_view s) {
  std::string t = trim_start(s);
  size_t i = 0;
  bool neg = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  size_t start = i;
  while (i < t.size() && is_digit(t[i])) ++i;
  if (i == start) return NAN;
  double v = std::strtod(t.substr(start, i - start).c_str(), nullptr);
  return neg ? -v : v;
}

double parse_float(std::string_view s) {
  std::string t = trim_start(s);
  size_t n = decimal_prefix(t);
  if (n == 0) return NAN;
  return parse_decimal(std::string_view(t).substr(0, n));
}

namespace {
// Primary weight of an ASCII character in ICU's root collation (letters case-folded).
int primary(char32_t c) {
  static const char* order = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";
  if (c < 0x80) {
    char l = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (const char* p = std::strchr(order, l); p && l) return static_cast<int>(p - order) + 1;
    return 0;  // control characters are ignorable
  }
  return 1000 + static_cast<int>(c);
}
}  // namespace

int locale_compare(std::string_view a, std::string_view b) {
  std::vector<char32_t> x, y;
  for (size_t i = 0; i < a.size();) {
    char32_t c;
    i += utf8::decode(a, i, c);
    if (primary(c)) x.push_back(c);
  }
  for (size_t i = 0; i < b.size();) {
    char32_t c;
    i += utf8::decode(b, i, c);
    if (primary(c)) y.push_back(c);
  }
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    int px = primary(x[i]), py = primary(y[i]);
    if (px != py) return px < py ? -1 : 1;
  }
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;
    bool lx = x[i] >= 'a' && x[i] <= 'z';
    return lx ? -1 : 1;  // lowercase first
  }
  return 0;
}

}  // namespace oc::tmpl::js
