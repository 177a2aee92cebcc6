#include "grammar/regex.h"

#include <bitset>
#include <string>
#include <vector>

namespace oc::grammar {

namespace {

constexpr int64_t kMaxCount = 1000;

std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

// How a character is written inside a JSON string.
std::string json_escaped(char32_t c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default:
      break;
  }
  if (c < 0x20) {
    static const char* hex = "0123456789abcdef";
    return std::string("\\u00") + hex[c >> 4] + hex[c & 15];
  }
  return utf8(c);
}

struct Class {
  std::bitset<128> ascii;
  std::vector<char32_t> other;  // non-ASCII members
  bool negated = false;
};

class Parser {
 public:
  Parser(GrammarBuilder& b, std::string_view p) : b_(b), p_(p) {}

  Elem parse(Elem any_char) {
    bool start_anchor = false, end_anchor = false;
    if (!p_.empty() && p_[0] == '^') {
      start_anchor = true;
      i_ = 1;
    }
    if (p_.size() > i_ && p_.back() == '$' && (p_.size() < 2 || p_[p_.size() - 2] != '\\')) {
      end_anchor = true;
      p_.remove_suffix(1);
    }
    Seq body;
    if (!start_anchor) body.push_back(b_.star({any_char}));
    body.push_back(alternation());
    if (i_ != p_.size()) throw RegexError("unexpected ')'");
    if (!end_anchor) body.push_back(b_.star({any_char}));
    return GrammarBuilder::ref(b_.rule_of({body}));
  }

 private:
  bool more() const { return i_ < p_.size(); }
  char peek() const { return p_[i_]; }

  char32_t next_char() {
    const auto c = static_cast<unsigned char>(p_[i_]);
    int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    ++i_;
    for (int k = 1; k < n; ++k) {
      if (!more()) throw RegexError("invalid UTF-8");
      cp = (cp << 6) | (static_cast<unsigned char>(p_[i_++]) & 0x3F);
    }
    return cp;
  }

  Elem alternation() {
    std::vector<Seq> alts = {concatenation()};
    while (more() && peek() == '|') {
      ++i_;
      alts.push_back(concatenation());
    }
    return GrammarBuilder::ref(b_.rule_of(std::move(alts)));
  }

  Seq concatenation() {
    Seq s;
    while (more() && peek() != '|' && peek() != ')') {
      Seq atom_seq = atom();
      quantified(atom_seq, s);
    }
    return s;
  }

  int64_t number() {
    int64_t n = 0;
    bool any = false;
    while (more() && peek() >= '0' && peek() <= '9') {
      n = std::min<int64_t>(n * 10 + (peek() - '0'), kMaxCount + 1);
      ++i_;
      any = true;
    }
    if (!any) throw RegexError("a count in '{}' is missing");
    return n;
  }

  void quantified(const Seq& atom_seq, Seq& out) {
    if (!more()) return append(out, atom_seq);
    int64_t min = 1, max = 1;
    const char q = peek();
    if (q == '*') {
      min = 0, max = -1;
    } else if (q == '+') {
      min = 1, max = -1;
    } else if (q == '?') {
      min = 0, max = 1;
    } else if (q == '{' && i_ + 1 < p_.size() && p_[i_ + 1] >= '0' && p_[i_ + 1] <= '9') {
      ++i_;
      min = max = number();
      if (more() && peek() == ',') {
        ++i_;
        max = more() && peek() == '}' ? -1 : number();
      }
      if (!more() || peek() != '}') throw RegexError("unterminated '{'");
      if (min > kMaxCount || max > kMaxCount) throw RegexError("a count above 1000");
      if (max >= 0 && max < min) throw RegexError("a count range out of order");
    } else {
      return append(out, atom_seq);
    }
    ++i_;
    if (more() && peek() == '?') ++i_;  // lazy: the same strings
    out.push_back(b_.repeat(atom_seq, min, max));
  }

  Seq atom() {
    const char c = peek();
    if (c == '(') {
      ++i_;
      if (more() && peek() == '?') {
        if (i_ + 1 < p_.size() && p_[i_ + 1] == ':')
          i_ += 2;
        else
          throw RegexError("lookarounds and named groups are not supported");
      }
      Elem inner = alternation();
      if (!more() || peek() != ')') throw RegexError("unterminated group");
      ++i_;
      return {inner};
    }
    if (c == '[') return class_seq(bracket());
    if (c == '.') {
      ++i_;
      Class cl;
      cl.negated = true;
      cl.ascii.set('\n');
      cl.ascii.set('\r');
      return class_seq(cl);
    }
    if (c == '^' || c == '$') throw RegexError("anchors inside the pattern");
    if (c == '*' || c == '+' || c == '?') throw RegexError("a quantifier without anything before it");
    if (c == '\\') {
      ++i_;
      Class cl;
      if (escape(cl, false)) return class_seq(cl);
      return literal(cl_single_);
    }
    return literal(next_char());
  }

  Seq literal(char32_t c) { return b_.literal(json_escaped(c)); }

  // After a backslash: fills `cl` and returns true for a class escape, else sets cl_single_.
  bool escape(Class& cl, bool in_class) {
    if (!more()) throw RegexError("a trailing backslash");
    const char e = p_[i_++];
    auto range = [&](char a, char z) {
      for (char x = a; x <= z; ++x) cl.ascii.set(static_cast<size_t>(x));
    };
    switch (e) {
      case 'd':
      case 'D':
        range('0', '9');
        cl.negated = e == 'D';
        return true;
      case 'w':
      case 'W':
        range('0', '9'), range('a', 'z'), range('A', 'Z'), cl.ascii.set('_');
        cl.negated = e == 'W';
        return true;
      case 's':
      case 'S':
        for (char x : {' ', '\t', '\n', '\r', '\f', '\v'}) cl.ascii.set(static_cast<size_t>(x));
        cl.negated = e == 'S';
        return true;
      case 't':
        cl_single_ = '\t';
        return false;
      case 'n':
        cl_single_ = '\n';
        return false;
      case 'r':
        cl_single_ = '\r';
        return false;
      case 'f':
        cl_single_ = '\f';
        return false;
      case 'v':
        cl_single_ = '\v';
        return false;
      case '0':
        cl_single_ = 0;
        return false;
      case 'x':
      case 'u': {
        const int n = e == 'x' ? 2 : 4;
        if (i_ + n > p_.size()) throw RegexError("a short \\x or \\u escape");
        char32_t v = 0;
        for (int k = 0; k < n; ++k) {
          const char h = p_[i_++];
          int d = h >= '0' && h <= '9'   ? h - '0'
                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                         : -1;
          if (d < 0) throw RegexError("a bad hex digit");
          v = v * 16 + static_cast<char32_t>(d);
        }
        cl_single_ = v;
        return false;
      }
      case 'b':
        if (in_class) {
          cl_single_ = '\b';
          return false;
        }
        throw RegexError("word boundaries are not supported");
      default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '1' && e <= '9'))
          throw RegexError(std::string("the escape \\") + e + " is not supported");
        --i_;
        cl_single_ = next_char();
        return false;
    }
  }

  Class bracket() {
    ++i_;  // '['
    Class cl;
    if (more() && peek() == '^') {
      cl.negated = true;
      ++i_;
    }
    bool first = true;
    while (more() && (peek() != ']' || first)) {
      first = false;
      char32_t lo = 0;
      if (peek() == '\\') {
        ++i_;
        Class sub;
        if (escape(sub, true)) {
          if (sub.negated) throw RegexError("a negated class escape inside brackets");
          cl.ascii |= sub.ascii;
          continue;
        }
        lo = cl_single_;
      } else {
        lo = next_char();
      }
      char32_t hi = lo;
      if (more() && peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        if (peek() == '\\') {
          ++i_;
          Class sub;
          if (escape(sub, true)) throw RegexError("a class escape as a range end");
          hi = cl_single_;
        } else {
          hi = next_char();
        }
        if (hi < lo) throw RegexError("a character range out of order");
      }
      if (hi >= 0x80) {
        if (lo != hi) throw RegexError("non-ASCII character ranges");
        cl.other.push_back(lo);
      } else {
        for (char32_t x = lo; x <= hi; ++x) cl.ascii.set(x);
      }
    }
    if (!more()) throw RegexError("unterminated '['");
    ++i_;
    return cl;
  }

  Seq class_seq(const Class& cl) {
    std::vector<Seq> alts;
    ByteSet plain;
    for (char32_t c = 0; c < 128; ++c) {
      if (cl.ascii.test(c) == cl.negated) continue;
      if (c >= 0x20 && c != '"' && c != '\\')
        plain.set(c);
      else
        alts.push_back(b_.literal(json_escaped(c)));
    }
    if (plain.any()) alts.push_back({b_.bytes(plain)});
    if (cl.negated) {
      if (!cl.other.empty()) throw RegexError("non-ASCII characters in a negated class");
      const Elem cont = b_.byte_range(0x80, 0xBF);
      alts.push_back({b_.byte_range(0xC2, 0xDF), cont});
      alts.push_back({b_.byte_range(0xE0, 0xE0), b_.byte_range(0xA0, 0xBF), cont});
      alts.push_back({b_.byte_range(0xE1, 0xEC), cont, cont});
      alts.push_back({b_.byte_range(0xED, 0xED), b_.byte_range(0x80, 0x9F), cont});
      alts.push_back({b_.byte_range(0xEE, 0xEF), cont, cont});
      alts.push_back({b_.byte_range(0xF0, 0xF0), b_.byte_range(0x90, 0xBF), cont, cont});
      alts.push_back({b_.byte_range(0xF1, 0xF3), cont, cont, cont});
      alts.push_back({b_.byte_range(0xF4, 0xF4), b_.byte_range(0x80, 0x8F), cont, cont});
    } else {
      for (char32_t c : cl.other) alts.push_back(b_.literal(utf8(c)));
    }
    if (alts.empty()) throw RegexError("a class that matches nothing");
    return {GrammarBuilder::ref(b_.rule_of(std::move(alts)))};
  }

  GrammarBuilder& b_;
  std::string_view p_;
  size_t i_ = 0;
  char32_t cl_single_ = 0;
};

}  // namespace

Elem add_regex(GrammarBuilder& b, std::string_view pattern, Elem any_char) {
  return Parser(b, pattern).parse(any_char);
}

}  // namespace oc::grammar
